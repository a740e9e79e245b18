"""Findings, thresholds, the per-run context, and the statistics every check shares."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..space import SearchSpace
from ..study import Study, Trial
from ..tpe import TPESettings

SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True)
class Finding:
    """One thing ``check`` reports; its fields are exactly what the JSON holds."""

    code: str
    name: str
    severity: str
    params: list[str]
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    advice: str = ""


@dataclass(frozen=True)
class Thresholds:
    """Every number a check compares against; ``[tool.hopt-inspect]`` can change them."""

    alpha: float = 0.002  # p-value for a warning, after Bonferroni over parameters
    margin: float = 0.05  # edge margin, each side, as a share of the range in its own scale
    near: float = 0.05  # "near an earlier trial": closer than all but this share of random draws
    clump_ratio: float = 2.0  # and at least this many times the random expectation
    edge_ratio: float = 2.0
    collapse_window: int = 20  # the first proposals after start-up
    collapse_spread: float = 0.1  # their spread, as a share of the range
    stagnation_min: int = 30  # no improvement over max(this, share x N) trials
    stagnation_share: float = 0.25
    failure_rate: float = 0.10
    top_share: float = 0.10  # "top trials" for best-at-boundary: this share, at least 5


@dataclass(frozen=True)
class Check:
    """A registered check: a stable code, a name, and a function of the context."""

    code: str
    name: str
    summary: str
    run: Callable[[Context], list[Finding]]


@dataclass
class Context:
    study: Study
    space: SearchSpace
    settings: TPESettings
    thresholds: Thresholds

    @cached_property
    def ordered(self) -> list[Trial]:
        return list(self.study.trials)  # sorted by tid

    @cached_property
    def startup_count(self) -> int:
        return min(self.settings.n_startup_jobs, len(self.ordered))

    @cached_property
    def proposals(self) -> list[Trial]:
        """Trials made after TPE's random start-up (by position in tid order)."""
        return self.ordered[self.startup_count :]

    @cached_property
    def ok_trials(self) -> list[Trial]:
        return [t for t in self.ordered if t.is_ok]

    def active_values(self, label: str, start: int = 0) -> list[float]:
        """A label's numeric values from position ``start`` on (tid order), where active."""
        column = self.study.column(label)[start:]
        return [float(v) for v in column[column == column]]  # NaN != NaN: inactive dropped

    def inferred_note(self) -> str:
        return " (bounds INFERRED from observed values)" if self.space.inferred else ""


# --------------------------------------------------------------------------- statistics


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space (no scipy import on this path)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    p = min(max(p, 0.0), 1.0)
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    mode = int((n + 1) * p)
    if k > mode:  # the upper tail: terms fall from k on
        return min(1.0, _tail(k, n, p, range(k, n + 1)))
    return max(0.0, 1.0 - _tail(k - 1, n, p, range(k - 1, -1, -1)))


def _tail(start: int, n: int, p: float, js: range) -> float:
    """Sum of Binomial(n, p) probabilities over js, stopping once terms are negligible."""
    log_p, log_q = math.log(p), math.log1p(-p)
    lg_n = math.lgamma(n + 1)
    total = 0.0
    for j in js:
        term = math.exp(
            lg_n - math.lgamma(j + 1) - math.lgamma(n - j + 1) + j * log_p + (n - j) * log_q
        )
        total += term
        if term < 1e-17 * total and j != start:
            break
    return total


def poisson_sf(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean)."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    below = sum(math.exp(j * math.log(mean) - mean - math.lgamma(j + 1)) for j in range(k))
    return min(1.0, max(0.0, 1.0 - below))


def bonferroni(p: float, n_tests: int) -> float:
    return min(1.0, p * max(1, n_tests))


def fmt_p(p: float) -> str:
    return "p < 1e-12" if p < 1e-12 else f"p = {p:.2g}"


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
