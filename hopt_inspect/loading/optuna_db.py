"""An Optuna study in an SQLite file, read with the standard library (no Optuna needed).

Tables used: ``studies``, ``study_directions``, ``trials``, ``trial_params`` (with
``distribution_json``) and ``trial_values``. Optuna's states map to hyperopt's: COMPLETE →
done/ok, FAIL → error, PRUNED → cancel, RUNNING → running, WAITING → new. A study that
maximises is turned into losses by negating its values, and says so.
"""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import datetime
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


def _connect(path: Path) -> sqlite3.Connection:
    # Read-only: nothing the tool reads is ever modified.
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _time(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def load_optuna(path: Path, study_name: str | None) -> tuple[Study, SearchSpace]:
    """The named study (or the only one) as a Study, and its space from the distributions."""
    try:
        con = _connect(path)
        studies = con.execute("SELECT study_id, study_name FROM studies").fetchall()
    except sqlite3.Error as exc:
        raise InputError(f"{path}: an SQLite database, but not an Optuna storage ({exc})") from exc
    names = [name for _, name in studies]
    if not studies:
        raise InputError(f"{path}: the Optuna storage holds no study")
    if study_name is None:
        if len(studies) > 1:
            raise InputError(
                f"{path}: holds {len(studies)} Optuna studies ({', '.join(names)}); pick one"
                " with --study NAME"
            )
        study_id, study_name = studies[0]
    else:
        matches = [sid for sid, name in studies if name == study_name]
        if not matches:
            raise InputError(f"--study {study_name}: not in {path}; it has {', '.join(names)}")
        study_id = matches[0]
    try:
        return _read(con, path, study_id, study_name)
    except sqlite3.Error as exc:
        raise InputError(f"{path}: the Optuna tables could not be read ({exc})") from exc
    finally:
        con.close()


def _read(
    con: sqlite3.Connection, path: Path, study_id: int, name: str
) -> tuple[Study, SearchSpace]:
    directions = con.execute(
        "SELECT direction FROM study_directions WHERE study_id = ? ORDER BY objective",
        (study_id,),
    ).fetchall()
    if len(directions) > 1:
        raise InputError(
            f"{path}: study {name!r} has {len(directions)} objectives; hyperopt studies have one"
        )
    maximize = bool(directions) and str(directions[0][0]).upper() == "MAXIMIZE"
    rows = con.execute(
        "SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials"
        " WHERE study_id = ? ORDER BY number",
        (study_id,),
    ).fetchall()
    values = {
        trial_id: _value(value, value_type)
        for trial_id, value, value_type in con.execute(
            "SELECT v.trial_id, v.value, v.value_type FROM trial_values v"
            " JOIN trials t USING (trial_id) WHERE t.study_id = ? AND v.objective = 0",
            (study_id,),
        )
    }
    params: dict[int, dict[str, float]] = {}
    distributions: dict[str, dict[str, Any]] = {}
    for trial_id, pname, pvalue, dist in con.execute(
        "SELECT p.trial_id, p.param_name, p.param_value, p.distribution_json FROM trial_params p"
        " JOIN trials t USING (trial_id) WHERE t.study_id = ?",
        (study_id,),
    ):
        params.setdefault(trial_id, {})[pname] = pvalue
        if pname not in distributions:  # parsed once per parameter, not once per row
            distributions[pname] = json.loads(dist)
    labels = sorted(distributions)
    trials = []
    for trial_id, number, state, start, complete in rows:
        state_name, status = _STATES.get(str(state), ("new", "new"))
        value = values.get(trial_id)
        loss = None if value is None else (-float(value) if maximize else float(value))
        trial_params = params.get(trial_id, {})
        trials.append(
            Trial(
                tid=int(number),
                state=state_name,
                status=status,
                loss=loss,
                params={label: _param(trial_params.get(label)) for label in labels},
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
        {label: _param_from_distribution(label, distributions[label]) for label in labels},
        source=f"Optuna distributions in {path.name}",
    )
    return study, space


def _value(value: Any, value_type: Any) -> float | None:
    """Optuna stores infinite values as NULL with value_type INF_POS / INF_NEG."""
    if value_type == "INF_POS":
        return math.inf
    if value_type == "INF_NEG":
        return -math.inf
    return None if value is None else float(value)


def _param(value: Any) -> float | int | None:
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _param_from_distribution(label: str, dist: dict[str, Any]) -> Param:
    """Optuna's distribution as the equivalent hyperopt kind (log kinds in log space)."""
    kind = dist.get("name", "")
    a = dist.get("attributes", {})
    if kind == "CategoricalDistribution":
        return Param(label, "choice", options=tuple(_text(c) for c in a.get("choices", [])))
    low, high = float(a.get("low")), float(a.get("high"))
    log = bool(a.get("log")) or kind in ("LogUniformDistribution", "IntLogUniformDistribution")
    step = a.get("step", a.get("q"))
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
