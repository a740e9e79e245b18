"""Infer a study's search space from its trials, aiming at hyperopt's EXACT parameters.

What the data tells (see ../shared/HYPEROPT.md): TPE's first ``n_startup_jobs`` trials (20)
are independent draws from the prior, and every later proposal lies inside the bounds; a
random-search study is all prior draws. hyperopt stores ``hp.choice``/``hp.randint``
values as integers and every other kind as floats; q kinds land on multiples of ``q``.

Per label: the kind family (integer → choice/randint/pchoice; floats → the q step, then
uniform / loguniform / normal / lognormal by Kolmogorov-Smirnov goodness of fit on the
prior draws), then every bound and parameter snapped to the ROUNDEST value the data cannot
reject (0, 1, 0.5, 1e-5, log(1e-3), -10, 16, 512…) within a margin computed from the
number of draws. Each parameter carries a confidence (0-1) and its evidence in words.
numpy only (no scipy import: ``summary`` pays for this on every run).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from .space import Param, SearchSpace
from .study import Study

ALPHA = 1e-3  # option 0 of a choice unseen at this level: hp.randint(low, high)
PCHOICE_ALPHA = 1e-6  # equal odds rejected at this level: hp.pchoice
N_STARTUP = 20  # tpe.suggest's default n_startup_jobs
FAMILIES = ("uniform", "loguniform", "normal", "lognormal")
_EXACT_Q = (
    1000, 500, 256, 250, 200, 128, 100, 64, 50, 32, 25, 20, 16, 10, 8, 5, 4, 2.5, 2, 1,
    0.5, 0.25, 0.2, 0.1, 0.05, 0.025, 0.02, 0.01, 0.005, 0.001, 0.0001,
)  # fmt: skip


# --------------------------------------------------------------------------- roundness

DIGIT_NATS = 3.0  # prior cost, in nats of likelihood, of one more significant digit
FAMILY_PRIOR = {"uniform": 0.0, "loguniform": -1.0, "normal": -5.0, "lognormal": -5.0}
Q_LOG_PRIOR = -1.0  # qloguniform/qlognormal: rarer still than their q-linear twins


@functools.lru_cache(maxsize=4096)
def roundness(value: float) -> float:
    """How 'round' a number is as people write it: -0.5 for 0, else ~ significant digits.

    1, 10, 0.1… score 0.5; powers of two from 8 and 0.9/0.99/0.999 score 1 (batch
    sizes, discount factors); other numbers one per significant digit.
    """
    if value == 0:
        return -0.5  # 0 is the bound people write most
    v = abs(value)
    mantissa = f"{v:.12e}".split("e")[0]
    digits = mantissa.replace(".", "").rstrip("0")
    score = float(max(1, len(digits)))
    if digits == "1":
        score = 0.5
    if v >= 8 and v == int(v) and int(v) & (int(v) - 1) == 0:
        score = min(score, 1.0)
    if 0.9 <= v < 1 and set(f"{v:.12g}".split(".")[1]) == {"9"}:
        score = min(score, 1.0)
    return score


@functools.lru_cache(maxsize=4096)
def _literal(value: float) -> float:
    """The float a user gets from writing this number's shortest decimal (``0.3``)."""
    return float(f"{value:.12g}")


