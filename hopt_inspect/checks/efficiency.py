"""T004 tpe-vs-random: "Is TPE working?", the verdict of efficiency.py as a finding."""

from __future__ import annotations

from ..efficiency import analyse, best_sentence, headline, share_sentence
from .base import Context, Finding, check

_ADVICE = {
    "better": "",
    "no-better": (
        "TPE has not beaten its own random start-up here: check that the loss depends on the"
        " parameters, that n_startup_jobs is well below max_evals, and `plot --kind efficiency`"
    ),
    "worse": (
        "TPE's proposals are worse than random draws: look for a loss that drifts over time,"
        " a space that misleads TPE (see S001-S003), or run rand.suggest as a baseline"
    ),
    "inconclusive": "Run more evaluations for a clearer answer (`plot --kind efficiency`)",
}


@check("T004", "tpe-vs-random", "progress", "TPE's proposals against random search")
def check_tpe_vs_random(ctx: Context) -> list[Finding]:
    guess = ctx.sampler
    analysis = analyse(
        ctx.study,
        ctx.settings,
        n_startup=guess.n_startup if guess.kind == "tpe" else None,
        sampler_kind="random" if guess.kind == "random" else None,
    )
    result = analysis.result
    if analysis.startup >= len(ctx.study.trials):
        return []  # every trial was start-up: T001 says so
    best = best_sentence(result)
    return [
        Finding(
            severity="warning" if result.verdict == "worse" else "info",
            params=[],
            message=f"{headline(result)}: {share_sentence(result)}" + (f"; {best}" if best else ""),
            evidence={
                "verdict": result.verdict,
                "share_beating_startup_median": result.share_beating_startup_median,
                "p_value": result.p_value,
                "random_trials_to_best": result.random_trials_to_best,
                "method": result.method,
                **result.evidence,
            },
            advice=_ADVICE[result.verdict],
        )
    ]
