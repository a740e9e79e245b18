"""The live view of ``watch``: a ``View`` to a rich renderable, and the ``rich.live`` sink.

Every piece of text from the file (path, labels, error messages inside findings) goes
through ``safe()``; renderables are ``Text`` objects, so nothing is read as markup.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ..watch import View
from .terminal import fmt_num, fmt_seconds, safe

BARS = "▁▂▃▄▅▆▇█"
_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_MARK = {"error": "✖", "warning": "!", "info": "·"}
MAX_FINDINGS = 6


def sparkline(values: list[float]) -> str:
    """Best-so-far losses as bars (high bar = high loss); log scale over wide positive ranges."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    lo, hi = min(finite), max(finite)
    use_log = lo > 0 and hi / lo > 100

    def level(v: float) -> int:
        if not math.isfinite(v) or hi == lo:
            return 0
        if use_log:
            share = (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))
        else:
            share = (v - lo) / (hi - lo)
        return min(len(BARS) - 1, max(0, round(share * (len(BARS) - 1))))

    return "".join(BARS[level(v)] for v in values)


def _fit(values: list[float], width: int) -> list[float]:
    """At most ``width`` values, evenly picked (the last one always kept)."""
    width = max(width, 8)
    if len(values) <= width:
        return values
    step = (len(values) - 1) / (width - 1)
    return [values[round(i * step)] for i in range(width)]


def _grid() -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True, min_width=9)
    table.add_column(overflow="fold")
    return table


def _top_table(view: View, width: int) -> Table | None:
    if not view.top:
        return None
    table = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False, header_style="dim")
    table.add_column("tid", justify="right", no_wrap=True)
    table.add_column("loss", justify="right", no_wrap=True)
    budget = width - 10 - 8 - 13
    cap = 14 if width <= 90 else 20  # widest label column
    shown: list[str] = []
    for label in view.labels:
        need = min(max(len(label), 9), cap) + 1
        if budget - need < 0:
            break
        budget -= need
        shown.append(label)
    for label in shown:
        header = Text(safe(label, cap))
        table.add_column(header, justify="right", no_wrap=True, max_width=cap, overflow="ellipsis")
    if len(shown) < len(view.labels):
        table.add_column(Text(f"+{len(view.labels) - len(shown)}"), no_wrap=True)
    for t in view.top:
        row = [Text(str(t.tid)), Text(fmt_num(t.loss))]
        row += [Text(fmt_num(t.params.get(label), 4)) for label in shown]
        if len(shown) < len(view.labels):
            row.append(Text(""))
        table.add_row(*row)
    return table


