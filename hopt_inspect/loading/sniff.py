"""Read a file's bytes, undo compression, and tell what kind of file it is from its content."""

from __future__ import annotations

import bz2
import io
import lzma
import pickletools
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

MAX_DECOMPRESSED = 2 << 30  # a decompression bomb stops here (2 GiB)
_STEP = 64 << 20

_COMPRESSIONS = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
)
# Things people point the tool at by mistake, so the error can say what the file is.
_OTHER_MAGIC = (
    (b"PK\x03\x04", "a zip archive"),
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x89HDF", "an HDF5 file"),
    (b"\x93NUMPY", "a numpy .npy file"),
    (b"\x7fELF", "an executable"),
    (b"(\xb5/\xfd", "a zstd-compressed file (decompress it first: zstd -d FILE)"),
)


HEAD_BYTES = 1 << 16


@dataclass(frozen=True)
class RawFile:
    data: bytes  # the whole (decompressed) content, or only its head when ``complete`` is false
    compression: str | None
    size_bytes: int
    complete: bool = True


def read_file(path: Path, *, whole: bool = False) -> RawFile:
    """The file's bytes, decompressed when the content says it is compressed.

    An uncompressed file is read only up to its first 64 KiB (unless ``whole``): a pickle
    is then unpickled straight from the file, so its bytes never sit in memory as well.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file (pass the path of a pickled hyperopt Trials)")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a trials file")
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            data = f.read() if whole else f.read(HEAD_BYTES)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not data:
        raise InputError(f"{path}: the file is empty (was it still being written?)")
    for magic, name in _COMPRESSIONS:
        if data.startswith(magic):
            if len(data) < size:
                data = path.read_bytes()
            return RawFile(_decompress(path, data, name), name, size)
    return RawFile(data, None, size, complete=len(data) >= size)


def _decompress(path: Path, data: bytes, name: str) -> bytes:
    """Decompress in 64 MiB steps into one buffer, refusing output past the cap."""
    factories = {
        "gzip": lambda: zlib.decompressobj(wbits=31),
        "bz2": bz2.BZ2Decompressor,
        "xz": lzma.LZMADecompressor,
    }
    out = bytearray()
    try:
        rest = data
        while rest:  # gzip files may hold several members
            decompressor = factories[name]()
            if name == "gzip":
                chunk = decompressor.decompress(rest, _STEP)
                while True:
                    out += chunk
                    _check_cap(path, name, len(out))
                    if not decompressor.unconsumed_tail:
                        break
                    chunk = decompressor.decompress(decompressor.unconsumed_tail, _STEP)
                if not decompressor.eof:
                    raise EOFError
                rest = decompressor.unused_data.lstrip(b"\x00")
            else:
                chunk = decompressor.decompress(rest, _STEP)
                while True:
                    out += chunk
                    _check_cap(path, name, len(out))
                    if decompressor.eof or decompressor.needs_input:
                        break
                    chunk = decompressor.decompress(b"", _STEP)
                if not decompressor.eof:
                    raise EOFError
                rest = b""
    except EOFError as exc:
        raise InputError(
            f"{path}: the {name} stream is incomplete (the file may still be being written)"
        ) from exc
    except MemoryError as exc:
        raise InputError(
            f"{path}: decompressing the {name} data needs more memory than there is"
            " (a decompression bomb?)"
        ) from exc
    except (OSError, zlib.error, lzma.LZMAError, ValueError) as exc:
        raise InputError(f"{path}: the {name} data is corrupt ({exc})") from exc
    return bytes(out)


def _check_cap(path: Path, name: str, size: int) -> None:
    if size > MAX_DECOMPRESSED:
        raise InputError(
            f"{path}: the {name} data decompresses to more than {MAX_DECOMPRESSED >> 30} GiB;"
            " refusing (a decompression bomb?)"
        )


def content_kind(data: bytes) -> str:
    """'pickle', 'json', or a description of what else the bytes are."""
    if data[:1] == b"\x80" and (len(data) == 1 or data[1] <= 5):
        return "pickle"
    if data[:64].lstrip()[:1] in (b"{", b"["):  # neither is a pickle opcode
        return "json"
    for magic, what in _OTHER_MAGIC:
        if data.startswith(magic):
            return what
    if data[:1] in b"(]}cN)KJGFIVSTUX\x8a\x8b\x88\x89":
        return "pickle"  # protocol 0/1 opcodes a Trials pickle starts with
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return "unknown"
    return "a text file"


def pickle_protocol(data: bytes) -> int | None:
    """The protocol a pickle declares (2-5); for older ones, the newest opcode seen early on."""
    if data[:1] == b"\x80":
        return data[1] if len(data) > 1 else None
    newest = 0
    try:
        for count, (opcode, _arg, _pos) in enumerate(pickletools.genops(io.BytesIO(data))):
            newest = max(newest, opcode.proto)
            if count > 500:
                break
    except Exception:  # a damaged pickle: the loader reports that, not this guess
        return None
    return newest
