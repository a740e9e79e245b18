"""Trial and Study: hyperopt's trial documents, normalised once.

Every piece of hyperopt semantics about trial documents (state codes, which trials TPE
sees, how it reads a missing loss, ``from_tid``) lives here; nothing downstream touches
raw documents. See ../shared/HYPEROPT.md.
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from itertools import chain
from operator import itemgetter
from typing import Any

STATE_NAMES = {0: "new", 1: "running", 2: "done", 3: "error", 4: "cancel"}
# hyperopt.base.JOB_VALID_STATES: the states ``Trials.refresh`` keeps in ``trials.trials``.
VALID_STATES = frozenset({"new", "running", "done"})
FINISHED_STATES = frozenset({"done", "error"})
# Result keys that hold a failure's reason in objectives found in public repositories.
FAILURE_KEYS = (
    "failure", "error", "message", "exception", "error_msg", "error_message", "msg",
    "reason", "err", "traceback",
)  # fmt: skip
STATUS_OK = "ok"

Value = float | int | str | bool | None


_PLAIN_KEYS = (str, bytes, int, float, bool, type(None))


def same_exp_key(a: Any, b: Any) -> bool:
    """hyperopt's ``doc['exp_key'] == trials._exp_key`` for the keys fmin writes (text,
    numbers, None); any other value (a list, a dict, a placeholder) is the same key only
    when it is the same object: ``==`` between two equal but distinct nested lists from a
    hostile file walks every path through them (2**40 steps for 1.7 KB)."""
    if a is b:
        return True
    if type(a) in _PLAIN_KEYS and type(b) in _PLAIN_KEYS:
        return bool(a == b)
    return False


@dataclass(frozen=True, slots=True)
class Trial:
    """One trial document, as the tool sees it."""

    tid: int
    state: str
    status: str | None
    loss: float | None
    params: Mapping[str, Value]
    book_time: datetime | None = None
    refresh_time: datetime | None = None
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    from_tid: int | None = None
    exp_key: Any = None

    @property
    def is_ok(self) -> bool:
        """Status ``ok`` with a finite loss, in a state ``trials.trials`` keeps (not error or
        cancel): a trial that can be the best, as ``Trials.best_trial`` sees it."""
        return (
            self.status == STATUS_OK
            and self.loss is not None
            and math.isfinite(self.loss)
            and self.state in VALID_STATES
        )

    @property
    def is_failed(self) -> bool:
        """A trial that produced no usable loss: state error, or status fail."""
        return self.state == "error" or self.status == "fail"

    @property
    def has_non_finite_loss(self) -> bool:
        return self.loss is not None and not math.isfinite(self.loss)

    @property
    def finished(self) -> bool:
        """The evaluation ended (state done or error); new, running and cancelled did not."""
        return self.state in FINISHED_STATES

    @property
    def duration(self) -> float | None:
        """refresh_time - book_time of a finished trial; None for an unfinished one (fmin
        sets both times to the start when it books a trial)."""
        if self.book_time is None or self.refresh_time is None or not self.finished:
            return None
        return (self.refresh_time - self.book_time).total_seconds()

    @property
    def failure_reason(self) -> str | None:
        """Why a status-fail trial failed, from the result keys objectives use for it."""
        return failure_reason(self.extra)

    @property
    def tpe_loss(self) -> float:
        """The loss as ``tpe.suggest`` reads it: ``inf`` when there is none."""
        return math.inf if self.loss is None else self.loss


@dataclass(frozen=True)
class Source:
    """Where a study came from and what the loader noticed about the file."""

    path: str
    format: str  # "pickle", "json"
    container: str  # "Trials", "dict['trials']", "list of trial documents", ...
    protocol: int | None = None
    compression: str | None = None
    size_bytes: int = 0
    trials_class: str | None = None
    writer_hints: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    trusted: bool = False


@dataclass(frozen=True)
class Study:
    """All trial documents of a file, sorted by tid, and what surrounds them."""

    trials: tuple[Trial, ...]
    labels: tuple[str, ...]
    source: Source
    exp_key: Any = None
    attachments: tuple[str, ...] = ()
    placeholders: Mapping[str, int] = field(default_factory=dict)
    space: Any = None  # the raw space object stored beside the trials (--trust only)

    @property
    def n_trials(self) -> int:
        return len(self.trials)

    def visible_to_hyperopt(self, n_trials: int | None = None) -> list[Trial]:
        """``trials.trials`` after ``Trials.refresh``: valid states and the study's exp_key.

        With ``n_trials``, only the first n documents by tid: what existed when the next
        trial was suggested in a sequential ``fmin`` run.
        """
        prefix = self.trials if n_trials is None else self.trials[:n_trials]
        return [
            t
            for t in prefix
            if t.state in VALID_STATES
            and (self.exp_key is None or same_exp_key(t.exp_key, self.exp_key))
        ]

    def tpe_history(self, n_trials: int | None = None) -> list[Trial]:
        """The documents ``tpe.suggest`` builds its model from, sorted by tid.

        Mirrors the loop at the top of ``hyperopt.tpe.suggest``: documents are grouped by
        ``misc['from_tid']`` (default: their own tid) keeping the lowest loss, missing
        losses count as ``inf``, and a group whose losses are all NaN is dropped because
        ``nan <= nan`` is false there (a quirk we copy, not fix). The whole study's
        history is computed once (the checks, the summary and the inference all ask).
        """
        if n_trials is None:
            return list(self.memoized("tpe_history", self._tpe_history))
        return self._tpe_history(n_trials)

    @cached_property
    def _memo(self) -> dict[Any, Any]:
        return {}

    def memoized(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per study and key: results several parts of a command share
        (the study is immutable, so they stay true)."""
        memo = self._memo
        if key not in memo:
            memo[key] = compute()
        return memo[key]

    def _tpe_history(self, n_trials: int | None = None) -> list[Trial]:
        best_loss: dict[int, float] = {}
        best_doc: dict[int, Trial] = {}
        for t in self.visible_to_hyperopt(n_trials):
            key = t.tid if t.from_tid is None else t.from_tid
            loss = t.tpe_loss
            best_loss.setdefault(key, loss)
            if loss <= best_loss[key]:
                best_loss[key] = loss
                best_doc[key] = t
        return [best_doc[k] for k in sorted(best_doc)]

    def column(self, label: str) -> Any:
        """A label's values as a float array in tid order; NaN where inactive or not a number.

        Built once per label: the checks and the inference read big studies this way.
        """
        columns = self._columns
        if label not in columns:
            import numpy as np

            matrix = self._matrix
            if matrix is not None and label in self.labels:
                columns[label] = matrix[:, self.labels.index(label)]
                return columns[label]
            values = [p.get(label) for p in self._params]
            columns[label] = np.array(
                [v if type(v) is float else _as_float(v) for v in values], dtype=float
            )
        return columns[label]

    @cached_property
    def _params(self) -> list[Mapping[str, Value]]:
        return [t.params for t in self.trials]

    @cached_property
    def _matrix(self) -> Any:
        """All parameter values as one float array (None → NaN), or None if some value is
        not a number; one C-speed conversion instead of one Python call per value."""
        import numpy as np

        labels = self.labels
        try:
            rows = list(map(itemgetter(*labels), self._params)) if labels else []
        except KeyError:  # some trial lacks a label (conditional spaces)
            rows = [[p.get(label) for label in labels] for p in self._params]
        try:
            with np.errstate(all="ignore"):
                return np.array(rows, dtype=float).reshape(len(self.trials), len(labels))
        except (TypeError, ValueError, OverflowError):
            return None

    @cached_property
    def _columns(self) -> dict[str, Any]:
        return {}

    @cached_property
    def tids(self) -> Any:
        import numpy as np

        return np.fromiter((t.tid for t in self.trials), dtype=np.int64, count=len(self.trials))

    @cached_property
    def ok_losses(self) -> Any:
        """Losses of status-ok trials with a finite loss, NaN elsewhere (tid order)."""
        import numpy as np

        return np.fromiter(
            (t.loss if t.is_ok else math.nan for t in self.trials),
            dtype=float,
            count=len(self.trials),
        )

    @cached_property
    def ok_by_loss(self) -> list[Trial]:
        """The trials that can be the best (``Trial.is_ok``), by loss, ties by tid: the order
        of ``sorted(..., key=lambda t: (t.loss, t.tid))`` from one numpy sort (a Python
        sort with a key took 0.2 s at 200k trials, and the summary and T003 each did one)."""
        import numpy as np

        losses = self.ok_losses
        at = np.flatnonzero(~np.isnan(losses))  # ok_losses: NaN unless is_ok
        order = at[np.lexsort((self.tids[at], losses[at]))]
        trials = self.trials
        return [trials[i] for i in order.tolist()]

    def observed_values(self) -> dict[str, Any]:
        """Each label's numeric values (an array), in tid order, where it was active."""
        import numpy as np

        return {label: (c := self.column(label))[~np.isnan(c)] for label in self.labels}

    @cached_property
    def _duplicate_groups(self) -> list[list[int]]:
        return self._find_duplicates()

    def duplicate_groups(self) -> list[list[int]]:
        return [list(g) for g in self._duplicate_groups]

    def _find_duplicates(self) -> list[list[int]]:
        """Tids of identical configurations evaluated more than once (error trials aside)."""
        matrix = self._matrix
        if matrix is not None and len(self.trials) > 1000 and self.labels:
            return self._find_duplicates_numpy(matrix)
        groups: dict[tuple[Any, ...], list[int]] = {}
        labels = self.labels
        for t in self.trials:
            if t.params and t.state != "error":
                # inactive and absent are the same, and a NaN value is no value: as in the
                # numpy path, and whether or not the file made its NaNs one object
                key = tuple(
                    None if isinstance(v, float) and v != v else v
                    for v in map(t.params.get, labels)
                )
                groups.setdefault(key, []).append(t.tid)
        return [tids for tids in groups.values() if len(tids) > 1]

    def to_pandas(self, display: Mapping[str, Mapping[Any, str]] | None = None) -> Any:
        """The trials as a pandas DataFrame (pandas is optional: install it to use this)."""
        try:
            import pandas as pd
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError("to_pandas needs pandas: pip install pandas") from exc
        columns, rows = study_table(self, display)
        return pd.DataFrame(rows, columns=columns)

    def _find_duplicates_numpy(self, matrix: Any) -> list[list[int]]:
        import numpy as np

        keep = np.array([bool(t.params) and t.state != "error" for t in self.trials], dtype=bool)
        rows = np.ascontiguousarray(matrix[keep])
        # identical rows have identical bytes (NaN for inactive labels included)
        _, inverse, counts = np.unique(
            rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel(),
            return_inverse=True,
            return_counts=True,
        )
        tids = self.tids[keep]
        groups: dict[int, list[int]] = {}
        for position in np.flatnonzero(counts[inverse] > 1):
            groups.setdefault(int(inverse[position]), []).append(int(tids[position]))
        return list(groups.values())

    def best(self) -> Trial | None:
        """The status-ok trial with the smallest finite loss; ties go to the lowest tid."""
        best: Trial | None = None
        for t in self.trials:
            if t.is_ok and (best is None or t.loss < best.loss):  # type: ignore[operator]
                best = t
        return best


