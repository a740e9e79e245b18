"""``compare``'s text report: a Comparison → rich renderables (builds, never prints)."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..compare import Comparison, FindingDiff, RegionShift, Side
from .terminal import fmt_num, safe


def _kv() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    return table


def _side_line(s: Side) -> str:
    sampler = s.settings["sampler"]
    return (
        f"{safe(s.path)} · {safe(s.container, 80)} · space: {safe(s.space_source, 80)}"
        f"{' (INFERRED)' if s.space_inferred else ''} · sampler {safe(sampler, 200)} ·"
        f" start-up {s.settings['startup']} ({s.settings['startup_source']})"
    )


def _counts(s: Side) -> str:
    text = f"{s.n_trials} trials, {s.n_ok} ok with a finite loss, {s.n_failed} failed"
    if s.n_non_finite:
        text += f", {s.n_non_finite} NaN/inf"
    return text


def _best(s: Side) -> str:
    if s.best is None:
        return "no ok trial with a finite loss"
    params = ", ".join(f"{safe(k, 40)} = {fmt_num(v)}" for k, v in s.best["params"].items())
    return f"{fmt_num(s.best['loss'])} at trial {s.best['trial_number']} (tid {s.best['tid']})" + (
        f": {params}" if params else ""
    )


def _bullets(lines: list[str]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for line in lines:
        table.add_row("•", Text(line))  # Text: file data is never read as rich markup
    return table


def _space_table(result: Comparison) -> RenderableType:
    changed = [c for c in result.space if c.change != "same"]
    same = [c.label for c in result.space if c.change == "same"]
    inferred = result.a.space_inferred or result.b.space_inferred
    if not changed:
        what = "labels" if inferred else "labels and distributions"
        text = f"same {what} ({len(same)})"
        if inferred:
            text += "; INFERRED space: pass --space-a/--space-b to compare distributions"
        return Text(text)
    table = Table(box=None, padding=(0, 1), show_edge=False)
    table.add_column("label", overflow="fold")
    table.add_column("change")
    table.add_column("A", overflow="fold")
    table.add_column("B", overflow="fold")
    for c in changed:
        table.add_row(
            *(Text(x) for x in (safe(c.label, 60), c.change, safe(c.a or "—"), safe(c.b or "—")))
        )
    if same:
        word = "in both" if inferred else "unchanged"
        table.add_row(Text(f"{word}: {', '.join(safe(s, 40) for s in same)}"), "", "", "")
    return table


def _region(r: RegionShift) -> str:
    if r.categorical:
        text = (
            f"{safe(r.label, 60)}: most common among the best, A {fmt_num(r.a['mode'])}"
            f" ({r.a['share']:.0%} of {r.n_top_a}), B {fmt_num(r.b['mode'])}"
            f" ({r.b['share']:.0%} of {r.n_top_b})"
        )
    else:
        text = (
            f"{safe(r.label, 60)}: best trials' median A {fmt_num(r.a['median'], 4)}"
            f" [{fmt_num(r.a['q25'], 4)}, {fmt_num(r.a['q75'], 4)}], B"
            f" {fmt_num(r.b['median'], 4)} [{fmt_num(r.b['q25'], 4)}, {fmt_num(r.b['q75'], 4)}]"
        )
        if r.shift_of_range is not None:
            text += f"; shift {r.shift_of_range:+.0%} of the range"
    return text + (" · moved" if r.moved else "")


def _findings(title: str, items: list[FindingDiff]) -> list[RenderableType]:
    if not items:
        return []
    lines = []  # (a blank line before each group)
    for f in items:
        where = f" [{', '.join(safe(p, 40) for p in f.params)}]" if f.params else ""
        lines.append(f"{f.code} {f.severity} {f.name}{where}: {safe(f.message, 600)}")
    return [Text(""), Text(title, style="bold"), _bullets(lines)]


def render_compare(result: Comparison, figure: str | None = None) -> RenderableType:
    a, b = result.a, result.b
    style = {"a_better": "bold green", "b_better": "bold green"}.get(result.verdict, "bold")
    head = _kv()
    head.add_row("A", Text(_side_line(a)))
    head.add_row("B", Text(_side_line(b)))
    head.add_row("Trials", Text(f"A: {_counts(a)}\nB: {_counts(b)}"))
    head.add_row("Best", Text(f"A: {_best(a)}\nB: {_best(b)}"))
    blocks: list[Any] = [
        Text(safe(result.verdict_text, 400), style=style),
        Text(""),
        head,
        Text(""),
        Text("Space", style="bold"),
        _space_table(result),
    ]
    if result.evidence:
        blocks += [Text(""), Text("Evidence", style="bold")]
        blocks.append(_bullets([safe(e, 400) for e in result.evidence]))
    if result.regions:
        blocks += [
            Text(""),
            Text(
                "Where the best trials sit (best 10%, at least 5; [q25, q75]; log kinds"
                " on a log scale)",
                style="bold",
            ),
        ]
        blocks.append(_bullets([_region(r) for r in result.regions]))
        if any(r.moved for r in result.regions):
            blocks.append(
                Text(
                    "moved: the best trials' [q25, q75] ranges do not overlap, or their most"
                    " common option differs",
                    style="dim",
                )
            )
    diff = [
        *_findings("Findings that appeared in B", result.findings_appeared),
        *_findings("Findings that cleared (in A, not in B)", result.findings_cleared),
        *_findings("Findings in both (as B states them)", result.findings_kept),
    ]
    blocks += diff
    notes = [f"A: {n}" for n in a.notes] + [f"B: {n}" for n in b.notes]
    if notes:
        blocks += [Text(""), Text("Notes", style="bold")]
        blocks.append(_bullets([safe(n, 300) for n in notes]))
    if figure:
        blocks += [Text(""), Text(f"wrote {safe(figure)}", style="green")]
    return Group(*blocks)
