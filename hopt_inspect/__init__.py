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
    from .loading import load_study
    from .summary import summarize

__all__ = ["__version__", "load_study", "summarize"]

_LAZY = {"load_study": ".loading", "summarize": ".summary"}


def __getattr__(name: str) -> Any:  # imports on first use keep `import hopt_inspect` cheap
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(name)
