"""A list of ``trials.results`` dicts (a common blog recipe) read as a study.

The objective returned ``{"loss": ..., "status": ..., "params": {...}}`` and the list was
saved with ``json.dump(trials.results, f)`` (or ``DataFrame.to_json(orient="records")``).
Such a file has no tids, states or times: trials are numbered in file order, and only the
numeric values in ``params`` become parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CONTAINER = "list of trials.results dicts (no tids or times: trials numbered in file order)"
MAX_FLATTEN_DEPTH = 6


def is_results_list(obj: Any) -> bool:
    """Non-empty, and each of the first items a dict with a text 'status' and no 'misc'."""
    if not isinstance(obj, (list, tuple)) or not obj:
        return False
    head = list(obj[:20])
    return all(
        isinstance(r, Mapping) and isinstance(r.get("status"), str) and "misc" not in r
        for r in head
    )


def _flatten(params: Mapping[str, Any]) -> dict[str, Any]:
    """Leaf values by their own key (hyperopt labels usually are the dict keys); a key
    that occurs at several places is written as its path ``outer/inner``."""
    leaves: list[tuple[tuple[str, ...], Any]] = []
    stack: list[tuple[tuple[str, ...], Any]] = [((), params)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, Mapping) and len(path) < MAX_FLATTEN_DEPTH:
            stack.extend(((*path, str(k)), v) for k, v in reversed(list(value.items())))
        elif path:
            leaves.append((path, value))
    leaves.reverse()
    names = [p[-1] for p, _ in leaves]
    return {(p[-1] if names.count(p[-1]) == 1 else "/".join(p)): v for p, v in leaves}


def docs_from_results(results: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Trial documents (tid = position, state done) and warnings about what was left out."""
    docs: list[dict[str, Any]] = []
    text_labels: dict[str, None] = {}
    for tid, r in enumerate(results):
        if not isinstance(r, Mapping):
            docs.append(r)  # reported as "not a trial document" by the caller
            continue
        vals: dict[str, list[Any]] = {}
        params = r.get("params")
        if isinstance(params, Mapping):
            for label, value in _flatten(params).items():
                if isinstance(value, (bool, int, float)):
                    vals[label] = [value]
                elif isinstance(value, str):
                    text_labels.setdefault(label, None)
        result = {k: v for k, v in r.items() if k != "params"}
        docs.append({"tid": tid, "state": 2, "result": result, "misc": {"tid": tid, "vals": vals}})
    warnings = []
    if text_labels:
        shown = ", ".join(repr(k) for k in list(text_labels)[:6])
        warnings.append(
            f"params {shown} hold text (the option itself, not hyperopt's index): left out of"
            " the parameters"
        )
    return docs, warnings