def round_numbers(
    lo: float, hi: float, anchor: float, per_level: int = 4, max_digits: int = 7
) -> list[float]:
    """Round numbers in [lo, hi]: per significant-digit level, the few nearest ``anchor``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        return []
    out: set[float] = set()
    if lo <= 0 <= hi:
        out.add(0.0)
    top = max(abs(lo), abs(hi), 1e-300)
    for digits in range(1, max_digits + 1):
        step = 10.0 ** (math.floor(math.log10(top)) - digits + 1)
        k_lo, k_hi = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if k_hi < k_lo:
            continue
        k_anchor = round(min(max(anchor, lo), hi) / step)
        ks = range(max(k_lo, k_anchor - per_level), min(k_hi, k_anchor + per_level) + 1)
        for k in ks:
            value = _literal(k * step)
            if lo - 1e-12 * top <= value <= hi + 1e-12 * top:
                out.add(value)
    for sign in (1.0, -1.0):
        a, b = sorted((sign * lo, sign * hi))  # the range of |x| for this sign
        if b >= 8:
            for e in range(max(3, math.ceil(math.log2(max(a, 8)))), min(20, int(math.log2(b))) + 1):
                out.add(sign * 2.0**e)
    for nines in (0.9, 0.99, 0.999, 0.9999):
        if lo <= nines <= hi:
            out.add(nines)
    return sorted(out)


@dataclass(frozen=True)
class _Choice:
    value: float  # in fit space (log space for log kinds)
    score: float  # nats: - gap penalty - roundness cost (+ q bonus)
    how: str  # as the user would have written it
    runner_up: float  # the next best score (confidence in the pick)
    system: str  # "natural" or "raw" (log kinds: log(r) or r log units)


RAW_LOG_COST = 0.25  # bounds in raw log units (-10) are rarer than log(1e-5)
SAME_SYSTEM_NATS = 3.0  # both bounds written the same way


def bound_choices(
    cell: tuple[float, float], density: float, *, lower: bool, log: bool, q: float | None
) -> list[_Choice]:
    """The best bound per way of writing it, given where the extreme draw lay (``cell``).

    A candidate beyond the cell by ``gap`` costs ``density * gap`` nats (no draw fell in
    between), each significant digit DIGIT_NATS; a bound on the q lattice earns one digit.
    """
    c_lo, c_hi = cell
    reach = 14.0 / max(density, 1e-12)
    lo, hi = (c_lo - reach, c_hi) if lower else (c_lo, c_hi + reach)
    anchor = c_hi if lower else c_lo  # ties: the candidate nearest the data
    options: list[tuple[float, float, str, str]] = []
    if log:
        if hi < 700:
            for r in round_numbers(math.exp(lo), math.exp(hi), math.exp(min(anchor, 700))):
                if r > 0:
                    options.append((math.log(r), _cost(r, q), f"log({r:g})", "natural"))
        for v in round_numbers(lo, hi, anchor):
            if v != round(v * 2) / 2:  # raw log units: people write -10, -2.5, 0
                continue
            cost = (1.0 if v == int(v) else 1.5) + RAW_LOG_COST
            options.append((v, cost, f"{v:g}", "raw"))
    else:
        for v in round_numbers(lo, hi, anchor):
            options.append((v, _cost(v, q), f"{v:g}", "natural"))
    scored = []
    for value, cost, how, system in options:
        gap = max(0.0, c_lo - value) if lower else max(0.0, value - c_hi)
        scored.append((float(-density * gap - DIGIT_NATS * cost), value, how, system))
    scored.sort(key=lambda s: (-s[0], abs(s[1] - anchor)))
    out = []
    for system in ("natural", "raw"):
        mine = [s for s in scored if s[3] == system]
        if mine:
            best = mine[0]
            runner = next((s[0] for s in scored if abs(s[1] - best[1]) > 1e-12), best[0] - 10)
            out.append(_Choice(best[1], best[0], best[2], runner, system))
    return out


def pick_bounds(lows: list[_Choice], highs: list[_Choice]) -> tuple[_Choice, _Choice] | None:
    """The best (low, high) pair, preferring both bounds written the same way."""
    best = None
    for lo in lows:
        for hi in highs:
            if not lo.value < hi.value:
                continue
            score = lo.score + hi.score + (SAME_SYSTEM_NATS if lo.system == hi.system else 0.0)
            if best is None or score > best[0]:
                best = (score, lo, hi)
    return None if best is None else (best[1], best[2])


def _cost(value: float, q: float | None) -> float:
    cost = roundness(value)
    if q is not None and value != 0:
        ratio = value / q
        if abs(ratio - round(ratio)) <= 1e-9 * max(1.0, abs(ratio)):
            cost -= 1.0
    return cost


# --------------------------------------------------------------------------- statistics


def ks_pvalue(d: float, n: float) -> float:
    """Kolmogorov's asymptotic p-value with Stephens' small-sample correction."""
    if n <= 0:
        return 1.0
    sq = math.sqrt(n)
    lam = (sq + 0.12 + 0.11 / sq) * d
    if lam < 0.2:
        return 1.0
    total = 0.0
    for k in range(1, 101):
        term = 2 * (-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam)
        total += term
        if abs(term) < 1e-12:
            break
    return min(1.0, max(0.0, total))


def ks_one(sample: Any, cdf: Any) -> float:
    import numpy as np

    x = np.sort(np.asarray(sample, dtype=float))
    n = x.size
    if n == 0:
        return 1.0
    f = np.clip(cdf(x), 0.0, 1.0)
    i = np.arange(1, n + 1)
    d = max(float(np.max(i / n - f)), float(np.max(f - (i - 1) / n)))
    return ks_pvalue(d, n)


def ks_two(a: Any, b: Any) -> float:
    import numpy as np

    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    if not a.size or not b.size:
        return 1.0
    both = np.concatenate([a, b])
    fa = np.searchsorted(a, both, side="right") / a.size
    fb = np.searchsorted(b, both, side="right") / b.size
    d = float(np.max(np.abs(fa - fb)))
    return ks_pvalue(d, a.size * b.size / (a.size + b.size))


def _erf(z: Any) -> Any:
    """erf for arrays (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7): numpy has none."""
    import numpy as np

    z = np.asarray(z, dtype=float)
    sign = np.sign(z)
    a = np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return sign * (1.0 - poly * np.exp(-a * a))


def _normal_cdf(x: Any, mu: float, sigma: float) -> Any:
    import numpy as np

    z = (np.asarray(x, float) - mu) / (sigma * math.sqrt(2))
    return 0.5 * (1 + _erf(z))


def end_density(x: Any, lower: bool) -> float:
    """Draws per unit near one end of the observed range (the end quarter's count)."""
    import numpy as np

    lo, hi = float(x.min()), float(x.max())
    span = hi - lo
    if span <= 0:
        return 1.0 / max(abs(lo), 1.0)
    k = int(np.sum(x <= lo + span / 4)) if lower else int(np.sum(x >= hi - span / 4))
    return max(k - 1, 0.5) / (span / 4)  # the extreme itself is not evidence of density


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-max(min(x, 50), -50)))


# --------------------------------------------------------------------------- per label


@dataclass
class _Fit:
    param: Param
    score: float  # log p-value - roundness: higher is better
    pvalue: float


MAX_FIT_DRAWS = 2000  # family tests on at most this many draws (evenly spaced)