_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxstring, _BRIEF.maxother = 2, 40, 40


def _text(value: Any, limit: int = 10_000) -> str:
    """str() of a value from the file, bounded (deep or memo-shared data: no hang)."""
    if isinstance(value, str):
        return value[:limit]
    try:
        return _BRIEF.repr(value)[:limit]
    except Exception:
        return f"<{type(value).__name__}>"


def _as_float(value: Any) -> float:
    if type(value) is float:
        return value
    try:
        return float(value) if isinstance(value, (int, float)) else math.nan
    except (OverflowError, ValueError):
        return math.nan


def _param(value: Any) -> Value:
    """A parameter value as a plain number, or None when it is not one."""
    number = _number(value)
    if isinstance(number, bool):
        return number
    if isinstance(number, int):
        if abs(number) > MAX_PARAM_MAGNITUDE:  # an int no analysis can hold
            return None
        return number
    if isinstance(number, float):
        if math.isfinite(number) and abs(number) > MAX_PARAM_MAGNITUDE:
            return None  # squares and ranges of it overflow every density estimate
        return number  # NaN and inf kept: the checks treat them as not set
    return None


# No hyperopt space draws values this large (lognormal would need mu + k*sigma > 345);
# beyond it variances and ranges overflow float64.
MAX_PARAM_MAGNITUDE = 1e150


