"""The findings registry: stable codes, selection by code or prefix, one report model.

Codes: S = where TPE sampled, T = TPE's progress, F = failed evaluations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..space import SearchSpace
from ..study import Study
from ..tpe import TPESettings, settings_for
from .base import SEVERITIES, Check, Context, Finding, Thresholds
from .efficiency import check_tpe_vs_random
from .health import check_failures, check_non_finite, check_stuck
from .progress import check_best_at_boundary, check_stagnation, check_startup_only
from .sampling import (
    check_clumping,
    check_collapsed,
    check_duplicates,
    check_edge_sampling,
    check_unexplored_choice,
)

SCHEMA = "hopt-inspect/check/1"

REGISTRY: tuple[Check, ...] = (
    Check(
        "S001", "clumping", "proposals land near earlier trials more than random", check_clumping
    ),
    Check("S002", "edge-sampling", "samples crowd the margins of a range", check_edge_sampling),
    Check("S003", "collapsed", "early proposals cover a tiny part of a range", check_collapsed),
    Check(
        "S004",
        "unexplored-choice",
        "options never tried, or only at start-up",
        check_unexplored_choice,
    ),
    Check("S005", "duplicates", "identical configurations evaluated again", check_duplicates),
    Check("T001", "startup-only", "every trial was TPE's random start-up", check_startup_only),
    Check("T002", "stagnation", "no improvement over the last trials", check_stagnation),
    Check("T003", "best-at-boundary", "the best trials sit at a bound", check_best_at_boundary),
    Check("T004", "tpe-vs-random", "TPE's proposals against random search", check_tpe_vs_random),
    Check("F001", "failures", "too many failed or error trials", check_failures),
    Check("F002", "non-finite-loss", "NaN or inf losses", check_non_finite),
    Check("F003", "stuck-trials", "trials left new or running", check_stuck),
)

__all__ = ["REGISTRY", "SEVERITIES", "CheckReport", "Finding", "Thresholds", "run_checks"]


@dataclass(frozen=True)
class CheckResult:
    code: str
    name: str
    status: str  # "pass", "fail" (findings at or above fail-on), "findings" (below), "skipped"
    findings: int


@dataclass(frozen=True)
class CheckReport:
    """What ``hopt-inspect check`` reports; the JSON is these fields plus the schema."""

    source: str
    space_source: str
    fail_on: str
    findings: list[Finding]
    counts: dict[str, int]
    checks: list[CheckResult]
    failed: bool
    settings: dict[str, Any] = field(default_factory=dict)
    schema: str = SCHEMA


def _matches(check: Check, patterns: Sequence[str]) -> bool:
    return any(check.code.startswith(p.upper()) or check.name == p.lower() for p in patterns if p)


def selected(select: Sequence[str] = (), ignore: Sequence[str] = ()) -> list[Check]:
    """Checks chosen by code, code prefix (``S``, ``S00``) or name; ignore wins."""
    checks = [c for c in REGISTRY if not select or _matches(c, select)]
    return [c for c in checks if not _matches(c, ignore)]


def unknown_patterns(patterns: Sequence[str]) -> list[str]:
    return [p for p in patterns if p and not any(_matches(c, [p]) for c in REGISTRY)]


def severity_counts(counts: dict[str, int]) -> str:
    """'1 error, 2 warnings' (or 'no findings')."""
    words = {
        "info": ("info", "info"),
        "warning": ("warning", "warnings"),
        "error": ("error", "errors"),
    }
    parts = [f"{n} {words[s][n != 1]}" for s, n in counts.items() if n]
    return ", ".join(parts) or "no findings"


def at_or_above(severity: str, threshold: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(threshold)


def run_checks(
    study: Study,
    space: SearchSpace,
    *,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    fail_on: str = "warning",
    thresholds: Thresholds | None = None,
    settings: TPESettings | None = None,
) -> CheckReport:
    """Run the selected checks; ``failed`` is true when a finding is at or above ``fail_on``."""
    ctx = Context(study, space, settings or settings_for(study), thresholds or Thresholds())
    findings: list[Finding] = []
    results: list[CheckResult] = []
    for check in selected(select, ignore):
        found = check.run(ctx) if study.trials else []
        findings.extend(found)
        if any(f.evidence.get("skipped") for f in found):
            status = "skipped"
        elif any(at_or_above(f.severity, fail_on) for f in found):
            status = "fail"
        else:
            status = "findings" if found else "pass"
        results.append(CheckResult(check.code, check.name, status, len(found)))
    findings.sort(key=lambda f: (-SEVERITIES.index(f.severity), f.code))
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    return CheckReport(
        source=study.source.path,
        space_source=space.source,
        fail_on=fail_on,
        findings=findings,
        counts=counts,
        checks=results,
        failed=any(at_or_above(f.severity, fail_on) for f in findings),
        settings={
            "n_startup_jobs": ctx.settings.n_startup_jobs,
            "thresholds": vars(ctx.thresholds),
        },
    )
