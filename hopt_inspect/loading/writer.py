"""What the bytes of a pickle prove about the program that wrote it (writer hints).

Each hint states only what the file shows: which names it refers to, which opcodes it
uses. Guesses about versions are left out where the evidence fits several writers
(hyperopt stores numpy values as plain numbers whenever ``bson`` imports, in every
version: ``hyperopt.base.SONify``).
"""

from __future__ import annotations

import io
import pickletools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Python 3's pickler never writes these (bytes go through _codecs.encode below protocol 3,
# str through UNICODE opcodes): a file holding them was written by Python 2.
_PY2_STRING_OPCODES = frozenset({"STRING", "BINSTRING", "SHORT_BINSTRING"})
_MAX_OPCODES = 5000


@dataclass(frozen=True)
class OpcodeScan:
    newest_protocol: int | None  # the newest protocol among the opcodes read
    python2_strings: bool  # a STRING / BINSTRING / SHORT_BINSTRING opcode was seen
    first_global: str | None = None  # "module.name" of the first class or function named


def scan_opcodes(data: bytes, limit: int = _MAX_OPCODES) -> OpcodeScan:
    """Read the first ``limit`` opcodes (tolerating Python 2's non-ASCII byte strings,
    which ``pickletools.genops`` refuses to decode)."""
    stream = io.BytesIO(data)
    newest: int | None = None
    py2 = False
    first_global: str | None = None
    strings: list[str] = []  # the last strings pushed, for STACK_GLOBAL
    for _ in range(limit):
        code = stream.read(1)
        if not code:
            break
        op = pickletools.code2op.get(code.decode("latin-1"))
        if op is None:
            break
        newest = op.proto if newest is None else max(newest, op.proto)
        try:
            if op.name in _PY2_STRING_OPCODES:
                py2 = True
                _skip_py2_string(stream, op.name)
            elif op.arg is not None:
                arg = op.arg.reader(stream)
                if isinstance(arg, str) and "UNICODE" in op.name:
                    strings = [*strings[-1:], arg]
                elif op.name == "GLOBAL" and first_global is None:
                    first_global = str(arg).replace(" ", ".", 1)
            if op.name == "STACK_GLOBAL" and first_global is None and len(strings) == 2:
                first_global = ".".join(strings)
        except Exception:
            break
        if op.name == "STOP":
            break
    return OpcodeScan(newest, py2, first_global)


def _skip_py2_string(stream: io.BytesIO, name: str) -> None:
    if name == "STRING":
        stream.readline()
    elif name == "SHORT_BINSTRING":
        stream.read(stream.read(1)[0])
    else:
        stream.read(int.from_bytes(stream.read(4), "little"))


def writer_hints(
    names: Iterable[str],
    protocol: int | None,
    scan: OpcodeScan | None,
    *,
    plain_values: bool,
    container: str,
    trusted: bool,
) -> list[str]:
    """Plain-language notes on the writer, each backed by what the file holds.

    ``names``: every ``module.name`` the pickle referred to; ``plain_values``: parameter
    values were stored as plain Python numbers (no numpy scalars).
    """
    names = set(names)
    hints: list[str] = []
    if scan is not None and scan.python2_strings:
        hints.append(
            "written by Python 2 (it holds byte-string opcodes Python 3 never writes)"
            + (
                "; protocol 0 is Python 2's pickle.dump default"
                if protocol == 0 or (protocol is None and scan.newest_protocol == 0)
                else ""
            )
        )
    if any(n.startswith(("dill.dill.", "dill._dill.")) for n in names):
        hints.append("dill wrote parts of it (it refers to dill's own functions)")
    if trusted:
        pass  # plain pickle does not tell us which names it resolved
    elif any(n.startswith("numpy._core.") for n in names):
        hints.append("numpy 2.x wrote the numbers (numpy._core)")
    elif any(n.startswith("numpy.core.") for n in names):
        hints.append("numpy 1.x wrote the numbers (numpy.core)")
    elif plain_values:
        hints.append(
            "parameter values are plain Python numbers (hyperopt converts numpy values"
            " whenever pymongo's bson imports)"
        )
    if any(n.startswith("ray.cloudpickle.") for n in names):
        hints.append("written by Ray's bundled cloudpickle (it refers to ray.cloudpickle)")
    elif any(n.startswith("cloudpickle.") for n in names):
        hints.append("written by cloudpickle (it refers to cloudpickle's own functions)")
    elif protocol == 5 and container.endswith("Trials") and " holding " not in container:
        hints.append(
            "protocol 5: cloudpickle's default (fmin(trials_save_file=...) writes with it),"
            " pickle.dump(..., protocol=5), or Python 3.14+'s default"
        )
    elif protocol is not None and protocol <= 2 and not (scan and scan.python2_strings):
        hints.append(f"protocol {protocol}: an old or explicitly low pickle protocol")
    return hints


def has_plain_values(docs: list[Any]) -> bool:
    """Whether the first documents hold parameter values (that then are plain numbers)."""
    for doc in docs[:5]:
        try:
            if any(len(v) for v in doc["misc"]["vals"].values()):
                return True
        except Exception:
            continue
    return False


# What a file is when its first global names one of these (for "not a hyperopt study").
KNOWN_OBJECTS = {
    "pandas.DataFrame": "a pandas DataFrame",
    "pandas.core.frame.DataFrame": "a pandas DataFrame",
    "pandas.Series": "a pandas Series",
    "pandas.core.series.Series": "a pandas Series",
}


def known_object(scan: OpcodeScan | None) -> str | None:
    return KNOWN_OBJECTS.get(scan.first_global or "") if scan is not None else None