def _number(value: Any) -> Any:
    """numpy scalars (under --trust) and ints-as-floats to plain Python numbers."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
        return value
    for kind in (int, float):
        try:
            as_kind = kind(value)
        except (TypeError, ValueError, OverflowError):
            continue
        if kind is float or as_kind == value:
            return as_kind
    return value


def _loss(value: Any) -> tuple[float | None, str | None]:
    if value is None:
        return None, None
    try:
        return float(value), None
    except (TypeError, ValueError, OverflowError):
        return None, f"loss {_text(value, 40)!r} is not a number"


def _error_text(error: Any) -> str | None:
    """``misc['error']`` is ``(str(type(e)), str(e))``: "<class 'ValueError'>" → "ValueError"."""
    if error is None:
        return None
    if isinstance(error, (tuple, list)) and len(error) == 2:
        kind = re.sub(
            r"^<(?:class|type) '(?:builtins\.|exceptions\.)?(.+)'>$", r"\1", _text(error[0])
        )
        return f"{kind}: {_text(error[1])}"
    return _text(error)


def failure_reason(extra: Mapping[str, Any]) -> str | None:
    """The text of the first common failure key; else the only text-valued key, if one.

    A traceback is shown by its last line ("ValueError: ..."), which names the error.
    """
    for key in FAILURE_KEYS:
        value = extra.get(key)
        if isinstance(value, str) and value.strip():
            return _last_line(value) if key == "traceback" or "Traceback (" in value else value
    texts = [(k, v) for k, v in extra.items() if isinstance(v, str) and v.strip()]
    if len(texts) == 1:
        key, value = texts[0]
        return f"{_last_line(value)} (result[{key!r}])"
    return None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text


def _tid(value: Any) -> int:
    """A tid as hyperopt uses it: a whole number (a float like 3.7 is not truncated)."""
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"tid {value!r} is not a whole number")
    tid = int(value)
    if not -(2**63) <= tid < 2**63:
        raise ValueError("tid is out of range")
    return tid


def trial_from_doc(
    doc: Mapping[str, Any], plain: Callable[[Any], Any] = lambda v: v
) -> tuple[Trial, str | None]:
    """One hyperopt trial document to a Trial, plus a problem found in it (or None).

    ``plain`` turns extra result values into plain data (the loader passes its own).
    """
    fields, problem = fields_from_doc(doc, plain)
    return Trial(*fields), problem


def fields_from_doc(
    doc: Mapping[str, Any], plain: Callable[[Any], Any] = lambda v: v
) -> tuple[tuple[Any, ...], str | None]:
    """``trial_from_doc`` as the tuple of a Trial's fields, in their order (``Trial(*fields)``).

    The loader keeps tuples until every document is read (see ``loading.compact``).
    """
    misc = doc.get("misc") or {}
    result = doc.get("result") or {}
    if not (type(misc) is dict or isinstance(misc, Mapping)) or not (
        type(result) is dict or isinstance(result, Mapping)
    ):
        raise ValueError("its 'misc' or 'result' is not a dict")
    # type() first on every field: the common case (fmin's own types) costs no call
    tid = doc.get("tid")
    if type(tid) is not int or not -(2**63) <= tid < 2**63:
        tid = _tid(doc.get("tid", misc.get("tid")))
    state_code = doc.get("state", 2)
    state = STATE_NAMES.get(state_code) or f"unknown({state_code})"
    loss = result.get("loss")
    if type(loss) is float:
        problem = None
    else:
        loss, problem = _loss(loss)
    params: dict[str, Value] = {}
    for label, values in (misc.get("vals") or {}).items():
        key = label if type(label) is str else _text(label)
        if type(values) is list or isinstance(values, tuple):
            if not values:
                params[key] = None
                continue
            value = values[0]
            # the common case first: fmin's values are floats and ints (after the loader)
            if (type(value) is float or type(value) is int) and (
                -MAX_PARAM_MAGNITUDE <= value <= MAX_PARAM_MAGNITUDE
            ):
                params[key] = value
                continue
            number = _param(value)
        else:  # some exporters flatten the one-element lists
            number = _param(values)
        params[key] = number
        if number is None and problem is None:
            problem = f"value {_text(values, 40)} of {key!r} is not a number; ignored"
    status = result.get("status")
    extra = (
        {_text(k): plain(v) for k, v in result.items() if k not in ("loss", "status")}
        if len(result) > 2 or "status" not in result or "loss" not in result
        else {}
    )
    from_tid = misc.get("from_tid")
    book_time = _time(doc.get("book_time"))
    refresh_time = _time(doc.get("refresh_time"))
    # fmin puts errors in misc; a MongoWorker in the job's top-level "error" field
    error = misc.get("error") or doc.get("error")
    fields = (
        tid,
        state,
        status if type(status) is str and len(status) <= 10_000 else _status_text(status),
        loss,
        params,
        book_time,
        refresh_time,
        None if error is None else _error_text(error),
        extra,
        None if from_tid is None else int(from_tid),
        doc.get("exp_key"),
    )
    return fields, problem


def _time(value: Any) -> datetime | None:
    """A time as hyperopt stores it (naive UTC), or None when ``value`` is no valid time.

    datetime's pickle payload is not range-checked by CPython (day 99, hour 200, year 0
    load, then ``strftime`` and ``date()`` raise), and a pickle may hold aware times (a
    tz-aware MongoDB client, a hand-made file), which cannot be compared with naive ones.
    The JSON and Optuna readers convert aware times the same way.
    """
    if type(value) is not datetime and not isinstance(value, datetime):
        return None
    try:
        value.date(), value.time()  # each checks its fields' ranges
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError, TypeError):  # year 9999 at -23:59 is past UTC's range
        return None
    return value


def _status_text(status: Any) -> str | None:
    return None if status is None else _text(status)


def labels_in_order(trials: Iterable[Trial]) -> tuple[str, ...]:
    """Parameter labels in the order hyperopt stored them (first appearance)."""
    return tuple(dict.fromkeys(chain.from_iterable(t.params for t in trials)))


TABLE_FIXED_COLUMNS = (
    "tid",
    "state",
    "status",
    "loss",
    "book_time",
    "refresh_time",
    "duration_s",
    "error",
)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def study_table(
    study: Study, display: Mapping[str, Mapping[Any, str]] | None = None
) -> tuple[list[str], list[list[Any]]]:
    """One row per trial: the fixed columns, one per parameter, then the scalar result keys.

    ``display`` maps a label's stored value to the text to show (choice options by value).
    Extra result keys whose values are not scalars (lists, dicts, objects) are left out.
    """
    display = display or {}
    extra_keys: dict[str, None] = {}
    for t in study.trials:
        for key, value in t.extra.items():
            if _scalar(value) and key not in study.labels:
                extra_keys.setdefault(key, None)
    columns = [*TABLE_FIXED_COLUMNS, *study.labels, *extra_keys]
    rows = []
    for t in study.trials:
        row: list[Any] = [
            t.tid,
            t.state,
            t.status,
            t.loss,
            t.book_time,
            t.refresh_time,
            t.duration,
            t.error,
        ]
        for label in study.labels:
            value = t.params.get(label)
            shown = display.get(label, {}).get(value) if value is not None else None
            row.append(shown if shown is not None else value)
        for key in extra_keys:
            value = t.extra.get(key)
            row.append(value if _scalar(value) else None)
        rows.append(row)
    return columns, rows