def infer_study_space(study: Study, n_startup_jobs: int = N_STARTUP) -> SearchSpace:
    """The space inferred from ``study``'s trials, each parameter with confidence/evidence."""
    import numpy as np

    n = len(study.trials)
    tids = study.tids
    startup_tids = [t.tid for t in study.tpe_history(min(n, 3 * n_startup_jobs + 10))]
    startup = np.isin(tids, startup_tids[:n_startup_jobs])
    arrays: dict[str, Any] = {}
    masks: dict[str, Any] = {}
    ints: dict[str, bool] = {}
    for label in study.labels:
        column = study.column(label)
        ok = np.isfinite(column)
        arrays[label] = column[ok]
        masks[label] = startup[ok]
        ints[label] = _stored_as_int(study, label)
    floats = {k: v for k, v in arrays.items() if not ints[k]}
    losses = study.ok_losses
    random_study, why, tested, p_random = _looks_random(
        floats, masks, losses, startup, n_startup_jobs
    )

    fit_p: dict[str, float] = {}  # each float label's KS p of its best family

    def fit(random_study: bool) -> dict[str, Param]:
        fit_p.clear()
        params: dict[str, Param] = {}
        for label in study.labels:
            values = arrays[label]
            all_prior = random_study and (label in tested or ints[label])
            prior = _thin(values if all_prior else values[masks[label]])
            if not values.size:
                params[label] = Param(
                    label, "uniform", low=0.0, high=1.0, inferred=True, confidence=0.0,
                    evidence="no numeric values",
                )  # fmt: skip
            elif ints[label]:
                params[label] = _categorical(label, values, prior, all_prior)
            else:
                params[label] = _continuous(label, values, prior, fit_p)
        return _with_conditions(study, params)

    params = fit(random_study)
    if n >= MIN_SAMPLER_TRIALS and p_random >= CLEAR_TPE_P:
        # the KS test is not decisive: ask whether proposals lean on the best trials
        verdict = _sampler_verdict(study, params)
        if verdict is not None and verdict[0] != random_study:
            before = (params, why, tested)
            random_study, why = verdict[0], verdict[1]
            if random_study:
                tested = set(floats)
            params = fit(random_study)
            misfit = min(fit_p.values(), default=1.0) * max(len(fit_p), 1)
            if random_study and misfit < ALL_PRIOR_FIT_P:
                # prior draws all come from one family: these do not (planted edges, a
                # sampler that is neither TPE nor random search); keep the start-up alone
                params, why, tested = before
                random_study = False
                why += (
                    f"; not random search although proposals do not lean on the best trials:"
                    f" all trials fit no prior (p={misfit:.2g})"
                )
    if not random_study:
        for label, param in list(params.items()):
            if ints[label] and param.is_categorical and not param.conditional:
                params[label] = _odds_from_proposals(study, param, n_startup_jobs)
    return SearchSpace(
        params, "inferred from the observed values", inferred=True, origin="inferred",
        notes=(why,),
    )  # fmt: skip


CLEAR_TPE_P = 1e-3  # the KS test alone calls a study TPE below this
ALL_PRIOR_FIT_P = 0.05  # every trial a prior draw, yet the best families misfit: not so
MIN_SAMPLER_TRIALS = 40
SAMPLER_TRIALS = 200  # sampler detection on the first this-many trials (its cost is per trial)


def _sampler_verdict(study: Study, params: dict[str, Param]) -> tuple[bool, str] | None:
    """(random search?, why) from ``sampler.detect_sampler``: TPE proposals land nearer the
    best earlier trials than prior draws do; None when it cannot tell."""
    from dataclasses import replace

    from .sampler import TPE_Z, detect_sampler

    space = SearchSpace(params, "inferred", inferred=True, origin="inferred")
    head = replace(study, trials=study.trials[:SAMPLER_TRIALS])
    try:
        guess = detect_sampler(head, space)
    except (ValueError, ZeroDivisionError, KeyError):  # pragma: no cover - defensive
        return None
    if guess.kind == "random":
        return True, (
            f"proposals are no nearer the best earlier trials than prior draws (z ="
            f" {guess.z:.1f} over the first {len(head.trials)} trials): all trials are taken"
            " as prior draws (random search)"
        )
    if guess.z >= TPE_Z:  # TPE, or a lean too prior-dependent to call: not all prior draws
        return False, (
            f"proposals lean on the best earlier trials (z = {guess.z:.1f}): TPE; the first"
            f" {N_STARTUP} trials are taken as its prior draws"
        )
    return None


def _stored_as_int(study: Study, label: str, sample: int = 20) -> bool:
    """hyperopt stores choice/randint values as ints and every other kind as floats."""
    seen = 0
    for t in study.trials:
        value = t.params.get(label)
        if value is None or isinstance(value, bool):
            continue
        if not isinstance(value, int):
            return False
        seen += 1
        if seen >= sample:
            break
    return seen > 0


def _thin(values: Any) -> Any:
    if values.size <= MAX_FIT_DRAWS:
        return values
    import numpy as np

    return values[np.linspace(0, values.size - 1, MAX_FIT_DRAWS).astype(int)]


RANDOM_P = 0.2  # call a study random search only when nothing suggests otherwise


