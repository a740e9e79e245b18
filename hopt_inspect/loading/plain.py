"""Turn loaded values into plain data (JSON-friendly), iteratively and with bounds.

A hostile file can nest 10^5 levels deep or share one object a billion times through the
memo; nothing here recurses, every walk caps depth and nodes, and shared objects are
visited once.
"""

from __future__ import annotations

import datetime
from typing import Any

from .safe_pickle import ArrayBox, DTypeShim, ObjectIdStandIn, Placeholder, TrialsStandIn

MAX_DEPTH = 40
MAX_NODES = 20_000
MAX_STR = 10_000
_TRUNCATED = "<…>"


def unbox(value: Any) -> Any:
    """One value as the file meant it: rebuilt numpy arrays instead of their boxes."""
    if isinstance(value, ArrayBox):
        return value.value
    return value


def _leaf(value: Any) -> tuple[bool, Any]:
    """(True, plain value) for anything that is not a container."""
    if value is None or isinstance(value, (bool, int, str)):
        if isinstance(value, str) and len(value) > MAX_STR:
            return True, value[:MAX_STR] + "…"
        return True, value
    if isinstance(value, float):
        return True, value
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return True, value.isoformat()
    if isinstance(value, datetime.timedelta):
        return True, value.total_seconds()
    if isinstance(value, (bytes, bytearray)):
        return True, f"<{len(value)} bytes>"
    if isinstance(value, complex):
        return True, str(value)
    if isinstance(value, (Placeholder, TrialsStandIn, ObjectIdStandIn, DTypeShim)):
        return True, repr(value)
    if type(value).__module__ == "numpy":
        if getattr(value, "ndim", None) == 0 or not hasattr(value, "tolist"):
            item = value.item() if hasattr(value, "item") else str(value)
            return _leaf(item) if not isinstance(item, type(value)) else (True, str(value))
        return False, value.tolist() if value.size <= MAX_NODES else f"<array {value.shape}>"
    if isinstance(value, ArrayBox):
        return False, value.value
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        return False, value
    return True, f"<{type(value).__module__}.{type(value).__qualname__}>"


def to_plain(value: Any) -> Any:
    """A JSON-friendly copy of ``value``: dicts, lists, str, numbers, bool, None."""
    is_leaf, first = _leaf(value)
    if is_leaf:
        return first
    nodes = 0
    seen: dict[int, Any] = {}
    root: list[Any] = [None]
    # Work items: (source container, target slot holder, slot key, depth)
    stack: list[tuple[Any, Any, Any, int]] = [(first, root, 0, 0)]
    while stack:
        source, holder, key, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH or nodes > MAX_NODES:
            holder[key] = _TRUNCATED
            continue
        if id(source) in seen:
            holder[key] = seen[id(source)]
            continue
        if isinstance(source, dict):
            target: Any = {}
            items = list(source.items())
            seen[id(source)] = target
            holder[key] = target
            for k, v in items:
                k_leaf, k_plain = _leaf(k)
                slot = str(k_plain) if k_leaf else "<key>"
                is_leaf, plain = _leaf(v)
                if is_leaf:
                    target[slot] = plain
                else:
                    target[slot] = None
                    stack.append((plain, target, slot, depth + 1))
        else:
            values = (
                list(source)
                if not isinstance(source, (set, frozenset))
                else sorted(source, key=repr)
            )
            target = [None] * len(values)
            seen[id(source)] = target
            holder[key] = target
            for i, v in enumerate(values):
                is_leaf, plain = _leaf(v)
                if is_leaf:
                    target[i] = plain
                else:
                    stack.append((plain, target, i, depth + 1))
    return root[0]


def describe(obj: Any) -> str:
    """A few words on what an unexpected top-level object is, for error messages."""
    if isinstance(obj, dict):
        keys = ", ".join(repr(str(k))[:30] for k in list(obj)[:6])
        more = ", …" if len(obj) > 6 else ""
        return f"a dict with keys {keys}{more}" if obj else "an empty dict"
    if isinstance(obj, (list, tuple)):
        kinds = sorted({type(x).__name__ for x in list(obj)[:50]})
        what = "list" if isinstance(obj, list) else "tuple"
        return (
            f"a {what} of {len(obj)} items ({', '.join(kinds[:4])})" if obj else f"an empty {what}"
        )
    if isinstance(obj, ArrayBox):
        return "a numpy array"
    if isinstance(obj, Placeholder):
        return f"a {obj.qualname} object"
    if isinstance(obj, type) and issubclass(obj, Placeholder):
        return f"the class or function {obj.qualname}"
    return f"a {type(obj).__module__}.{type(obj).__qualname__} object".replace("builtins.", "")


def docs_of_experiment(docs: list[Any], exp_key: Any) -> tuple[list[Any], int]:
    """The documents of a ``trials.view(exp_key=...)``, and how many others were left out.

    A pickled view shares ``_dynamic_trials`` with the Trials it came from, so the file
    holds every experiment's documents; hyperopt's ``refresh`` keeps those whose
    ``exp_key`` equals the view's. Items that are not documents stay (they are reported).
    """
    if exp_key is None:
        return docs, 0
    kept = [d for d in docs if not isinstance(d, dict) or _same_key(d.get("exp_key"), exp_key)]
    return kept, len(docs) - len(kept)


def _same_key(a: Any, b: Any) -> bool:
    if type(a) is not type(b) and not (isinstance(a, str) and isinstance(b, str)):
        return False
    try:
        return bool(a == b)
    except Exception:
        return False
