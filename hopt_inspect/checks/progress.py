"""Whether TPE got going and got anywhere: startup-only, stagnation, best-at-boundary."""

from __future__ import annotations

import math

from . import scale
from .base import Context, Finding, binomial_sf, fmt_p, fmt_value
from .sampling import _skipped


def check_startup_only(ctx: Context) -> list[Finding]:
    n = len(ctx.study.tpe_history())
    startup = ctx.settings.n_startup_jobs
    if n == 0 or n > startup:
        return []
    return [
        Finding(
            code="T001",
            name="startup-only",
            severity="warning",
            params=[],
            message=(
                ("the only trial" if n == 1 else f"all {n} trials")
                + f" came from TPE's random start-up (n_startup_jobs={startup}):"
                " TPE has not modelled anything yet, so nothing here says whether it works"
            ),
            evidence={"trials": n, "n_startup_jobs": startup},
            advice=(
                f"Run more than {startup} evaluations, or start TPE sooner with"
                " algo=partial(tpe.suggest, n_startup_jobs=5)"
            ),
        )
    ]


def check_stagnation(ctx: Context) -> list[Finding]:
    th = ctx.thresholds
    n = len(ctx.ordered)
    window = max(th.stagnation_min, math.ceil(th.stagnation_share * n))
    if n < window + ctx.startup_count or not ctx.ok_trials:
        return []
    best_position, best_loss = None, math.inf
    for position, t in enumerate(ctx.ordered):
        if t.is_ok and t.loss < best_loss:  # type: ignore[operator]
            best_position, best_loss = position, t.loss
    if best_position is None:
        return []
    since = n - 1 - best_position
    if since < window:
        return []
    best_tid = ctx.ordered[best_position].tid
    chance = (best_position + 1) / n  # random search: the best of n is equally likely anywhere
    return [
        Finding(
            code="T002",
            name="stagnation",
            severity="warning",
            params=[],
            message=(
                f"the best loss {fmt_value(best_loss)} was found at trial {best_tid} and the"
                f" last {since} of {n} trials did not improve it (window {window}); for random"
                f" search a drought this long happens with probability {chance:.0%}"
            ),
            evidence={
                "best_tid": best_tid,
                "best_loss": best_loss,
                "trials_since": since,
                "window": window,
                "random_chance": round(chance, 4),
            },
            advice=(
                "More evaluations are unlikely to pay off as things are: stop here, or widen"
                " the ranges that `check` flags at a boundary, or restart with more exploration"
            ),
        )
    ]


def check_best_at_boundary(ctx: Context) -> list[Finding]:
    th = ctx.thresholds
    if ctx.space.inferred:
        return [_skipped("T003", "best-at-boundary", "needs the space's bounds (pass --space)")]
    ok = sorted(ctx.ok_trials, key=lambda t: (t.loss, t.tid))
    if not ok:
        return []
    best = ok[0]
    top = ok[: max(5, math.ceil(th.top_share * len(ok)))]
    findings = []
    for param in ctx.space.params.values():
        if not scale.is_bounded(param) or best.params.get(param.label) is None:
            continue
        side = scale.in_margin(param, float(best.params[param.label]), th.margin)
        if side is None:
            continue
        values = [t.params[param.label] for t in top if t.params.get(param.label) is not None]
        sides = [scale.in_margin(param, float(v), th.margin) for v in values]
        k = sum(1 for s in sides if s is not None)  # at either bound: the heart's 4 corners
        if k * 2 <= len(values):
            continue
        low_mass, high_mass = scale.margin_mass(
            param, th.margin, scale.prior_draws(param, 4000, seed=4)
        )
        p = binomial_sf(k, len(values), low_mass + high_mass)
        bound = scale.bound_text(param, side)
        split = f"{sides.count('low')} at the lower, {sides.count('high')} at the upper bound"
        findings.append(
            Finding(
                code="T003",
                name="best-at-boundary",
                severity="warning",
                params=[param.label],
                message=(
                    f"{param.label}: the best trial ({best.tid}, {param.label} ="
                    f" {fmt_value(best.params[param.label])}) lies within {th.margin:.0%} of"
                    f" {bound}, and {k} of the {len(values)} best trials within {th.margin:.0%}"
                    f" of a bound ({split}); by chance {low_mass + high_mass:.0%} would"
                    f" ({fmt_p(p)}): the optimum may lie outside the range"
                ),
                evidence={
                    "side": side,
                    "best_tid": best.tid,
                    "best_value": best.params[param.label],
                    "top_in_margin": k,
                    "top_at_low": sides.count("low"),
                    "top_at_high": sides.count("high"),
                    "top_trials": len(values),
                    "p_value": p,
                },
                advice=f"Widen the range of {param.label} beyond {bound} and run again",
            )
        )
    return findings