def _looks_random(
    arrays: dict[str, Any],
    masks: dict[str, Any],
    losses: Any,
    startup: Any,
    n_startup: int = N_STARTUP,
) -> tuple[bool, str, set[str], float]:
    """Whether later trials are distributed as the start-up ones (a random-search study).

    TPE moves its proposals (float labels) and lowers the losses after the start-up draws;
    random search does neither. Choices are left out: their counts in 20 draws say little.
    Taking a TPE study for random search would bias every fit, so the bar is high.
    """
    import numpy as np

    pvalues = {}
    for label, values in arrays.items():
        first, later = values[masks[label]], values[~masks[label]]
        if first.size < 10 or later.size < 20:
            continue
        pvalues[label] = ks_two(first, _thin(later))
    ok = np.isfinite(losses)
    first, later = losses[ok & startup], _thin(losses[ok & ~startup])
    loss_p = ks_two(first, later) if first.size >= 10 and later.size >= 20 else None
    tests = list(pvalues.values()) + ([loss_p] if loss_p is not None else [])
    if not pvalues:
        return False, f"the first {n_startup} trials are taken as TPE's prior draws", set(), 0.0
    p = min(1.0, min(tests) * len(tests))
    if p > RANDOM_P:
        why = (
            f"later trials are distributed as the first {n_startup} (p={p:.2g}): all trials"
            " are taken as prior draws (random search)"
        )
        return True, why, set(pvalues), p
    why = (
        f"the first {n_startup} trials are taken as TPE's prior draws (a test that later"
        f" trials are distributed as they are: p={p:.2g}, so not random search)"
    )
    return False, why, set(pvalues), p


RANDOM_PCHOICE_ALPHA = 1e-3  # all draws are prior draws (random search): no TPE skew


def _categorical(label: str, values: Any, prior: Any, all_prior: bool = False) -> Param:
    import numpy as np

    lo, hi = int(values.min()), int(values.max())
    if lo < 0:
        return Param(
            label, "quniform", low=float(lo), high=float(hi), q=1.0, inferred=True,
            confidence=0.3, evidence="negative integers: not a choice index",
        )  # fmt: skip
    n = values.size
    offset = lo > 0 and (lo / (lo + 1)) ** n < ALPHA  # option 0 never drawn in n draws
    first = lo if offset else 0
    k_opts = hi - first + 1
    if k_opts > MAX_OPTIONS:  # no choice has this many options: an integer range
        return _fallback(label, values, f"integers {lo}..{hi}: too many to be options")
    p_missed = (k_opts / (k_opts + 1)) ** n  # an option above hi would go unseen
    counts = np.bincount((prior - first).astype(int), minlength=k_opts)[:k_opts]
    n_prior = int(counts.sum())
    uniform_p = 1.0
    if n_prior and k_opts > 1:
        expected = n_prior / k_opts
        uniform_p = _chi2_sf(float(np.sum((counts - expected) ** 2 / expected)), k_opts - 1)
    power = min(1.0, n_prior / 100)
    evidence = (
        f"integers {lo}..{hi} in {n} draws (an option above {hi} unseen: p={p_missed:.2g});"
        f" equal odds on {n_prior} prior draws: p={uniform_p:.2g}"
    )
    alpha = RANDOM_PCHOICE_ALPHA if all_prior else PCHOICE_ALPHA
    if uniform_p < alpha:  # TPE-phase counts skew too: only strong evidence
        snapped = _snap_probabilities(counts, n_prior)
        if snapped is not None:
            p, margin = snapped
            confidence = (1 - p_missed) * 0.5 * (1 + power) * _sigmoid(margin)
            return Param(
                label, "pchoice", p=p, options=tuple(str(i) for i in range(len(p))),
                option_values=tuple(range(len(p))), inferred=True,
                confidence=round(confidence, 3),
                evidence=evidence + f"; hp.pchoice with p={p} ({margin:.1f} nats above the"
                " next probabilities)",
            )  # fmt: skip
    confidence = (1 - p_missed) * (1 - 0.1 * (1 - power))
    if offset:
        low, high = float(lo), float(hi + 1)
        return Param(
            label, "randint", low=low, high=high, inferred=True, confidence=round(confidence, 3),
            evidence=evidence + f"; hp.randint({lo}, {hi + 1})",
        )  # fmt: skip
    return Param(
        label, "randint", low=float(k_opts), inferred=True, confidence=round(confidence, 3),
        evidence=evidence + f"; hp.choice of {k_opts} options (or hp.randint({k_opts}))",
    )  # fmt: skip


MAX_OPTIONS = 100_000


def _fallback(label: str, values: Any, why: str) -> Param:
    """The observed range, uniform, no confidence: what is left when nothing fits."""
    lo, hi = float(values.min()), float(values.max())
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    return Param(
        label, "uniform", low=lo, high=hi, inferred=True, confidence=0.0,
        evidence=f"{why}; observed range used",
    )  # fmt: skip


def _sane(p: Param) -> bool:
    for v in (p.low, p.high, p.mu, p.sigma, p.q):
        if v is not None and not (math.isfinite(v) and abs(v) < 1e15):
            return False
    if p.is_log and p.family == "uniform" and (p.high or 0) > 700:
        return False
    return not (p.is_log and p.family == "normal" and (p.mu or 0) + 40 * (p.sigma or 0) > 700)


def _chi2_sf(x: float, dof: int) -> float:
    """Upper tail of chi-square (Wilson-Hilferty normal approximation)."""
    if dof <= 0:
        return 1.0
    z = ((x / dof) ** (1 / 3) - (1 - 2 / (9 * dof))) / math.sqrt(2 / (9 * dof))
    return 0.5 * math.erfc(z / math.sqrt(2))


# --------------------------------------------------------------------------- TPE's odds

