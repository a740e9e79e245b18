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


def one_line(text: str) -> str:
    """Line breaks become spaces; other control characters are escaped (file data!)."""
    text = re.sub(r"\s*[\r\n]+\s*", " ", text)
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
