"""Where TPE proposed: clumping, edge-sampling, collapsed, unexplored choices, duplicates.

Each statistic is set against what random search (the prior) would give in the same space,
so chance alone is not reported as a defect; and a pattern TPE makes by design (proposals
around its best trials) is not reported as one either.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from ..space import Param
from . import scale
from .base import (
    Context,
    Finding,
    Skip,
    binomial_sf,
    bonferroni,
    check,
    fmt_p,
    fmt_value,
    poisson_sf,
)

PRIOR_DRAWS = 2000
MAX_PROPOSALS = 500  # clumping looks at the last this-many proposals
EARLIER = 1000  # ... each against this many trials before it (any fixed set keeps the null)


def _continuous(ctx: Context) -> list[Param]:
    """Continuous parameters whose scale is known (bounds, or mu and sigma)."""
    return [
        p
        for p in ctx.space.params.values()
        if scale.is_continuous(p)
        and ((p.low is not None and p.high is not None) or p.mu is not None)
        and p.label in ctx.study.labels
    ]


def _unsure(param: Param) -> bool:
    return bool(getattr(param, "low_confidence", False))


def _stand_in(param: Param) -> bool:
    """Clumping measures closeness in the prior's CDF: a guessed prior the inference is not
    sure of gives way to the first trials' own distribution. A confident guess is kept: 20
    start-up values interpolated as a CDF are too coarse a prior once a study has hundreds
    of trials (random search over the qlearn space, 1,000 trials, read 6.4 times as
    clumped as random search)."""
    return _unsure(param) or (param.inferred and bool(getattr(param, "bounds_uncertain", False)))


# --------------------------------------------------------------------------- clumping


@cache
def _mean_uniform_quantile(m: int, level: float) -> float:
    """t with P(mean of m independent U(0, 1) <= t) = level (Irwin-Hall)."""
    if m == 1:
        return level
    if m > 12:
        from ..stats import norm_ppf

        return 0.5 + norm_ppf(level) / math.sqrt(12 * m)

    def cdf(t: float) -> float:
        x = m * t
        total = sum((-1) ** k * math.comb(m, k) * (x - k) ** m for k in range(math.floor(x) + 1))
        return total / math.factorial(m)

    lo, hi = 0.0, 0.5
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < level else (lo, mid)
    return lo


def _prior_window(ctx: Context) -> int:
    """The first trials that stand in for the prior where it is guessed: the reference
    window, or, when a DETECTED start-up is shorter than the 10 trials a stand-in needs,
    the first n_startup_jobs (hyperopt's 20). The detector reads closeness under guessed
    priors, which can place a 20-trial start-up at trial 2; if TPE did propose some of
    these trials, its proposals sit near the good ones and stretch the stand-in there,
    which spreads later proposals in that region apart: clumps are hidden, not made.
    A start-up given with --n-startup-jobs or --algo is kept as given."""
    ref = ctx.reference_count
    if ref >= 10 or ctx.sampler.source != "detected":
        return ref
    return max(ref, min(ctx.settings.n_startup_jobs, len(ctx.ordered)))


def _pit_columns(ctx: Context, params: list[Param]) -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(11)
    out = {}
    window = _prior_window(ctx)
    for p in params:
        column = ctx.study.column(p.label)
        if _stand_in(p):
            out[p.label] = _startup_pit(p, column, window)
        else:
            out[p.label] = scale.pit(p, column, rng)
    return out


def _startup_pit(param: Param, column: Any, startup: int) -> Any:
    """Without the space: the start-up trials' own distribution stands in for the prior.

    The CDF is interpolated between the sorted start-up values (in the guessed scale, with
    the observed extremes as 0 and 1). Under random search the later values are draws from
    the same distribution; a clump stays a clump.
    """
    import numpy as np

    c = scale.coords(param, column)
    early = np.sort(c[:startup][~np.isnan(c[:startup])])
    out = np.full(len(c), np.nan)
    ok = ~np.isnan(c)
    if len(early) < 10 or not ok.any():
        return out
    lo, hi = float(np.min(c[ok])), float(np.max(c[ok]))
    knots = np.concatenate([[lo], early, [hi]])
    levels = np.concatenate([[0.0], np.arange(1, len(early) + 1) / (len(early) + 1), [1.0]])
    knots, keep = np.unique(knots, return_index=True)
    levels = levels[keep]
    values = c[ok]
    distinct = np.unique(values)
    if len(distinct) < len(values):  # a lattice: randomise over each value's cell, so that
        # equal values (which random search repeats too) are not "near" by construction
        mids = (distinct[1:] + distinct[:-1]) / 2
        edges = np.concatenate([[distinct[0]], mids, [distinct[-1]]])
        k = np.searchsorted(distinct, values)
        a = np.interp(edges[k], knots, levels)
        b = np.interp(edges[k + 1], knots, levels)
        rng = np.random.default_rng(13)
        out[ok] = a + rng.uniform(size=len(values)) * (b - a)
    else:
        out[ok] = np.interp(values, knots, levels)
    return out


def _clumps(ctx: Context) -> dict[str, Any] | None:
    """Proposals that landed near an earlier trial (jointly over parameters), and where.

    For a proposal and a parameter, ``closeness`` = the prior probability of landing at
    least as near an earlier value (exactly uniform under random search); a proposal is
    "near" when its mean closeness is below the ``near`` quantile of a mean of uniforms, so
    random search makes a ``near`` share of proposals near, whatever the space.
    """
    import numpy as np

    from ..sampler import _closeness

    params = _continuous(ctx)
    if not params:
        return None
    cols = _pit_columns(ctx, params)
    # a parameter without a usable prior (unsure, and too few first trials to stand in for
    # it) is left out, and not named as measured
    params = [p for p in params if not np.isnan(cols[p.label]).all()]
    cols = {p.label: cols[p.label] for p in params}
    if not params:
        return None
    n = len(ctx.ordered)
    stand_in = any(_stand_in(p) for p in params)
    window = _prior_window(ctx) if stand_in else ctx.reference_count
    start = max(window, n - MAX_PROPOSALS, 1)
    near_level = ctx.thresholds.near
    rng = np.random.default_rng(5)
    clumped, anchors, scored = [], [], 0
    values = np.column_stack(list(cols.values()))  # trial x parameter, NaN where inactive
    for i in range(start, n):
        first = max(0, i - EARLIER)
        earlier = values[first:i]
        # per parameter active here and in some earlier trial: the union length, all at once
        ps = _closeness(values[i], earlier, rng)
        if not ps:
            continue
        scored += 1
        if sum(ps) / len(ps) <= _mean_uniform_quantile(len(ps), near_level):
            clumped.append(i)
            dists = np.zeros(len(earlier))
            counted = np.zeros(len(earlier))
            for k in range(values.shape[1]):  # parameter order, as the sums always were
                ui = values[i, k]
                if ui != ui:
                    continue
                active = ~np.isnan(earlier[:, k])
                if active.any():
                    dists[active] += np.abs(earlier[active, k] - ui)
                    counted[active] += 1
            mean_gap = np.where(counted > 0, dists / np.maximum(counted, 1), np.inf)
            anchors.append(first + int(np.argmin(mean_gap)))
    if scored < 10:
        return None
    return {
        "scored": scored,
        "clumped": clumped,
        "anchors": anchors,
        "params": params,
        "first": window,
    }


@check("S001", "clumping", "sampling", "proposals clump away from the best losses")
def check_clumping(ctx: Context) -> list[Finding] | Skip:
    """Premature convergence: proposals clump far more than random, around trials that are
    not among the best. Clumps around the best trials are TPE working and are not reported."""
    import numpy as np

    r = _clumps(ctx)
    if r is None:
        window = _prior_window(ctx)
        guessed = any(_stand_in(p) for p in _continuous(ctx))
        if guessed and window < 10 and len(ctx.ordered) > window:
            return Skip(
                "without --space the first trials stand in for the guessed priors, and the"
                f" start-up is {window} trials (10 needed)"
            )
        return []
    th = ctx.thresholds
    n, k = r["scored"], len(r["clumped"])
    expected = th.near * n
    p = binomial_sf(k, n, th.near)
    ratio = k / expected if expected else math.inf
    rough = any(p.inferred or _unsure(p) for p in r["params"])
    if p >= th.alpha or ratio < (th.clump_ratio_inferred if rough else th.clump_ratio):
        return []
    losses = ctx.study.ok_losses
    ok = np.flatnonzero(~np.isnan(losses))
    if len(ok) < 5:
        return []
    top_n = max(5, math.ceil(th.top_share * len(ok)))
    top = set(ok[np.argsort(losses[ok], kind="stable")[:top_n]].tolist())
    region = set(r["clumped"]) | set(r["anchors"])
    share = len(top & region) / top_n
    clump_losses = losses[r["clumped"]]
    clump_losses = clump_losses[~np.isnan(clump_losses)]
    cutoff = float(np.sort(losses[ok])[top_n - 1])
    competitive = float(np.mean(clump_losses <= cutoff)) if len(clump_losses) else 0.0
    if competitive >= 0.09:
        return []  # TPE refining around its best trials: working as designed
    tids = ctx.study.tids
    counts: dict[int, int] = {}
    for a in r["anchors"]:
        counts[a] = counts.get(a, 0) + 1
    hubs = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
    hub_text = ", ".join(
        f"trial {int(tids[a])} (loss {fmt_value(float(losses[a]))},"
        f" {c} proposal{'' if c == 1 else 's'})"
        for a, c in hubs
    )
    labels = [p.label for p in r["params"]]
    return [
        Finding(
            severity="warning",
            params=labels,
            message=(
                f"{k} of {n} proposals after the "
                + (
                    "start-up"
                    if r["first"] == ctx.startup_count
                    else f"first {r['first']} trials"
                    + (
                        f" (the start-up looks like {ctx.startup_count} trials, too few to"
                        " stand in for the guessed priors)"
                        if r["first"] > ctx.reference_count
                        else ""
                    )
                )
                + " landed near an earlier trial (jointly"
                f" over {len(labels)} parameters, each in its own scale); random search would do"
                f" that {expected:.1f} times ({ratio:.1f}x, {fmt_p(p)}). The clumps are not"
                f" where the best losses are: {share:.0%} of the {top_n} best trials are in"
                f" them and {competitive:.0%} of the clumped proposals reach the best"
                f" {top_n}'s losses (<= {fmt_value(cutoff)}). Most re-proposed: {hub_text}"
                f"{ctx.inferred_note()}"
            ),
            evidence={
                "clumped": k,
                "proposals": n,
                "expected_random": round(expected, 3),
                "ratio": round(ratio, 2),
                "p_value": p,
                "top_trials": top_n,
                "top_share_in_clumps": round(share, 3),
                "clumped_reaching_top": round(competitive, 3),
                "reference_trials": r["first"],
                "hubs": [[int(tids[a]), c] for a, c in hubs],
            },
            advice=(
                "The sampler keeps re-proposing around trials that are not competitive:"
                " premature convergence. More exploration helps: a larger n_startup_jobs,"
                " partial(tpe.suggest, gamma=0.5), or restart from a wider prior"
            ),
        )
    ]


# --------------------------------------------------------------------------- edge-sampling


def _top_in_margin(ctx: Context, param: Param, which: str) -> tuple[int, int]:
    """How many of the best trials (top_share, at least 5) lie in the margin(s)."""
    import numpy as np

    column = ctx.study.column(param.label)
    losses = ctx.study.ok_losses
    usable = np.flatnonzero(~np.isnan(column) & ~np.isnan(losses))
    if not len(usable):
        return 0, 0
    top_n = max(5, math.ceil(ctx.thresholds.top_share * len(usable)))
    top = usable[np.argsort(losses[usable], kind="stable")[:top_n]]
    sides = [scale.in_margin(param, float(column[i]), ctx.thresholds.margin) for i in top]
    hits = sum(1 for s in sides if s is not None and (which == "both" or s == which))
    return hits, len(top)


def _margin_trials_better(ctx: Context, param: Param, which: str) -> tuple[float, float, float]:
    """Are trials in the margin(s) better than the rest? (p, median in, median out)."""
    import statistics

    import numpy as np

    from ..stats import mannwhitneyu

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


def _edge_frames(ctx: Context) -> list[tuple[Param, Param]]:
    """(parameter, the parameter whose bounds define its margins) for each testable one."""
    out = []
    for p in ctx.space.params.values():
        if p.label in ctx.study.labels:
            frame = scale.bounds_frame(p, ctx.study.column(p.label))
            if frame is not None:
                out.append((p, frame))
    return out


def _startup_test(
    k: int, n: int, m: int, s: int, mass: float, ratio: float
) -> tuple[float, float, float, bool] | None:
    """Without --space: later proposals against the start-up draws (prior draws under
    either sampler), for one margin.

    The guard is Fisher's exact test of the later share against the start-up's (p < 0.01):
    exact under random search whatever the scale, so a wrongly guessed scale (a log range
    taken for a linear one crowds its low margin, in the start-up as much as later) does
    not pass as a defect. The reference share is the guessed prior's mass there when the
    start-up draws agree with it (they do not crowd the margin beyond it, binomial
    p >= 0.05), else the start-up's own share; the later share must be ``ratio`` times it.
    Returns (binomial p against the reference, the reference, Fisher p, whether the
    reference is the prior's) or None.
    """
    from ..stats import fisher_exact_greater

    guard = fisher_exact_greater([[k, n - k], [m, s - m]])
    if guard >= 0.01:
        return None
    from_prior = binomial_sf(m, s, mass) >= 0.05
    reference = mass if from_prior else (m + 0.5) / (s + 1)
    if reference <= 0 or k / n < ratio * reference:
        return None
    return binomial_sf(k, n, reference), reference, guard, from_prior


@check("S002", "edge-sampling", "sampling", "samples crowd the margins of a range")
def check_edge_sampling(ctx: Context) -> list[Finding]:
    """Proposals in the outer margins (one side, the other, or both) against the prior's
    mass there.

    Without --space the bounds and the prior are guesses. The margins are those of the
    inferred bounds, or, when the bounds are uncertain (or the guessed kind has none), of
    the observed range; the start-up trials (detected, or hyperopt's default 20: prior
    draws under either sampler) are the null, see ``_startup_test``. Needs a start-up of
    at least 10 trials.
    """
    th = ctx.thresholds
    tests = []
    # Without --space the reference is ctx.reference_count: a long detected start-up
    # (proposals that look random, like a sampler throwing half its proposals at the
    # edges) would otherwise leave few later trials to compare.
    reference_n = ctx.reference_count
    startup_ok = reference_n >= 10
    untestable = 0
    for param, frame in _edge_frames(ctx):
        values = ctx.active_values(
            param.label, reference_n if param.inferred else ctx.startup_count
        )
        if len(values) < 10:
            continue
        sides = scale.margin_sides(frame, values, th.margin)
        n = len(values)
        counts = (sides.count("low"), sides.count("high"))
        low_mass, high_mass = scale.margin_mass(
            frame, th.margin, scale.prior_draws(frame, PRIOR_DRAWS, seed=2)
        )
        if param.inferred:
            if not startup_ok:
                untestable += 1
                continue
            column = ctx.study.column(param.label)[:reference_n]
            early = scale.margin_sides(frame, column[column == column], th.margin)
            s = len(early)
            ref = (early.count("low"), early.count("high"))
            options = []
            for k, m, w, mass in (
                (counts[0], ref[0], "low", low_mass),
                (counts[1], ref[1], "high", high_mass),
                (sum(counts), sum(ref), "both", low_mass + high_mass),
            ):
                result = _startup_test(k, n, m, s, mass, th.edge_ratio)
                if result is not None:
                    options.append((result[0], k, result[1], w, (m, s, result[2], result[3])))
            if not options:
                continue
            p, k, mass, which, startup = min(options)
        else:
            # One side, the other, or both together: the strongest of the three.
            options = [
                (binomial_sf(k, n, m), k, m, w, None)
                for k, m, w in (
                    (counts[0], low_mass, "low"),
                    (counts[1], high_mass, "high"),
                    (sum(counts), low_mass + high_mass, "both"),
                )
            ]
            p, k, mass, which, startup = min(options)
        tests.append((param, frame, sides, k, n, mass, min(1.0, 3 * p), which, startup))
    if not tests and untestable:
        return Skip(
            "without --space the margins are compared with the start-up trials, and the"
            f" start-up looks like {reference_n} trials (10 needed)"
        )
    findings = []
    for param, frame, sides, k, n, mass, p, which, startup in tests:
        p_adj = bonferroni(p, len(tests))
        ratio = (k / n) / mass if mass > 0 else math.inf
        if p_adj >= th.alpha or ratio < th.edge_ratio:
            continue
        better, in_median, out_median = _margin_trials_better(ctx, frame, which)
        top_hits, top_n = _top_in_margin(ctx, frame, which)
        # the loss's doing when trials there are better overall, or when most of the best
        # trials are there (a parameter with a small effect on the loss: medians say little)
        loss_drives = better < 0.05 or top_hits * 2 >= top_n
        n_low, n_high = sides.count("low"), sides.count("high")
        main_side = "low" if n_low >= n_high else "high"
        observed = frame is not param
        if which == "both":
            where = (
                f"the outer {th.margin:.0%} margins ({n_low} by {scale.bound_words(frame, 'low')},"
                f" {n_high} by {scale.bound_words(frame, 'high')})"
            )
        else:
            main_side = which
            where = f"the {which} {th.margin:.0%} margin ({scale.bound_words(frame, which)})"
        if observed:
            where += " of the observed range (its bounds cannot be pinned down without --space)"
        if startup is None:
            null = f"prior puts {mass:.1%} there"
        else:
            m, s_count, guard, from_prior = startup
            basis = (
                "the start-up's own share (more than the guessed prior's)"
                if not from_prior
                else "a uniform draw over that range" + (" in log scale" if frame.is_log else "")
                if observed
                else "the guessed prior"
            )
            null = (
                f"first {reference_n} trials (start-up: prior draws) put {m} of {s_count} there"
                f" (later against start-up: Fisher {fmt_p(guard)}); taking {mass:.1%} there from"
                f" {basis}"
            )
        message = (
            f"{param.label}: {k} of {n} proposals after"
            f" {'the first ' + str(reference_n) + ' trials' if startup else 'start-up'}"
            f" fell in {where},"
            f" {scale.scale_word(frame)}{'' if observed else ctx.inferred_note()}; the {null}"
            f", so random search would expect {mass * n:.1f}"
            f" ({ratio:.1f}x, {fmt_p(p_adj)}). Trials there have median loss"
            f" {fmt_value(in_median)} against {fmt_value(out_median)} elsewhere"
            f" (one-sided Mann-Whitney {fmt_p(better)}); {top_hits} of the {top_n} best"
            " trials are there: "
        )
        if loss_drives:
            message += "the loss drives it, not TPE's prior artefact"
            advice = (
                f"The optimum of {param.label} is probably at or beyond"
                f" {scale.bound_words(frame, main_side)}: widen the range on that side"
            )
            severity = "info"
        else:
            message += (
                f"they are not {'significantly ' if in_median < out_median else ''}better and"
                " few of the best trials are there, so TPE's edge artefact is the likelier"
                " cause than the loss"
            )
            advice = (
                "With few 'good' trials TPE's below/above ratio peaks at the bounds"
                " (hyperopt #835); more start-up trials or a larger gamma help. A test that"
                " finds no difference does not rule out an optimum near this bound: look at"
                f" `hopt-inspect lpdf --param {param.label}` before narrowing the range"
            )
            severity = "warning"
        findings.append(
            Finding(
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
                    "margins_of": "observed range" if observed else "bounds",
                    "startup_in_margin": None if startup is None else startup[0],
                    "startup_trials": None if startup is None else startup[1],
                    "startup_fisher_p": None if startup is None else startup[2],
                    "p_value": p_adj,
                    "margin_trials_better_p": better,
                    "median_loss_in_margins": in_median,
                    "median_loss_elsewhere": out_median,
                    "best_trials_there": top_hits,
                    "best_trials": top_n,
                },
                advice=advice,
            )
        )
    return findings


# --------------------------------------------------------------------------- collapsed


def _spread(ctx: Context, param: Param, values: list[float]) -> float:
    """The values' range as a share of the range: the space's, or without --space the
    start-up trials' own (in the guessed scale; the observed extremes of a long-tailed
    parameter would make everything else look collapsed)."""
    import numpy as np

    if not param.inferred:
        return scale.spread(param, values)
    early = scale.coords(param, ctx.study.column(param.label)[: ctx.startup_count])
    early = early[~np.isnan(early)]
    if len(early) < 10 or np.ptp(early) <= 0:
        return math.nan
    c = scale.coords(param, values)
    return float(np.ptp(c) / np.ptp(early))


@check("S003", "collapsed", "sampling", "early proposals cover a tiny part of a range")
def check_collapsed(ctx: Context) -> list[Finding]:
    th = ctx.thresholds
    w = th.collapse_window
    tests = []
    # A collapse can hide the start-up's end from the detector (the collapsed proposals are
    # near nothing good), so windows starting anywhere between the detected start-up and
    # hyperopt's default are tried, the narrowest kept, corrected for the number tried.
    starts = [ctx.startup_count]
    if ctx.n_startup_jobs is None:
        a, b = sorted((ctx.startup_count, ctx.settings.n_startup_jobs))
        starts = list(range(a, b + 1))
    # without --space the spread is against the start-up trials' own range (``_spread``),
    # so it needs no bounds: uncertain inferred bounds do not stop it
    for param in _continuous(ctx):
        best = None
        for start in starts:
            values = []
            for t in ctx.ordered[start:]:  # only the first w are needed
                if t.params.get(param.label) is not None:
                    values.append(float(t.params[param.label]))
                    if len(values) == w:
                        break
            if len(values) < w:
                continue
            s = _spread(ctx, param, values)
            if s == s and (best is None or s < best[0]):
                best = (s, values, start)
        if best is None:
            continue
        s, values, start = best
        # Range of w uniform draws: P(range <= s) = w s^(w-1) - (w-1) s^w.
        p = w * s ** (w - 1) - (w - 1) * s**w if s < 1 else 1.0
        p = min(1.0, max(p, 0.0) * len(starts))
        tests.append((param, s, p, values, start))
    import numpy as np

    losses = ctx.study.ok_losses
    ok = losses[~np.isnan(losses)]
    top_n = max(5, math.ceil(th.top_share * len(ok)))
    cutoff = float(np.sort(ok)[min(top_n, len(ok)) - 1]) if len(ok) else math.inf
    findings = []
    for param, s, p, values, start in tests:
        p_adj = bonferroni(p, len(tests))
        if s >= th.collapse_spread or p_adj >= th.alpha:
            continue
        # converging on the best region is TPE working: a collapse is a warning only when
        # the collapsed proposals' losses are not competitive
        column = ctx.study.column(param.label)
        window = [i for i in range(start, len(column)) if column[i] == column[i]][: len(values)]
        window_losses = losses[window]
        window_losses = window_losses[~np.isnan(window_losses)]
        reaching = float(np.mean(window_losses <= cutoff)) if len(window_losses) else 0.0
        if reaching >= 0.2:
            continue
        findings.append(
            Finding(
                severity="warning",
                params=[param.label],
                message=(
                    f"{param.label}: the first {w} proposals after start-up span only {s:.1%}"
                    + (
                        " of the start-up trials' range"
                        if param.inferred
                        else f" {scale.range_word(param)}"
                    )
                    + f" ({fmt_value(min(values))} to"
                    f" {fmt_value(max(values))}); {w} random draws span that little with"
                    f" {fmt_p(p_adj)}{ctx.inferred_note()}, and only {reaching:.0%} of them"
                    f" reach the best {top_n} trials' losses: not convergence on the best region"
                ),
                evidence={
                    "window": w,
                    "window_start": start,
                    "window_reaching_top": round(reaching, 3),
                    "spread_share": round(s, 4),
                    "scale": scale.scale_word(param),
                    "p_value": p_adj,
                },
                advice=(
                    "TPE locked onto one region right after start-up; if that region is not"
                    " clearly best, use more start-up trials (n_startup_jobs) or a larger"
                    " prior_weight"
                ),
            )
        )
    return findings


# --------------------------------------------------------------------------- choices


@check("S004", "unexplored-choice", "sampling", "options never tried, or only at start-up")
def check_unexplored_choice(ctx: Context) -> list[Finding]:
    """Options never tried where random search would have tried each. Without --space only
    gaps between tried integers can be seen (an option never tried leaves no trace)."""
    th = ctx.thresholds
    findings = []
    categorical = [
        p
        for p in ctx.space.params.values()
        if p.is_categorical and p.n_options and p.label in ctx.study.labels and not _unsure(p)
    ]
    for param in categorical:
        probs = scale.category_probs(param)
        all_values = [int(v) - param.randint_offset for v in ctx.active_values(param.label)]
        after = [
            int(v) - param.randint_offset for v in ctx.active_values(param.label, ctx.startup_count)
        ]
        n_all, n_after = len(all_values), len(after)
        never = [k for k in range(param.n_options) if k not in all_values]
        if param.inferred and all_values:  # only gaps inside the observed range are visible
            never = [k for k in never if min(all_values) < k < max(all_values)]
        startup_only = [k for k in range(param.n_options) if k in all_values and k not in after]
        p_never = [(1 - probs[k]) ** n_all for k in never]
        flagged = [
            k
            for k, p in zip(never, p_never, strict=True)
            if bonferroni(p, param.n_options * len(categorical)) < th.alpha
        ]
        if flagged:
            names = ", ".join(param.option_text(k) for k in flagged[:8])
            findings.append(
                Finding(
                    severity="warning",
                    params=[param.label],
                    message=(
                        f"{param.label}: {len(flagged)} of {param.n_options} options never"
                        f" tried in {n_all} trial{'s' if n_all != 1 else ''} ({names}); random"
                        " search would have tried"
                        f" each (chance of missing one: {fmt_p(max(p_never))})"
                        f"{ctx.inferred_note()}"
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


def _collision(ctx: Context, label: str, cache: dict[str, float]) -> float:
    """Chance that two random draws of one parameter are equal (0 for continuous ones)."""
    import numpy as np

    if label in cache:
        return cache[label]
    param = ctx.space.params.get(label)
    prob = 0.0
    if param is not None and param.is_categorical:
        probs = scale.category_probs(param)
        prob = sum(p * p for p in probs) / (sum(probs) ** 2 or 1.0)
    elif param is not None and (param.q is not None or param.kind == "uniformint"):
        if param.q is None:
            param = Param(param.label, "quniform", low=param.low, high=param.high, q=1.0)
        _, counts = np.unique(scale.prior_draws(param, 20_000, seed=3), return_counts=True)
        freq = counts / counts.sum()
        prob = float((freq * freq).sum())
    cache[label] = prob
    return prob


def _selectors(ctx: Context) -> set[str]:
    """Labels of the choices that switch branches (whatever shape ``conditional`` has)."""
    found: set[str] = set()

    def walk(item: Any) -> None:
        label = getattr(item, "label", None)
        if isinstance(label, str):
            found.add(label)
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            found.add(item[0])
        elif isinstance(item, (tuple, list)):
            for sub in item:
                walk(sub)

    for param in ctx.space.params.values():
        walk(param.conditional)
    return found


@check("S005", "duplicates", "sampling", "identical configurations evaluated again")
def check_duplicates(ctx: Context) -> list[Finding]:
    """Repeats against random search in the same space, branch by branch.

    Trials are grouped by which parameters were active (a conditional space's branches);
    in a branch two random configurations are equal with the product of each active
    parameter's collision chance, so the expected pairs are the sum over branches of
    C(n_branch, 2) times that. A warning needs repeats beyond that expectation (p < alpha,
    at least twice as many pairs) that waste at least ``duplicate_share`` of the trials.
    """
    dups = ctx.study.duplicate_groups()
    if not dups:
        return []
    th = ctx.thresholds
    configs = [t for t in ctx.ordered if t.params and t.state != "error"]
    n = len(configs)
    branches: dict[tuple[str, ...], int] = {}
    for t in configs:
        key = tuple(sorted(label for label, v in t.params.items() if v is not None))
        branches[key] = branches.get(key, 0) + 1
    cache: dict[str, float] = {}
    # a choice that selects a branch has one value within it (its options differ in what
    # else is active), so it does not divide the branch's configurations
    selectors = _selectors(ctx)
    expected = 0.0
    per_branch = []
    for labels, count in branches.items():
        coll = 1.0
        for label in labels:
            if label not in selectors:
                coll *= _collision(ctx, label, cache)
        expected += coll * count * (count - 1) / 2
        per_branch.append(
            {
                "params": list(labels),
                "trials": count,
                "configurations": (1 / coll) if coll else None,
            }
        )
    pairs = sum(len(g) * (len(g) - 1) // 2 for g in dups)
    wasted = sum(len(g) - 1 for g in dups)
    p = poisson_sf(pairs, expected) if expected > 0 else 0.0
    ratio = pairs / expected if expected > 0 else math.inf
    material = wasted >= max(3, th.duplicate_share * n)
    severity = "warning" if (p < th.alpha and ratio >= 2 and material) else "info"
    shown = "; ".join(" = ".join(map(str, g[:4])) for g in dups[:4])
    if expected > 0:
        finite = [b["configurations"] for b in per_branch if b["configurations"]]
        space_text = (
            f"random search in this space would expect {expected:.2g} pairs"
            f" (about {min(finite):.3g} equally likely configurations"
            + (f" in the smallest of {len(per_branch)} branches" if len(per_branch) > 1 else "")
            + f"; {fmt_p(p)})"
        )
    else:
        space_text = (
            "random search in this space would repeat none (a continuous parameter is"
            " active in every branch)"
        )
    if severity == "info":
        verdict = (
            "; repeats this rare cost little" if not material else "; repeats are expected here"
        )
    else:
        verdict = (
            f": {wasted} evaluations spent on repeats that chance would not make"
            if math.isinf(ratio)
            else f": {ratio:.1f}x what chance gives, {wasted} evaluations spent on repeats"
        )
    return [
        Finding(
            severity=severity,
            params=list(ctx.study.labels),
            message=(
                f"{len(dups)} configuration{' was' if len(dups) == 1 else 's were'} evaluated"
                f" more than once ({pairs} duplicate pair{'' if pairs == 1 else 's'}, {wasted}"
                f" of {n} trials; tids {shown}); {space_text}{verdict}"
                f"{ctx.inferred_note()}"
            ),
            evidence={
                "groups": dups[:20],
                "pairs": pairs,
                "wasted_trials": wasted,
                "expected_random": expected,
                "branches": per_branch[:20],
                "p_value": p,
            },
            advice=(
                "Each repeat costs an evaluation and tells TPE little: use a finer q or more"
                " options, or cache results by configuration"
                if severity == "warning"
                else "Nothing to do; re-evaluating a noisy configuration can even help"
            ),
        )
    ]
