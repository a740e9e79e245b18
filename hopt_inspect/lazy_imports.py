"""Start-up cost: parts of hyperopt that no command needs are loaded on first use only.

``import hyperopt`` runs ``from . import atpe``, and ``hyperopt.atpe`` imports
``scipy.stats``: about 1.7 of hyperopt's 2 s of import time, paid by every ``--space
tuner.py`` (the tuner imports hyperopt) and every replay of TPE, although nothing here uses
ATPE. ``defer_hyperopt_extras`` registers ``hyperopt.atpe`` as a deferred module:
the name exists, ``from hyperopt import atpe`` works, and
the module runs the first time one of its attributes is read. Nothing changes for code that
uses ATPE, except when it pays the import.
"""

from __future__ import annotations

import sys
import types
from typing import Any

DEFERRED = ("hyperopt.atpe",)


def defer_hyperopt_extras() -> None:
    """Make the modules in ``DEFERRED`` load on first use, if hyperopt is not imported yet.

    A finder on ``sys.meta_path`` answers for these names only; nothing is imported or put
    in ``sys.modules`` until hyperopt itself imports them.
    """
    if "hyperopt" in sys.modules or _DeferringFinder in sys.meta_path:
        return
    sys.meta_path.insert(0, _DeferringFinder)


class _DeferringFinder:
    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> Any:
        if name not in DEFERRED:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _DeferringLoader(spec.loader)
        return spec


class _DeferringLoader:
    def __init__(self, real: Any) -> None:
        self.real = real

    def create_module(self, spec: Any) -> None:
        return None  # the default module object

    def exec_module(self, module: types.ModuleType) -> None:
        module.__class__ = _Deferred  # its code runs later, on first use


class _Deferred(types.ModuleType):
    """A module whose code runs when one of its (non-dunder) attributes is first read.

    importlib's own LazyLoader loads on any attribute, ``__spec__`` included, which the
    import system itself reads: this one leaves the dunders set by ``module_from_spec``.
    """

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        real = self.__spec__.loader.real
        self.__class__ = types.ModuleType  # from now on an ordinary module
        self.__spec__.loader = self.__loader__ = real
        real.exec_module(self)
        return getattr(self, attr)
