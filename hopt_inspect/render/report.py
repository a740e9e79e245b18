"""A one-file HTML report: inline CSS, images embedded as data URIs, nothing loaded from outside."""

from __future__ import annotations

import base64
import html
import math
from typing import Any

from ..checks import CheckReport, severity_counts
from ..space import SearchSpace
from ..study import Study
from ..summary import Summary
from .escape import as_text, escape_controls

MAX_TABLE_ROWS = 2000

_CSS = """
:root { --fg:#1d1d1f; --muted:#6e6e73; --line:#d2d2d7; --info:#0072B2; --warning:#b35900;
        --error:#c0392b; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--fg); max-width: 1180px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 8px;
     border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.muted { color: var(--muted); } nav a { margin-right: 14px; }
.kv { display: grid; grid-template-columns: 170px 1fr; gap: 4px 16px; }
.kv div:nth-child(odd) { font-weight: 600; }
.finding { border-left: 4px solid var(--line); padding: 6px 12px; margin: 10px 0;
           background: #fafafa; }
.finding.info { border-color: var(--info); } .finding.warning { border-color: var(--warning); }
.finding.error { border-color: var(--error); }
.sev { font-weight: 700; text-transform: uppercase; font-size: 12px; }
.info .sev { color: var(--info); } .warning .sev { color: var(--warning); }
.error .sev { color: var(--error); }
.advice { color: #1e6b3a; } code { font-size: 13px; }
figure { margin: 12px 0 24px; } figure img { max-width: 100%; height: auto;
         border: 1px solid var(--line); } figcaption { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; font-size: 12px; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 6px; text-align: right;
         white-space: nowrap; } th { position: sticky; top: 0; background: #fff; }
td.l, th.l { text-align: left; } .scroll { overflow: auto; max-height: 520px; }
@media print { body { max-width: none; padding: 0; font-size: 11px; } nav { display: none; }
  .scroll { max-height: none; overflow: visible; } figure { break-inside: avoid; }
  h2 { break-after: avoid; } }
"""


def _e(value: Any) -> str:
    """Text for HTML: control characters made visible (\\xNN), then HTML-escaped."""
    return html.escape(escape_controls(as_text(value), keep_newlines=True), quote=True)


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    return _e(value)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _summary_block(summary: Summary) -> str:
    src = summary.source
    best = summary.best
    rows = [
        ("File", f"{src['format']} · {src['container']} · protocol {src['protocol']}"),
        ("Trials", ", ".join(f"{n} {s}" for s, n in summary.counts["by_state"].items())),
        ("Status", ", ".join(f"{n} {s}" for s, n in summary.counts["by_status"].items())),
        ("Best", f"trial {best.tid}, loss {_num(best.loss)}" if best else "none"),
    ]
    if summary.quantiles:
        q = summary.quantiles
        rows.append(("Losses", " · ".join(f"{k} {_num(v)}" for k, v in q.items())))
    if summary.durations.span_s is not None:
        rows.append(("Time span", f"{summary.durations.span_s:.1f} s"))
    if summary.space_source:
        rows.append(("Space", summary.space_source))
    kv = "".join(f"<div>{_e(k)}</div><div>{_e(v)}</div>" for k, v in rows)
    params = ""
    if best:
        items = "".join(
            f"<tr><td class=l>{_e(k)}</td><td>{_num(v)}"
            + (f" ({_e(summary.best_display[k])})" if k in summary.best_display else "")
            + "</td></tr>"
            for k, v in best.params.items()
        )
        params = f"<h3>Best trial's parameters</h3><table style='width:auto'>{items}</table>"
    notes = "".join(f"<li>{_e(n)}</li>" for n in summary.notes)
    return f'<div class="kv">{kv}</div>{params}<h3>Notes</h3><ul>{notes}</ul>'


def _verdict_block(summary: Summary, png: bytes | None) -> str:
    """Is TPE working? The verdict, its evidence, the method, and the efficiency figure."""
    from ..efficiency import best_sentence, headline, share_sentence

    result = summary.tpe_vs_random
    if result is None:
        return "<p>No trials.</p>"
    colour = {"better": "info", "worse": "error", "no-better": "warning"}.get(result.verdict, "")
    lines = [share_sentence(result), best_sentence(result)]
    body = "<br>".join(_e(line) for line in lines if line)
    figure = (
        f"<figure>{_img(png, 'TPE against random search')}<figcaption>The study's best so far"
        " against the band random search would reach (median and 5-95%), from the start-up's"
        " own losses and a tail model below the lowest of them; green: trials after the"
        " start-up that beat the start-up median.</figcaption></figure>"
        if png
        else ""
    )
    return (
        f'<div class="finding {colour}"><span class=sev>{_e(result.verdict)}</span>'
        f" <b>{_e(headline(result))}</b><br>{body}<br><span class=muted>method:"
        f" {_e(result.method)}. Rule: {_e(result.evidence.get('rule', ''))}</span></div>" + figure
    )


