"""Trials rebuilt in memory of their own, once the loaded file is gone.

Unpickling a big study fills hundreds of MB of Python's small-object arenas with the
documents and with what the unpickler's memo keeps until it returns (every container,
every numpy scalar's argument tuple and byte payload). The values a Trial keeps (numbers,
datetimes) were allocated in between, so when the rest is freed nearly every arena still
holds a few of them and none goes back to the system: at 200k trials the process stayed at
1.2 GB for a study of about 0.2 GB, and everything a command computed afterwards (figures,
forked workers) came on top.

So the loader keeps each trial as a tuple of fields while reading, then ``pack`` writes
them into one ``marshal`` buffer (our own bytes, made in this process; never the file's).
After the loaded object is dropped, ``unpack`` rebuilds the trials from it: new objects
in new arenas, identical values (floats bit for bit, shared objects shared, dict order).
Fields ``marshal`` cannot hold (an exp_key object, an aware datetime) keep the old way.
"""

from __future__ import annotations

import marshal
from datetime import datetime
from typing import Any

from ..study import Trial


def pack(records: list[tuple[Any, ...]]) -> bytes | None:
    """The records as one buffer, or None when some field cannot be written."""
    try:
        return marshal.dumps([_encoded(r) for r in records])
    except (ValueError, _Unpackable):
        return None


class _Unpackable(Exception):
    pass


def _encoded(r: tuple[Any, ...]) -> tuple[Any, ...]:
    if r[10] is not None:  # exp_key: compared to Study.exp_key, a copy loses `is` (a bomb)
        raise _Unpackable
    book, refresh = r[5], r[6]
    if book is None and refresh is None:
        return r
    return (r[0], r[1], r[2], r[3], r[4], _time_bytes(book), _time_bytes(refresh), *r[7:])


def _time_bytes(value: datetime | None) -> bytes | None:
    """A naive datetime as its 10 pickle-state bytes (the fold bit included)."""
    if value is None:
        return None
    if type(value) is not datetime or value.tzinfo is not None:
        raise _Unpackable
    return value.__reduce_ex__(4)[1][0]


def unpack(blob: bytes) -> list[Trial]:
    """The trials ``pack`` wrote, as new objects."""
    return [
        Trial(*r)
        if r[5] is None and r[6] is None
        else Trial(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            None if r[5] is None else datetime(r[5]),
            None if r[6] is None else datetime(r[6]),
            r[7],
            r[8],
            r[9],
            r[10],
        )
        for r in marshal.loads(blob)
    ]
