"""Turn loaded values into plain data (JSON-friendly), iteratively and with bounds.

A hostile file can nest 10^5 levels deep or share one object a billion times through the
memo; nothing here recurses, every walk caps depth and nodes, and shared objects are
visited once.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from ..errors import InputError
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
        if type(value) is int and value.bit_length() > 3000:  # str() refuses > 4300 digits
            return True, f"<an integer of {value.bit_length()} bits>"
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


MAX_LOAD_NODES = 2_000_000  # all to_plain calls of one load together


def to_plain(value: Any) -> Any:
    """A JSON-friendly copy of ``value``: dicts, lists, str, numbers, bool, None."""
    return PlainConverter()(value)


class PlainConverter:
    """``to_plain`` for a whole load: shared objects are converted once, nodes are budgeted.

    Pickle's memo lets a small file share one big value among thousands of documents
    (one 20,000-node result in 4000 trials); converting it per trial was 80 million steps.
    Here a value seen before returns the same plain copy, and all calls together visit at
    most ``MAX_LOAD_NODES`` nodes (beyond that, values become ``"<…>"``).
    """

    def __init__(self, budget: int = MAX_LOAD_NODES) -> None:
        self.budget = budget
        # id -> (source, plain copy): the source is kept alive so its id is never reused
        self.memo: dict[int, tuple[Any, Any]] = {}

    def __call__(self, value: Any) -> Any:
        is_leaf, first = _leaf(value)
        if is_leaf:
            return first
        memo = self.memo
        hit = memo.get(id(first))
        if hit is not None:
            return hit[1]
        nodes = 0
        root: list[Any] = [None]
        # Work items: (source container, target slot holder, slot key, depth)
        stack: list[tuple[Any, Any, Any, int]] = [(first, root, 0, 0)]
        while stack:
            source, holder, key, depth = stack.pop()
            nodes += 1
            if depth > MAX_DEPTH or nodes > MAX_NODES or self.budget <= 0:
                holder[key] = _TRUNCATED
                continue
            self.budget -= 1
            hit = memo.get(id(source))
            if hit is not None:
                holder[key] = hit[1]
                continue
            if isinstance(source, dict):
                target: Any = {}
                memo[id(source)] = (source, target)
                holder[key] = target
                for k, v in list(source.items())[:MAX_NODES]:
                    slot = _key_text(k)
                    is_leaf, plain = _leaf(v)
                    if is_leaf:
                        target[slot] = plain
                    else:
                        target[slot] = None
                        stack.append((plain, target, slot, depth + 1))
            else:
                values = list(source)[:MAX_NODES]
                if isinstance(source, (set, frozenset)):
                    values = _set_order(values)
                target = [None] * len(values)
                memo[id(source)] = (source, target)
                holder[key] = target
                for i, v in enumerate(values):
                    is_leaf, plain = _leaf(v)
                    if is_leaf:
                        target[i] = plain
                    else:
                        stack.append((plain, target, i, depth + 1))
        return root[0]


def _set_order(values: list[Any]) -> list[Any]:
    """A set's items in a stable order, cheaply: leaves by type and value, containers last.

    (``sorted(key=repr)`` took exponential time on nested frozensets shared through the
    memo: a 650-byte "billion laughs".)
    """

    def key(v: Any) -> tuple[int, str, str]:
        is_leaf, plain = _leaf(v)
        if not is_leaf:
            return (1, "", "")
        text = (
            plain
            if isinstance(plain, str)
            else repr(plain)
            if not isinstance(plain, int)
            else (f"{plain:020d}" if abs(plain) < 10**19 else "~")
        )
        return (0, type(plain).__name__, text[:100])

    return sorted(values, key=key)


def _key_text(key: Any) -> str:
    """A dict key as text, bounded: never ``str()`` of a nested container."""
    if isinstance(key, str):
        return key[:MAX_STR]
    is_leaf, plain = _leaf(key)
    if not is_leaf:
        return "<key>"
    if isinstance(plain, int) and not isinstance(plain, bool) and abs(plain) >= 10**100:
        return "<a huge integer>"
    return str(plain)[:MAX_STR]


def key_text(key: Any) -> str:
    """``_key_text`` for callers outside this module (attachment names, labels)."""
    return _key_text(key)


def describe(obj: Any) -> str:
    """A few words on what an unexpected top-level object is, for error messages."""
    if isinstance(obj, dict):
        keys = ", ".join(repr(_key_text(k)[:30]) for k in list(obj)[:6])
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
    from ..study import same_exp_key

    if type(a) is not type(b) and not (isinstance(a, str) and isinstance(b, str)):
        return False
    return same_exp_key(a, b)


MAX_LABELS = 1_000  # parameters in one trial document
MAX_PARAM_VALUES = 4_000_000  # parameter values in all documents together


class DocBudget:
    """Bounds on what the documents of one file may make us build, checked per document.

    A file of 101 KB (gzip) shared one ``misc`` with 8000 labels among 8000 documents:
    64 million parameter values, 3.7 GB. Refused here, in one line, before any is built.
    """

    def __init__(self, path: Any) -> None:
        self.path = path
        self.values = 0

    def take(self, doc: Any) -> None:
        # type() first: the isinstance of an ABC costs more than the rest (200k documents)
        misc = doc.get("misc") if type(doc) is dict or isinstance(doc, Mapping) else None
        vals = misc.get("vals") if type(misc) is dict or isinstance(misc, Mapping) else None
        n = len(vals) if type(vals) is dict or isinstance(vals, Mapping) else 0
        if n > MAX_LABELS:
            raise InputError(
                f"{self.path}: a trial document has {n:,} parameters; at most {MAX_LABELS:,}"
                " are read (a hyperopt space that big is unlikely to be real)"
            )
        self.values += n
        if self.values > MAX_PARAM_VALUES:
            raise InputError(
                f"{self.path}: the documents hold more than {MAX_PARAM_VALUES:,} parameter"
                " values in all; not read"
            )
