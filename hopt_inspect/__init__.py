"""hopt-inspect: diagnose hyperopt studies.

The public Python API, for notebooks::

    from hopt_inspect import load_study, summarize
    study = load_study("hyperopt.p")
    print(summarize(study).best)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .checks import run_checks
    from .loading import load_study
    from .resolve import resolve_space
    from .session import Inputs, Session, open_session, session_for
    from .summary import summarize
    from .tpe import tpe_curves

__all__ = [
    "Inputs", "Session", "__version__", "load_study", "open_session", "resolve_space",
    "run_checks", "session_for", "summarize", "tpe_curves",
]  # fmt: skip

_LAZY = {
    "Inputs": ".session",
    "Session": ".session",
    "open_session": ".session",
    "session_for": ".session",
    "load_study": ".loading",
    "resolve_space": ".resolve",
    "run_checks": ".checks",
    "summarize": ".summary",
    "tpe_curves": ".tpe",
}


def __getattr__(name: str) -> Any:  # imports on first use keep `import hopt_inspect` cheap
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(name)
