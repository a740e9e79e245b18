"""Whether evaluations worked: failures, non-finite losses, stuck trials."""

from __future__ import annotations

import math
from collections import Counter

from .base import Context, Finding, check


@check("F001", "failures", "failures", "too many failed or error trials")
def check_failures(ctx: Context) -> list[Finding]:
    trials = ctx.ordered
    failed = [t for t in trials if t.is_failed]
    if not trials or len(failed) / len(trials) <= ctx.thresholds.failure_rate:
        return []
    reasons = Counter(
        (t.error or "no message")
        if t.state == "error"
        else "status fail" + (f": {t.failure_reason}" if t.failure_reason else "")
        for t in failed
    )
    share = len(failed) / len(trials)
    top = "; ".join(f"{n}x {r[:80]}" for r, n in reasons.most_common(3))
    return [
        Finding(
            severity="error" if share >= 0.5 else "warning",
            params=[],
            message=(
                f"{len(failed)} of {len(trials)} trial{'s' if len(trials) > 1 else ''}"
                f" ({share:.0%}) failed, above the"
                f" {ctx.thresholds.failure_rate:.0%} threshold: {top}"
            ),
            evidence={
                "failed": len(failed),
                "trials": len(trials),
                "share": round(share, 4),
                "reasons": dict(reasons.most_common(10)),
                "tids": [t.tid for t in failed][:50],
            },
            advice=(
                "Failed trials count as loss inf in TPE's 'bad' group, so TPE steers away from"
                " their region whether or not it is bad; fix the objective's errors first"
            ),
        )
    ]


@check("F002", "non-finite-loss", "failures", "NaN or inf losses")
def check_non_finite(ctx: Context) -> list[Finding]:
    bad = [t for t in ctx.ordered if t.has_non_finite_loss]
    if not bad:
        return []
    nan = [t.tid for t in bad if math.isnan(t.loss)]  # type: ignore[arg-type]
    inf = [t.tid for t in bad if not math.isnan(t.loss)]  # type: ignore[arg-type]
    parts = []
    if nan:
        parts.append(f"NaN in tids {', '.join(map(str, nan[:8]))}")
    for sign in ("+", "-"):
        tids = [t.tid for t in bad if t.loss == (math.inf if sign == "+" else -math.inf)]
        if tids:
            parts.append(f"{sign}inf in tids {', '.join(map(str, tids[:8]))}")
    return [
        Finding(
            severity="warning",
            params=[],
            message=(
                f"{len(bad)} trial{'s' if len(bad) > 1 else ''} reported a non-finite loss with"
                f" status ok ({'; '.join(parts)})."
                " tpe.suggest drops NaN trials from its history and ranks inf last, so these"
                " hide failures"
            ),
            evidence={"nan_tids": nan, "inf_tids": inf},
            advice=(
                "Return {'status': 'fail'} (or raise) when training diverges, not a NaN or inf loss"
            ),
        )
    ]


@check("F003", "stuck-trials", "failures", "trials left new or running")
def check_stuck(ctx: Context) -> list[Finding]:
    stuck = [t for t in ctx.ordered if t.state in ("new", "running")]
    if not stuck:
        return []
    return [
        Finding(
            severity="warning",
            params=[],
            message=(
                f"{len(stuck)} trial{'s are' if len(stuck) > 1 else ' is'} still new or running"
                " (tids"
                f" {', '.join(str(t.tid) for t in stuck[:8])}): the run was stopped or a worker"
                " crashed."
                " TPE counts them with loss inf"
            ),
            evidence={
                "tids": [t.tid for t in stuck],
                "states": dict(Counter(t.state for t in stuck)),
            },
            advice=(
                "If the run has ended, delete or requeue these jobs (MongoTrials: reset their"
                " state); if it is still going, ignore this"
            ),
        )
    ]


@check("F004", "no-trials", "failures", "the study holds no trials at all")
def check_empty(ctx: Context) -> list[Finding]:
    if ctx.ordered:
        return []
    return [
        Finding(
            severity="error",
            message="the study holds no trials: nothing was evaluated, so nothing can be checked",
            evidence={"trials": 0},
            advice=(
                "Check that fmin ran and that this is the file it saved to (a Trials object"
                " is saved empty when pickled before fmin)"
            ),
        )
    ]
