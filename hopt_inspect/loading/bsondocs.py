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


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\x00", pos)
    return data[pos:end].decode("utf-8", errors="replace"), end + 1


def _document(data: bytes, pos: int) -> tuple[Any, int]:
    """One document starting at ``pos``; returns it and the position after it."""
    size = struct.unpack_from("<i", data, pos)[0]
    end = pos + size
    if size < 5 or end > len(data) or data[end - 1] != 0:
        raise ValueError("a document's length does not fit the file")
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
        key, pos = _cstring(data, pos + 1)
        value: Any
        if kind == 0x01:
            value = struct.unpack_from("<d", data, pos)[0]
            pos += 8
        elif kind == 0x02:
            length = struct.unpack_from("<i", data, pos)[0]
            if length < 1 or pos + 4 + length > stop:
                raise ValueError("a string's length does not fit")
            value = data[pos + 4 : pos + 3 + length].decode("utf-8", errors="replace")
            pos += 4 + length
        elif kind in (0x03, 0x04):
            length = struct.unpack_from("<i", data, pos)[0]
            if length < 5 or pos + length > stop:
                raise ValueError("a nested document's length does not fit")
            if len(stack) >= MAX_DEPTH:
                raise ValueError("documents nested too deeply")
            value = [] if kind == 0x04 else {}
            _put(container, is_array, key, value)
            stack.append((value, kind == 0x04, pos + length))
            pos += 4
            continue
        elif kind == 0x05:
            length = struct.unpack_from("<i", data, pos)[0]
            value = f"<{length} bytes>"
            pos += 5 + length
        elif kind == 0x07:
            value = data[pos : pos + 12].hex()
            pos += 12
        elif kind == 0x08:
            value = data[pos] != 0
            pos += 1
        elif kind == 0x09:
            ms = struct.unpack_from("<q", data, pos)[0]
            value = _EPOCH + datetime.timedelta(milliseconds=ms)
            pos += 8
        elif kind == 0x0A:
            value = None
        elif kind == 0x10:
            value = struct.unpack_from("<i", data, pos)[0]
            pos += 4
        elif kind in (0x11, 0x12):
            value = struct.unpack_from("<q", data, pos)[0]
            pos += 8
        else:
            raise ValueError(f"BSON type 0x{kind:02x} is not expected in a trials document")
        if pos > stop:
            raise ValueError("a value runs past its document")
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
