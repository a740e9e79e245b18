"""The one exception type users see: a bad input, told in one line."""

from __future__ import annotations

import re
from pathlib import Path


class InputError(Exception):
    """A problem with what the user gave us (a file, an option, a space).

    The message is one line that says what is wrong and what to do; the CLI prints it
    on stderr and exits with code 2.
    """

    def __init__(self, message: object = "") -> None:
        super().__init__(one_line(str(message)))


MAX_MESSAGE = 2000
_BREAKS = re.compile(r"[\r\n]+")


def one_line(text: str) -> str:
    """Line breaks (and the whitespace around them) become one space; other control
    characters are escaped (file data!).

    Linear in the length of ``text`` (the old ``\\s*[\\r\\n]+\\s*`` regex retried every
    start in a run of spaces: 60 KB of whitespace took a minute); capped at 2000 characters.
    """
    if len(text) > 4 * MAX_MESSAGE:
        text = text[: 4 * MAX_MESSAGE]
    pieces = _BREAKS.split(text)
    if len(pieces) > 1:
        last = len(pieces) - 1
        pieces = [
            p.lstrip() if i == last else p.rstrip() if i == 0 else p.strip()
            for i, p in enumerate(pieces)
        ]
        text = " ".join(p for i, p in enumerate(pieces) if p or i in (0, last))
    text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


MAX_SPEC_BYTES = 16 << 20  # a space file (script, TOML, pickle): far above any real one


def read_spec_bytes(
    path: str | Path,
    what: str = "--space",
    limit: int | None = None,
    kind: str = "a space file",
    advice: str = "",
) -> bytes:
    """The bytes of a space file: a regular file of at most ``limit`` bytes (16 MiB; never a
    FIFO, a device such as /dev/zero, or a folder), else a one-line ``InputError``."""
    cap = MAX_SPEC_BYTES if limit is None else limit
    size_text = f"{cap / (1 << 20):g} MiB"
    import os
    import stat

    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        raise InputError(f"{what} {path}: no such file") from exc
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot be read ({exc.strerror})") from exc
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{what} {path}: not a regular file")
    if info.st_size > cap:
        raise InputError(
            f"{what} {path}: {info.st_size:,} bytes; {kind} is at most {size_text}{advice}"
        )
    try:
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot be read ({exc.strerror})") from exc
    if len(data) > cap:
        raise InputError(f"{what} {path}: more than {size_text}; {kind} is smaller{advice}")
    return data
