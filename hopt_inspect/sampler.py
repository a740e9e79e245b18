"""Which sampler made a study, from the trials alone: TPE or random search, and TPE's start-up.

Every value is mapped to its prior's CDF (``checks.scale.pit``, randomised inside q cells
and options), so under random search it is exactly uniform, independent of the history.
For each trial we then ask how close it landed to TPE's "good" group at that moment (the
best ``ceil(0.25 * sqrt(n))`` earlier trials): ``closeness`` is the prior probability of
landing at least that close, which random search makes uniform on [0, 1] and TPE, which
samples around its good trials, pushes towards 0. The per-trial mean over parameters is
standardised (mean 0.5, variance 1/(12 m) under random search), and a mean-shift change
point over those scores gives the start-up: trials before it look like the prior, trials
after it lean on the good group.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any

from .space import SearchSpace
from .study import Study

TPE_Z = 5.0  # a shift this strong (in standard errors) is TPE; max over change points
RANDOM_Z = 3.0  # below this the proposals are as the prior draws them
MIN_SCORED = 12  # fewer scored trials: cannot tell
MAX_TRIALS = 1000  # the first this-many trials are enough to tell


@dataclass(frozen=True)
class SamplerGuess:
    """What the trials say about the sampler: ``kind`` is "tpe", "random" or "unknown"."""

    kind: str
    n_startup: int | None  # trials before TPE's first proposal (TPE only)
    evidence: str
    z: float = 0.0  # the strongest shift towards the good group, in standard errors
    mean_closeness_after: float | None = None  # 0.5 under random search
    mean_closeness_before: float | None = None
    scored: int = 0  # trials with a closeness score
    source: str = "detected"  # "detected", or "--algo"/"--n-startup-jobs" when overridden
    startup_exact: bool = True  # False: n_startup is an upper bound
    startup_range: tuple[int, int] | None = None  # start-ups that fit the data about as well
    scores: list[float] = field(default_factory=list, repr=False)

    def startup_text(self) -> str:
        if self.kind == "tpe" and self.n_startup is not None:
            if not self.startup_exact:
                return f"the start-up was at most {self.n_startup} trials"
            lo, hi = self.startup_range or (self.n_startup, self.n_startup)
            if lo == hi:
                return f"the start-up looks like {self.n_startup} trials"
            return f"the start-up looks like {self.n_startup} trials (anywhere from {lo} to {hi})"
        return ""


def closeness_scores(
    study: Study, space: SearchSpace, gamma: float = 0.25, empirical: bool = False
) -> list[tuple[int, float, int]]:
    """(position, mean closeness over parameters, number of parameters) per scored trial.

    ``empirical``: inferred parameters use the observed values' own distribution as the
    prior (robust to a wrongly guessed prior, but blunter against TPE).
    """
    import numpy as np

    from .checks import scale

    trials = study.trials[:MAX_TRIALS]
    n = len(trials)
    rng = np.random.default_rng(12345)
    cols = {}
    for label, param in space.params.items():
        if label not in study.labels:
            continue
        if empirical and (param.inferred or getattr(param, "low_confidence", False)):
            cols[label] = _empirical_pit(study.column(label)[:n], rng)
        elif scale.has_prior(param):
            cols[label] = scale.pit(param, study.column(label)[:n], rng)
    if not cols:
        return []
    values = np.column_stack(list(cols.values()))  # trial x parameter, NaN where inactive
    ranked: list[tuple[float, int]] = []  # (loss as TPE reads it, position), sorted
    out = []
    for i, t in enumerate(trials):
        if ranked:
            nb = min(math.ceil(gamma * math.sqrt(len(ranked))), 25)
            ps = _closeness(values[i], values[[pos for _, pos in ranked[:nb]]], rng)
            if ps:
                out.append((i, sum(ps) / len(ps), len(ps)))
        if t.state in ("new", "running", "done"):
            loss = t.tpe_loss
            if loss == loss:  # tpe.suggest drops NaN losses
                bisect.insort(ranked, (loss, i))
    return out


def _empirical_pit(column: Any, rng: Any) -> Any:
    """Ranks as the prior's CDF when the prior is not known: the observed values stand in
    for it (under random search they are draws from it), ties randomised."""
    import numpy as np

    out = np.full(len(column), np.nan)
    ok = ~np.isnan(column)
    v = column[ok]
    if len(v) < 2:
        return out
    order = np.sort(v)
    below = np.searchsorted(order, v, side="left")
    upto = np.searchsorted(order, v, side="right")
    out[ok] = (below + rng.uniform(size=len(v)) * (upto - below)) / len(v)
    return out


def _closeness(ui: Any, good: Any, rng: Any) -> list[float]:
    """Per parameter active in this trial and in some good trial (in parameter order): the
    prior probability of landing at least as near a good trial, the length of the union of
    [x - d, x + d] within [0, 1] over the good values x, d the distance to the nearest one
    (a tiny random value when d is 0). All parameters at once; the same numbers, summed in
    the same order, as the per-parameter loop it replaced (kept in tests/test_stats.py)."""
    import numpy as np

    g = np.sort(good, axis=0)  # NaN (inactive) sort last
    valid = ~np.isnan(g)
    usable = ~np.isnan(ui) & valid.any(axis=0)
    if not usable.any():
        return []
    d = np.where(valid, np.abs(ui - g), np.inf).min(axis=0)
    lo = np.maximum(0.0, g - d)
    hi = np.where(valid, np.minimum(1.0, g + d), -np.inf)
    reach = np.vstack([np.zeros((1, g.shape[1])), np.maximum.accumulate(np.maximum(hi, 0.0))])
    lo = np.maximum(lo, reach[:-1])
    length = np.cumsum(np.where(hi > lo, hi - lo, 0.0), axis=0)[-1]
    zero = usable & (d == 0)
    if zero.any():
        length[zero] = rng.uniform(size=int(zero.sum())) * 1e-9
    return length[usable].tolist()


def _shift(scored: list[tuple[int, float, int]]) -> dict[str, Any]:
    """The strongest mean shift towards the good group over all change points."""
    z = [(0.5 - p) * math.sqrt(12 * m) for _, p, m in scored]
    best_z, best_k, suffix = 0.0, None, 0.0
    stats: dict[int, float] = {}
    for k in range(len(z) - 1, -1, -1):
        suffix += z[k]
        count = len(z) - k
        if count >= 5:
            stats[k] = suffix / math.sqrt(count)
            if stats[k] > best_z:
                best_z, best_k = stats[k], k
    out: dict[str, Any] = {"z": best_z, "change": None, "after": None, "before": None}
    out["head_z"] = 0.0
    out["range"] = None
    if best_k is not None:
        # change points that fit about as well (log-likelihood within 2 of the best)
        close = [k for k, v in stats.items() if v > 0 and (best_z**2 - v**2) / 2 <= 2.0]
        out["range"] = (scored[min(close)][0], scored[max(close)][0])
    whole = [p for _, p, _ in scored]
    out["mean"] = sum(whole) / len(whole) if whole else None
    if best_k is not None:
        out.update(_split_at(scored, best_k))
    return out


def _split_at(scored: list[tuple[int, float, int]], k: int) -> dict[str, Any]:
    """The change at the k-th scored trial: its position, the mean closeness after and
    before it, and the head's z (0 without a head)."""
    whole = [p for _, p, _ in scored]
    tail, head = whole[k:], whole[:k]
    z_head = [(0.5 - p) * math.sqrt(12 * m) for _, p, m in scored[:k]]
    return {
        "change": scored[k][0],
        "after": sum(tail) / len(tail),
        "before": sum(head) / len(head) if head else None,
        "head_z": sum(z_head) / math.sqrt(k) if head else 0.0,
    }


