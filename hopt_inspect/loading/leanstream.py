"""The pickle stream as the safe loader reads it: garbage the unpickler's memo would keep, gone.

fmin stores every value as a numpy scalar, and pickle writes one as a call,
``scalar(dtype, payload)``, memoizing the payload bytes, the argument tuple and the
result. The unpickler's memo keeps all three until the load returns: at 200k trials the
payloads and tuples, useless once the call is made, were about 440 MiB of the load's
1.4 GiB peak. So each such call is rewritten, in the bytes, to memoize its result in
the slots the payload and the tuple had:

- protocol 4+: ``MEMOIZE TUPLE2 MEMOIZE REDUCE MEMOIZE`` after a short bytes payload
  becomes ``TUPLE2 REDUCE MEMOIZE MEMOIZE MEMOIZE``: the same call, the same slot numbers
  (``MEMOIZE`` numbers slots in order). A ``datetime`` (one 10-byte payload, ``TUPLE1``)
  the same way;
- protocols 2-3: the two ``BINPUT``s (explicit slot numbers) become no-ops of their
  length, ``MARK POP_MARK``;
- protocol 4+, a list of one scalar (fmin's ``idxs`` and ``vals``): ``EMPTY_LIST MEMOIZE
  <scalar> APPEND`` builds a list with room for four; ``MARK <scalar> MEMOIZE LIST`` (the
  same length, the list's slot given to the scalar) builds it exactly sized, 24 bytes
  less, 20 lists a trial.

Measured at 200k trials (``benchmarks/bench_scale.py``): the load's peak 1,423 -> 909
MiB, ``summary --space`` 1,443 -> 929 MiB, in the same time (the rewrite costs about
0.4 s; freeing less garbage gives it back).

Exactness: what the file means changes only if a later opcode reads back a slot the
rewrite gave away: a payload's or an argument tuple's (pickle never writes that, they
are fresh objects; not so a one-byte payload, a CPython singleton that a second bool or
int8 scalar reads back from the first one's slot: those calls are left as they are), or
a one-scalar list's (a list shared between two places: its second use then reads the
scalar, which the trial reader takes as the flattened list it stands for). Every byte
offset is kept, so a match inside some string or bytes changes those bytes and nothing
else: a crafted file, or a pickle stored as bytes inside the file (MongoTrials'
``FMinIter_Domain`` attachment, a user's pickled attachment), whose bytes then differ
but, being rewritten by the same rules, still mean the same. Either way what comes out is
still a pickle read with the same allow-list: the rewrite cannot reach anything the file
could not have asked for itself. Matches are looked for within each block the unpickler
reads (a frame, for protocol 4); one that straddles two blocks is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Protocol 4+, with numpy over each block (0.2 s for 120 MB; a regex sub took 0.55 s a
# pass). Opcodes: MEMOIZE 94, TUPLE1 85, TUPLE2 86, REDUCE 52 "R", EMPTY_LIST 5D "]",
# MARK 28 "(", APPEND 61 "a", LIST 6C "l", BINGET 68 "h", LONG_BINGET 6A "j",
# SHORT_BINBYTES 43 "C", SHORT_BINSTRING 55 "U" (Python 2).
# Never 1 byte (bool, int8, uint8): CPython's one-byte bytes are singletons, so pickle writes
# the same payload again as a GET of the first one's slot, which the rewrite gives away.
_PAYLOAD_SIZES = {0x86: (8, 4, 2), 0x85: (10,)}  # scalar(dtype, payload); datetime(payload)
_LIST_TAIL = (0x86, 0x52, 0x94, 0x94, 0x94, 0x61)  # a rewritten scalar call, then APPEND
MIN_BLOCK = 256  # the unpickler's small reads (a frame's header) are left alone
CHUNK = 1 << 20  # a longer block is rewritten in pieces this long


def _lean4(block: bytes) -> bytes:
    if len(block) < MIN_BLOCK:
        return block
    if len(block) > CHUNK:  # numpy's temporaries stay small, whatever a frame claims
        return b"".join(_lean4(block[i : i + CHUNK]) for i in range(0, len(block), CHUNK))
    np = _numpy()
    a = np.frombuffer(block, np.uint8)
    out = None
    calls = _calls(np, a)
    if calls.size:
        out = a.copy()
        out[calls + 1] = 0x52
        out[calls + 2] = out[calls + 3] = out[calls + 4] = 0x94
        out[calls] = a[calls + 1]
        lists, ends = _one_scalar_lists(np, out)
        if lists.size:
            # MARK <item> MEMOIZE LIST: the item moves one byte left, into the memo slot's place
            lengths = ends - lists - 2  # bytes lists+1 .. ends-2 take the byte after them
            first = np.repeat(lists + 1 - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
            at = first + np.arange(int(lengths.sum()))
            out[at] = out[at + 1]
            out[lists] = 0x28
            out[ends] = 0x6C
    return block if out is None else out.tobytes()


def _calls(np: Any, a: Any) -> Any:
    """Where ``MEMOIZE TUPLE<n> MEMOIZE REDUCE MEMOIZE`` follows a short bytes payload."""
    at = np.flatnonzero((a[:-4] == 0x94) & (a[2:-2] == 0x94) & (a[3:-1] == 0x52) & (a[4:] == 0x94))
    if not at.size:
        return at
    kind = a[at + 1]
    ok = np.zeros(at.size, dtype=bool)
    for tuple_op, sizes in _PAYLOAD_SIZES.items():
        for size in sizes:
            op = at - size - 2
            inside = (kind == tuple_op) & (op >= 0)
            op = np.where(inside, op, 0)
            payload = ((a[op] == 0x43) | (a[op] == 0x55)) & (a[op + 1] == size)
            ok |= inside & payload & _after_head(np, a, op)
    return _apart(np, at[ok], at[ok] + 4)[0]


def _after_head(np: Any, a: Any, op: Any) -> Any:
    """Whether the payload's opcode at ``op`` follows what a call writes just before it:
    its dtype's (or callable's) ``BINGET``/``LONG_BINGET``, an inline dtype's ``BUILD``,
    a ``MEMOIZE``, or a ``FRAME`` header (a frame may start at the payload). Not, say, the
    last bytes of a tz-aware datetime's payload, whose microseconds can read ``C 02`` just
    before its tzinfo's ``BINGET 148`` (``h 94``)."""
    prev = a[np.maximum(op - 1, 0)]
    ok = (op >= 1) & ((prev == 0x62) | (prev == 0x94))
    ok |= (op >= 2) & (a[np.maximum(op - 2, 0)] == 0x68)
    ok |= (op >= 5) & (a[np.maximum(op - 5, 0)] == 0x6A)
    return ok | ((op >= 9) & (a[np.maximum(op - 9, 0)] == 0x95))


