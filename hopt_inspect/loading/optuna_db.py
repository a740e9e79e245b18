"""An Optuna study in an SQLite file, read with the standard library (no Optuna needed).

Tables used: ``studies``, ``study_directions``, ``trials``, ``trial_params`` (with
``distribution_json``) and ``trial_values``. Optuna's states map to hyperopt's: COMPLETE →
done/ok, FAIL → error, PRUNED → cancel, RUNNING → running, WAITING → new. A study that
maximises is turned into losses by negating its values, and says so.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import sqlite3
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..space import Param, SearchSpace
from ..study import Source, Study, Trial, labels_in_order

_STATES = {
    "COMPLETE": ("done", "ok"),
    "FAIL": ("error", "fail"),
    "PRUNED": ("cancel", "pruned"),
    "RUNNING": ("running", "running"),
    "WAITING": ("new", "new"),
}


def is_optuna_db(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


# Bounds: a hostile "storage" can make SQLite loop (a VIEW over an endless recursive CTE)
# or multiply rows (views that cross-join); every query stops at these.
QUERY_SECONDS = 10.0
MAX_TRIALS = 1_000_000
MAX_PARAM_ROWS = 5_000_000
MAX_LABELS = 1_000
_SIDE_FILES = ("-wal", "-journal")


class _TooBig(Exception):
    pass


def _uri(path: Path, query: str) -> str:
    """A ``file:`` URI with the path quoted: ``#``, ``?`` and ``%`` in a name stay in it."""
    return "file:" + urllib.parse.quote(str(path.resolve()), safe="/") + "?" + query


