"""Check reports for CI systems: GitHub workflow annotations and JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..checks import REGISTRY, CheckReport, at_or_above, severity_counts
from .escape import github_data as _gh_data
from .escape import github_property as _gh_property
from .escape import xml_text as _x

_GITHUB_LEVEL = {"info": "notice", "warning": "warning", "error": "error"}


def github_annotations(report: CheckReport) -> str:
    """One ``::warning file=...,title=...::message`` line per finding."""
    lines = []
    for f in report.findings:
        title = f"{f.code} {f.name}" + (f" ({', '.join(f.params)})" if f.params else "")
        body = f"{f.message}. Advice: {f.advice}" if f.advice else f.message
        lines.append(
            f"::{_GITHUB_LEVEL[f.severity]} file={_gh_property(report.source)},"
            f"title={_gh_property(title)}::{_gh_data(body)}"
        )
    groups: dict[str, list[str]] = {}
    for skip in report.not_run:
        groups.setdefault(skip.reason, []).append(f"{skip.code} {skip.name}")
    for reason, names in groups.items():
        lines.append(f"hopt-inspect check: not run: {', '.join(names)} ({_gh_data(reason)})")
    lines.append(f"hopt-inspect check: {severity_counts(report.counts)} (fail-on {report.fail_on})")
    return "\n".join(lines) + "\n"


def junit_xml(report: CheckReport) -> str:
    """One test case per check that ran; findings at or above fail-on are failures."""
    by_code: dict[str, list] = {}
    for f in report.findings:
        by_code.setdefault(f.code, []).append(f)
    names = {c.code: c for c in REGISTRY}
    failures = sum(1 for c in report.checks if c.status == "fail")
    skipped = sum(1 for c in report.checks if c.status == "not run")
    reasons = {s.code: s.reason for s in report.not_run}
    suite = ET.Element(
        "testsuite",
        name="hopt-inspect check",
        tests=str(len(report.checks)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
    )
    ET.SubElement(
        ET.SubElement(suite, "properties"),
        "property",
        name="source",
        value=_x(report.source),
    )
    for result in report.checks:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"hopt-inspect.{names[result.code].family}",
            name=_x(f"{result.code} {result.name}: {names[result.code].summary}"),
        )
        found = by_code.get(result.code, [])
        failing = [f for f in found if at_or_above(f.severity, report.fail_on)]
        if result.status == "not run":
            ET.SubElement(case, "skipped", message=_x(f"not run: {reasons.get(result.code, '')}"))
        elif failing:
            element = ET.SubElement(
                case, "failure", message=_x(failing[0].message[:500]), type=failing[0].severity
            )
            element.text = _x(
                "\n\n".join(f"[{f.severity}] {f.message}\nAdvice: {f.advice}" for f in failing)
            )
        if found and not failing:
            out = ET.SubElement(case, "system-out")
            out.text = _x("\n".join(f"[{f.severity}] {f.message}" for f in found))
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )
