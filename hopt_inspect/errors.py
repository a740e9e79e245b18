"""The one exception type users see: a bad input, told in one line."""

from __future__ import annotations

import re


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
