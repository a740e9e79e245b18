"""Where TPE proposed: clumping, edge-sampling, collapsed, unexplored choices, duplicates.

Each statistic is set against what random search (the prior) would give in the same space,
so chance alone is not reported as a defect.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

from ..space import Param
from . import scale
from .base import (
    Context,
    Finding,
    binomial_sf,
    bonferroni,
    fmt_p,
    fmt_value,
    poisson_sf,
)

PRIOR_DRAWS = 2000
MAX_PROPOSALS = 1000  # clumping looks at the last this-many proposals


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
    """How close each proposal came to an earlier value, against random draws.

    For proposal i, u_i = the share of prior draws that would land at least as close to the
    earlier values as the proposal did (randomised on ties, so q lattices are fair too).
    Under random search u_i is uniform, so "near" (u_i <= ``near``) happens with
    probability ``near`` exactly, whatever the number of earlier trials.
    """
    import numpy as np

    column = ctx.study.column(param.label)
    active = ~np.isnan(column)
    if param.inferred and len(np.unique(column[active])) < 0.5 * active.sum():
        return None  # a lattice whose step we do not know: equal values prove nothing
    lo, hi = scale.coord_range(param)
    draws = scale.coords(param, scale.prior_draws(param, PRIOR_DRAWS, seed=1))
    jitter = np.random.default_rng(7)
    start = max(ctx.startup_count, len(ctx.ordered) - MAX_PROPOSALS)
    # Values before the evaluated window are sorted once (H); the window's own values go
    # into a small sorted list (W). Each prior draw keeps its gap to the nearest earlier
    # value, updated as values arrive: O(draws) per proposal, never O(n) per trial.
    head_coords = scale.coords(param, column[:start][active[:start]])
    order = np.argsort(head_coords, kind="stable")
    h_sorted = head_coords[order]
    h_tids = ctx.study.tids[:start][active[:start]][order]
    draw_gaps = _nearest_gaps(draws, h_sorted)
    w_sorted: list[float] = []
    w_tids: list[int] = []
    u_values, gaps = [], []
    tids = ctx.study.tids
    for position in np.flatnonzero(active[start:]) + start:
        tid = int(tids[position])
        c = float(scale.coords(param, [column[position]])[0])
        nearest = _nearest(h_sorted, h_tids, c) + _nearest(w_sorted, w_tids, c)
        if nearest:
            gap, other = min(nearest)
            below = float(np.mean(draw_gaps < gap))
            tied = float(np.mean(draw_gaps == gap))
            u_values.append(below + jitter.uniform() * tied)
            gaps.append((gap / (hi - lo), tid, int(other)))
        np.minimum(draw_gaps, np.abs(draws - c), out=draw_gaps)
        i = bisect.bisect_left(w_sorted, c)
        w_sorted.insert(i, c)
        w_tids.insert(i, tid)
    if len(u_values) < 10:
        return None
    near = ctx.thresholds.near
    observed = sum(1 for u in u_values if u <= near)
    return {
        "observed": observed,
        "expected": near * len(u_values),
        "proposals": len(u_values),
        "p_value": binomial_sf(observed, len(u_values), near),
        "median_gap": float(np.median([g for g, _, _ in gaps])),
        "closest_pairs": [(tid, other) for _, tid, other in sorted(gaps)[:3]],
    }


def _nearest_gaps(draws: Any, sorted_values: Any) -> Any:
    """For each draw, the distance to the nearest of the sorted values (inf if none)."""
    import numpy as np

    if len(sorted_values) == 0:
        return np.full(len(draws), np.inf)
    k = np.searchsorted(sorted_values, draws)
    left = np.abs(draws - sorted_values[np.clip(k - 1, 0, len(sorted_values) - 1)])
    right = np.abs(draws - sorted_values[np.clip(k, 0, len(sorted_values) - 1)])
    return np.minimum(left, right)


def _nearest(sorted_values: Any, tids: list[int], c: float) -> list[tuple[float, int]]:
    """(gap, tid) of the nearest value on each side of c, from a sorted sequence."""
    i = bisect.bisect_left(sorted_values, c)
    return [(abs(c - sorted_values[j]), tids[j]) for j in (i - 1, i) if 0 <= j < len(sorted_values)]


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
                    f" landed closer to an earlier trial than {1 - th.near:.0%} of random draws"
                    f" would; random search would do that {r['expected']:.1f} times"
                    f" ({ratio:.1f}x, {fmt_p(p_adj)} after Bonferroni over {len(results)}"
                    f" parameters){ctx.inferred_note()}. Median gap to the nearest earlier"
                    f" trial: {r['median_gap']:.2%} of the range; closest pairs (tid~tid): {pairs}"
                ),
                evidence={
                    "observed": r["observed"],
                    "expected_random": round(r["expected"], 3),
                    "proposals": r["proposals"],
                    "near_quantile": th.near,
                    "median_gap_share": round(r["median_gap"], 5),
                    "p_value": p_adj,
                    "closest_pairs": r["closest_pairs"],
                },
                advice=(
                    "TPE re-proposes near its few 'good' trials (the good group holds"
                    " ceil(0.25*sqrt(N)) trials). If the clumps are not where the best losses"
                    " are, explore more: partial(tpe.suggest, gamma=0.5) or a larger"
                    f" n_startup_jobs; see `hopt-inspect lpdf --param {label}`"
                ),
            )
        )
    return findings


# --------------------------------------------------------------------------- edge-sampling


def _margin_trials_better(ctx: Context, param: Param, which: str) -> tuple[float, float, float]:
    """Are trials in the margin(s) better than the rest? (p, median in, median out)."""
    import statistics

    import numpy as np
    from scipy.stats import mannwhitneyu

    column = ctx.study.column(param.label)
    losses = ctx.study.ok_losses
    usable = ~np.isnan(column) & ~np.isnan(losses)
    coords = scale.coords(param, column[usable])
    lo, hi = scale.coord_range(param)
    width = (hi - lo) * ctx.thresholds.margin
    at_low, at_high = coords <= lo + width, coords >= hi - width
    hit = (at_low | at_high) if which == "both" else (at_low if which == "low" else at_high)
    inside, outside = list(losses[usable][hit]), list(losses[usable][~hit])
    if len(inside) < 3 or len(outside) < 3:
        return 1.0, math.nan, math.nan
    p = float(mannwhitneyu(inside, outside, alternative="less").pvalue)
    return p, statistics.median(inside), statistics.median(outside)


def check_edge_sampling(ctx: Context) -> list[Finding]:
    """Proposals in the outer margins (both sides together) against the prior's mass there."""
    th = ctx.thresholds
    if ctx.space.inferred:
        return [_skipped("S002", "edge-sampling", "needs the space's bounds (pass --space)")]
    tests = []
    for param in (p for p in ctx.space.params.values() if scale.is_bounded(p)):
        values = ctx.active_values(param.label, ctx.startup_count)
        if len(values) < 10:
            continue
        low_mass, high_mass = scale.margin_mass(
            param, th.margin, scale.prior_draws(param, PRIOR_DRAWS, seed=2)
        )
        sides = [scale.in_margin(param, v, th.margin) for v in values]
        n = len(values)
        # One side, the other, or both together: the strongest of the three, corrected for 3.
        options = [
            (sides.count("low"), low_mass, "low"),
            (sides.count("high"), high_mass, "high"),
            (sides.count("low") + sides.count("high"), low_mass + high_mass, "both"),
        ]
        p, k, mass, which = min((binomial_sf(k, n, m), k, m, w) for k, m, w in options)
        tests.append((param, sides, k, n, mass, min(1.0, 3 * p), which))
    findings = []
    for param, sides, k, n, mass, p, which in tests:
        p_adj = bonferroni(p, len(tests))
        ratio = (k / n) / mass if mass > 0 else math.inf
        if p_adj >= th.alpha or ratio < th.edge_ratio:
            continue
        better, in_median, out_median = _margin_trials_better(ctx, param, which)
        loss_drives = better < 0.01
        n_low, n_high = sides.count("low"), sides.count("high")
        main_side = "low" if n_low >= n_high else "high"
        if which == "both":
            where = (
                f"the outer {th.margin:.0%} margins ({n_low} by {scale.bound_text(param, 'low')},"
                f" {n_high} by {scale.bound_text(param, 'high')})"
            )
        else:
            main_side = which
            where = f"the {which} {th.margin:.0%} margin ({scale.bound_text(param, which)})"
        message = (
            f"{param.label}: {k} of {n} proposals after start-up fell in {where}; the prior"
            f" puts {mass:.1%} there, so random search would expect {mass * n:.1f}"
            f" ({ratio:.1f}x, {fmt_p(p_adj)}). Trials there have median loss"
            f" {fmt_value(in_median)} against {fmt_value(out_median)} elsewhere"
            f" (one-sided Mann-Whitney {fmt_p(better)}): "
        )
        if loss_drives:
            message += "the loss drives it, not TPE's prior artefact"
            advice = (
                f"The optimum of {param.label} is probably at or beyond"
                f" {scale.bound_text(param, main_side)}: widen the range on that side"
            )
            severity = "info"
        else:
            message += "they are no better, so this is TPE's edge artefact"
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
                    "margin": which,
                    "in_margin": k,
                    "at_low": n_low,
                    "at_high": n_high,
                    "proposals": n,
                    "prior_mass": round(mass, 4),
                    "expected_random": round(mass * n, 2),
                    "p_value": p_adj,
                    "margin_trials_better_p": better,
                    "median_loss_in_margins": in_median,
                    "median_loss_elsewhere": out_median,
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
        values = []
        for t in ctx.proposals:  # only the first w are needed
            if t.params.get(param.label) is not None:
                values.append(float(t.params[param.label]))
                if len(values) == w:
                    break
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
        all_values = [int(v) - param.randint_offset for v in ctx.active_values(param.label)]
        after = [
            int(v) - param.randint_offset for v in ctx.active_values(param.label, ctx.startup_count)
        ]
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
                        f" tried in {n_all} trial{'s' if n_all != 1 else ''} ({names}); random"
                        " search would have tried"
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
    dups = ctx.study.duplicate_groups()
    if not dups:
        return []
    n = sum(1 for t in ctx.ordered if t.params and t.state != "error")
    pairs = sum(len(g) * (len(g) - 1) // 2 for g in dups)
    coll = _collision_probability(ctx, list(ctx.study.labels))
    expected = coll * n * (n - 1) / 2
    p = poisson_sf(pairs, expected) if expected > 0 else 0.0
    severity = "warning" if p < ctx.thresholds.alpha else "info"
    shown = "; ".join(" = ".join(map(str, g[:4])) for g in dups[:4])
    return [
        Finding(
            code="S005",
            name="duplicates",
            severity=severity,
            params=list(ctx.study.labels),
            message=(
                f"{len(dups)} configuration{'s were' if len(dups) > 1 else ' was'} evaluated"
                f" more than once ({pairs} duplicate"
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
