"""A SearchSpace as text, a TOML spec, hp code or JSON (the ``space`` command).

The TOML and Python forms can be passed back with ``--space``: ``[space]`` with
``label = "kind(args)"`` in hyperopt's own parametrisation (log kinds in log units, written
``log(1e-05)`` when that is the exact float), or ``space = {...}`` with ``hp.*`` calls.
Conditional spaces come out flat, one entry per label, with the condition as a comment:
enough for TPE's curves and the checks, which read each label on its own.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..space import Param, SearchSpace
from .escape import as_text, escape_controls, no_workflow_commands

SCHEMA = "hopt-inspect/space/1"


def _safe(text: Any, limit: int = 200) -> str:
    """File text for the terminal and for comments: controls, bidi overrides and lone
    surrogates escaped (``escape.escape_controls``), no workflow commands, length capped."""
    s = no_workflow_commands(escape_controls(as_text(text)[: 4 * limit]))
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _num(value: float | None) -> str:
    """The shortest text that reads back as exactly this float."""
    if value is None:
        return "None"
    if not math.isfinite(value):
        return repr(float(value))
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _log_num(value: float | None, fn: str = "log") -> str:
    """A log-space number as ``log(r)`` when ``r`` is a short decimal giving this exact float."""
    if value is None:
        return "None"
    if value != 0:
        r = float(f"{math.exp(value):.6g}")
        if r > 0 and math.log(r) == value:
            return f"{fn}({r!r})"
    return _num(value)


def _condition(param: Param, space: SearchSpace) -> str:
    if not param.conditional:
        return ""
    paths = []
    for path in param.conditional:
        parts = []
        for label, index in path:
            parent = space.params.get(label)
            option = parent.option_text(index) if parent is not None else str(index)
            parts.append(f"{label} = {option}")
        paths.append(" and ".join(parts))
    return "when " + " or ".join(paths)


def option_values(param: Param) -> list[Any]:
    """A choice's options as written: numbers, bools and None keep their type (16, not
    "16"); an option that is no plain literal (a dict, an hp node) is its display text."""
    n = len(param.p or ()) if param.kind == "pchoice" else param.n_options
    out = []
    for i in range(n):
        value = param.option_value(i)
        if isinstance(value, float) and not math.isfinite(value):
            value = param.option_text(i)
        out.append(value)
    return out


def call_args(param: Param, log_fn: str = "log") -> str:
    """The arguments of ``kind(...)`` as hyperopt takes them (without the label)."""
    kind = param.kind
    if kind == "choice":
        return "[" + ", ".join(repr(o) for o in option_values(param)) + "]"
    if kind == "pchoice":
        pairs = zip(param.p or (), option_values(param), strict=False)
        return "[" + ", ".join(f"({_num(p)}, {o!r})" for p, o in pairs) + "]"
    if kind == "randint":
        return _num(param.low) if param.high is None else f"{_num(param.low)}, {_num(param.high)}"
    if kind in ("normal", "qnormal"):
        args = [_num(param.mu), _num(param.sigma)]
    elif kind in ("lognormal", "qlognormal"):
        args = [_log_num(param.mu, log_fn), _num(param.sigma)]
    elif param.is_log:
        args = [_log_num(param.low, log_fn), _log_num(param.high, log_fn)]
    else:
        args = [_num(param.low), _num(param.high)]
    if param.q is not None and kind != "uniformint":
        args.append(_num(param.q))
    return ", ".join(args)


def to_toml(space: SearchSpace) -> str:
    lines = [
        f"# search space: {_safe(space.source)} ({space.origin}); pass back with --space",
        "[space]",
    ]
    for label, param in space.params.items():
        comment = _comment(param, space)
        value = f"{param.kind}({call_args(param)})"
        lines.append(f"{_toml_str(label)} = {_toml_str(value)}{comment}")
    conditional = [(label, p) for label, p in space.params.items() if p.conditional]
    if conditional:  # read back by --space: per-branch counts (duplicates) need them
        lines += [
            "",
            "# when a label is active: any of its paths, a path being [choice, option index]",
            "# pairs that all hold",
            "[conditions]",
        ]
        for label, param in conditional:
            paths = ", ".join(
                "[" + ", ".join(f"[{_toml_str(parent)}, {int(i)}]" for parent, i in path) + "]"
                for path in param.conditional
            )
            lines.append(f"{_toml_str(label)} = [{paths}]")
    return "\n".join(lines) + "\n"


def _toml_str(text: str) -> str:
    """A TOML basic string: printable characters as they are, the rest as ``\\uXXXX`` or
    ``\\UXXXXXXXX`` (JSON's surrogate pairs are no valid TOML escape; a lone surrogate, which
    no TOML string can hold, becomes U+FFFD)."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable() and code != 0x7F:
            out.append(ch)
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        elif code > 0xFFFF:
            out.append(f"\\U{code:08x}")
        else:
            out.append(f"\\u{code:04x}")
    out.append('"')
    return "".join(out)


