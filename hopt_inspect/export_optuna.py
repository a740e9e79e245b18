"""A hyperopt study as an Optuna study (``export --format optuna``): carry it over to Optuna.

Each trial keeps its real parameter values (choice options by value, inactive conditional
parameters absent), its loss as the value of a minimised objective, its state, its start and
end times (hyperopt's naive UTC), and user attributes (``hyperopt_tid`` and the scalar extra
result keys). Distributions come from the search space; where Optuna has no equivalent
(normal kinds, pchoice odds, a q step on a log scale) the mapping is the closest Optuna
offers and a warning says what was lost.

The study is built in a temporary SQLite file next to the target and moved into place only
when complete and checked: a reader never sees half a study. Needs optuna (the ``optuna``
extra); nothing here runs without it.
"""

from __future__ import annotations

import math
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError
from .space import Param, SearchSpace
from .study import Study, Trial

INSTALL_HINT = "pip install 'hopt-inspect[optuna]'"
_NO_OPTION = object()  # a stored choice index with no option (None is a real option value)
NORMAL_SIGMAS = 4.0  # a normal kind becomes a range of mu ± this many sigma (and every value seen)


@dataclass
class ExportResult:
    """What was written, and what could not be carried over exactly."""

    path: str
    study_name: str
    n_trials: int
    states: dict[str, int]
    distributions: dict[str, str]  # label → Optuna distribution, as text
    warnings: list[str] = field(default_factory=list)
    replaced: bool = False


def require_optuna() -> Any:
    try:
        import optuna
    except ModuleNotFoundError as exc:
        raise InputError(
            f"--format optuna needs the optuna package, which is not installed: {INSTALL_HINT}"
        ) from exc
    return optuna


def storage_path(storage: str) -> Path:
    """``sqlite:///rel.db`` / ``sqlite:////abs.db`` / a plain path → the SQLite file."""
    if storage.startswith("sqlite:///"):
        return Path(storage[len("sqlite:///") :])
    if "://" in storage:
        raise InputError(
            f"--storage {storage}: only SQLite storages (sqlite:///PATH.db) are written; for"
            " another database, export to SQLite and copy with optuna.copy_study"
        )
    return Path(storage)