N_EI_CANDIDATES = 24  # tpe.suggest's default: candidates drawn from the good model
LF = 25  # linear forgetting: the newest 25 observations weigh 1
MAX_ODDS_OPTIONS = 4
MAX_PROPOSALS = 100  # TPE proposals scored per label (each needs its own history split)
PCHOICE_PRIOR_NATS = 4.0  # hp.pchoice is rarer than hp.choice (about 1 in 50 categoricals)
PROPOSAL_EPS = 0.01  # a proposal the model calls impossible costs log(eps / K), not -inf


def _forgetting_weights(n: int) -> Any:
    """hyperopt's ``linear_forgetting_weights(n, 25)``: older observations weigh less."""
    import numpy as np

    if n < LF:
        return np.ones(n)
    return np.concatenate([np.linspace(1 / n, 1.0, num=n - LF), np.ones(LF)])


def _weighted_counts(values: Any, k: int, offset: int) -> Any:
    import numpy as np

    index = np.asarray(values, dtype=float).astype(int) - offset
    if not index.size:
        return np.zeros(k)
    return np.bincount(index, _forgetting_weights(index.size), minlength=k)[:k]


def _proposal_counts(study: Study, label: str, k: int, offset: int, n_startup: int):
    """Per TPE proposal of ``label``: the good and bad groups' weighted option counts and
    the option proposed (hyperopt's split of the history before it)."""
    import numpy as np

    from .tpe import _split_cached

    column = study.column(label)
    below_rows, above_rows, picks = [], [], []
    for i in range(n_startup, min(len(study.trials), n_startup + MAX_PROPOSALS)):
        value = column[i]
        if not np.isfinite(value):
            continue
        _, below, above, _ = _split_cached(study, i, label, 0.25)
        below_rows.append(_weighted_counts(below, k, offset))
        above_rows.append(_weighted_counts(above, k, offset))
        picks.append(int(value) - offset)
    return np.asarray(below_rows), np.asarray(above_rows), np.asarray(picks, dtype=int)


def _proposal_loglik(below: Any, above: Any, picks: Any, p: Any) -> Any:
    """log P(each proposal | odds p), summed, for every row of ``p`` (shape (C, K)).

    TPE draws 24 candidates from the good group's posterior l (counts + K * p) and proposes
    the one with the highest l / g, g the bad group's: option j is proposed when it is among
    the candidates and no option with a higher ratio is.
    """
    import numpy as np

    k = p.shape[1]
    prior = k * p[:, None, :]  # (C, 1, K): prior_weight 1
    lb = below[None] + prior
    lb = lb / lb.sum(axis=2, keepdims=True)
    la = above[None] + prior
    la = la / la.sum(axis=2, keepdims=True)
    ratio = np.log(lb) - np.log(la)  # (C, T, K)
    rows = np.arange(picks.size)
    r_pick = ratio[:, rows, picks][:, :, None]
    absent = (1 - lb) ** N_EI_CANDIDATES  # P(option not among the candidates)
    higher = ratio > r_pick + 1e-12
    p_pick = (1 - absent[:, rows, picks]) * np.prod(np.where(higher, absent, 1.0), axis=2)
    p_pick = (1 - PROPOSAL_EPS) * p_pick + PROPOSAL_EPS / k
    return np.sum(np.log(p_pick), axis=1)


def _odds_grid(k: int) -> Any:
    """Every probability vector of multiples of 0.05 (each >= 0.05) over k options."""
    import itertools

    import numpy as np

    steps = range(1, 20)
    combos = [c for c in itertools.product(steps, repeat=k) if sum(c) == 20]
    return np.asarray(combos, dtype=float) / 20


def _odds_from_proposals(study: Study, param: Param, n_startup: int) -> Param:
    """hp.choice or hp.pchoice, and which odds, from the prior draws AND TPE's proposals.

    A pchoice's odds enter TPE's posteriors as pseudo-counts (``K * p``), so they change
    which option has the highest good/bad ratio, which is the option TPE proposes: each
    later proposal is evidence about p, exact under hyperopt's own rule.
    """
    import numpy as np

    k = param.n_options
    offset = param.randint_offset
    if not 2 <= k <= MAX_ODDS_OPTIONS or len(study.trials) < n_startup + 20:
        return param
    below, above, picks = _proposal_counts(study, param.label, k, offset, n_startup)
    if picks.size < 20 or np.any(picks < 0) or np.any(picks >= k):
        return param
    first = study.column(param.label)[:n_startup]
    first = first[np.isfinite(first)].astype(int) - offset
    prior_counts = np.bincount(first[(first >= 0) & (first < k)], minlength=k)[:k]
    grid = _odds_grid(k)
    equal = np.full((1, k), 1.0 / k)
    candidates = np.vstack([equal, grid])
    loglik = _proposal_loglik(below, above, picks, candidates)
    as_draws = np.bincount(picks, minlength=k)[:k] @ np.log(candidates).T
    if loglik.max() < as_draws.max():  # the proposals look like prior draws, not TPE's
        return param
    loglik = loglik + prior_counts @ np.log(candidates).T
    cost = np.array([0.0] + [sum(_probability_cost(float(v)) for v in row) for row in grid])
    score = loglik - DIGIT_NATS * cost - np.where(np.arange(len(candidates)) > 0,
                                                   PCHOICE_PRIOR_NATS, 0.0)  # fmt: skip
    order = np.argsort(-score)
    best, margin = int(order[0]), float(score[order[0]] - score[order[1]])
    base = f"{param.evidence}; on {picks.size} TPE proposals"
    if best == 0:
        confidence = (param.confidence or 0.0) * _sigmoid(margin)
        return Param(
            param.label, param.kind, low=param.low, high=param.high, inferred=True,
            confidence=round(confidence, 3),
            evidence=base + f" equal odds beat any hp.pchoice odds by {margin:.1f} nats",
        )  # fmt: skip
    p = tuple(_literal(float(v)) for v in candidates[best])
    confidence = (param.confidence or 0.0) * _sigmoid(margin)  # as sure as the options
    return Param(
        param.label, "pchoice", p=p, options=tuple(str(i) for i in range(k)),
        option_values=tuple(range(k)), inferred=True, confidence=round(confidence, 3),
        evidence=base + f" hp.pchoice with p={p} beats equal odds by"
        f" {float(score[order[0]] - score[0]):.1f} nats and the next odds by {margin:.1f}",
    )  # fmt: skip


