"""Where TPE proposed: clumping, edge-sampling, collapsed, unexplored choices, duplicates.

Each statistic is set against what random search (the prior) would give in the same space,
so chance alone is not reported as a defect.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from typing import Any

from ..space import Param
from ..study import Trial
from . import scale
from .base import (
    Context,
    Finding,
    binomial_sf,
    bonferroni,
    fmt_p,
    fmt_value,
    poisson_binomial_sf,
)

PRIOR_DRAWS = 4000
MAX_PROPOSALS = 5000  # clumping looks at the last this-many proposals


def _values(trials: list[Trial], label: str) -> list[tuple[Trial, float]]:
    return [(t, float(t.params[label])) for t in trials if t.params.get(label) is not None]


def _continuous(ctx: Context) -> list[Param]:
    """Continuous parameters whose scale is known (bounds, or mu and sigma)."""
    return [
        p
        for p in ctx.space.params.values()
        if scale.is_continuous(p)
        and ((p.low is not None and p.high is not None) or p.mu is not None)
    ]


# --------------------------------------------------------------------------- clumping


def _clumping_one(ctx: Context, param: Param) -> dict[str, Any] | None:
    """Proposals within ``near`` of an earlier value, against the prior's chance of that."""
    import numpy as np

    if param.inferred:
        values = [
            t.params[param.label] for t in ctx.ordered if t.params.get(param.label) is not None
        ]
        if len(set(values)) < 0.5 * len(values):
            return None  # a lattice whose step we do not know: equal values prove nothing
    lo, hi = scale.coord_range(param)
    d = ctx.thresholds.near * (hi - lo)
    draws = np.sort(scale.coords(param, scale.prior_draws(param, PRIOR_DRAWS, seed=1)))
    covered = np.zeros(len(draws), dtype=bool)
    earlier: list[float] = []
    earlier_tid: dict[float, int] = {}
    start = max(ctx.startup_count, len(ctx.ordered) - MAX_PROPOSALS)
    near_flags, chances, pairs = [], [], []
    for position, t in enumerate(ctx.ordered):
        value = t.params.get(param.label)
        if value is None:
            continue
        c = float(scale.coords(param, [value])[0])
        if position >= start and earlier:
            i = bisect.bisect_left(earlier, c)
            gaps = [(abs(c - earlier[j]), earlier[j]) for j in (i - 1, i) if 0 <= j < len(earlier)]
            gap, neighbour = min(gaps)
            near_flags.append(gap <= d)
            chances.append(covered.mean())
            if gap <= d:
                pairs.append((gap, t.tid, earlier_tid[neighbour]))
        bisect.insort(earlier, c)
        earlier_tid.setdefault(c, t.tid)
        covered[np.searchsorted(draws, c - d) : np.searchsorted(draws, c + d, side="right")] = True
    if len(near_flags) < 10:
        return None
    observed = int(sum(near_flags))
    expected = float(sum(chances))
    return {
        "observed": observed,
        "expected": expected,
        "proposals": len(near_flags),
        "p_value": poisson_binomial_sf(observed, chances),
        "closest_pairs": [(tid, other) for _, tid, other in sorted(pairs)[:3]],
    }


def check_clumping(ctx: Context) -> list[Finding]:
    params = _continuous(ctx)
    results = {p.label: r for p in params if (r := _clumping_one(ctx, p)) is not None}
    findings = []
    th = ctx.thresholds
    for label, r in results.items():
        p_adj = bonferroni(r["p_value"], len(results))
        ratio = r["observed"] / r["expected"] if r["expected"] > 0 else math.inf
        if p_adj >= th.alpha or ratio < th.clump_ratio:
            continue
        pairs = ", ".join(f"{a}~{b}" for a, b in r["closest_pairs"])
        findings.append(
            Finding(
                code="S001",
                name="clumping",
                severity="warning",
                params=[label],
                message=(
                    f"{label}: {r['observed']} of {r['proposals']} proposals after start-up"
                    f" landed within {th.near:.0%} of the range of an earlier trial; random"
                    f" search would expect {r['expected']:.1f} ({ratio:.1f}x,"
                    f" {fmt_p(p_adj)} after Bonferroni over {len(results)} parameters)"
                    f"{ctx.inferred_note()}. Closest pairs (tid~tid): {pairs}"
                ),
                evidence={
                    "observed": r["observed"],
                    "expected_random": round(r["expected"], 3),
                    "proposals": r["proposals"],
                    "near_share_of_range": th.near,
                    "p_value": p_adj,
                    "closest_pairs": r["closest_pairs"],
                },
                advice=(
                    "TPE re-proposes near its few 'good' trials (the good group holds"
                    " ceil(0.25*sqrt(N)) trials). If the clumps are not where the best losses"
                    " are, explore more: partial(tpe.suggest, gamma=0.5) or a larger"
                    " n_startup_jobs; see `hopt-inspect lpdf --param " + label + "`"
                ),
            )
        )
    return findings


# --------------------------------------------------------------------------- edge-sampling