def existing_studies(path: Path) -> list[str]:
    """Study names in an existing Optuna SQLite file (read-only); [] when there is no file."""
    if not path.exists():
        return []
    if path.is_dir():
        raise InputError(f"--storage {path}: is a folder; name an SQLite file such as out.db")
    with open(path, "rb") as f:
        head = f.read(16)
    if head and head != b"SQLite format 3\x00":
        raise InputError(f"--storage {path}: exists and is not an SQLite file; choose a new name")
    if not head:
        return []
    try:
        con = sqlite3.connect(_ro_uri(path), uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
            if not tables:
                return []
            if "studies" not in tables:
                raise InputError(
                    f"--storage {path}: an SQLite file but not an Optuna storage; choose a new name"
                )
            return [r[0] for r in con.execute("SELECT study_name FROM studies")]
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise InputError(f"--storage {path}: could not be read as SQLite ({exc})") from exc


def _ro_uri(path: Path) -> str:
    """A read-only ``file:`` URI with the path quoted (``#``/``?`` stay in the name)."""
    from .loading.optuna_db import _uri

    return _uri(path, "mode=ro")


def check_target(storage: str, study_name: str, overwrite: bool) -> Path:
    """Refuse, before any work, a target that cannot or must not be written."""
    path = storage_path(storage)
    if any(c in path.name for c in "?#%"):
        raise InputError(
            f"--storage {path}: '?', '#' and '%' in the file name change what an SQLite URL"
            " names (for Optuna too); choose a name without them"
        )
    if path.exists() and not path.is_file():
        raise InputError(f"--storage {path}: not a regular file; name an SQLite file")
    names = existing_studies(path)
    if study_name in names and not overwrite:
        raise InputError(
            f"--storage {path}: already holds a study named {study_name!r}; pass --overwrite to"
            " replace it, or choose another --study-name"
        )
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"--storage {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(f"--storage {path}: the folder {parent} is not writable")
    return path


# ----------------------------------------------------------------------------- distributions


@dataclass
class _Mapped:
    distribution: Any
    convert: Any  # stored hyperopt value → Optuna value
    warning: str | None = None


def _seen(study: Study, label: str) -> list[float]:
    import numpy as np

    column = study.column(label)
    return [float(v) for v in column[np.isfinite(column)]]


def _nearest_int(value: float) -> int:
    return int(round(value))  # noqa: RUF046 (round of a float subclass may not give an int)


def _lattice(low: float, high: float, q: float) -> tuple[float, float]:
    """The first and last multiples of q that round(x / q) * q gives for x in [low, high]."""
    return q * round(low / q), q * round(high / q)


def _on_lattice(values: list[float], low: float, step: float) -> bool:
    return all(abs((v - low) / step - round((v - low) / step)) < 1e-8 for v in values)


def _float_dist(optuna: Any, low: float, high: float, *, log: bool = False, step: Any = None):
    if step is not None:
        # Optuna wants high - low to be a whole number of steps
        n = max(0, math.ceil((high - low) / step - 1e-9))
        high = low + n * step
    return optuna.distributions.FloatDistribution(low, high, log=log, step=step)


def map_param(optuna: Any, param: Param, seen: list[float]) -> _Mapped:
    """The Optuna distribution closest to one hyperopt parameter, covering every stored value."""
    D = optuna.distributions
    kind = param.kind
    lo_seen = min(seen) if seen else None
    hi_seen = max(seen) if seen else None

    def cover(low: float, high: float) -> tuple[float, float]:
        if lo_seen is not None:
            low, high = min(low, lo_seen), max(high, hi_seen)  # type: ignore[type-var]
        return low, high

    if kind in ("choice", "pchoice"):
        choices = _choices(param)
        warning = None
        if kind == "pchoice":
            odds = ", ".join(f"{p:g}" for p in param.p or ())
            warning = (
                f"{param.label}: pchoice odds ({odds}) have no Optuna equivalent; exported as a"
                " CategoricalDistribution (Optuna's TPE starts from equal odds)"
            )
        n = len(choices)
        return _Mapped(
            D.CategoricalDistribution(choices),
            lambda v: choices[int(v)] if 0 <= int(v) < n else _NO_OPTION,
            warning,
        )
    if kind == "randint":
        if param.options is None and param.high is None and param.low is not None:
            low, high = 0, int(param.low) - 1
        else:
            low, high = int(param.low or 0), int((param.high or 1) - 1)
        low, high = cover(low, high)
        return _Mapped(D.IntDistribution(int(low), int(high)), int)
    if kind == "uniformint":
        low, high = cover(math.ceil(param.low - 0.5), math.floor(param.high + 0.5))  # type: ignore[operator]
        return _Mapped(D.IntDistribution(int(low), int(high)), _nearest_int)
    if kind == "uniform":
        low, high = cover(param.low, param.high)  # type: ignore[arg-type]
        return _Mapped(_float_dist(optuna, low, high), float)
    if kind == "quniform":
        q = float(param.q)  # type: ignore[arg-type]
        low, high = cover(*_lattice(param.low, param.high, q))  # type: ignore[arg-type]
        if _on_lattice(seen, low, q):
            return _Mapped(_float_dist(optuna, low, high, step=q), float)
        return _Mapped(
            _float_dist(optuna, low, high),
            float,
            f"{param.label}: stored values are not all on the q = {q:g} lattice; exported"
            " without a step",
        )
    if kind == "loguniform":
        low, high = cover(math.exp(param.low), math.exp(param.high))  # type: ignore[arg-type]
        return _Mapped(_float_dist(optuna, low, high, log=True), float)
    if kind in ("normal", "lognormal", "qnormal", "qlognormal"):
        mu, sigma = float(param.mu), float(param.sigma)  # type: ignore[arg-type]
        low, high = mu - NORMAL_SIGMAS * sigma, mu + NORMAL_SIGMAS * sigma
        if kind in ("lognormal", "qlognormal"):
            low, high = math.exp(low), math.exp(high)
        base = kind.removeprefix("q")
        warning = (
            f"{param.label}: {param.describe()} is unbounded and Optuna has no {base}"
            f" distribution; exported as a flat range{' on a log scale' if param.is_log else ''}"
            f" over mu ± {NORMAL_SIGMAS:g} sigma and every stored value, so Optuna's TPE"
            " starts from a flat prior there"
        )
        if kind == "normal":
            return _Mapped(_float_dist(optuna, *cover(low, high)), float, warning)
        if kind == "lognormal":
            return _Mapped(_float_dist(optuna, *cover(low, high), log=True), float, warning)
        return _quantised(optuna, param, low, high, cover, warning)
    if kind == "qloguniform":
        low, high = math.exp(param.low), math.exp(param.high)  # type: ignore[arg-type]
        return _quantised(optuna, param, low, high, cover, None)
    raise InputError(f"{param.label}: unknown kind {kind!r}")


def _quantised(optuna: Any, param: Param, low: float, high: float, cover: Any, warning: Any):
    """q kinds on a log scale (or normal ones): keep the step, or the log scale, not both."""
    q = float(param.q)  # type: ignore[arg-type]
    low, high = cover(*_lattice(low, high, q))
    log_kind = param.is_log
    note = (warning + "; ") if warning else f"{param.label}: "
    if log_kind and low > 0 and q == 1 and low == int(low):
        return _Mapped(
            optuna.distributions.IntDistribution(int(low), int(high), log=True),
            _nearest_int,
            warning,
        )
    if log_kind and low > 0:
        return _Mapped(
            _float_dist(optuna, low, high, log=True),
            float,
            note + f"Optuna has no step on a log scale: exported as log=True without the"
            f" q = {q:g} lattice",
        )
    if log_kind:
        note += (
            f"its q = {q:g} lattice reaches 0, where a log scale cannot: exported with the step"
            " on a linear scale"
        )
    return _Mapped(_float_dist(optuna, low, high, step=q), float, note if log_kind else warning)


def _checked(optuna: Any, param: Param, m: _Mapped, seen: list[float]) -> _Mapped:
    """Every stored value must lie in the distribution; a step that float rounding breaks
    (0.30000000000000004 on a 0.1 lattice) is dropped rather than a value changed."""
    d = m.distribution
    if isinstance(d, optuna.distributions.CategoricalDistribution):
        return m

    def fits(dist: Any) -> bool:
        return all(dist._contains(dist.to_internal_repr(m.convert(v))) for v in seen)

    if fits(d):
        return m
    if getattr(d, "step", None) is not None and not isinstance(
        d, optuna.distributions.IntDistribution
    ):
        flat = optuna.distributions.FloatDistribution(d.low, max(d.high, *seen), log=d.log)
        if fits(flat):
            note = f"{param.label}: stored values fall off the q lattice by rounding; exported"
            return _Mapped(flat, m.convert, (m.warning + "; " if m.warning else "") + note
                           + " without a step")  # fmt: skip
    raise InputError(f"{param.label}: stored values do not fit {d!r}; check --space")


def _choices(param: Param) -> tuple[Any, ...]:
    """Option values where they are plain literals (numbers, strings, bools, None), else the
    display text; distinct, as Optuna needs."""
    import ast

    texts = param.options or tuple(str(i) for i in range(param.n_options))
    out: list[Any] = []
    for i, text in enumerate(texts):
        if param.option_values is not None and i < len(param.option_values):
            value = param.option_values[i]  # as written: the string "16" stays a string
        else:
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
                value = text
        if value is not None and not isinstance(value, (bool, int, float, str)):
            value = text
        if isinstance(value, float) and not math.isfinite(value):
            value = text
        out.append(value)
    if len(set(map(repr, out))) < len(out):  # two options shown alike: keep them apart
        out = [f"{t} #{i}" for i, t in enumerate(texts)]
    return tuple(out)


# ------------------------------------------------------------------------------------ trials


def _state(optuna: Any, t: Trial) -> tuple[Any, float | None, str | None]:
    """Optuna's state, the value, and why a trial changed meaning (or None)."""
    S = optuna.trial.TrialState
    if t.state == "running":
        return S.RUNNING, None, None
    if t.state == "new":
        return S.WAITING, None, None
    if t.state == "cancel":
        return S.PRUNED, None, None
    if t.state == "error" or t.status == "fail":
        return S.FAIL, None, None
    if t.status == "ok" and t.loss is not None and not math.isnan(t.loss):
        return S.COMPLETE, float(t.loss), None  # ±inf is a value Optuna stores
    why = "a NaN loss" if t.loss is not None else "no loss"
    if t.status != "ok":
        why = f"status {t.status!r}"
    return S.FAIL, None, why


def _user_attr(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # Optuna stores user attributes as JSON
    return value


def build_trials(optuna: Any, study: Study, space: SearchSpace) -> tuple[list[Any], list[str]]:
    """The trials as Optuna ``FrozenTrial`` templates, and the warnings of the mapping."""
    from datetime import datetime

    warnings: list[str] = []
    mapped = {}
    for label, param in space.params.items():
        seen = _seen(study, label)
        mapped[label] = _checked(optuna, param, map_param(optuna, param, seen), seen)
    warnings.extend(m.warning for m in mapped.values() if m.warning)
    if space.inferred:
        warnings.insert(
            0,
            "the space is INFERRED from the observed values: ranges are the values seen and"
            " choices their stored indices; pass --space for the real distributions",
        )
    scalar_keys: set[str] = set()
    changed: dict[str, list[int]] = {}
    no_time: list[int] = []
    unknown: dict[str, list[int]] = {}
    trials = []
    for t in study.trials:
        state, value, why = _state(optuna, t)
        if why:
            changed.setdefault(why, []).append(t.tid)
        params, dists = {}, {}
        for label, stored in t.params.items():
            m = mapped.get(label)
            if m is None or stored is None or isinstance(stored, (str, bool)):
                continue
            if isinstance(stored, float) and not math.isfinite(stored):
                continue
            v = m.convert(stored)
            if v is _NO_OPTION:
                unknown.setdefault(label, []).append(t.tid)
                continue
            params[label], dists[label] = v, m.distribution
        attrs: dict[str, Any] = {"hyperopt_tid": t.tid}
        if t.status is not None:
            attrs["hyperopt_status"] = t.status
        if t.error:
            attrs["hyperopt_error"] = t.error
        if why:
            attrs["hyperopt_loss"] = _user_attr(t.loss)
        for key, extra in t.extra.items():
            if key in attrs or not (extra is None or isinstance(extra, (bool, int, float, str))):
                continue
            attrs[key] = _user_attr(extra)
            scalar_keys.add(key)
        start = t.book_time or t.refresh_time
        if start is None and state != optuna.trial.TrialState.WAITING:
            no_time.append(t.tid)
            start = datetime.now()
        frozen = optuna.trial.FrozenTrial(
            number=-1,
            trial_id=-1,
            state=state,
            value=value,
            values=None,
            datetime_start=None if state == optuna.trial.TrialState.WAITING else start,
            datetime_complete=(t.refresh_time or start) if state.is_finished() else None,
            params=params,
            distributions=dists,
            user_attrs=attrs,
            system_attrs={},
            intermediate_values={},
        )
        frozen._validate()
        trials.append(frozen)
    for why, tids in changed.items():
        warnings.append(f"{len(tids)} trial(s) with status ok but {why} exported as FAIL"
                        f" (Optuna's COMPLETE needs a value): tids {_tids(tids)}")  # fmt: skip
    for hint in study.source.writer_hints:
        if "negated" in hint:  # a study that maximised: its losses are its values negated
            warnings.append(f"the source: {hint}; exported as values to minimize")
    for label, tids in unknown.items():
        warnings.append(
            f"{label}: stored option indices beyond the space's options were left out: tids"
            f" {_tids(tids)}; check --space"
        )
    if no_time:
        warnings.append(
            f"{len(no_time)} trial(s) have no start time in the file; Optuna needs one, so they"
            f" carry the export time: tids {_tids(no_time)}"
        )
    return trials, warnings


def _tids(tids: list[int]) -> str:
    return ", ".join(map(str, tids[:10])) + (", …" if len(tids) > 10 else "")


def _state_counts(trials: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    return counts


def export_to_optuna(
    study: Study,
    space: SearchSpace,
    storage: str,
    study_name: str,
    *,
    overwrite: bool = False,
) -> ExportResult:
    """Write ``study`` as the Optuna study ``study_name`` in the SQLite file ``storage``.

    Other studies in that file are kept. The file is copied to a temporary file beside it,
    the study is written there and read back, and the copy replaces the file.
    """
    import warnings as py_warnings

    optuna = require_optuna()
    path = check_target(storage, study_name, overwrite)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created" on stderr
    try:
        with py_warnings.catch_warnings():
            py_warnings.simplefilter("ignore")  # ours say what was lost, in our words
            return _export(optuna, study, space, path, study_name, overwrite)
    finally:
        optuna.logging.set_verbosity(verbosity)


def _export(
    optuna: Any, study: Study, space: SearchSpace, path: Path, name: str, overwrite: bool
) -> ExportResult:
    study_name = name
    trials, warnings = build_trials(optuna, study, space)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    replaced = False
    try:
        if path.exists() and path.stat().st_size:
            src = sqlite3.connect(_ro_uri(path), uri=True)
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)  # a consistent copy, even of a storage in use
            finally:
                src.close()
                dst.close()
        rdb = optuna.storages.RDBStorage(
            f"sqlite:///{tmp}", engine_kwargs={"creator": lambda: _fast_sqlite(tmp)}
        )
        try:
            if study_name in existing_studies(tmp):
                if not overwrite:  # made by someone else since check_target looked
                    raise InputError(
                        f"--storage {path}: a study named {study_name!r} appeared while"
                        " exporting; nothing was written (pass --overwrite to replace it)"
                    )
                optuna.delete_study(study_name=study_name, storage=rdb)
                replaced = True
            created = optuna.create_study(storage=rdb, study_name=study_name, direction="minimize")
            created.set_user_attr("hyperopt_source", study.source.path)
            created.set_user_attr("hyperopt_space", space.source)
            rdb.remove_session()
            written = _insert_trials(optuna, tmp, created._study_id, trials)
            if written is None:
                created.add_trials(trials)  # Optuna's own path: one commit per trial, O(n²)
                written = len(created.get_trials(deepcopy=False))
        finally:
            rdb.remove_session()
            rdb.engine.dispose()
        if written != len(trials):
            raise InputError(
                f"--storage {path}: wrote {written} trials of {len(trials)}; nothing was replaced"
            )
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())  # once, instead of once per trial
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ExportResult(
        path=str(path),
        study_name=study_name,
        n_trials=len(trials),
        states=_state_counts(trials),
        distributions={label: _shown(d) for label, d in _distributions(trials).items()},
        warnings=warnings,
        replaced=replaced,
    )


def _insert_trials(optuna: Any, path: Path, study_id: int, trials: list[Any]) -> int | None:
    """Write ``trials`` into the new study's rows of Optuna's schema in ONE transaction, then
    read them back through Optuna and compare with the templates: the number of trials
    read back when every one is equal, else None (nothing left written).

    ``Study.add_trials`` commits once per trial and counts the study's trials (and checks
    each parameter's distribution against the study's) for every one: about 10 ms of CPU a
    trial at 1,000 trials and growing with the study. The rows written here are those
    Optuna's ``_get_prepared_new_trial`` writes, in the tables of the schema the installed
    Optuna just created. Any difference in what Optuna reads back (another schema, another
    encoding) rolls the rows back and returns None, and the caller takes Optuna's own path.
    """
    import json

    try:
        from optuna.distributions import distribution_to_json
        from optuna.storages._rdb.models import TrialValueModel
    except ImportError:  # another Optuna layout: its own path
        return None
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA synchronous = OFF")
        (existing,) = con.execute(
            "SELECT count(*) FROM trials WHERE study_id = ?", (study_id,)
        ).fetchone()
        if existing:
            return None
        dist_json: dict[int, str] = {}
        with con:  # one transaction
            for number, t in enumerate(trials):
                row = (number, study_id, t.state.name, _sql_time(t.datetime_start))
                trial_id = con.execute(
                    "INSERT INTO trials (number, study_id, state, datetime_start,"
                    " datetime_complete) VALUES (?, ?, ?, ?, ?)",
                    (*row, _sql_time(t.datetime_complete)),
                ).lastrowid
                if t.value is not None:
                    value, kind = TrialValueModel.value_to_stored_repr(t.value)
                    con.execute(
                        "INSERT INTO trial_values (trial_id, objective, value, value_type)"
                        " VALUES (?, 0, ?, ?)",
                        (trial_id, value, kind.name),
                    )
                params = []
                for name, v in t.params.items():
                    d = t.distributions[name]
                    if id(d) not in dist_json:
                        dist_json[id(d)] = distribution_to_json(d)
                    params.append((trial_id, name, d.to_internal_repr(v), dist_json[id(d)]))
                con.executemany(
                    "INSERT INTO trial_params (trial_id, param_name, param_value,"
                    " distribution_json) VALUES (?, ?, ?, ?)",
                    params,
                )
                for table, attrs in (
                    ("trial_user_attributes", t.user_attrs),
                    ("trial_system_attributes", t.system_attrs),
                ):
                    con.executemany(
                        f"INSERT INTO {table} (trial_id, key, value_json) VALUES (?, ?, ?)",
                        [(trial_id, k, json.dumps(v)) for k, v in attrs.items()],
                    )
        storage = optuna.storages.RDBStorage(
            f"sqlite:///{path}", engine_kwargs={"creator": lambda: _fast_sqlite(path)}
        )
        try:
            back = storage.get_all_trials(study_id, deepcopy=False)
        finally:
            storage.remove_session()
            storage.engine.dispose()
        if len(back) == len(trials) and all(
            _same_trial(a, b, n) for n, (a, b) in enumerate(zip(back, trials, strict=True))
        ):
            return len(back)
        with con:
            _delete_trials(con, study_id)
        return None
    except (sqlite3.Error, ValueError, TypeError, KeyError):
        with con:
            _delete_trials(con, study_id)
        return None
    finally:
        con.close()


def _sql_time(value: Any) -> str | None:
    """A datetime as SQLAlchemy stores a DateTime in SQLite (naive, microseconds)."""
    if value is None:
        return None
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _same_trial(read: Any, made: Any, number: int) -> bool:
    def naive(value: Any) -> Any:
        return value.replace(tzinfo=None) if value is not None else None

    return (
        read.number == number
        and read.state == made.state
        and read.values == ([made.value] if made.value is not None else None)
        and read.params == made.params
        and read.distributions == made.distributions
        and read.user_attrs == made.user_attrs
        and read.system_attrs == made.system_attrs
        and read.intermediate_values == made.intermediate_values
        and read.datetime_start == naive(made.datetime_start)
        and read.datetime_complete == naive(made.datetime_complete)
    )


def _delete_trials(con: sqlite3.Connection, study_id: int) -> None:
    ids = "SELECT trial_id FROM trials WHERE study_id = ?"
    for table in (
        "trial_values",
        "trial_params",
        "trial_user_attributes",
        "trial_system_attributes",
        "trial_intermediate_values",
        "trial_heartbeats",
    ):
        con.execute(f"DELETE FROM {table} WHERE trial_id IN ({ids})", (study_id,))
    con.execute("DELETE FROM trials WHERE study_id = ?", (study_id,))


def _fast_sqlite(path: Path) -> sqlite3.Connection:
    """A connection to the private temporary file that does not sync after every commit:
    Optuna commits each added trial, and a sync each costs ~50 ms on ordinary disks."""
    con = sqlite3.connect(path, check_same_thread=False)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA journal_mode = MEMORY")
    return con


def _shown(d: Any) -> str:
    """A distribution as Optuna's repr, without its defaults and with numbers to 10
    significant digits (``low=0.001``, not exp(log(0.001)) = ``0.0010000000000000002``)."""
    name = type(d).__name__
    if hasattr(d, "choices"):
        return f"{name}(choices={d.choices!r})"
    parts = [f"low={_g(d.low)}", f"high={_g(d.high)}"]
    if d.log:
        parts.append("log=True")
    if d.step is not None and not (name == "IntDistribution" and d.step == 1):
        parts.append(f"step={_g(d.step)}")
    return f"{name}({', '.join(parts)})"


def _g(value: Any) -> str:
    return f"{value:.10g}" if isinstance(value, float) else str(value)


def _distributions(trials: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for t in trials:
        for label, d in t.distributions.items():
            out.setdefault(label, d)
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
