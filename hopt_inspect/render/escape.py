"""Escaping text that came from a file, for each kind of output.

Labels, failure messages, result keys and choice options are written by whoever made
the file. Before they reach an output they go through one of these:

- terminal text: ``render.terminal.safe`` (control characters, workflow commands, length)
  inside a rich ``Text`` (never parsed as markup);
- GitHub workflow commands (``check --format github``): ``github_data``/``github_property``;
- XML (``check --format junit``): ``xml_text``;
- CSV (``export``): ``csv_cell`` (controls escaped, OWASP formula prefix);
- JSON (every ``--json``, ``export`` JSON/JSONL): ``json_text`` after ``json.dumps``;
- HTML (``report``): ``html.escape`` after ``escape_controls``.

All functions are linear in the length of the text.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls, DEL, C1 controls (U+009B is a one-character CSI on some terminals), the
# bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069: they
# reorder what follows them on the line, "Trojan Source"), lone surrogates (a pickle or
# JSON string may hold them; writing them as UTF-8 would fail).
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NOT_NEWLINE_CONTROL = re.compile(
    r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
# Not allowed in XML 1.0 (plus C1 controls, which are allowed but reach terminals raw).
_XML_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# GitHub's runner reads a line as a workflow command when, after leading spaces, it starts
# with "::" (or the older "##["). Word wrapping can put any part of a text at the start of
# a line, so a zero-width space goes between the two characters wherever file text holds
# them: the text looks the same and commands nothing.
_WORKFLOW = re.compile(r"(?<=:)(?=:)|(?<=#)(?=#\[)")
ZWSP = "\u200b"
_JSON_RAW = re.compile(r"[\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)", re.I)


def _hex(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, keep_newlines: bool = False) -> str:
    """Control characters and lone surrogates as visible ``\\xNN`` / ``\\uNNNN``."""
    return (_NOT_NEWLINE_CONTROL if keep_newlines else CONTROL).sub(_hex, text)


def no_workflow_commands(text: str) -> str:
    """``::`` → ``:\u200b:`` and ``##[`` → ``#\u200b#[``: no GitHub workflow command."""
    return _WORKFLOW.sub(ZWSP, text)


def as_text(value: Any) -> str:
    """``str(value)``, also for an int too long for ``str`` (more than 4300 digits)."""
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except ValueError:
        return "<a number too long to print>"


def github_data(text: str) -> str:
    """The message of a workflow command: one line, no terminal escapes."""
    text = escape_controls(as_text(text), keep_newlines=True)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """A property value (``file=``, ``title=``) of a workflow command."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def xml_text(text: Any) -> str:
    """Text that ElementTree writes as well-formed XML 1.0 (and that is safe to ``cat``)."""
    return _XML_BAD.sub(_hex, as_text(text))


def csv_cell(value: Any) -> Any:
    """A CSV cell: numbers unchanged; text with controls escaped and formulas defused.

    OWASP's advice for CSV injection: a cell that starts with ``=``, ``+``, ``-``, ``@``,
    tab or carriage return is prefixed with a single quote, so a spreadsheet shows it as
    text instead of evaluating it. Text that is a plain number (``-1.5``) is left alone.
    """
    if not isinstance(value, str):
        return value
    text = escape_controls(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def json_text(dumped: str) -> str:
    """Output of ``json.dumps(..., ensure_ascii=False)`` with C1 controls, line separators
    and lone surrogates written as ``\\uNNNN`` (they can only occur inside strings)."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)
