"""Result objects to rich renderables. Builds, never prints: the CLI prints once."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..checks import CheckReport, Finding, severity_counts
from ..summary import Summary, plural
from ..tpe import LpdfResult
from .escape import as_text, escape_controls, no_workflow_commands


def safe(text: Any, limit: int = 200) -> str:
    """Text from a file, made harmless for a terminal and a CI log.

    Control characters are escaped (no ESC/OSC sequences reach the terminal), "::" and
    "##[" are broken with a zero-width space (no workflow commands, wherever wrapping puts
    them), and the length is capped. The result is plain text, never rich markup: put it in
    a ``Text`` (``safe_text``), not in a markup string.
    """
    s = as_text(text)
    if len(s) > 4 * limit:  # escaping can only lengthen: cut long input first (linear time)
        s = s[: 4 * limit]
    s = escape_controls(s)
    s = s if len(s) <= limit else s[: limit - 1] + "…"
    return no_workflow_commands(s)


def safe_text(text: Any, limit: int = 200, style: str = "") -> Text:
    """``safe(text)`` as a rich ``Text``: brackets are literal, never markup."""
    return Text(safe(text, limit), style=style)


class _Table(Table):
    """A rich Table whose plain-string cells and headers are literal text, never markup.

    rich parses a ``str`` cell as console markup: a label ``[/x]`` raised MarkupError,
    ``[link=…]`` printed an OSC 8 hyperlink, ``[conceal]`` hid text. Every string is
    turned into a ``Text`` here, so no call site can forget.
    """

    def add_column(self, header: Any = "", *args: Any, **kwargs: Any) -> None:
        super().add_column(Text(header) if isinstance(header, str) else header, *args, **kwargs)

    def add_row(self, *cells: Any, **kwargs: Any) -> None:
        super().add_row(*(Text(c) if isinstance(c, str) else c for c in cells), **kwargs)


def fmt_num(value: Any, digits: int = 6) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value) if abs(value) < 10**15 else _big_int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == int(value) and abs(value) < 1e15:
            return f"{value:.1f}"
        return f"{value:.{digits}g}"
    return safe(value, 40)


def _big_int(value: int) -> str:
    """A huge integer as ``1.2346e+5000`` (str() refuses beyond 4300 digits)."""
    exponent = math.log10(abs(value))
    digits = int(exponent)
    mantissa = 10 ** (exponent - digits)
    return f"{'-' if value < 0 else ''}{mantissa:.4f}e+{digits}"


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 120:
        return f"{minutes}m {sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def fmt_bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


def _kv_table() -> Table:
    table = _Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    return table


def _source_line(source: dict[str, Any]) -> Text:
    parts = [source["format"]]
    if source.get("protocol") is not None:
        parts[0] += f" protocol {source['protocol']}"
    if source.get("compression"):
        parts.append(f"{source['compression']}-compressed")
    parts.append(source["container"])
    parts.append(fmt_bytes(source["size_bytes"]))
    if source.get("trusted"):
        parts.append("loaded with --trust")
    line = Text(" · ".join(safe(p) for p in parts))
    for hint in source.get("writer_hints", []):
        line.append(f"\n{safe(hint)}", style="dim")
    return line


def _counts_line(summary: Summary) -> Text:
    by_state = summary.counts["by_state"]
    by_status = summary.counts["by_status"]
    line = Text(f"{plural(summary.n_trials, 'trial')}: ")
    line.append(", ".join(f"{n} {safe(s)}" for s, n in by_state.items()))
    errors = by_state.get("error", 0)
    parts = []
    for status, n in by_status.items():
        part = f"{n} {safe(status)}"
        if status == "new" and errors and n >= errors:
            part += " (incl. the error trials: hyperopt leaves them 'new')"
        parts.append(part)
    line.append("\nstatus: " + ", ".join(parts), "dim")
    return line


def _best_block(summary: Summary) -> RenderableType:
    best = summary.best
    if best is None:
        return Text("no trial finished with status ok and a finite loss", style="yellow")
    head = Text(f"trial {best.tid}", style="bold green")
    head.append(f" · loss {fmt_num(best.loss)}", style="bold")
    params = _Table.grid(padding=(0, 2))
    params.add_column(no_wrap=True, style="cyan")
    params.add_column(overflow="fold")
    for label, value in best.params.items():
        shown = fmt_num(value)
        if label in summary.best_display:
            shown += f" ({safe(summary.best_display[label], 40)})"
        params.add_row(safe(label, 40), shown)
    return Group(head, params)


def _top_table(summary: Summary, budget: int = 46) -> RenderableType:
    """The top trials with as many parameter columns as fit in ``budget`` columns."""
    labels = [lab for lab in summary.labels if any(lab in r.params for r in summary.top)]
    shown: list[str] = []
    used = 0
    for label in labels:
        width = max(min(len(label), 24), 8) + 2
        if used + width > budget:
            break
        shown.append(label)
        used += width
    table = _Table(box=None, padding=(0, 1), header_style="bold", show_edge=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("tid", justify="right")
    table.add_column("loss", justify="right")
    for label in shown:
        table.add_column(_clip(safe(label), 24), justify="right", no_wrap=True)
    for rank, row in enumerate(summary.top, 1):
        display = summary.top_display[rank - 1] if summary.top_display else {}
        cells = [str(rank), str(row.tid), fmt_num(row.loss)]
        cells += [
            safe(display[label], 12) if label in display else fmt_num(row.params.get(label))
            for label in shown
        ]
        table.add_row(*cells)
    hidden = len(labels) - len(shown)
    if not hidden:
        return table
    note = Text(f"+{plural(hidden, 'more parameter')} (--json shows all)", style="dim")
    return Group(table, note)


def _losses_block(summary: Summary, budget: int = 46) -> RenderableType:
    n_ok = len(summary.losses_sorted)
    if not n_ok:
        return Text("no finite losses", style="yellow")
    q = summary.quantiles
    line = Text(
        f"{n_ok} finite ok loss{'' if n_ok == 1 else 'es'} · min {fmt_num(q['min'], 4)}"
        f" · q25 {fmt_num(q['q25'], 4)} · median {fmt_num(q['median'], 4)}"
        f" · q75 {fmt_num(q['q75'], 4)}"
        f" · max {fmt_num(q['max'], 4)}"
    )
    if not summary.top:  # --top 0
        return line
    return Group(
        line,
        Text(f"top {len(summary.top)}, ascending:", style="dim"),
        _top_table(summary, budget),
    )


def _improvements_line(summary: Summary) -> Text:
    steps = summary.best_so_far
    shown = steps if len(steps) <= 8 else steps[-8:]
    text = Text(plural(len(steps), "improvement") + (", the last 8:" if len(steps) > 8 else ":"))
    text.append("\n" + " · ".join(f"tid {tid}: {fmt_num(loss, 4)}" for tid, loss in shown), "dim")
    return text


def _time_line(summary: Summary) -> Text | None:
    d = summary.durations
    if d.first_book_time is None:
        return None
    start = d.first_book_time.strftime("%Y-%m-%d %H:%M")
    end = "?"
    if d.last_refresh_time is not None:
        same_day = d.last_refresh_time.date() == d.first_book_time.date()
        end = d.last_refresh_time.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M")
    text = Text(f"{start} → {end} UTC ({fmt_seconds(d.span_s)})")
    if d.n:
        text.append(
            f"\nper trial: median {fmt_seconds(d.median_s)}, max {fmt_seconds(d.max_s)},"
            f" total {fmt_seconds(d.total_s)}" + (f" ({d.n} finished)" if d.n_unfinished else ""),
            "dim",
        )
    if d.n_unfinished:
        text.append(
            f"\n{'no trial finished; ' if not d.n else ''}{plural(d.n_unfinished, 'trial')}"
            " never finished (new, running or cancelled): no duration",
            "dim",
        )
    return text


def _tids(tids: list[int], limit: int = 8) -> str:
    shown = ", ".join(str(t) for t in tids[:limit])
    return shown + (f", … ({len(tids)} in all)" if len(tids) > limit else "")


def _tpe_state_block(summary: Summary, width: int = 80) -> RenderableType:
    table = _Table(box=None, padding=(0, 1), header_style="bold", show_edge=False)
    # labels are single words: folding one splits it mid-word, so the column keeps room for
    # them (up to 16 characters) and a peak that is a long option is clipped instead
    names = ("below", "prior", "below peak", "above peak", "ratio peak")
    cells = [
        (
            f"{st.n_below}/{st.n_below + st.n_above}",
            f"{st.prior_share:.0%}",
            _clip(fmt_num(st.below_peak, 4), 12),
            _clip(fmt_num(st.above_peak, 4), 12),
            _clip(fmt_num(st.argmax, 4), 12),
        )
        for st in summary.tpe_state
    ]
    # a long label is shortened in the middle to what the other columns leave (each takes
    # its widest cell and 2 of padding), so the row stays on one line: folded, its last
    # characters landed alone on the next line at 80 columns
    others = sum(max([len(n)] + [len(c[i]) for c in cells]) + 2 for i, n in enumerate(names))
    room = max(16, min(26, width - others - 2))
    longest = max((len(safe(st.label, 60)) for st in summary.tpe_state), default=9)
    table.add_column("parameter", overflow="fold", max_width=room, min_width=min(16, longest))
    for name in names:
        table.add_column(name, justify="right", no_wrap=True)
    for st, row in zip(summary.tpe_state, cells, strict=True):
        label = safe(st.label, 60)
        if len(label) > room:  # the middle goes, both ends stay readable
            head = (room - 1) // 2
            label = label[:head] + "…" + label[-(room - 1 - head) :]
        table.add_row(label, *row)
    title = Text("\nTPE's model now", style="bold")
    title.append(f"  (space: {safe(summary.space_source or '', 60)})", style="dim")
    caption = Text(
        "below: trials in TPE's good group that set the parameter · prior: its share of the"
        " good model · ratio peak: where good − other log-density peaks. TPE draws its next"
        " candidates from the good model, so it leans towards this point without landing"
        " on it; with few good trials the peak can sit far from the best trial",
        style="dim",
    )
    return Group(title, table, caption)


_VERDICT_STYLE = {
    "better": "bold green",
    "no-better": "bold yellow",
    "worse": "bold red",
    "inconclusive": "bold",
}


def _tpe_vs_random_block(summary: Summary) -> Text:
    """The verdict, its evidence and the method (efficiency.py builds the sentences)."""
    from ..efficiency import best_sentence, headline, share_sentence

    result = summary.tpe_vs_random
    text = Text(headline(result), style=_VERDICT_STYLE[result.verdict])  # type: ignore[arg-type]
    text.append(f" ({result.verdict})", "dim")  # type: ignore[union-attr]
    text.append("\n" + share_sentence(result))  # type: ignore[arg-type]
    best = best_sentence(result)  # type: ignore[arg-type]
    if best:
        text.append("\n" + best)
    text.append("\nmethod: " + result.method, "dim")  # type: ignore[union-attr]
    return text


def _clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, an ellipsis in place of the rest (never split a word
    across lines)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_summary(summary: Summary, width: int = 80) -> RenderableType:
    """The summary for a terminal ``width`` columns wide (more parameter columns when wider)."""
    title = Text(safe(summary.source["path"]), style="bold magenta")
    table = _kv_table()
    table.add_row("File", _source_line(summary.source))
    table.add_row("Trials", _counts_line(summary))
    table.add_row("Best", _best_block(summary))
    table.add_row("Losses", _losses_block(summary, budget=max(width - 34, 20)))
    if summary.best_so_far:
        table.add_row("Progress", _improvements_line(summary))
    if summary.tpe_vs_random is not None:
        table.add_row("TPE", _tpe_vs_random_block(summary))  # "TPE: better than random search"
    time_line = _time_line(summary)
    if time_line is not None:
        table.add_row("Time", time_line)
    if summary.failures:
        lines = Text()
        for i, group in enumerate(summary.failures[:5]):
            lines.append(("\n" if i else "") + f"{len(group.tids)}× {safe(group.reason, 120)}")
            lines.append(f" (tids {_tids(group.tids, 5)})", "dim")
        if len(summary.failures) > 5:
            more = len(summary.failures) - 5
            lines.append(
                f"\n+{more} more {'reason' if more == 1 else 'reasons'} (--json lists all)", "dim"
            )
        table.add_row("Failures", lines)
    if summary.non_finite:
        table.add_row("Non-finite", Text(f"loss NaN or inf in tids {_tids(summary.non_finite)}"))
    if summary.duplicates:
        n_dup = len(summary.duplicates)
        dup = Text(f"{plural(n_dup, 'configuration')} evaluated more than once: ")
        dup.append("; ".join(" = ".join(map(str, g[:4])) for g in summary.duplicates[:4]), "dim")
        table.add_row("Duplicates", dup)
    parts: list[RenderableType] = [title, table]
    if summary.tpe_state:
        parts.append(_tpe_state_block(summary, width))
    if summary.findings:
        title = Text("\nFindings", style="bold")
        title.append("  (hopt-inspect check FILE for evidence and advice)", style="dim")
        parts += [title, finding_lines(summary.findings, width=width)]
    if summary.checks_not_run:
        groups: dict[str, list[str]] = {}
        for skip in summary.checks_not_run:
            groups.setdefault(skip.reason, []).append(skip.code)
        for reason, codes in groups.items():
            parts.append(Text(f"not run: {', '.join(codes)} ({safe(reason, 200)})", style="dim"))
    if summary.notes:
        notes = _Table.grid(padding=(0, 1))
        notes.add_column(no_wrap=True)
        notes.add_column(overflow="fold")
        for note in summary.notes:
            notes.add_row("•", safe(note, 400))
        parts += [Text("\nNotes", style="bold"), notes]
    return Group(*parts)


def _fmt_x(result: LpdfResult, value: float | None) -> str:
    if value is None:
        return "—"
    if result.options is not None:
        i = int(value)
        return safe(result.options[i], 12) if 0 <= i < len(result.options) else str(i)
    return fmt_num(value, 4)


def render_lpdf(result: LpdfResult, outputs: list[str]) -> RenderableType:
    head = Text(safe(result.param), style="bold cyan")
    head.append(f" ~ {safe(result.distribution)}")
    source = Text(f"space: {safe(result.space_source)}", style="dim")
    if result.inferred:
        source = Text(
            "space: INFERRED from the trials (hopt-inspect space shows how sure); pass"
            " --space to be certain of hyperopt's exact curves",
            style="yellow",
        )
    s = result.settings
    settings = Text(
        f"TPE settings: gamma {s['gamma']:g} · prior_weight {s['prior_weight']:g} ·"
        f" n_startup_jobs {s['n_startup_jobs']:g} · LF {s['lf']:g}",
        style="dim",
    )
    table = _Table(box=None, padding=(0, 1), header_style="bold", show_edge=False)
    for name in ("after", "below", "above", "prior", "below peak", "argmax", "next tried"):
        table.add_column(name, justify="right", no_wrap=True)
    for snap in result.snapshots:
        style = "dim" if snap.startup else None
        table.add_row(
            str(snap.n_trials) + ("*" if snap.startup else ""),
            str(snap.n_below),
            str(snap.n_above),
            f"{snap.prior_share:.0%}",
            _fmt_x(result, snap.below_peak_x),
            _fmt_x(result, snap.argmax_x),
            _fmt_x(result, snap.next_value),
            style=style,
        )
    parts: list[RenderableType] = [head, source, settings, table]
    legend = (
        "after: trials in the history · below/above: this parameter's observations in"
        " TPE's good/other group · prior: the prior's share of the below model · argmax:"
        " where below − above peaks · next tried: the value of the following trial (TPE"
        " keeps the best of 24 draws from the below model, which need not be near the"
        f" argmax{_near_argmax_text(result)})"
    )
    if any(snap.startup for snap in result.snapshots):
        legend += " · *: random start-up, TPE did not choose the next trial"
    parts.append(Text(legend, style="dim"))
    for path in outputs:
        parts.append(Text(f"wrote {safe(path)}", style="green"))
    return Group(*parts)


_SEVERITY_STYLE = {"info": "cyan", "warning": "yellow", "error": "bold red"}


def render_check(report: CheckReport) -> RenderableType:
    head = Text(safe(report.source), style="bold magenta")
    head.append(f"  space: {safe(report.space_source, 80)}", style="dim")
    config = report.settings.get("config") if isinstance(report.settings, dict) else None
    if config:
        head.append(f"  config: {safe(config, 120)}", style="dim")
    parts: list[RenderableType] = [head]
    for f in report.findings:
        line = Text()
        line.append(f"{f.code} ", style="bold")
        line.append(f"{f.severity:<7} ", style=_SEVERITY_STYLE[f.severity])
        line.append(f"{f.name}", style="bold")
        if f.params:
            line.append(f" [{safe(', '.join(f.params), 60)}]", style="cyan")
        body = _Table.grid(padding=(0, 1))
        body.add_column(width=2)
        body.add_column(overflow="fold")
        body.add_row("", safe(f.message, 1000))
        if f.advice:
            body.add_row("", Text("→ " + safe(f.advice, 600), style="green"))
        parts += [Text(""), line, body]
    if report.sampler:
        parts += [Text(""), Text(f"sampler: {safe(report.sampler['evidence'], 400)}", style="dim")]
    if report.not_run:
        parts.append(Text(""))
        for reason, codes in _not_run_groups(report):
            parts.append(Text(f"not run: {codes} ({safe(reason, 200)})", style="dim"))
    counts = severity_counts(report.counts)
    ran = len(report.checks) - len(report.not_run)
    verdict = Text(f"\n{counts} from {ran} checks · fail-on {report.fail_on} → ")
    verdict.append(
        "exit 1" if report.failed else "exit 0", "bold red" if report.failed else "green"
    )
    parts.append(verdict)
    return Group(*parts)


def _near_argmax_text(result: Any) -> str:
    """How often, in these snapshots, the next trial really landed near the argmax."""
    hits = total = 0
    for snap in result.snapshots:
        if snap.startup or snap.argmax_x is None or snap.next_value is None or not snap.x:
            continue
        total += 1
        if result.kind in ("choice", "pchoice", "randint"):
            hits += int(snap.argmax_x == snap.next_value)
            continue
        lo, hi = min(snap.x), max(snap.x)
        hits += int(hi > lo and abs(snap.next_value - snap.argmax_x) <= 0.1 * (hi - lo))
    if not total:
        return ""
    if result.kind in ("choice", "pchoice", "randint"):
        return f": here {hits} of {total} TPE-chosen trials took the same option as it"
    return (
        f": here {hits} of {total} TPE-chosen trials landed within 10% of the plotted range of it"
    )


def _not_run_groups(report: CheckReport) -> list[tuple[str, str]]:
    """Checks that did not run, grouped by reason: [(reason, "S002 edge-sampling, ...")]."""
    groups: dict[str, list[str]] = {}
    for skip in report.not_run:
        groups.setdefault(skip.reason, []).append(f"{skip.code} {skip.name}")
    return [(reason, ", ".join(names)) for reason, names in groups.items()]


def finding_lines(findings: list[Finding], width: int = 76) -> RenderableType:
    """One line per finding, for summary."""
    table = _Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold", max_width=max(width - 14, 20))  # wrapped, never cut
    for f in findings:
        table.add_row(
            Text(f.code, style="bold"),
            Text(f"{f.severity:<7}", style=_SEVERITY_STYLE[f.severity]),
            _brief(safe(f.message, 2000), 300),
        )
    return table


def _brief(text: str, limit: int) -> str:
    """At most about ``limit`` characters, cut after a whole clause (or at least a whole
    word), never inside a number: "(90% interval 5 to 3…" read as a wrong number."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    for mark in (". ", "; ", ": ", ", "):
        at = head.rfind(mark)
        if at > limit // 2:
            return head[: at + 1] + " …"
    at = head.rfind(" ")
    return (head[:at] if at > 0 else head[: limit - 1]) + " …"


def render_study_list(listing: Any) -> RenderableType:
    """A file of several studies: one row each, and how to pick one."""
    title = Text(safe(listing.path), style="bold magenta")
    title.append(f"  {safe(listing.container)}", style="dim")
    table = _Table(box=None, padding=(0, 1), header_style="bold", show_edge=False)
    table.add_column("study (--study)", overflow="fold", max_width=40)
    for name in ("trials", "done", "ok", "best loss", "best tid"):
        table.add_column(name, justify="right", no_wrap=True)
    for e in listing.studies:
        table.add_row(
            safe(e.key, 80),
            str(e.n_trials),
            str(e.counts["by_state"].get("done", 0)),
            str(e.counts["by_status"].get("ok", 0)),
            fmt_num(e.best_loss),
            "—" if e.best_tid is None else str(e.best_tid),
        )
    example = listing.studies[0].key if listing.studies else "KEY"
    hint = Text(
        f"\n{len(listing.studies)} studies in one file; for one of them:"
        f" hopt-inspect summary FILE --study {safe(example, 40)}"
        " (nested keys: --study outer/inner; list items: --study 0)",
        style="dim",
    )
    return Group(title, table, hint)