def to_python(space: SearchSpace) -> str:
    lines = [
        f"# search space: {_safe(space.source)} ({space.origin})",
        "import math",
        "",
        "from hyperopt import hp",
        "",
        "space = {",
    ]
    for label, param in space.params.items():
        args = call_args(param, log_fn="math.log")
        call = f"hp.{param.kind}({label!r}, {args})"
        lines.append(f"    {label!r}: {call},{_comment(param, space)}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _comment(param: Param, space: SearchSpace) -> str:
    notes = []
    condition = _condition(param, space)
    if condition:
        notes.append(condition)
    if param.inferred and param.confidence is not None:
        notes.append(f"inferred, confidence {param.confidence:.2f}")
    return ("  # " + _safe("; ".join(notes), 300)) if notes else ""


def to_json(space: SearchSpace) -> str:
    params = []
    for label, p in space.params.items():
        params.append(
            {
                "label": label,
                "kind": p.kind,
                "describe": p.describe(),
                "low": p.low,
                "high": p.high,
                "q": p.q,
                "mu": p.mu,
                "sigma": p.sigma,
                "options": option_values(p) if p.options is not None else None,
                "option_text": list(p.options) if p.options is not None else None,
                "p": list(p.p) if p.p is not None else None,
                "conditional": [[list(c) for c in path] for path in p.conditional],
                "log": p.is_log,
                "quantised": p.is_quantised,
                "categorical": p.is_categorical,
                "bounded": p.is_bounded,
                "family": p.family,
                "inferred": p.inferred,
                "confidence": p.confidence,
                "low_confidence": p.low_confidence,
                "evidence": p.evidence,
            }
        )
    doc = {
        "schema": SCHEMA,
        "source": space.source,
        "origin": space.origin,
        "notes": list(space.notes),
        "params": params,
    }
    return json.dumps(doc, indent=2, allow_nan=False, default=str) + "\n"


_ORIGIN_TEXT = {
    "script": "read from the script without running it",
    "stored": "stored with the trials, read as data",
    "inferred": "INFERRED from the trials (pass --space for the real one)",
    "toml": "a TOML spec",
    "import": "imported from Python (--run-space)",
    "pickle": "a pickled hp space, read as data",
}


def to_text(space: SearchSpace, width: int | None = None) -> str:
    import shutil
    import textwrap

    width = width or shutil.get_terminal_size((100, 24)).columns
    lines = [f"Space   {_safe(space.source)}", f"        {_ORIGIN_TEXT.get(space.origin, '')}"]
    for note in space.notes:
        lines += textwrap.wrap(_safe(note, 300), width, initial_indent=" " * 8,
                               subsequent_indent=" " * 8)  # fmt: skip
    lines.append("")
    pad = min(max((len(_safe(label, 60)) for label in space.params), default=0), width // 3)
    for label, param in space.params.items():
        text = f"{_safe(label, 60):<{pad}}  {_safe(param.describe(), 120)}"
        condition = _condition(param, space)
        if condition:
            text += f"  ({_safe(condition, 120)})"
        lines += textwrap.wrap(text, width, subsequent_indent=" " * 4)
        if param.inferred and param.confidence is not None:
            flag = " (LOW: checks on it are inconclusive)" if param.low_confidence else ""
            detail = f"confidence {param.confidence:.2f}{flag} · {_safe(param.evidence, 400)}"
            lines += textwrap.wrap(detail, width, initial_indent=" " * 4,
                                   subsequent_indent=" " * 4)  # fmt: skip
    return "\n".join(lines) + "\n"


FORMATS = {"text": to_text, "toml": to_toml, "python": to_python, "json": to_json}


def render_space(space: SearchSpace, fmt: str) -> str:
    return FORMATS[fmt](space)