@contextlib.contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection that cannot change, create or delete any file beside ``path``.

    Without a ``-wal``/``-journal`` file beside it, the database is opened in place as
    ``mode=ro&immutable=1`` (no locks, no ``-shm``/``-wal`` created even for a WAL-mode
    file). With one, SQLite would replay or checkpoint it, so the database and its side
    files are copied into a private temporary folder and that copy is read instead.
    """
    side = [Path(f"{path}{suffix}") for suffix in _SIDE_FILES]
    folder = None
    try:
        if any(f.exists() for f in side):
            folder = Path(tempfile.mkdtemp(prefix="hopt-inspect-optuna-"))
            copy = folder / "study.db"
            shutil.copyfile(path, copy)
            for suffix, f in zip(_SIDE_FILES, side, strict=True):
                if f.is_file():
                    shutil.copyfile(f, f"{copy}{suffix}")
            con = sqlite3.connect(_uri(copy, "mode=rw"), uri=True)
        else:
            con = sqlite3.connect(_uri(path, "mode=ro&immutable=1"), uri=True)
        try:
            con.text_factory = _text_of  # invalid UTF-8 in a text cell must not raise
            con.execute("PRAGMA query_only = ON")
            con.execute("PRAGMA trusted_schema = OFF")
            deadline = time.monotonic() + QUERY_SECONDS
            con.set_progress_handler(lambda: time.monotonic() > deadline, 20_000)
            yield con
        finally:
            con.close()
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _text_of(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _rows(con: sqlite3.Connection, sql: str, args: tuple, cap: int, what: str) -> Iterator:
    """The rows of ``sql``, refused past ``cap`` (a cross product must not fill memory)."""
    for n, row in enumerate(con.execute(sql, args)):
        if n >= cap:
            raise _TooBig(f"more than {cap:,} {what}")
        yield row


def _time(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(str(text))
    except (ValueError, OverflowError):
        return None
    if parsed.tzinfo is not None:  # hyperopt's times are naive UTC
        try:
            parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
        except (ValueError, OverflowError):
            return None
    return parsed


def load_optuna(path: Path, study_name: str | None) -> tuple[Study, SearchSpace]:
    """The named study (or the only one) as a Study, and its space from the distributions."""
    try:
        with _connect(path) as con:
            try:
                studies = list(
                    _rows(con, "SELECT study_id, study_name FROM studies", (), 10_000, "studies")
                )
            except sqlite3.DatabaseError as exc:
                if _interrupted(exc):
                    raise
                raise InputError(
                    f"{path}: an SQLite database, but not an Optuna storage ({exc})"
                ) from exc
            study_id, study_name = _pick(path, studies, study_name)
            return _read(con, path, study_id, study_name)
    except _TooBig as exc:
        raise InputError(f"{path}: the Optuna storage holds {exc}; not read") from exc
    except sqlite3.DatabaseError as exc:
        if _interrupted(exc):
            raise InputError(
                f"{path}: reading the Optuna tables took over {QUERY_SECONDS:g} s (a view that"
                " never ends?); stopped"
            ) from exc
        raise InputError(f"{path}: the Optuna tables could not be read ({exc})") from exc
    except (OSError, sqlite3.Error, MemoryError, RecursionError, UnicodeError) as exc:
        raise InputError(f"{path}: the SQLite file could not be read ({exc})") from exc


def _interrupted(exc: Exception) -> bool:
    return "interrupt" in str(exc).lower()


def _pick(path: Path, studies: list, study_name: str | None) -> tuple[Any, str]:
    names = [str(name) for _, name in studies]
    if not studies:
        raise InputError(f"{path}: the Optuna storage holds no study")
    if study_name is None:
        if len(studies) > 1:
            shown = ", ".join(names[:20]) + (", …" if len(names) > 20 else "")
            raise InputError(
                f"{path}: holds {len(studies)} Optuna studies ({shown}); pick one with --study NAME"
            )
        return studies[0][0], names[0]
    matches = [sid for sid, name in studies if name == study_name]
    if not matches:
        shown = ", ".join(names[:20]) + (", …" if len(names) > 20 else "")
        raise InputError(f"--study {study_name}: not in {path}; it has {shown}")
    return matches[0], study_name


def _read(
    con: sqlite3.Connection, path: Path, study_id: int, name: str
) -> tuple[Study, SearchSpace]:
    directions = list(
        _rows(
            con,
            "SELECT direction FROM study_directions WHERE study_id = ? ORDER BY objective",
            (study_id,),
            100,
            "objectives",
        )
    )
    if len(directions) > 1:
        raise InputError(
            f"{path}: study {name!r} has {len(directions)} objectives; hyperopt studies have one"
        )
    maximize = bool(directions) and str(directions[0][0]).upper() == "MAXIMIZE"
    rows = list(
        _rows(
            con,
            "SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials"
            " WHERE study_id = ? ORDER BY number",
            (study_id,),
            MAX_TRIALS,
            "trials",
        )
    )
    values = {
        trial_id: _value(value, value_type)
        for trial_id, value, value_type in _rows(
            con,
            "SELECT v.trial_id, v.value, v.value_type FROM trial_values v"
            " JOIN trials t USING (trial_id) WHERE t.study_id = ? AND v.objective = 0",
            (study_id,),
            MAX_TRIALS,
            "trial values",
        )
    }
    params: dict[Any, dict[str, Any]] = {}
    distributions: dict[str, Any] = {}
    for trial_id, pname, pvalue, dist in _rows(
        con,
        "SELECT p.trial_id, p.param_name, p.param_value, p.distribution_json FROM trial_params p"
        " JOIN trials t USING (trial_id) WHERE t.study_id = ?",
        (study_id,),
        MAX_PARAM_ROWS,
        "parameter values",
    ):
        pname = str(pname)
        if pname not in distributions:
            if len(distributions) >= MAX_LABELS:
                raise _TooBig(f"more than {MAX_LABELS:,} parameter names")
            distributions[pname] = dist
        params.setdefault(trial_id, {})[pname] = pvalue
    labels = sorted(distributions)
    trials = []
    seen_numbers: set[int] = set()
    for trial_id, number, state, start, complete in rows:
        tid = _tid(path, number)
        if tid in seen_numbers:
            raise InputError(f"{path}: two Optuna trials have the number {tid}")
        seen_numbers.add(tid)
        state_name, status = _STATES.get(str(state), ("new", "new"))
        value = values.get(trial_id)
        loss = None if value is None else (-value if maximize else value)
        trial_params = params.get(trial_id, {})
        trials.append(
            Trial(
                tid=tid,
                state=state_name,
                status=status,
                loss=loss,
                # only the parameters this trial set (like hyperopt's inactive labels)
                params={
                    label: _param(path, label, trial_params[label])
                    for label in labels
                    if label in trial_params
                },
                book_time=_time(start),
                refresh_time=_time(complete),
            )
        )
    notes = ["an Optuna study: TPE's curves (lpdf) do not apply, Optuna's TPE differs"]
    if maximize:
        notes.append("the study maximises: losses are its values negated")
    source = Source(
        path=str(path),
        format="optuna-sqlite",
        container=f"Optuna study {name!r}",
        size_bytes=path.stat().st_size,
        writer_hints=tuple(notes),
    )
    study = Study(trials=tuple(trials), labels=labels_in_order(trials), source=source)
    space = SearchSpace(
        {label: _distribution(path, label, distributions[label]) for label in labels},
        source=f"Optuna distributions in {path.name}",
    )
    return study, space


def _value(value: Any, value_type: Any) -> float | None:
    """Optuna stores infinite values as NULL with value_type INF_POS / INF_NEG."""
    if value_type == "INF_POS":
        return math.inf
    if value_type == "INF_NEG":
        return -math.inf
    return None if value is None else _float(value)


def _float(value: Any) -> float | None:
    """A stored number as a float; text, blobs and huge integers that are not numbers: None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def _tid(path: Path, number: Any) -> int:
    if isinstance(number, int) and not isinstance(number, bool) and 0 <= number < 2**63:
        return number
    raise InputError(f"{path}: an Optuna trial number is not a non-negative integer")


