"""TPE replay: what ``hyperopt.tpe.suggest`` computes, recomputed with hyperopt's own functions.

This module grows with the ``lpdf`` command; the settings and the split size live here so
every other module quotes TPE from one place. See ../shared/HYPEROPT.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class TPESettings:
    """``tpe.suggest``'s defaults (hyperopt 0.2.3 - 0.3.0)."""

    gamma: float = 0.25
    prior_weight: float = 1.0
    n_startup_jobs: int = 20
    n_ei_candidates: int = 24
    lf: int = 25  # tpe.DEFAULT_LF; not an argument of suggest since 0.2.3


def n_below(n_history: int, gamma: float = 0.25, cap: int = 25) -> int:
    """Size of TPE's "good" group: ``ap_split_trials``' ``min(ceil(gamma * sqrt(N)), 25)``."""
    return min(math.ceil(gamma * math.sqrt(n_history)), cap)