def _at(scored: list[tuple[int, float, int]], position: int) -> dict[str, Any] | None:
    """``_split_at`` the first scored trial at or after ``position``; None without a head."""
    k = next((i for i, (pos, _, _) in enumerate(scored) if pos >= position), None)
    return None if k is None or k == 0 else _split_at(scored, k)


def detect_sampler(
    study: Study,
    space: SearchSpace,
    settings: Any = None,
    *,
    algo: str | None = None,
    n_startup_jobs: int | None = None,
) -> SamplerGuess:
    """Guess the sampler from the data; ``algo`` ("tpe"/"rand") and ``n_startup_jobs`` win.

    With an inferred space the guessed priors may be wrong, which alone can make random
    proposals look non-random; so the statistic is also computed with each parameter's
    observed distribution as its prior, and TPE is only called when that agrees.
    """
    gamma = getattr(settings, "gamma", 0.25)
    scored = closeness_scores(study, space, gamma)
    shift = _shift(scored)
    guessed = any(p.inferred or getattr(p, "low_confidence", False) for p in space.params.values())
    robust_scored = closeness_scores(study, space, gamma, empirical=True) if guessed else scored
    robust = _shift(robust_scored) if guessed else shift
    best_z, change = shift["z"], shift["change"]
    after, before, mean_all = shift["after"], shift["before"], shift["mean"]
    common = {
        "z": round(best_z, 2),
        "mean_closeness_after": None if after is None else round(after, 3),
        "mean_closeness_before": None if before is None else round(before, 3),
        "scored": len(scored),
        "scores": [round(p, 4) for _, p, _ in scored],
    }
    if algo is not None:
        kind = "random" if algo in ("rand", "random") else "tpe"
        startup = None
        if kind == "tpe":
            startup = n_startup_jobs
            if startup is None:
                startup = getattr(settings, "n_startup_jobs", 20)
        text = f"--algo {algo}" + (f", start-up {startup} trials" if startup is not None else "")
        return SamplerGuess(kind, startup, text, source="--algo", **common)
    if n_startup_jobs is not None:
        return SamplerGuess(
            "tpe",
            n_startup_jobs,
            f"--n-startup-jobs {n_startup_jobs}",
            source="--n-startup-jobs",
            **common,
        )
    if len(scored) < MIN_SCORED:
        return SamplerGuess(
            "unknown",
            None,
            f"only {len(scored)} trials can be scored: too few to tell TPE from random search",
            **common,
        )
    is_tpe = best_z >= TPE_Z and (robust["z"] >= RANDOM_Z or not guessed)
    if not is_tpe and guessed and robust["z"] >= TPE_Z:
        shift, is_tpe, scored = robust, True, robust_scored
        best_z, change, after, before = shift["z"], shift["change"], shift["after"], shift["before"]
    default = int(getattr(settings, "n_startup_jobs", 20))
    lo_hi = shift["range"]
    if is_tpe and change is not None and lo_hi and lo_hi[0] <= default <= lo_hi[1]:
        # hyperopt's default start-up fits the data about as well as the best change point:
        # take it (the most common setting, and the same answer whatever space is given)
        at = _at(scored, default)
        if at is not None:
            change, after, before = default, at["after"], at["before"]
            shift = {**shift, "head_z": at["head_z"]}
    if is_tpe and change is not None:
        text = (
            f"from trial {change} on, proposals landed nearer the best earlier trials than"
            f" random draws would (mean closeness {after:.2f}; random search: 0.50;"
            f" z = {best_z:.1f}): TPE"
        )
        common["startup_range"] = shift["range"]
        if before is not None and shift["head_z"] < 1.5:
            text += f"; the {change} trials before look like the prior (mean {before:.2f})"
        elif before is not None:
            text += (
                f"; the {change} trials before lean that way too (mean {before:.2f}), so"
                f" the start-up was at most {change} trials and may have been shorter"
            )
            return SamplerGuess("tpe", change, text, startup_exact=False, **common)
        return SamplerGuess("tpe", change, text, **common)
    if best_z < RANDOM_Z and robust["z"] < RANDOM_Z:
        return SamplerGuess(
            "random",
            None,
            f"proposals are no nearer the best earlier trials than random draws"
            f" (mean closeness {mean_all:.2f}; random search: 0.50; strongest shift"
            f" z = {best_z:.1f}): these trials look like random search",
            **common,
        )
    return SamplerGuess(
        "unknown",
        None,
        f"a lean towards the best earlier trials (z = {best_z:.1f}"
        + (f"; {robust['z']:.1f} with the observed values as the prior" if guessed else "")
        + f", mean closeness {after:.2f} from trial {change} on) too weak or too"
        " prior-dependent to tell TPE from random search",
        **common,
    )
