"""Files that hold several studies: a dict of Trials, nested dicts, lists of Trials.

``--study KEY`` picks one: a dict key, a list index (``--study 3``), or a path through
nested containers with ``/`` (``--study cv/fold0``). A key that itself contains ``/``
is matched whole first.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InputError

MAX_DEPTH = 4  # how deep the search for studies goes into nested containers
MAX_VISITS = 20_000  # containers and items looked at, at most
SHOWN_IN_ERROR = 8


@dataclass(frozen=True)
class Entry:
    """One study found inside a container: its path and the object holding it."""

    key: str  # "xgb_wc", "cv/fold0", "3"
    obj: Any
    n_trials: int


class SeveralStudiesError(InputError):
    """The file holds several studies and none was chosen (``--study KEY`` picks one)."""

    def __init__(self, message: str, entries: list[Entry], container: str) -> None:
        super().__init__(message)
        self.entries = entries
        self.container = container
        self.path = ""
        self.load: Callable[[Entry], Any] | None = None  # the loader's Entry -> Study

    def studies(self) -> list[tuple[str, Any]]:
        """Each study as a ``Study`` (for a listing), in file order."""
        if self.load is None:
            return []
        return [(e.key, self.load(e)) for e in self.entries]


_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxstring, _BRIEF.maxother = 2, 60, 60


def _key_text(key: Any) -> str:
    """A key as ``--study`` spells it: text as is, numbers as digits, others by a bounded repr."""
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)
    try:
        return _BRIEF.repr(key)
    except Exception:
        return f"<{type(key).__name__}>"


def find_studies(obj: Any, count: Callable[[Any], int | None]) -> list[Entry]:
    """Studies inside ``obj`` (a dict, list or tuple), breadth-first, bounded.

    ``count(x)`` is the number of trial documents when ``x`` is a study, else None.
    Containers that are studies themselves are not searched further; empty lists inside a
    container are not studies (an empty Trials is).
    """
    found: list[Entry] = []
    queue: list[tuple[str, Any, int]] = [("", obj, 0)]
    visits = 0
    seen: set[int] = set()
    while queue:
        prefix, container, depth = queue.pop(0)
        if id(container) in seen:
            continue
        seen.add(id(container))
        if isinstance(container, Mapping):
            items = [(_key_text(k), v) for k, v in container.items()]
        elif isinstance(container, (list, tuple)):
            items = [(str(i), v) for i, v in enumerate(container)]
        else:
            continue
        for key, value in items:
            visits += 1
            if visits > MAX_VISITS:
                return found
            path = f"{prefix}/{key}" if prefix else key
            n = None if isinstance(value, (list, tuple)) and not value else count(value)
            if n is not None:
                found.append(Entry(path, value, n))
            elif depth + 1 < MAX_DEPTH and isinstance(value, (Mapping, list, tuple)):
                queue.append((path, value, depth + 1))
    return found


def select(obj: Any, key: str) -> tuple[Any, str] | None:
    """The object at ``key`` (a whole key first, then a ``/`` path), and its path text."""
    if isinstance(obj, Mapping):
        for k in obj:
            if _key_text(k) == key:
                return obj[k], key
    current = obj
    parts = key.split("/")
    for part in parts:
        if isinstance(current, Mapping):
            match = [k for k in current if _key_text(k) == part]
            if not match:
                return None
            current = current[match[0]]
        elif isinstance(current, (list, tuple)):
            try:
                index = int(part)
            except ValueError:
                return None
            if not -len(current) <= index < len(current):
                return None
            current = current[index]
        else:
            return None
    return current, key


def listing(entries: list[Entry], limit: int = SHOWN_IN_ERROR) -> str:
    """``a (50 trials), b (12 trials), … and 8 more``: bounded for hundreds of keys."""
    shown = [f"{e.key[:40]} ({e.n_trials} trial{'' if e.n_trials == 1 else 's'})" for e in entries]
    text = ", ".join(shown[:limit])
    if len(shown) > limit:
        text += f", … and {len(shown) - limit} more"
    return text


def kind_of(obj: Any) -> str:
    if isinstance(obj, Mapping):
        return "dict"
    return "list" if isinstance(obj, list) else "tuple"


def held_as(obj: Any, key: str) -> str:
    """How the chosen study is held, for the container line: "dict entry 'xgb_wc' holding "."""
    if isinstance(obj, Mapping):
        return f"dict entry {key!r} holding "
    return (
        f"{kind_of(obj)} item {key} holding "
        if key.isdigit()
        else f"{kind_of(obj)} entry {key!r} holding "
    )


def several_error(path: Any, obj: Any, entries: list[Entry]) -> SeveralStudiesError:
    example = entries[0].key
    container = f"{kind_of(obj)} of {len(entries)} studies"
    return SeveralStudiesError(
        f"{path}: holds {len(entries)} studies: {listing(entries)}; choose one with"
        f" --study KEY (e.g. --study {example!s:.40}; 'hopt-inspect summary FILE' lists them"
        " all)",
        entries,
        container,
    )


def not_found_error(path: Any, key: str, entries: list[Entry]) -> InputError:
    if not entries:
        return InputError(f"--study {key}: {path} holds one study, not several; drop --study")
    return InputError(
        f"--study {key}: no study there in {path}; it holds {listing(entries)}"
        " (nested keys: --study outer/inner; lists: --study 0)"
    )