def _one_scalar_lists(np: Any, a: Any) -> tuple[Any, Any]:
    """Starts and last bytes of ``EMPTY_LIST MEMOIZE GET GET payload <call> APPEND``."""
    n = a.size
    at = np.flatnonzero((a[:-1] == 0x5D) & (a[1:] == 0x94))
    pos = at + 2
    for _ in range(2):  # the callable's and the dtype's GET
        op = a[np.minimum(pos, n - 1)]
        pos = pos + np.where(op == 0x68, 2, np.where(op == 0x6A, 5, n))
    op = np.minimum(pos, n - 2)
    size = a[op + 1].astype(np.int64)
    ok = (pos < n - 1) & ((a[op] == 0x43) | (a[op] == 0x55))
    ok &= (size == 8) | (size == 4) | (size == 2)  # not 1: see _PAYLOAD_SIZES
    tail = op + 2 + size
    ok &= tail + len(_LIST_TAIL) <= n
    tail = np.where(ok, tail, 0)
    for offset, byte in enumerate(_LIST_TAIL):
        ok &= a[np.minimum(tail + offset, n - 1)] == byte
    return _apart(np, at[ok], tail[ok] + len(_LIST_TAIL) - 1)


def _apart(np: Any, starts: Any, ends: Any) -> tuple[Any, Any]:
    """Matches that do not overlap, the first kept (only a crafted stream has any)."""
    if starts.size < 2 or bool(np.all(starts[1:] > ends[:-1])):
        return starts, ends
    keep, last = [], -1
    for i, (start, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        if start > last:
            keep.append(i)
            last = end
    return starts[keep], ends[keep]


def _numpy() -> Any:
    import numpy

    return numpy


# protocols 2-3: BINPUT a, TUPLE2, BINPUT b, REDUCE -> the puts become no-ops of their length:
# "(1" is MARK POP_MARK, "(N1" is MARK NONE POP_MARK. The result's own put is kept.
_PUT2 = rb"q[\x00-\xff]\x86q[\x00-\xff]R"
_LONG_PUT2 = rb"r[\x00-\xff]{4}\x86r[\x00-\xff]{4}R"
_PUT1 = rb"q[\x00-\xff]\x85q[\x00-\xff]R"
_LONG_PUT1 = rb"r[\x00-\xff]{4}\x85r[\x00-\xff]{4}R"


def _after_payload_re(pattern: bytes, width: int, sizes: tuple[int, ...]) -> bytes:
    """Like ``_after_payload`` for a pattern of fixed ``width`` that is a regex itself."""
    return (
        b"(?:"
        + b"|".join(
            b"(?<=[CU]" + re.escape(bytes([n])) + b"[\\x00-\\xff]{%d}" % (n + width) + b")"
            for n in sizes
        )
        + b")"
    )


_REWRITES_2 = (
    (re.compile(_PUT2 + _after_payload_re(_PUT2, 6, (8, 4, 2))), b"(1\x86(1R"),
    (re.compile(_LONG_PUT2 + _after_payload_re(_LONG_PUT2, 12, (8, 4, 2))), b"(1(N1\x86(1(N1R"),
    (re.compile(_PUT1 + _after_payload_re(_PUT1, 6, (10,))), b"(1\x85(1R"),
    (re.compile(_LONG_PUT1 + _after_payload_re(_LONG_PUT1, 12, (10,))), b"(1(N1\x85(1(N1R"),
)


def _lean2(block: bytes) -> bytes:
    for pattern, replacement in _REWRITES_2:
        block = pattern.sub(replacement, block)
    return block


def _as_is(block: bytes) -> bytes:
    return block


def leaner_for(head: bytes) -> Callable[[bytes], bytes]:
    """The rewrite for blocks of a stream that starts with ``head`` (its PROTO opcode)."""
    if len(head) >= 2 and head[0] == 0x80:
        if head[1] >= 4:
            _numpy()  # now, before the load's address-space cap
            return _lean4
        if head[1] >= 2:
            return _lean2
    return _as_is


def lean_bytes(data: bytes) -> bytes:
    """A whole pickle, rewritten (in blocks of at most ``CHUNK``)."""
    leaner = leaner_for(data[:2])
    if leaner is _lean2:
        return b"".join(leaner(data[i : i + CHUNK]) for i in range(0, len(data), CHUNK))
    return leaner(data)


class LeanReader:
    """A binary file whose blocks come out rewritten; the same bytes offsets.

    The C unpickler ``peek``s ahead and parses what that returned; then it ``read``s as
    much to move past it, and throws that away: such a read is passed on as it is.
    """

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._lean = leaner_for(raw.peek(2)[:2])
        self._peeked = (-1, 0)  # where the last peek was, and how much it returned

    def read(self, size: int = -1) -> bytes:
        if 0 <= size < MIN_BLOCK:  # the pure-Python unpickler reads each opcode: no tell()
            return self._raw.read(size)  # and no rewrite (nothing to gain in so few bytes)
        at = self._raw.tell()
        data = self._raw.read(size)
        if at == self._peeked[0] and 0 <= size <= self._peeked[1]:
            return data  # the unpickler skipping what it took from peek(): discarded
        return self._lean(data)

    def peek(self, size: int = 0) -> bytes:
        data = self._raw.peek(size)
        self._peeked = (self._raw.tell(), len(data))
        return self._lean(data)

    def readinto(self, buffer: Any) -> int:  # long payloads: copied as they are
        return self._raw.readinto(buffer)

    def readline(self, size: int = -1) -> bytes:  # protocol 0's text opcodes
        return self._raw.readline(size)

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> LeanReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