def _snap_probabilities(counts: Any, n: int) -> tuple[tuple[float, ...], float] | None:
    """The probabilities (multiples of 0.05, summing to 1) best by likelihood - roundness,
    and their margin in nats over the runner-up."""
    import itertools

    k = len(counts)
    if k > 6 or n < 10:
        return None
    choices = []
    for c in counts:
        p_hat = c / n
        se = math.sqrt(max(p_hat * (1 - p_hat), 1 / n) / n)
        lo, hi = max(0.05, p_hat - 4 * se), min(0.95, p_hat + 4 * se)
        cands = [round(j * 0.05, 2) for j in range(1, 20) if lo - 1e-9 <= j * 0.05 <= hi + 1e-9]
        if not cands:
            return None
        choices.append(cands)
    scored = []
    for combo in itertools.product(*choices):
        if abs(sum(combo) - 1) > 1e-9:
            continue
        loglik = sum(c * math.log(p) for c, p in zip(counts, combo, strict=True))
        cost = sum(_probability_cost(p) for p in combo)
        scored.append((loglik - DIGIT_NATS * cost, combo))
    if not scored:
        return None
    scored.sort(key=lambda s: -s[0])
    margin = scored[0][0] - scored[1][0] if len(scored) > 1 else 10.0
    return tuple(_literal(p) for p in scored[0][1]), margin


def _probability_cost(p: float) -> float:
    """Halves are what people write most, then tenths and quarters, then twentieths."""
    if p == 0.5:
        return 0.5
    return 1.0 if round(p * 20) % 2 == 0 or p in (0.25, 0.75) else 1.5


def detect_q(values: Any) -> float | None:
    """The lattice step of the values, if they all lie on multiples of one."""
    import numpy as np

    uniq = np.unique(values)
    if uniq.size == 2 and np.size(values) >= 4:  # repeats of two values: one lattice step
        gap = _literal(float(uniq[1] - uniq[0]))
        ratio = uniq / gap
        if np.all(np.abs(ratio - np.round(ratio)) <= 1e-6):
            return gap
        return None
    if uniq.size < 3:
        return None
    span = float(uniq[-1] - uniq[0])
    if float(np.diff(uniq).min()) <= span * 1e-5:  # continuous draws: no lattice
        return None
    for q in _EXACT_Q:
        if q > span or q < span * 1e-5:
            continue
        ratio = uniq / q
        if np.all(np.abs(ratio - np.round(ratio)) <= 1e-6):
            return float(q)
    q = float(np.diff(uniq).min())
    if q <= span * 1e-5:
        return None
    ratio = uniq / q
    if np.all(np.abs(ratio - np.round(ratio)) <= 1e-6):
        return _literal(q)
    return None


@dataclass
class _Fit:
    param: Param
    score: float  # nats: log-likelihood of the prior draws + bound/parameter priors
    pvalue: float  # KS goodness of fit on the prior draws
    precision: float  # 0-1: how clearly the bounds/parameters beat their runners-up


FEW_VALUES_CONFIDENCE = 0.3  # two distinct values: a lattice step at best, never sure


def _continuous(
    label: str, values: Any, prior: Any, fit_p: dict[str, float] | None = None
) -> Param:
    import numpy as np

    distinct = np.unique(values).size
    if distinct == 1:
        return _one_value(label, float(values[0]), values.size)
    q = detect_q(values)
    if prior.size < 3:
        prior = values
    # two distinct values (quniform(3, 7, 2) stores only 4 and 6) say nothing of a shape:
    # the plain uniform kind on their lattice, at low confidence
    families = ("uniform",) if distinct == 2 else FAMILIES
    fits: list[_Fit] = []
    for family in families:
        if family in ("loguniform", "lognormal") and (
            np.any(values < 0) or (q is None and np.any(values == 0))
        ):
            continue
        fit = _fit_family(label, family, values, prior, q)
        if fit is not None:
            fits.append(fit)
    plausible = [f for f in fits if f.pvalue >= 1e-4] or fits
    if not plausible:
        return _fallback(label, values, "no family fits the values")
    plausible.sort(key=lambda f: -f.score)
    best = plausible[0]
    if fit_p is not None:
        fit_p[label] = best.pvalue
    share = 1 / sum(math.exp(f.score - best.score) for f in plausible)
    confidence = share * best.precision * min(1.0, prior.size / N_STARTUP)
    bounds = best.param.natural_bounds()
    agree = bounds is not None and all(
        f.param.natural_bounds() is not None
        and all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
                for a, b in zip(f.param.natural_bounds(), bounds, strict=True))  # type: ignore[arg-type]
        for f in plausible
        if math.exp(f.score - best.score) > 0.05
    )  # fmt: skip
    bound_confidence = best.precision * min(1.0, prior.size / N_STARTUP) if agree else None
    others = ", ".join(f"{f.param.kind} {f.score - best.score:+.1f}" for f in plausible[1:3])
    evidence = f"{best.param.evidence}; KS p={best.pvalue:.2g} on {prior.size} prior draws" + (
        f"; vs {others} nats" if others else ""
    )
    if best.pvalue < BAD_FIT_P:  # even the best family is rejected: no verdict on it
        confidence = min(confidence, best.pvalue / BAD_FIT_P)
        bound_confidence = None
        evidence += f"; every family rejected (p < {BAD_FIT_P:g})"
    if distinct == 2:
        confidence = min(confidence, FEW_VALUES_CONFIDENCE)
        bound_confidence = None
        evidence = f"only 2 distinct values in {values.size} draws; " + evidence
    b = best.param
    if not _sane(b):
        return _fallback(label, values, "the fitted parameters are out of range")
    return Param(
        label, b.kind, low=b.low, high=b.high, q=b.q, mu=b.mu, sigma=b.sigma, inferred=True,
        confidence=round(confidence, 3), evidence=evidence,
        bound_confidence=None if bound_confidence is None else round(bound_confidence, 3),
    )  # fmt: skip


