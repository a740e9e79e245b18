"""The pickle stream as the safe loader reads it: garbage the unpickler's memo would keep, gone.

fmin stores every value as a numpy scalar, and pickle writes one as a call,
``scalar(dtype, payload)``, memoizing the payload bytes, the argument tuple and the
result. The unpickler's memo keeps all three until the load returns: at 200k trials the
payloads and tuples, useless once the call is made, were about 440 MiB of the load's
1.4 GiB peak. So each such call is rewritten, in the bytes, to memoize its result in
the slots the payload and the tuple had:

- protocol 4+: ``MEMOIZE TUPLE2 MEMOIZE REDUCE MEMOIZE`` after an 8-byte payload (fmin's
  float64 and int64 values) becomes ``TUPLE2 REDUCE MEMOIZE MEMOIZE MEMOIZE``: the same
  call, the same slot numbers (``MEMOIZE`` numbers slots in order). A ``datetime`` (a
  10-byte payload, ``TUPLE1``) the same way;
- protocols 2-3: the two ``BINPUT``s (explicit slot numbers) become no-ops of their
  length, ``MARK POP_MARK``;
- protocol 4+, a list of one scalar (fmin's ``idxs`` and ``vals``, 20 lists a trial):
  ``EMPTY_LIST MEMOIZE <scalar> APPEND`` builds a list with room for four;
  ``MARK <scalar> MEMOIZE LIST`` (the same length, the list's slot given to the scalar)
  builds it exactly sized, 24 bytes less.

Measured at 200k trials (``benchmarks/bench_scale.py``): the load's peak 1,423 -> 916
MiB, ``summary --space`` 1,443 -> about 930 MiB, in about the same time (the rewrite
costs about 0.5 s per 120 MB; freeing less garbage gives most of it back).

Exactness: what the file means changes only if a later opcode reads back a slot the
rewrite gave away: a payload's or an argument tuple's (pickle never writes that, they
are fresh objects; not so a one-byte payload, a CPython singleton that the next bool or
int8 reads back: those are left alone), or a one-scalar list's (a list referenced twice:
its second use then reads the scalar, which the trial reader takes as the flattened list
it stands for, but a result's extra value shows it unwrapped; a known difference,
tests/test_leanstream_attacks.py). A payload counts only right after what a call writes
before it (a GET, an inline dtype's BUILD, a MEMOIZE, a FRAME header), so a tz-aware
datetime whose last payload bytes look like a header is not taken for one. Every byte
offset is kept, so a match inside some string or bytes changes those bytes and nothing
else: a crafted file, or a pickle stored as bytes in the file (MongoTrials'
``FMinIter_Domain`` attachment), which, rewritten by the same rules, still means the
same. Either way what comes out is still a pickle read with the same allow-list: the
rewrite cannot reach anything the file could not have asked for itself. (Helper a19
attacked the first version: bools, tz-aware datetimes, the pure-Python loop's speed.)
``LeanReader`` rewrites the file in blocks of 1 MiB, each byte once, whatever the unpickler
asks for; a match cut by a block's end is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Protocol 4+, with numpy over each block (about 0.5 s for 120 MB). Opcodes: MEMOIZE 94,
# TUPLE1 85, TUPLE2 86, REDUCE 52 "R", EMPTY_LIST 5D "]", MARK 28 "(", APPEND 61 "a", LIST
# 6C "l", BINGET 68 "h", LONG_BINGET 6A "j", SHORT_BINBYTES 43 "C", SHORT_BINSTRING 55 "U"
# (Python 2). The payloads looked for: 8 bytes (fmin's float64 and int64 values), 10 (a
# datetime); other sizes are left as they are.
MIN_BLOCK = 256  # a shorter block (a file's last bytes) is left as it is
CHUNK = 1 << 20  # the block: LeanReader reads and rewrites this many bytes at a time
_PAD = 32  # zero bytes after the block: every index below stays inside, none matches


def _lean4(block: bytes) -> bytes:
    if len(block) < MIN_BLOCK:
        return block
    np = _numpy()
    n = len(block)
    a = np.frombuffer(block + bytes(_PAD), np.uint8)
    calls = _calls(np, a, n)
    if not calls.size:
        return block
    out = a.copy()
    out[calls] = a[calls + 1]
    out[calls + 1] = 0x52
    out[calls + 2] = out[calls + 3] = out[calls + 4] = 0x94
    lists, ends = _one_scalar_lists(np, out, calls)
    if lists.size:
        # "]" MEMOIZE <item> APPEND -> MARK <item> MEMOIZE LIST: the list's MEMOIZE goes from
        # before the item to after it (the k-th match's APPEND is k+1 bytes to the left once
        # the MEMOIZEs before it are deleted)
        out[lists] = 0x28
        out[ends] = 0x6C
        out = np.insert(np.delete(out, lists + 1), ends - np.arange(1, lists.size + 1), 0x94)
    return out[:n].tobytes()


def _calls(np: Any, a: Any, n: int) -> Any:
    """Where ``MEMOIZE TUPLE<n> MEMOIZE REDUCE MEMOIZE`` follows a short bytes payload."""
    at = np.flatnonzero(a[3 : n - 1] == 0x52)  # REDUCE first (rare), then its neighbours
    at = at[(a[at] == 0x94) & (a[at + 2] == 0x94) & (a[at + 4] == 0x94)]
    kind = a[at + 1]
    pair, single = a[at - 10], a[at - 12]  # the payload's opcode, if any (index -k: padding)
    ok = (kind == 0x86) & ((pair == 0x43) | (pair == 0x55)) & (a[at - 9] == 8)
    ok &= _after_head(a, at - 10)
    datetimes = (kind == 0x85) & ((single == 0x43) | (single == 0x55)) & (a[at - 11] == 10)
    ok |= datetimes & _after_head(a, at - 12)
    return _apart(np, at[ok], at[ok] + 4)[0]


def _after_head(a: Any, op: Any) -> Any:
    """Whether the payload's opcode at ``op`` follows what a call writes just before it: its
    dtype's (or class's) ``BINGET``/``LONG_BINGET``, an inline dtype's ``BUILD``, a
    ``MEMOIZE``, or a ``FRAME`` header (a frame may start at the payload). Not, say, the
    last bytes of a tz-aware datetime's payload before its tzinfo's ``BINGET 148`` ("h 94").
    (Helper a19's rule; a negative index reads the zero padding: no match.)"""
    prev = a[op - 1]
    return (
        (prev == 0x62) | (prev == 0x94) | (a[op - 2] == 0x68) | (a[op - 5] == 0x6A)
        | (a[op - 9] == 0x95)
    )  # fmt: skip


def _one_scalar_lists(np: Any, a: Any, calls: Any) -> tuple[Any, Any]:
    """Starts and APPENDs of ``EMPTY_LIST MEMOIZE BINGET BINGET payload <call> APPEND``
    (22 bytes; fmin's callable and dtype sit in the first 256 memo slots: BINGETs)."""
    at = calls[calls >= 16]
    at = at[(a[at + 1] == 0x52) & (a[at] == 0x86) & (a[at + 5] == 0x61)]
    start = at - 16
    ok = (a[start] == 0x5D) & (a[start + 1] == 0x94) & (a[start + 2] == 0x68)
    ok &= a[start + 4] == 0x68
    return start[ok], at[ok] + 5


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


def _after_payload_re(width: int, sizes: tuple[int, ...]) -> bytes:
    """A lookbehind, put after a pattern ``width`` bytes long: the match follows a
    1-byte-length payload (SHORT_BINBYTES "C", SHORT_BINSTRING "U") of one of ``sizes``."""
    return (
        b"(?:"
        + b"|".join(
            b"(?<=[CU]" + re.escape(bytes([n])) + b"[\\x00-\\xff]{%d}" % (n + width) + b")"
            for n in sizes
        )
        + b")"
    )


# 8-byte payloads only, as for protocol 4 (never 1 byte: CPython's one-byte bytes are
# singletons that pickle writes again as a GET of the first one's slot)
_REWRITES_2 = (
    (re.compile(_PUT2 + _after_payload_re(6, (8,))), b"(1\x86(1R"),
    (re.compile(_LONG_PUT2 + _after_payload_re(12, (8,))), b"(1(N1\x86(1(N1R"),
    (re.compile(_PUT1 + _after_payload_re(6, (10,))), b"(1\x85(1R"),
    (re.compile(_LONG_PUT1 + _after_payload_re(12, (10,))), b"(1(N1\x85(1(N1R"),
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
    """A whole pickle rewritten in ``CHUNK`` blocks, as ``LeanReader`` serves it (tests and
    benchmarks compare it with ``data``)."""
    leaner = leaner_for(data[:2])
    return b"".join(leaner(data[i : i + CHUNK]) for i in range(0, len(data), CHUNK))


class LeanReader:
    """A binary file read in blocks of ``CHUNK`` bytes, each rewritten once; the same offsets.

    Every byte comes out of exactly one rewritten block, whatever sizes the unpickler asks
    for, so what it parses is one consistent stream. ``peek`` returns the rest of the
    current block (a memoryview: the C unpickler parses from it without a copy).
    """

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        head = raw.read(2)
        self._lean = leaner_for(head)
        self._block = head  # the current block, rewritten (the first two bytes: PROTO n)
        self._at = 0  # the next byte to hand out, in the block
        self._start = 0  # the block's offset in the file

    def _next_block(self) -> bool:
        self._start += len(self._block)
        self._block = self._lean(self._raw.read(CHUNK))
        self._at = 0
        return bool(self._block)

    def _rest_of_block(self, size: int) -> bytes:
        piece = self._block[self._at : self._at + size]
        self._at += len(piece)
        return piece

    def _direct(self) -> None:
        """The block is used up and what follows is read past it, as it is."""
        self._start += len(self._block)
        self._block, self._at = b"", 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = 1 << 62
        if size - (len(self._block) - self._at) > CHUNK:  # a long payload: as it is
            head = self._rest_of_block(size)
            self._direct()
            tail = self._raw.read(size - len(head))
            self._start += len(tail)
            return head + tail if head else tail
        pieces = []
        while size > 0 and (self._at < len(self._block) or self._next_block()):
            piece = self._rest_of_block(size)
            size -= len(piece)
            pieces.append(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def peek(self, size: int = 0) -> memoryview:
        if self._at == len(self._block):
            self._next_block()
        return memoryview(self._block)[self._at :]

    def readinto(self, buffer: Any) -> int:
        """What is left of the block, then the file straight into ``buffer`` (no copies:
        the C unpickler reads long payloads this way)."""
        view = memoryview(buffer).cast("B")
        head = self._rest_of_block(len(view))
        view[: len(head)] = head
        if len(head) == len(view):
            return len(head)
        self._direct()
        got = self._raw.readinto(view[len(head) :]) or 0
        self._start += got
        return len(head) + got

    def readline(self, size: int = -1) -> bytes:  # protocol 0's text opcodes
        limit = 1 << 62 if size is None or size < 0 else size
        pieces, got = [], 0
        while got < limit and (self._at < len(self._block) or self._next_block()):
            newline = self._block.find(b"\n", self._at, self._at + limit - got)
            stop = newline + 1 if newline >= 0 else min(len(self._block), self._at + limit - got)
            pieces.append(self._block[self._at : stop])
            got += stop - self._at
            self._at = stop
            if newline >= 0:
                break
        return b"".join(pieces)

    def tell(self) -> int:
        return self._start + self._at

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> LeanReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
