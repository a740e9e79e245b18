"""Whether TPE got going and got anywhere: startup-only, stagnation, best-at-boundary."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

from . import scale, surface
from .base import Context, Finding, Skip, binomial_sf, check, fmt_p, fmt_value


@check("T001", "startup-only", "progress", "every trial was TPE's random start-up")
def check_startup_only(ctx: Context) -> list[Finding] | Skip:
    if ctx.algo in ("rand", "random"):
        return Skip("--algo rand: random search has no TPE start-up")
    n = len(ctx.study.tpe_history())
    startup = ctx.settings.n_startup_jobs
    guess = ctx.sampler
    if n == 0:
        return []
    if n <= startup:
        if guess.source == "detected" and guess.kind == "tpe":
            return []  # TPE's own proposals are visible: the start-up was shorter
        return [
            Finding(
                severity="warning",
                message=(
                    ("the only trial falls" if n == 1 else f"all {n} trials fall")
                    + f" within TPE's random start-up (n_startup_jobs={startup}"
                    f" {ctx.settings.startup_phrase}): TPE has not"
                    " modelled anything yet, so nothing here says whether it works"
                ),
                evidence={"trials": n, "n_startup_jobs": startup, "sampler": guess.kind},
                advice=(
                    f"Run more than {startup} evaluations, or start TPE sooner with"
                    " algo=partial(tpe.suggest, n_startup_jobs=5)"
                ),
            )
        ]
    if guess.kind == "random" and guess.source == "detected":
        return [
            Finding(
                severity="info",
                message=(
                    f"these {n} trials look like random search"
                    f" ({guess.evidence.split(': these trials look like')[0]}). If this was"
                    " rand.suggest, fine, and TPE findings do not apply; if it was tpe.suggest,"
                    f" its start-up (n_startup_jobs) seems to have covered all {n} trials"
                ),
                evidence={"trials": n, "sampler": guess.kind, "z": guess.z},
                advice="Pass --algo rand (or tpe) to say which sampler ran",
            )
        ]
    return []


@check("T002", "stagnation", "progress", "no improvement, and the late trials got worse")
def check_stagnation(ctx: Context) -> list[Finding]:
    """A drought is a warning only when the late losses are worse than the earlier ones.

    Under random search the losses are exchangeable, and TPE makes late ones better, so
    late losses clearly worse than early ones (Mann-Whitney, common-language effect size
    ``stagnation_effect``) mean something changed. A long drought alone is an info line
    with its probability at the study's own rate of improvement.
    """
    import numpy as np

    from ..stats import mannwhitneyu

    th = ctx.thresholds
    n = len(ctx.ordered)
    window = max(th.stagnation_min, math.ceil(th.stagnation_share * n))
    if n < window + ctx.startup_count or not ctx.ok_trials:
        return []
    losses = ctx.study.ok_losses
    ok = np.flatnonzero(~np.isnan(losses))
    best_position = int(ok[np.argmin(losses[ok])])
    best_loss = float(losses[best_position])
    since = n - 1 - best_position
    if since < window:
        return []
    records = 0
    current = math.inf
    for position in ok:
        if losses[position] < current:
            current = losses[position]
            records += 1
    # Records of exchangeable losses come at 1 per e-fold of trials; this study's own rate:
    rate = max(1.0, (records - 1) / math.log(best_position + 1)) if best_position > 0 else 1.0
    chance = ((best_position + 1) / n) ** rate
    random_chance = (best_position + 1) / n
    # "earlier": up to the best trial, and at least the start-up (a lucky first trial
    # would leave nothing to compare with)
    split = max(best_position, ctx.startup_count - 1, 9) + 1
    before = losses[:split][~np.isnan(losses[:split])]
    after = losses[split:][~np.isnan(losses[split:])]
    p, effect = 1.0, math.nan
    if len(before) >= 5 and len(after) >= 5:
        test = mannwhitneyu(after, before, alternative="greater")
        p = float(test.pvalue)
        effect = float(test.statistic) / (len(after) * len(before))
    best_tid = ctx.ordered[best_position].tid
    evidence = {
        "best_tid": best_tid,
        "best_loss": best_loss,
        "trials_since": since,
        "window": window,
        "records": records,
        "improvement_rate": round(rate, 3),
        "chance_at_own_rate": round(chance, 4),
        "random_chance": round(random_chance, 4),
        "later_worse_p": p,
        "later_worse_effect": None if math.isnan(effect) else round(effect, 3),
    }
    drought = (
        f"the best loss {fmt_value(best_loss)} was found at trial {best_tid} and the last"
        f" {since} of {n} trials did not improve it"
    )
    if p < th.alpha and effect >= th.stagnation_effect:
        return [
            Finding(
                severity="warning",
                message=(
                    f"{drought}, and their losses are worse than the earlier trials' (a later"
                    f" trial beats an earlier one with probability {1 - effect:.0%}; Mann-Whitney"
                    f" {fmt_p(p)}): neither random search nor TPE gets worse over time, so"
                    " something changed (the objective, its data, or the sampler got stuck)"
                ),
                evidence=evidence,
                advice=(
                    "Compare the losses before and after the best trial: a changed objective"
                    " or data set makes the study two studies; otherwise restart with more"
                    " exploration (a larger n_startup_jobs or gamma)"
                ),
            )
        ]
    return [
        Finding(
            severity="info",
            message=(
                f"{drought}. At this study's own rate of improvement ({records} new bests so"
                f" far) a drought this long happens with probability {chance:.0%} (for random"
                f" search {random_chance:.0%}): you could stop here"
            ),
            evidence=evidence,
            advice=(
                "More trials are unlikely to help as things are; to go on, widen a range whose"
                " best trials sit at a bound (best-at-boundary, T003, names them) or change"
                " the space"
            ),
        )
    ]


# The loss's slope towards the bound is measured over this many margins (30%), the
# parabola through the best loss per slice over 3 (15%). The slope over 15% missed an
# optimum beyond the bound of one of seven parameters (the others' effect on the loss
# drowned a rho of 0.17 over 50 trials); over 30% the loss's fall carries more trials,
# and an optimum just inside the range (branin) still bottoms out inside.
SLOPE_BAND = 6
ENVELOPE_BAND = 3
# The net-of-the-others reading looks at two margins (10%): over one the slope rests on too
# few trials, over three an optimum just inside the range (branin) still shows a fall.
WIDE = 2


@check("T003", "best-at-boundary", "progress", "the best region presses against a bound")
def check_best_at_boundary(ctx: Context) -> list[Finding]:
    """The best trials pile up in a bound's margin AND the loss falls towards the bound.

    A best value that merely sits in the margin (an optimum just inside the range, like
    branin's x = 9.42 in [-5, 10]) is not enough. The best trial must lie in a margin and
    more than half of the best 10% within two margins of a bound; then either of two
    readings of the loss surface near the bound makes a warning:

    - the raw losses: more than half of the best 10% in the margins (binomial test against
      the prior's margin mass, p < alpha), the losses over six margins keep improving
      towards the bound (Spearman rank correlation of loss with the distance from the
      bound, p < 0.05 one-sided), and a parabola through the best loss of each sixth of the
      three margins next to the bound (the surface with the other parameters near their
      best) bottoms out at or beyond the bound;
    - the losses net of the other parameters (``surface.AdditiveFit``: the loss, clipped at
      its 85% quantile, fitted by one parabola or one level per option for every
      parameter; the others' fitted terms subtracted): over the two margins next to the
      bound they still fall towards it (least-squares slope, t test p < alpha one-sided),
      and the best 10% pile up in the two margins (binomial test, p < alpha). Where one of
      seven parameters' optimum lies beyond its bound, the other six move the loss more
      than it does; net of them its slope shows, while an optimum 3-6% inside the range
      leaves next to no slope over the outer 10%.

    Without --space, a parameter whose inferred bounds are uncertain is judged against its
    observed range (``scale.bounds_frame``).
    """
    import numpy as np

    from ..stats import spearmanr

    th = ctx.thresholds
    ok = ctx.study.ok_by_loss  # sorted by (loss, tid)
    if not ok:
        return []
    best = ok[0]
    top = ok[: max(5, math.ceil(th.top_share * len(ok)))]
    losses = ctx.study.ok_losses
    findings = []
    fit = None
    for given in ctx.space.params.values():
        if best.params.get(given.label) is None or given.label not in ctx.study.labels:
            continue
        # without --space and uncertain bounds: the observed range stands in for them
        param = scale.bounds_frame(given, ctx.study.column(given.label))
        if param is None:
            continue
        observed = scale.is_observed(param)
        side = scale.in_margin(param, float(best.params[param.label]), th.margin)
        if side is None:
            continue
        values = [t.params[param.label] for t in top if t.params.get(param.label) is not None]
        sides = [scale.in_margin(param, float(v), th.margin) for v in values]
        k = sum(1 for s in sides if s is not None)  # either bound: a loss's corners count
        k_wide = sum(1 for v in values if scale.in_margin(param, float(v), WIDE * th.margin))
        if k_wide * 2 <= len(values):
            continue
        draws = scale.prior_draws(param, 4000, seed=4)
        low_mass, high_mass = scale.margin_mass(param, th.margin, draws)
        mass = low_mass + high_mass
        p_pile = binomial_sf(k, len(values), mass)
        mass_wide = sum(scale.margin_mass(param, WIDE * th.margin, draws))
        p_wide = binomial_sf(k_wide, len(values), mass_wide)
        # the loss surface inside the margin: does it keep falling towards the bound?
        column = ctx.study.column(param.label)
        usable = ~np.isnan(column) & ~np.isnan(losses)
        c = scale.coords(param, column[usable])
        lo, hi = scale.coord_range(param)
        width = (hi - lo) * th.margin
        distance = (c - lo) if side == "low" else (hi - c)
        inside = distance <= ENVELOPE_BAND * width
        wide = distance <= SLOPE_BAND * width
        n_wide = int(wide.sum())
        best_c = float(scale.coords(param, [float(best.params[param.label])])[0])
        best_distance = (best_c - lo) if side == "low" else (hi - best_c)
        n_margin = int(inside.sum())
        rho, p_slope, vertex = math.nan, 1.0, math.nan
        if n_margin >= 6 and len(np.unique(distance[inside])) >= 3:
            d_in, l_in = distance[inside] / (hi - lo), losses[usable][inside]
            rho, p_two = spearmanr(distance[wide], losses[usable][wide])
            rho = float(rho)
            p_slope = float(p_two) / 2 if rho > 0 else 1.0
            vertex = _envelope_vertex(d_in, l_in, ENVELOPE_BAND * th.margin)
        # the same surface net of the other parameters (an additive fit of all of them):
        # does it still fall towards the bound over the WIDE margins next to it?
        net_slope, net_t, net_p, n_net = math.nan, math.nan, 1.0, 0
        if fit is None:
            fit = surface.AdditiveFit(ctx.study, ctx.space)
        net = fit.partial_residuals(param.label)
        if net is not None:
            full = np.full(len(losses), np.nan)
            full[fit.usable] = net
            near = distance <= WIDE * width
            n_net = int(near.sum())
            net_slope, net_t, net_p = surface.slope_test(
                distance[near] / (hi - lo), full[usable][near]
            )
        # the best loss in each sixth of the band, fitted by a parabola in the distance:
        # its minimum must lie at or beyond the bound, not inside
        # (where the single best trial sits is not a criterion: in a space of several
        # parameters its position is set by all of them, and it missed optima beyond the
        # bound whose best trial sat 3% inside it)
        pressing = p_slope < 0.05 and vertex <= 0
        net_pressing = net_p < th.alpha
        warn_raw = pressing and k * 2 > len(values) and p_pile < th.alpha
        warn_net = net_pressing and p_wide < th.alpha
        inferred = param.inferred or ctx.space.inferred
        bound = scale.bound_words(param, side)
        split = (
            f"{k} of the {len(values)} best trials within {th.margin:.0%} of a bound"
            f" ({sides.count('low')} low, {sides.count('high')} high)"
        )
        base = (
            f"{param.label}: the best trial ({best.tid}, {param.label} ="
            f" {fmt_value(best.params[param.label])}) lies within {th.margin:.0%} of {bound}"
            f" ({scale.scale_word(param)}"
            + (
                ", the observed range: its bounds cannot be pinned down without --space"
                if observed
                else ", bounds inferred from the trials"
                if inferred
                else ""
            )
            + f"), {split}; the"
            + (
                " same range drawn uniformly would put"
                if observed
                else f" {'guessed ' if inferred else ''}prior puts"
            )
            + f" {mass:.0%} there ({fmt_p(p_pile)})"
        )
        evidence = {
            "side": side,
            "best_tid": best.tid,
            "best_value": best.params[param.label],
            "top_in_margin": k,
            "top_at_low": sides.count("low"),
            "top_at_high": sides.count("high"),
            "top_trials": len(values),
            "prior_mass": round(mass, 4),
            "p_value": p_pile,
            "trials_in_band": n_margin,
            "trials_in_slope_band": n_wide,
            "best_distance_share": round(best_distance / (hi - lo), 5),
            "slope_rho": None if math.isnan(rho) else round(rho, 3),
            "slope_p": p_slope,
            "fitted_minimum_share": None if math.isnan(vertex) else round(vertex, 5),
            "top_in_wide_margin": k_wide,
            "wide_prior_mass": round(mass_wide, 4),
            "wide_p_value": p_wide,
            "net_trials": n_net,
            "net_fall": None if math.isnan(net_slope) else round(net_slope * WIDE * th.margin, 6),
            "net_t": None if math.isnan(net_t) else round(net_t, 2),
            "net_p": net_p,
            "scale": scale.scale_word(param),
            "margins_of": scale.OBSERVED if observed else "bounds",
        }
        wide_words = f"{WIDE * th.margin:.0%}"
        change = -net_slope * WIDE * th.margin  # towards the bound, over the wide band
        net_words = (
            "net of the other parameters (an additive fit of the loss, clipped at its"
            f" {surface.CLIP_QUANTILE:.0%} quantile, on all of them), the loss"
            f" {'falls' if change < 0 else 'rises'} by {fmt_value(abs(change))} over the"
            f" {wide_words} next to the bound ({n_net} trials, least-squares slope"
            f" t = {net_t:.1f}, {fmt_p(net_p)})"
            if not math.isnan(net_t)
            else ""
        )
        wide_pile = (
            f"{k_wide} of the {len(values)} best trials lie within {wide_words} of a bound,"
            f" where the {'guessed ' if inferred and not observed else ''}prior puts"
            f" {mass_wide:.0%} ({fmt_p(p_wide)})"
        )
        if warn_raw or warn_net:
            severity = "warning"
            if warn_raw:
                tail = (
                    f". Near the bound (within {SLOPE_BAND * th.margin:.0%}) the loss keeps"
                    f" falling towards it (Spearman rho = {rho:.2f} over {n_wide} trials,"
                    f" {fmt_p(p_slope)}) and a parabola through the best loss of each sixth of"
                    f" the {ENVELOPE_BAND * th.margin:.0%} next to it bottoms out at or beyond"
                    " it: the optimum may lie outside the range"
                )
            else:  # the other parameters hid the slope: it shows net of them
                tail = (
                    f". {net_words[0].upper() + net_words[1:]}; {wide_pile}: the optimum may"
                    " lie outside the range"
                )
            advice = f"Widen the range of {param.label} beyond {bound} and run again"
        else:
            severity = "info"
            if p_slope < 0.05 and not math.isnan(vertex) and vertex > 0:
                why = (
                    f"the losses near it bottom out {vertex:.1%} of the range inside it (a"
                    " parabola through the best loss of each sixth of the"
                    f" {ENVELOPE_BAND * th.margin:.0%} next to the bound)"
                )
            elif pressing:
                why = ""
            elif not math.isnan(rho):
                why = (
                    f"the loss does not keep falling towards the bound (rho = {rho:.2f} over"
                    f" {n_wide} trials within {SLOPE_BAND * th.margin:.0%} of it)"
                )
            else:
                why = f"too few trials near it ({n_margin}) to see the loss's slope"
            if net_words and not net_pressing:
                why += f"; {net_words}: not a clear fall (a warning needs p < {th.alpha:g})"
            tail = f"; {why}, so the optimum looks inside the range, near the bound"
            advice = f"Nothing to do unless you expected {param.label} elsewhere"
            if pressing or net_pressing:  # only the pile of best trials falls short
                needs = fmt_p(th.alpha).replace("=", "<")
                short = []
                if pressing:  # the raw reading's pile: more than half in the margins
                    short.append(
                        f"{k} of the {len(values)} best trials within {th.margin:.0%}"
                        f" ({fmt_p(p_pile)}; a warning needs more than half and {needs})"
                    )
                if net_pressing:  # the net reading's pile (more than half: checked above)
                    short.append(
                        f"{k_wide} of the {len(values)} best trials within {wide_words}"
                        f" against the prior's {mass_wide:.0%} ({fmt_p(p_wide)}; a warning"
                        f" needs {needs})"
                    )
                falls = (
                    "The loss falls towards it"
                    if pressing
                    else net_words[0].upper() + net_words[1:]
                )
                tail = (
                    f". {falls}, but the best trials do not pile up there clearly enough: "
                    + " and ".join(short)
                    + ": too little evidence to say the optimum lies outside the range"
                )
                advice = (
                    f"Run more trials, or widen the range of {param.label} beyond {bound}"
                    " if you can afford to check"
                )
        findings.append(
            Finding(
                severity=severity,
                params=[param.label],
                message=base + tail,
                evidence=evidence,
                advice=advice,
            )
        )
    return findings


def _envelope_vertex(distance: Any, losses: Any, band: float) -> float:
    """Where a parabola through the best loss of each sixth of the band bottoms out.

    The per-slice minima track the loss surface with the other parameters near their best;
    0 or less: the loss keeps falling up to the bound; inf when it falls away from it.
    """
    import numpy as np

    xs, ys = [], []
    edges = np.linspace(0.0, band, 7)
    for a, b in pairwise(edges):
        inside = (distance >= a) & (distance < b) if b < band else (distance >= a)
        if inside.any():
            j = int(np.argmin(np.where(inside, losses, np.inf)))
            xs.append(distance[j])
            ys.append(losses[j])
    if len(xs) < 4:
        return math.nan
    c2, c1, _ = np.polyfit(xs, ys, 2)
    if c2 > 0:
        return float(-c1 / (2 * c2))
    return -math.inf if c1 > 0 else math.inf
