"""The one exception type users see: a bad input, told in one line."""

from __future__ import annotations


class InputError(Exception):
    """A problem with what the user gave us (a file, an option, a space).

    The message is one line that says what is wrong and what to do; the CLI prints it
    on stderr and exits with code 2.
    """