BAD_FIT_P = 1e-4  # the best family's KS p below this: its parameters support no verdict


def _one_value(label: str, value: float, n: int) -> Param:
    """Every draw stored the same float: a q kind whose one cell covers the whole range
    (``quniform(3.2, 3.8, 2)`` stores 4); its bounds and step cannot be told."""
    q = next((s for s in _EXACT_Q if s <= max(abs(value), 1.0) and _on_lattice(value, s)), None)
    if q is None:
        q = 1.0
        low, high = value - 0.5, value + 0.5
    else:
        low, high = value - q / 2, value + q / 2
    return Param(
        label, "quniform", low=low, high=high, q=q, inferred=True, confidence=0.0,
        evidence=f"one distinct value ({value:g}) in {n} draws: kind, bounds and q unknown",
    )  # fmt: skip


def _on_lattice(value: float, q: float) -> bool:
    ratio = value / q
    return abs(ratio - round(ratio)) <= 1e-9 * max(1.0, abs(ratio))


def _fit_family(label: str, family: str, values: Any, prior: Any, q: float | None) -> _Fit | None:
    import numpy as np

    log = family in ("loguniform", "lognormal")
    kind = ("q" if q is not None else "") + family
    sample = _jitter(prior, q, log)
    if log:
        pos = values[values > 0]
        sample = sample[sample > 0]
        if pos.size < 2 or sample.size < 3:
            return None
        x_all, x_prior = np.log(pos), np.log(sample)
        jacobian = -float(np.sum(x_prior))  # density of x from that of log x
    else:
        pos = values
        x_all, x_prior, jacobian = values, sample, 0.0
    n = x_prior.size
    if n < 3:
        return None
    if family in ("uniform", "loguniform"):
        lo_cell, hi_cell = _cells(pos, q, log, zero=bool(np.any(values == 0)))
        pair = pick_bounds(
            bound_choices(lo_cell, end_density(x_all, True), lower=True, log=log, q=q),
            bound_choices(hi_cell, end_density(x_all, False), lower=False, log=log, q=q),
        )
        if pair is None:
            return None
        lo_c, hi_c = pair
        low, high = lo_c.value, hi_c.value
        inside = np.clip(x_prior, low, high)
        loglik = -n * math.log(high - low)
        p = ks_one(inside, lambda x: (x - low) / (high - low))
        if q is not None:
            loglik, jacobian, p = _lattice_fit(prior, q, _cdf(family, low, high))
        score = loglik + jacobian + lo_c.score + hi_c.score
        precision = _sigmoid(lo_c.score - lo_c.runner_up) * _sigmoid(hi_c.score - hi_c.runner_up)
        how = f"{family}({lo_c.how}, {hi_c.how})"
        param = Param(label, kind, low=low, high=high, q=q, evidence=_with_q(how, q))
    else:
        mean, sd = float(x_prior.mean()), float(x_prior.std(ddof=1))
        if not sd > 0:
            return None
        half = 4 * sd / math.sqrt(n)
        mus: list[tuple[float, float, str]] = [
            (v, _cost(v, None), f"{v:g}")
            for v in round_numbers(mean - half, mean + half, mean, 3, 3)
        ]
        if log and mean + half < 700:
            for r in round_numbers(
                math.exp(mean - half), math.exp(mean + half), math.exp(mean), 3, 3
            ):
                if r > 0:
                    mus.append((math.log(r), _cost(r, None) + 0.05, f"log({r:g})"))
        sigmas = [(v, _cost(v, None)) for v in round_numbers(0.5 * sd, 2.2 * sd, sd, 3, 3) if v > 0]
        if not mus or not sigmas:
            return None
        ss = float(np.sum((x_prior - mean) ** 2))
        mu_v = np.array([m[0] for m in mus])
        mu_c = np.array([m[1] for m in mus])
        sig_v = np.array([g[0] for g in sigmas])
        sig_c = np.array([g[1] for g in sigmas])
        dev = ss + n * (mean - mu_v[:, None]) ** 2
        ll = -n * np.log(sig_v[None, :] * math.sqrt(2 * math.pi)) - dev / (2 * sig_v[None, :] ** 2)
        grid = ll - DIGIT_NATS * (mu_c[:, None] + sig_c[None, :])
        order = np.argsort(-grid, axis=None, kind="stable")
        i, j = np.unravel_index(order[0], grid.shape)
        runner = float(grid.flat[order[1]]) if order.size > 1 else float(grid[i, j]) - 10
        top = (float(grid[i, j]), float(mu_v[i]), float(sig_v[j]), mus[i][2])
        _, mu, sigma, mu_how = top
        p = ks_one(x_prior, lambda x: _normal_cdf(x, mu, sigma))
        score = top[0] + jacobian
        if q is not None:  # the exact lattice likelihood replaces the smooth one
            loglik, jac, p = _lattice_fit(prior, q, _cdf(family, mu, sigma))
            score = loglik + jac - DIGIT_NATS * _param_cost(mus, sigmas, mu, sigma)
        precision = _sigmoid(top[0] - runner)
        how = f"{family}({mu_how}, {sigma:g})"
        param = Param(label, kind, mu=mu, sigma=sigma, q=q, evidence=_with_q(how, q))
    prior_nats = FAMILY_PRIOR[family] + (Q_LOG_PRIOR if log and q is not None else 0.0)
    return _Fit(param, score + prior_nats, p, precision)