def _param(path: Path, label: str, value: Any) -> float | int | None:
    number = _float(value)
    if number is None:
        return None
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _distribution(path: Path, label: str, text: Any) -> Param:
    """The parameter's ``distribution_json``, or a one-line refusal that names it."""
    try:
        dist = json.loads(text)
        if not isinstance(dist, dict) or not isinstance(dist.get("attributes", {}), dict):
            raise ValueError("not an object with 'name' and 'attributes'")
        return _param_from_distribution(label, dist)
    except (TypeError, ValueError, OverflowError, RecursionError, KeyError) as exc:
        raise InputError(
            f"{path}: parameter {label[:100]!r} has a distribution_json Optuna does not write"
            f" ({str(exc)[:100]})"
        ) from exc


def _param_from_distribution(label: str, dist: dict[str, Any]) -> Param:
    """Optuna's distribution as the equivalent hyperopt kind (log kinds in log space)."""
    kind = dist.get("name", "")
    a = dist.get("attributes", {})
    if kind == "CategoricalDistribution":
        choices = a.get("choices", [])
        if not isinstance(choices, list) or not choices:
            raise ValueError("categorical choices are not a non-empty list")
        return Param(label, "choice", options=tuple(_text(c) for c in choices))
    low, high = float(a.get("low")), float(a.get("high"))
    if not (math.isfinite(low) and math.isfinite(high) and low <= high):
        raise ValueError(f"bounds {low} .. {high}")
    log = bool(a.get("log")) or kind in ("LogUniformDistribution", "IntLogUniformDistribution")
    step = a.get("step", a.get("q"))
    if step is not None and (
        isinstance(step, bool) or not isinstance(step, (int, float)) or not step > 0
    ):
        raise ValueError(f"step {step!r}")
    if kind in ("IntDistribution", "IntUniformDistribution", "IntLogUniformDistribution"):
        step = step or 1
    if log:
        if step:  # integers on a log scale: hyperopt's qloguniform with q = step
            return Param(label, "qloguniform", low=math.log(low), high=math.log(high), q=step)
        return Param(label, "loguniform", low=math.log(low), high=math.log(high))
    if step:
        return Param(label, "quniform", low=low, high=high, q=float(step))
    return Param(label, "uniform", low=low, high=high)


def _text(choice: Any) -> str:
    return choice if isinstance(choice, str) else json.dumps(choice)
