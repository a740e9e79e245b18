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

    code: str = ""  # stamped by the runner from the check's registration
    name: str = ""
    severity: str = "info"
    params: list[str] = field(default_factory=list)
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    advice: str = ""


@dataclass(frozen=True)
class Skip:
    """What a check returns when it cannot run here (reported as "not run", never counted)."""

    reason: str


@dataclass(frozen=True)
class NotRun:
    """A check that did not run, and why: its own list in every output format."""

    code: str
    name: str
    reason: str


@dataclass(frozen=True)
class Thresholds:
    """Every number a check compares against; ``[tool.hopt-inspect]`` can change them."""

    alpha: float = 0.002  # p-value for a warning, after Bonferroni over parameters (x 5 checks)
    margin: float = 0.05  # edge margin, each side, as a share of the range in its own scale
    near: float = 0.05  # "near an earlier trial": closer than all but this share of random draws
    clump_ratio: float = 2.0  # and at least this many times the random expectation
    clump_ratio_inferred: float = 5.0  # the same without --space (a rougher null)
    edge_ratio: float = 3.0  # an effect size, not only a p-value: 3x the prior's share
    collapse_window: int = 20  # the first proposals after start-up
    collapse_spread: float = 0.1  # their spread, as a share of the range
    stagnation_min: int = 30  # no improvement over max(this, share x N) trials
    stagnation_share: float = 0.25
    stagnation_effect: float = 0.75  # warn when the drought's losses are worse than earlier
    # ones with this probability (common-language effect size) and p < alpha
    duplicate_share: float = 0.05  # warn only when repeats waste this share of evaluations
    failure_rate: float = 0.10
    top_share: float = 0.10  # "top trials" for best-at-boundary: this share, at least 5


@dataclass(frozen=True)
class Check:
    """A registered check: a stable code, a name, a family, and a function of the context
    returning findings (code and name are stamped on by the runner) or a ``Skip``."""

    code: str
    name: str
    family: str  # "sampling", "progress", "failures"
    summary: str
    run: Callable[[Context], list[Finding] | Skip]


_REGISTERED: list[Check] = []


def check(code: str, name: str, family: str, summary: str) -> Callable:
    """Register a check function: its code, name, family and summary are declared here once."""

    def register(fn: Callable[[Context], list[Finding] | Skip]) -> Callable:
        _REGISTERED.append(Check(code, name, family, summary, fn))
        return fn

    return register


@dataclass
class Context:
    study: Study
    space: SearchSpace
    settings: TPESettings
    thresholds: Thresholds
    algo: str | None = None  # --algo: "tpe" or "rand" (None: detect from the data)
    n_startup_jobs: int | None = None  # --n-startup-jobs (None: detect, else the default)

    @cached_property
    def ordered(self) -> list[Trial]:
        return list(self.study.trials)  # sorted by tid

    @cached_property
    def sampler(self) -> Any:
        from ..sampler import detect_sampler

        return detect_sampler(
            self.study,
            self.space,
            self.settings,
            algo=self.algo,
            n_startup_jobs=self.n_startup_jobs,
        )

    @cached_property
    def startup_count(self) -> int:
        """Trials before TPE's first proposal: given, detected, or hyperopt's default."""
        guess = self.sampler
        if guess.kind == "tpe" and guess.n_startup is not None:
            return min(guess.n_startup, len(self.ordered))
        return min(self.settings.n_startup_jobs, len(self.ordered))

    @cached_property
    def reference_count(self) -> int:
        """The first trials that are prior draws under either sampler: the start-up, but no
        longer than n_startup_jobs (given, or hyperopt's 20). A sampler that proposes
        oddly (half its proposals at the edges, or around one trial) can look random to
        the detector for a long time; the trials after these are prior draws too under
        random search, so comparisons against them stay exact."""
        return min(self.startup_count, self.settings.n_startup_jobs)

    @property
    def looks_random(self) -> bool:
        return self.sampler.kind == "random"

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
        return (
            " (bounds inferred from the trials: hopt-inspect space shows how sure)"
            if self.space.inferred
            else ""
        )

    def alpha_for(self, n_tests: int) -> float:
        """The per-test level: alpha (one check's share of the family) over its tests."""
        return self.thresholds.alpha / max(1, n_tests)


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