def render_view(
    view: View | None,
    width: int = 80,
    waiting: str | None = None,
    path: str = "",
    final: bool = False,
) -> RenderableType:
    """The whole screen for one refresh; every line fits ``width`` columns."""
    if view is None:
        head = Text("hopt-inspect watch ", style="bold")
        head.append(safe(path, 60))
        head.truncate(width, overflow="ellipsis")
        why = Text(f"waiting: {safe(waiting or 'no complete read yet', 300)}", style="dim")
        return Group(head, why, Text("Ctrl-C to stop", style="dim"))
    head = Text()
    head.append("hopt-inspect watch ", style="bold")
    head.append(safe(view.path, 60))
    head.append(f" ({view.format})", style="dim")
    head.append(f" · {view.refreshed:%H:%M:%S} UTC", style="dim")
    head.truncate(width, overflow="ellipsis")

    grid = _grid()
    counts = Text(f"{view.n_trials} · {view.n_ok} ok · {view.n_running} running · ")
    counts.append(f"{view.n_failed} failed", style="red" if view.n_failed else "")
    if view.n_other:
        counts.append(f" · {view.n_other} other")
    if view.rate_per_min is not None:
        rate = view.rate_per_min
        counts.append(f" · {rate:.1f}/min" if rate < 100 else f" · {rate:,.0f}/min")
    if view.max_evals is not None:
        counts.append(f" · {view.n_trials}/{view.max_evals}")
        if view.finished:
            counts.append(" done", style="green")
        elif view.eta_s is not None:
            counts.append(f" · ETA {fmt_seconds(view.eta_s)}")
    grid.add_row("Trials", counts)

    if view.best is not None:
        best = Text(f"{fmt_num(view.best.loss)} at trial {view.best.tid}", style="green")
        since = []
        if view.best_since_trials:
            since.append(f"{view.best_since_trials} trials")
        if view.best_since_s is not None:
            since.append(fmt_seconds(view.best_since_s))
        if since:
            best.append(f" · none better in {' / '.join(since)} since", style="")
        grid.add_row("Best", best)
        note = ""
        if view.spark_span is not None:
            note = f"  best so far, trials {view.spark_span[0]}–{view.spark_span[1]}"
        values = _fit(view.spark, width - 10 - len(note))
        spark = Text(sparkline(values), style="green")
        spark.append(note, style="dim")
        grid.add_row("", spark)
    else:
        grid.add_row("Best", Text("no trial with status ok and a finite loss yet", style="dim"))

    top = _top_table(view, width)
    if top is not None:
        grid.add_row("Top", top)

    findings = Table.grid(padding=(0, 1))
    findings.add_column(no_wrap=True)
    findings.add_column(no_wrap=True, overflow="ellipsis", max_width=max(20, width - 18))
    for f in view.findings[:MAX_FINDINGS]:
        findings.add_row(
            Text(f"{_MARK[f.severity]} {f.code}", style=_STYLE[f.severity]),
            Text(safe(f.message, 300)),
        )
    if len(view.findings) > MAX_FINDINGS:
        findings.add_row("", Text(f"+{len(view.findings) - MAX_FINDINGS} more", style="dim"))
    if view.findings:
        grid.add_row("Findings", findings)
    else:
        grid.add_row("Findings", Text("none", style="green"))

    changes = Text(" · ".join(view.changes) if view.changes else "nothing new", style="dim")
    changes.truncate(width - 10, overflow="ellipsis")
    grid.add_row("Changed", changes)

    if final:
        return Group(head, grid)
    foot = Text(style="dim")
    if view.problem:
        foot.append(f"waiting for a complete read: {safe(view.problem, 120)} · ", style="yellow")
    foot.append(f"every {view.interval:g} s · Ctrl-C to stop")
    foot.truncate(width, overflow="ellipsis")
    return Group(head, grid, foot)


class LiveSink:
    """Draws each refresh in place (``rich.live``); prints the last view and a summary line."""

    def __init__(self, console: Console | None = None, max_width: int = 100) -> None:
        self.console = console or Console(highlight=False)
        self.max_width = max_width
        self.live: Live | None = None
        self.waiting: str | None = None
        self.path = ""
        self.last_changes: tuple[str, list[str]] | None = None

    def _render(
        self, view: View | None, events: list[dict[str, Any]], final: bool = False
    ) -> RenderableType:
        for e in events:
            if e["event"] == "waiting":
                self.waiting = e["reason"]
            elif e["event"] == "start":
                self.path = e["source"]
        width = min(self.console.width, self.max_width)
        if view is not None:
            if view.changes:
                self.last_changes = (f"{view.refreshed:%H:%M:%S}", list(view.changes))
            elif self.last_changes is not None:  # nothing new: say what came last, and when
                at, changes = self.last_changes
                view = replace(view, changes=[f"at {at}: {changes[0]}", *changes[1:]])
        return render_view(view, width, self.waiting, self.path, final)

    def update(self, view: View | None, events: list[dict[str, Any]]) -> None:
        renderable = self._render(view, events)
        if self.live is None:
            self.live = Live(
                renderable,
                console=self.console,
                auto_refresh=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self.live.start(refresh=True)
        else:
            self.live.update(renderable, refresh=True)

    def close(self, view: View | None, events: list[dict[str, Any]], line: str) -> None:
        renderable = self._render(view, events, final=True)
        if self.live is not None:
            self.live.update(renderable, refresh=True)
            self.live.stop()
        elif self.console.is_terminal:
            self.console.print(renderable)
        else:  # --once into a file or a pipe: no colour, no padding at line ends
            import io

            buffer = io.StringIO()
            width = min(self.console.width, self.max_width)
            Console(file=buffer, width=width, no_color=True, highlight=False).print(renderable)
            text = "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())
            self.console.file.write(text + "\n")
        self.console.print(Text(safe(line, 400)))
