"""The findings registry: stable codes, selection by code or prefix, one report model.

Codes: S = where TPE sampled, T = TPE's progress, F = failed evaluations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..space import SearchSpace
from ..study import Study
from ..tpe import TPESettings, settings_for
from . import efficiency, health, progress, sampling  # noqa: F401  (registers the checks)
from .base import _REGISTERED, SEVERITIES, Check, Context, Finding, NotRun, Skip, Thresholds

SCHEMA = "hopt-inspect/check/1"
FAMILIES = ("sampling", "progress", "failures")

REGISTRY: tuple[Check, ...] = tuple(
    sorted(_REGISTERED, key=lambda c: (FAMILIES.index(c.family), c.code))
)

__all__ = [
    "REGISTRY",
    "SEVERITIES",
    "CheckReport",
    "Finding",
    "NotRun",
    "Skip",
    "Thresholds",
    "run_checks",
]


@dataclass(frozen=True)
class CheckResult:
    code: str
    name: str
    status: str  # "pass", "fail" (findings at or above fail-on), "findings" (below), "not run"
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
    not_run: list[NotRun] = field(default_factory=list)  # never counted toward fail-on
    sampler: dict[str, Any] = field(default_factory=dict)  # what the trials say ran
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
    algo: str | None = None,
    n_startup_jobs: int | None = None,
) -> CheckReport:
    """Run the selected checks; ``failed`` is true when a finding is at or above ``fail_on``.

    ``algo`` ("tpe"/"rand") and ``n_startup_jobs`` override what the trials suggest ran.
    """
    ctx = Context(
        study,
        space,
        settings or settings_for(study, n_startup_jobs),
        thresholds or Thresholds(),
        algo=algo,
        n_startup_jobs=n_startup_jobs,
    )
    findings: list[Finding] = []
    results: list[CheckResult] = []
    not_run: list[NotRun] = []
    for check in selected(select, ignore):
        if not study.trials and check.code != "F004":
            out: list[Finding] | Skip = Skip("the study has no trials")
        else:
            out = check.run(ctx)
        if isinstance(out, Skip):
            not_run.append(NotRun(check.code, check.name, out.reason))
            results.append(CheckResult(check.code, check.name, "not run", 0))
            continue
        found = [replace(f, code=check.code, name=check.name) for f in out]
        findings.extend(found)
        if any(at_or_above(f.severity, fail_on) for f in found):
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
        not_run=not_run,
        sampler=_sampler_dict(ctx) if study.trials else {},
    )


def _sampler_dict(ctx: Context) -> dict[str, Any]:
    g = ctx.sampler
    return {
        "kind": g.kind,
        "n_startup": g.n_startup,
        "startup_text": g.startup_text(),
        "source": g.source,
        "evidence": g.evidence,
        "z": g.z,
        "startup_used": ctx.startup_count,
    }
