"""A ``mongodump`` collection file (concatenated BSON documents), read without pymongo.

Only what a MongoTrials ``jobs`` document holds is decoded: doubles, strings, documents,
arrays, ObjectIds, booleans, UTC datetimes, null, 32/64-bit integers (binary data shows as
its length). The walk is iterative with a depth cap: a hostile file cannot recurse us.
"""

from __future__ import annotations

import datetime
import struct
from pathlib import Path
from typing import Any

from ..errors import InputError

MAX_DEPTH = 100
_EPOCH = datetime.datetime(1970, 1, 1)


def looks_like_bson(data: bytes) -> bool:
    """A plausible first document: its length fits and it ends with a NUL."""
    if len(data) < 5:
        return False
    size = struct.unpack_from("<i", data)[0]
    return 5 <= size <= len(data) and data[size - 1] == 0 and data[4] in _TYPES


_TYPES = {0x01, 0x02, 0x03, 0x04, 0x05, 0x07, 0x08, 0x09, 0x0A, 0x10, 0x11, 0x12}


def _cstring(data: bytes, pos: int, stop: int) -> tuple[str, int]:
    end = data.find(b"\x00", pos, stop)
    if end < 0:
        raise ValueError("a key runs past its document")
    return data[pos:end].decode("utf-8", errors="replace"), end + 1


_FIXED = {0x01: 8, 0x07: 12, 0x08: 1, 0x09: 8, 0x0A: 0, 0x10: 4, 0x11: 8, 0x12: 8}


def _length(data: bytes, pos: int, stop: int, minimum: int, what: str) -> int:
    """A length prefix at ``pos`` that is at least ``minimum`` and fits before ``stop``.

    Every length is checked before it moves the cursor, so each element moves it forward
    by at least two bytes: a negative or oversized length cannot loop or grow memory.
    """
    if pos + 4 > stop:
        raise ValueError(f"{what}'s length runs past its document")
    length = struct.unpack_from("<i", data, pos)[0]
    if length < minimum or pos + length > stop:
        raise ValueError(f"{what}'s length ({length}) does not fit")
    return length


def _document(data: bytes, pos: int) -> tuple[Any, int]:
    """One document starting at ``pos``; returns it and the position after it."""
    size = _length(data, pos, len(data), 5, "a document")
    end = pos + size
    if data[end - 1] != 0:
        raise ValueError("a document does not end with a NUL byte")
    root: dict[str, Any] = {}
    # stack of (container, is_array, end of its bytes)
    stack: list[tuple[Any, bool, int]] = [(root, False, end)]
    pos += 4
    while stack:
        container, is_array, stop = stack[-1]
        if pos >= stop - 1:
            pos = stop
            stack.pop()
            continue
        kind = data[pos]
        key, pos = _cstring(data, pos + 1, stop - 1)
        value: Any
        width = _FIXED.get(kind)
        if width is not None and pos + width > stop - 1:
            raise ValueError("a value runs past its document")
        if kind == 0x01:
            value = struct.unpack_from("<d", data, pos)[0]
        elif kind == 0x02:
            if pos + 4 > stop - 1:
                raise ValueError("a string runs past its document")
            length = struct.unpack_from("<i", data, pos)[0]
            if length < 1 or pos + 4 + length > stop - 1:
                raise ValueError(f"a string's length ({length}) does not fit")
            value = data[pos + 4 : pos + 3 + length].decode("utf-8", errors="replace")
            pos += 4 + length
        elif kind in (0x03, 0x04):
            length = _length(data, pos, stop - 1, 5, "a nested document")
            if len(stack) >= MAX_DEPTH:
                raise ValueError("documents nested too deeply")
            value = [] if kind == 0x04 else {}
            _put(container, is_array, key, value)
            stack.append((value, kind == 0x04, pos + length))
            pos += 4
            continue
        elif kind == 0x05:
            if pos + 5 > stop - 1:
                raise ValueError("a binary value runs past its document")
            length = struct.unpack_from("<i", data, pos)[0]
            if length < 0 or pos + 5 + length > stop - 1:
                raise ValueError(f"a binary value's length ({length}) does not fit")
            value = f"<{length} bytes>"
            pos += 5 + length
        elif kind == 0x07:
            value = data[pos : pos + 12].hex()
        elif kind == 0x08:
            value = data[pos] != 0
        elif kind == 0x09:
            ms = struct.unpack_from("<q", data, pos)[0]
            try:
                value = _EPOCH + datetime.timedelta(milliseconds=ms)
            except OverflowError:
                value = None  # outside the years 1..9999: no time
        elif kind == 0x0A:
            value = None
        elif kind == 0x10:
            value = struct.unpack_from("<i", data, pos)[0]
        elif kind in (0x11, 0x12):
            value = struct.unpack_from("<q", data, pos)[0]
        else:
            raise ValueError(f"BSON type 0x{kind:02x} is not expected in a trials document")
        if width is not None:
            pos += width
        _put(container, is_array, key, value)
    return root, end


def _put(container: Any, is_array: bool, key: str, value: Any) -> None:
    if is_array:
        container.append(value)
    else:
        container[key] = value


def docs_from_bson(path: Path, data: bytes) -> list[dict[str, Any]]:
    docs = []
    pos = 0
    try:
        while pos < len(data):
            doc, pos = _document(data, pos)
            docs.append(doc)
    except (ValueError, struct.error, IndexError) as exc:
        if docs and pos < len(data):
            raise InputError(
                f"{path}: BSON document {len(docs)} is damaged or incomplete ({exc})"
            ) from exc
        raise InputError(f"{path}: not a readable BSON file ({exc})") from exc
    if not docs or not all("result" in d and "misc" in d for d in docs[:20]):
        raise InputError(f"{path}: BSON documents that are not hyperopt trial documents")
    return docs