def _top_trials(ctx: Context, share: float = 0.25) -> list[Trial]:
    ok = sorted(ctx.ok_trials, key=lambda t: (t.loss, t.tid))
    return ok[: max(3, math.ceil(share * len(ok)))] if ok else []


def check_edge_sampling(ctx: Context) -> list[Finding]:
    th = ctx.thresholds
    bounded = [p for p in ctx.space.params.values() if scale.is_bounded(p)]
    if ctx.space.inferred:
        return [_skipped("S002", "edge-sampling", "needs the space's bounds (pass --space)")]
    tests = []
    for param in bounded:
        values = [v for _, v in _values(ctx.proposals, param.label)]
        if len(values) < 10:
            continue
        draws = scale.prior_draws(param, PRIOR_DRAWS, seed=2)
        masses = scale.margin_mass(param, th.margin, draws)
        sides = [scale.in_margin(param, v, th.margin) for v in values]
        for side, mass in zip(("low", "high"), masses, strict=True):
            k = sides.count(side)
            tests.append((param, side, k, len(values), mass, binomial_sf(k, len(values), mass)))
    findings = []
    top = _top_trials(ctx)
    for param, side, k, n, mass, p in tests:
        p_adj = bonferroni(p, len(tests))
        ratio = (k / n) / mass if mass > 0 else math.inf
        if p_adj >= th.alpha or ratio < th.edge_ratio:
            continue
        top_values = [
            t.params.get(param.label) for t in top if t.params.get(param.label) is not None
        ]
        top_in = sum(1 for v in top_values if scale.in_margin(param, v, th.margin) == side)
        # The good trials crowd this margin too (far beyond the prior's share): the loss
        # pulls TPE there, which is TPE working, not its edge artefact.
        top_p = binomial_sf(top_in, len(top_values), mass) if top_values else 1.0
        loss_drives = bool(top_values) and top_in >= 2 and top_p < 0.01
        where = f"the {side} {th.margin:.0%} margin ({scale.bound_text(param, side)})"
        message = (
            f"{param.label}: {k} of {n} proposals after start-up fell in {where}; the prior"
            f" puts {mass:.1%} there, so random search would expect {mass * n:.1f}"
            f" ({ratio:.1f}x, {fmt_p(p_adj)}). {top_in} of the {len(top_values)} best trials"
            f" are there ({fmt_p(top_p)} for the prior's {mass:.1%}): "
        )
        if loss_drives:
            message += "the loss drives it, not TPE's prior artefact"
            advice = (
                f"The optimum of {param.label} is probably at or beyond"
                f" {scale.bound_text(param, side)}: widen the range on that side"
            )
            severity = "info"
        else:
            message += "the good trials are not, so this is TPE's edge artefact"
            advice = (
                "With few 'good' trials TPE's below/above ratio peaks at the bounds"
                " (hyperopt #835); more start-up trials, a larger gamma, or narrower bounds"
                f" help. See `hopt-inspect lpdf --param {param.label}`"
            )
            severity = "warning"
        findings.append(
            Finding(
                code="S002",
                name="edge-sampling",
                severity=severity,
                params=[param.label],
                message=message,
                evidence={
                    "side": side,
                    "in_margin": k,
                    "proposals": n,
                    "prior_mass": round(mass, 4),
                    "expected_random": round(mass * n, 2),
                    "p_value": p_adj,
                    "top_trials_in_margin": top_in,
                    "top_trials": len(top_values),
                },
                advice=advice,
            )
        )
    return findings


# --------------------------------------------------------------------------- collapsed


def check_collapsed(ctx: Context) -> list[Finding]:
    th = ctx.thresholds
    w = th.collapse_window
    tests = []
    for param in _continuous(ctx):
        values = [v for _, v in _values(ctx.proposals, param.label)][:w]
        if len(values) < w:
            continue
        s = scale.spread(param, values)
        # Range of w uniform draws: P(range <= s) = w s^(w-1) - (w-1) s^w.
        p = w * s ** (w - 1) - (w - 1) * s**w if s < 1 else 1.0
        tests.append((param, s, min(1.0, max(p, 0.0)), values))
    findings = []
    for param, s, p, values in tests:
        p_adj = bonferroni(p, len(tests))
        if s >= th.collapse_spread or p_adj >= th.alpha:
            continue
        findings.append(
            Finding(
                code="S003",
                name="collapsed",
                severity="warning",
                params=[param.label],
                message=(
                    f"{param.label}: the first {w} proposals after start-up span only {s:.1%}"
                    f" of the range ({fmt_value(min(values))} to {fmt_value(max(values))});"
                    f" {w} random draws span that little with {fmt_p(p_adj)}"
                    f"{ctx.inferred_note()}"
                ),
                evidence={"window": w, "spread_share": round(s, 4), "p_value": p_adj},
                advice=(
                    "TPE locked onto one region right after start-up; if that region is not"
                    " clearly best, use more start-up trials (n_startup_jobs) or a larger"
                    " prior_weight"
                ),
            )
        )
    return findings


# --------------------------------------------------------------------------- choices