def _param_cost(mus: list[Any], sigmas: list[Any], mu: float, sigma: float) -> float:
    mu_cost = next(c for v, c, _ in mus if v == mu)
    return mu_cost + next(c for v, c in sigmas if v == sigma)


def _cdf(family: str, a: float, b: float) -> Any:
    """The prior's CDF in natural units (a, b = low, high or mu, sigma; log space for log)."""
    import numpy as np

    def log_of(x: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x > 0, np.log(np.maximum(x, 1e-300)), -np.inf)

    if family == "uniform":
        return lambda x: np.clip((x - a) / (b - a), 0.0, 1.0)
    if family == "loguniform":
        return lambda x: np.clip((log_of(x) - a) / (b - a), 0.0, 1.0)
    if family == "normal":
        return lambda x: _normal_cdf(x, a, b)
    return lambda x: np.where(x > 0, _normal_cdf(log_of(np.maximum(x, 1e-300)), a, b), 0.0)


def _lattice_fit(prior: Any, q: float, cdf: Any) -> tuple[float, float, float]:
    """(log-likelihood, 0, KS p) of lattice values: hyperopt draws round(x / q) * q."""
    import numpy as np

    v = np.asarray(prior, dtype=float)
    upper, lower = cdf(v + q / 2), cdf(v - q / 2)
    mass = np.maximum(upper - lower, 1e-300)
    loglik = float(np.sum(np.log(mass)))
    ordered = np.sort(v)
    last = np.flatnonzero(np.append(ordered[1:] != ordered[:-1], True))  # end of each run
    uniq = ordered[last]
    emp = (last + 1) / v.size
    before = np.append(0.0, emp[:-1])
    d = max(
        float(np.max(np.abs(emp - cdf(uniq + q / 2)))),
        float(np.max(np.abs(before - cdf(uniq - q / 2)))),
    )
    return loglik, 0.0, ks_pvalue(d, v.size)


def _cells(values: Any, q: float | None, log: bool, zero: bool):
    """Where the draw behind the smallest and the largest value lay (log space for log)."""
    lo, hi = float(values.min()), float(values.max())
    if q is None:
        cells = ((lo, lo), (hi, hi))
    else:
        cells = ((lo - q / 2, lo + q / 2), (hi - q / 2, hi + q / 2))
    if not log:
        return cells
    (a, b), (c, d) = cells
    low_cell = (math.log(max(a, 1e-300)), math.log(b))
    if zero:  # a stored 0 means exp(draw) < q/2: the lower bound may lie anywhere below
        low_cell = (-50.0, math.log(q / 2))
    return low_cell, (math.log(max(c, 1e-300)), math.log(d))


def _with_q(how: str, q: float | None) -> str:
    return how if q is None else how[:-1] + f", q={q:g})"


def _jitter(values: Any, q: float | None, log: bool) -> Any:
    """Spread lattice values over their rounding cell (deterministically) for the KS test."""
    import numpy as np

    if q is None:
        return values
    offsets = (np.arange(values.size) * 0.6180339887) % 1.0 - 0.5
    return np.maximum(values + offsets * q, 1e-300 if log else -np.inf)


# --------------------------------------------------------------------------- conditions


def _with_conditions(study: Study, params: dict[str, Param]) -> dict[str, Param]:
    """Labels active in only some trials: the choice label and options they go with."""
    from dataclasses import replace

    import numpy as np

    columns = {label: study.column(label) for label in params}
    active = {label: ~np.isnan(c) for label, c in columns.items()}
    out = dict(params)
    for label, on in active.items():
        if on.all() or not on.any():
            continue
        for parent, parent_param in params.items():
            if parent == label or not parent_param.is_categorical:
                continue
            values = columns[parent]
            if not active[parent][on].all():
                continue
            when_on = set(np.unique(values[on]).tolist())
            when_off = set(np.unique(values[~on & active[parent]]).tolist())
            if when_on & when_off:
                continue
            offset = parent_param.randint_offset
            paths = tuple(((parent, int(v) - offset),) for v in sorted(when_on))
            out[label] = replace(params[label], conditional=paths)
            break
    return out