def _findings_block(report: CheckReport) -> str:
    not_run = "".join(f"<li>{_e(s.code)} {_e(s.name)}: {_e(s.reason)}</li>" for s in report.not_run)
    not_run = f"<p class=muted>Not run:</p><ul class=muted>{not_run}</ul>" if not_run else ""
    if not report.findings:
        return "<p>No findings.</p>" + not_run
    config = report.settings.get("config") if isinstance(report.settings, dict) else None
    parts = [
        f"<p class=muted>{_e(severity_counts(report.counts))} · space: "
        f"{_e(report.space_source)}" + (f" · config: {_e(config)}" if config else "") + "</p>"
    ]
    for f in report.findings:
        params = f" [{_e(', '.join(f.params))}]" if f.params else ""
        parts.append(
            f'<div class="finding {f.severity}"><span class=sev>{f.severity}</span> '
            f"<b>{_e(f.code)} {_e(f.name)}</b>{params}<br>{_e(f.message)}"
            + (f"<br><span class=advice>→ {_e(f.advice)}</span>" if f.advice else "")
            + "</div>"
        )
    return "".join(parts) + not_run


MAX_REPORT_PARAMS = 16  # per-parameter figures (TPE curves, panels of params and hist)
MAX_TABLE_COLUMNS = 60  # parameter columns of the trials table


def shown_parameters(space: SearchSpace, importance: Any = None) -> tuple[SearchSpace, str | None]:
    """At most ``MAX_REPORT_PARAMS`` parameters for per-parameter figures, most important
    first when PED-ANOVA ran, and a note saying what was left out (or None).

    A file with 200 labels made a 57 MB report in four minutes: every figure is bounded.
    """
    labels = list(space.labels)
    if len(labels) <= MAX_REPORT_PARAMS:
        return space, None
    ranked = [label for label, _ in getattr(importance, "importances", []) if label in space.params]
    order = ranked + [label for label in labels if label not in set(ranked)]
    keep = set(order[:MAX_REPORT_PARAMS])
    shown = SearchSpace(
        {label: space.params[label] for label in labels if label in keep},
        source=space.source,
        inferred=space.inferred,
        notes=space.notes,
    )
    how = "the most important by PED-ANOVA" if ranked else "the first"
    note = (
        f"per-parameter figures show {MAX_REPORT_PARAMS} of {len(labels)} parameters ({how});"
        " hopt-inspect lpdf FILE --param NAME draws any other"
    )
    return shown, note


def _trials_table(study: Study, display: dict[str, Any]) -> str:
    labels = list(study.labels)[:MAX_TABLE_COLUMNS]
    head = "".join(
        ["<th>tid</th><th class=l>state</th><th class=l>status</th><th>loss</th>"]
        + [f"<th>{_e(label)}</th>" for label in labels]
    )
    rows = []
    for t in study.trials[:MAX_TABLE_ROWS]:
        cells = [
            str(t.tid),
            f"<td class=l>{_e(t.state)}</td>",
            f"<td class=l>{_e(t.status)}</td>",
            _num(t.loss),
        ]
        for label in labels:
            value = t.params.get(label)
            shown = display.get(label, {}).get(value, None) if value is not None else None
            cells.append(_e(shown) if shown is not None else _num(value))
        rows.append(
            "<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells) + "</tr>"
        )
    more = ""
    if len(study.trials) > MAX_TABLE_ROWS:
        more = f"<p class=muted>First {MAX_TABLE_ROWS} of {len(study.trials)} trials shown.</p>"
    if len(study.labels) > MAX_TABLE_COLUMNS:
        more += (
            f"<p class=muted>First {MAX_TABLE_COLUMNS} of {len(study.labels)} parameters shown;"
            " hopt-inspect export FILE has them all.</p>"
        )
    return f"<div class=scroll><table><tr>{head}</tr>{''.join(rows)}</table></div>{more}"


def build_report(
    *,
    summary: Summary,
    check: CheckReport,
    study: Study,
    figures: list[tuple[str, str, bytes]],  # (title, caption, png)
    lpdf: list[tuple[str, bytes]],  # (label, png)
    option_text: dict[str, dict[Any, str]],
    generated_by: str,
    efficiency_png: bytes | None = None,
    notes: tuple[str, ...] = (),
) -> str:
    name = study.source.path.rsplit("/", 1)[-1]
    figs = "".join(
        f"<figure>{_img(png, title)}<figcaption><b>{_e(title)}.</b> {_e(caption)}</figcaption>"
        "</figure>"
        for title, caption, png in figures
    )
    curves = "".join(
        f'<figure id="lpdf-{_e(label)}">{_img(png, "TPE curves for " + label)}'
        f"<figcaption>TPE's below/above log-likelihoods for <b>{_e(label)}</b>, recomputed"
        " with hyperopt's own functions.</figcaption></figure>"
        for label, png in lpdf
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hopt-inspect report · {_e(name)}</title><style>{_CSS}</style></head>
<body>
<h1>hopt-inspect report · {_e(name)}</h1>
<p class=muted>{_e(study.source.path)} · {study.n_trials} trials · {_e(generated_by)}</p>
<nav><a href="#summary">Summary</a><a href="#tpe-vs-random">TPE vs random</a>
<a href="#findings">Findings</a><a href="#plots">Plots</a>
<a href="#tpe">TPE curves</a><a href="#trials">Trials</a></nav>
<h2 id="summary">Summary</h2>{_summary_block(summary)}
<h2 id="tpe-vs-random">Is TPE working? TPE against random search</h2>
{_verdict_block(summary, efficiency_png)}
<h2 id="findings">Findings</h2>{_findings_block(check)}
<h2 id="plots">Plots</h2>{"".join(f"<p class=muted>{_e(n)}</p>" for n in notes)}{figs}
<h2 id="tpe">TPE's curves, per parameter</h2>{curves}
<h2 id="trials">Trials</h2>{_trials_table(study, option_text)}
</body></html>
"""