def check_unexplored_choice(ctx: Context) -> list[Finding]:
    th = ctx.thresholds
    findings = []
    categorical = [
        p for p in ctx.space.params.values() if p.is_categorical and p.n_options and not p.inferred
    ]
    for param in categorical:
        probs = scale.category_probs(param)
        all_values = [int(v) - param.randint_offset for _, v in _values(ctx.ordered, param.label)]
        after = [int(v) - param.randint_offset for _, v in _values(ctx.proposals, param.label)]
        n_all, n_after = len(all_values), len(after)
        never = [k for k in range(param.n_options) if k not in all_values]
        startup_only = [k for k in range(param.n_options) if k in all_values and k not in after]
        p_never = [(1 - probs[k]) ** n_all for k in never]
        flagged = [
            k
            for k, p in zip(never, p_never, strict=True)
            if bonferroni(p, param.n_options) < th.alpha
        ]
        if flagged:
            names = ", ".join(param.option_text(k) for k in flagged[:8])
            findings.append(
                Finding(
                    code="S004",
                    name="unexplored-choice",
                    severity="warning",
                    params=[param.label],
                    message=(
                        f"{param.label}: {len(flagged)} of {param.n_options} options never"
                        f" tried in {n_all} trials ({names}); random search would have tried"
                        f" each (chance of missing one: {fmt_p(max(p_never))})"
                    ),
                    evidence={
                        "never_tried": [param.option_text(k) for k in flagged],
                        "trials": n_all,
                    },
                    advice="Check the option is reachable (conditional branch?) or run more trials",
                )
            )
        p_skip = [(1 - probs[k]) ** n_after for k in startup_only]
        dropped = [
            k for k, p in zip(startup_only, p_skip, strict=True) if p < th.alpha and n_after >= 10
        ]
        if dropped:
            names = ", ".join(param.option_text(k) for k in dropped[:8])
            findings.append(
                Finding(
                    code="S004",
                    name="unexplored-choice",
                    severity="info",
                    params=[param.label],
                    message=(
                        f"{param.label}: {names} tried only during the random start-up, never"
                        f" in {n_after} TPE proposals (random search would have tried"
                        f" {'it' if len(dropped) == 1 else 'each'} with p > {1 - th.alpha})"
                    ),
                    evidence={
                        "startup_only": [param.option_text(k) for k in dropped],
                        "proposals": n_after,
                    },
                    advice=(
                        "Fine if those options lost in the start-up; if they only lost by noise,"
                        " TPE (which counts option frequencies among good trials) will not"
                        " come back to them: consider evaluating them separately"
                    ),
                )
            )
    return findings


# --------------------------------------------------------------------------- duplicates


def _collision_probability(ctx: Context, labels: list[str]) -> float:
    """Chance that two random configurations are identical (independent parameters)."""
    import numpy as np

    prob = 1.0
    for label in labels:
        param = ctx.space.params.get(label)
        if param is None:
            continue
        if param.is_categorical:
            prob *= sum(p * p for p in scale.category_probs(param))
        elif param.q is not None:
            _, counts = np.unique(scale.prior_draws(param, PRIOR_DRAWS, seed=3), return_counts=True)
            freq = counts / counts.sum()
            prob *= float((freq * freq).sum())
        else:
            return 0.0
    return prob


def check_duplicates(ctx: Context) -> list[Finding]:
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for t in ctx.ordered:
        if t.params and t.state != "error":
            groups[tuple(sorted(t.params.items(), key=lambda kv: kv[0]))].append(t.tid)
    dups = [tids for tids in groups.values() if len(tids) > 1]
    if not dups:
        return []
    n = sum(1 for t in ctx.ordered if t.params and t.state != "error")
    pairs = sum(len(g) * (len(g) - 1) // 2 for g in dups)
    coll = _collision_probability(ctx, list(ctx.study.labels))
    expected = coll * n * (n - 1) / 2
    from scipy.stats import poisson

    p = float(poisson.sf(pairs - 1, expected)) if expected > 0 else 0.0
    severity = "warning" if p < ctx.thresholds.alpha else "info"
    shown = "; ".join(" = ".join(map(str, g[:4])) for g in dups[:4])
    return [
        Finding(
            code="S005",
            name="duplicates",
            severity=severity,
            params=list(ctx.study.labels),
            message=(
                f"{len(dups)} configurations were evaluated more than once ({pairs} duplicate"
                f" pairs; tids {shown}); random search in this space would expect"
                f" {expected:.2g} pairs ({fmt_p(p)})"
            ),
            evidence={
                "groups": dups[:20],
                "pairs": pairs,
                "expected_random": expected,
                "p_value": p,
            },
            advice=(
                "Each repeat costs an evaluation and tells TPE nothing new: use a finer q,"
                " more options, or cache results by configuration"
            ),
        )
    ]


def _skipped(code: str, name: str, why: str) -> Finding:
    return Finding(
        code=code,
        name=name,
        severity="info",
        params=[],
        message=f"{name} skipped: {why}",
        evidence={"skipped": True},
        advice="Pass --space FILE.py:NAME or a TOML spec so bounds are known",
    )
