"""Figures drawn from result objects with matplotlib's object API (Agg, no pyplot state)."""

from __future__ import annotations

import math
from typing import Any

from ..tpe import LpdfResult, Snapshot

# Okabe-Ito, a colour-blind-safe palette.
BELOW = "#009E73"  # bluish green: the "good" trials
ABOVE = "#D55E00"  # vermillion: the rest
DIFF = "#000000"
NEXT = "#0072B2"  # blue: what TPE tried next
STARTUP_SHADE = "#EEEEEE"
LOG_KINDS = {"loguniform", "qloguniform", "lognormal", "qlognormal"}


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    # No constrained layout: it costs half a second per tall figure. Margins are set by hand.
    return Figure(figsize=(width, height), dpi=110)


def _row_title(s: Snapshot) -> str:
    title = (
        f"after {s.n_trials} trial{'' if s.n_trials == 1 else 's'}: {s.n_below} below,"
        f" {s.n_above} above;"
        f" the prior is {s.prior_share:.0%} of the below model"
    )
    if s.startup:
        title += "  (random start-up: TPE did not choose the next trial)"
    return title


def _finite(values: list[float]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _ylimits(s: Snapshot) -> tuple[float, float] | None:
    """Room for both densities; the difference may be clipped far below, not the peaks."""
    dens = _finite(s.below_llik) + _finite(s.above_llik)
    diff = _finite([b - a for b, a in zip(s.below_llik, s.above_llik, strict=True)])
    if not dens:
        return None
    top = max(dens + diff)
    bottom = min(min(dens), min(diff) if diff else min(dens))
    floor = max(dens) - 12.0  # below e^-12 of the peak nothing is readable
    bottom = max(bottom, floor)
    span = (top - bottom) or 1.0
    return bottom - 0.05 * span, top + 0.12 * span


def _per_log_unit(s: Snapshot) -> Snapshot:
    """Densities per unit of log x (add log x) for drawing on a log axis.

    hyperopt's LGMM1_lpdf is a density per unit of x, which falls like 1/x and buries the
    shape on a log axis. Adding log x to both curves leaves their difference, the thing TPE
    maximises, unchanged. The JSON keeps hyperopt's own values.
    """
    from dataclasses import replace

    logs = [math.log(v) if v > 0 else -math.inf for v in s.x]
    return replace(
        s,
        below_llik=[b + lx for b, lx in zip(s.below_llik, logs, strict=True)],
        above_llik=[a + lx for a, lx in zip(s.above_llik, logs, strict=True)],
    )


def _relative_to_uniform(result: LpdfResult, s: Snapshot, log_axis: bool) -> Snapshot:
    """Both curves minus the log-density of a uniform spread over the plotted range.

    A uniform prior then sits at 0 whatever the range or q step, so rows of different
    parameters read alike. The difference (what TPE maximises) is unchanged.
    """
    from dataclasses import replace

    lo, hi = s.x[0], s.x[-1]
    span = math.log(hi) - math.log(lo) if log_axis and lo > 0 else hi - lo
    q = _q(result)
    units = (span / q + 1) if q and not log_axis else span  # q kinds: bins of the lattice
    shift = math.log(units) if units > 0 else 0.0
    return replace(
        s,
        below_llik=[b + shift for b in s.below_llik],
        above_llik=[a + shift for a in s.above_llik],
    )


def _q(result: LpdfResult) -> float | None:
    return result.q if (result.kind.startswith("q") or result.kind == "uniformint") else None


def _flat(diff: list[float]) -> bool:
    """No real preference: the difference varies by less than 0.05 (5% in likelihood ratio)."""
    finite = _finite(diff)
    return not finite or max(finite) - min(finite) < 0.05


def _mark_next(ax: Any, value: float, label: str) -> None:
    """A triangle under the axis at the value the next trial tried (clear of the titles)."""
    bottom = ax.get_ylim()[0]
    ax.plot(
        [value],
        [bottom],
        marker="^",
        ms=9,
        color=NEXT,
        clip_on=False,
        ls="none",
        label=label,
        zorder=5,
    )


def _draw_continuous_row(ax: Any, result: LpdfResult, s: Snapshot) -> str:
    log_axis = result.kind in LOG_KINDS
    if log_axis:
        s = _per_log_unit(s)
    s = _relative_to_uniform(result, s, log_axis)
    x = s.x
    diff = [b - a for b, a in zip(s.below_llik, s.above_llik, strict=True)]
    steps = {"drawstyle": "steps-mid"} if _q(result) and len(x) <= 60 else {}
    ax.plot(x, s.below_llik, color=BELOW, lw=1.6, label="below: log l(x), good trials", **steps)
    ax.plot(x, s.above_llik, color=ABOVE, lw=1.6, label="above: log g(x), the rest", **steps)
    ax.plot(x, diff, color=DIFF, lw=1.1, label="difference: log l(x) − log g(x)", **steps)
    flat = _flat(diff)
    if s.argmax_x is not None and not flat:
        ax.axvline(s.argmax_x, color=DIFF, ls="--", lw=1.2, label="argmax of the difference")
    limits = _ylimits(s)
    if limits:
        ax.set_ylim(*limits)
    if s.next_value is not None:
        _mark_next(ax, s.next_value, "value the next trial actually tried")
    if log_axis:
        ax.set_xscale("log")
    ax.set_ylabel("log density\nvs uniform", fontsize=8)
    return "no clear preference" if flat else ""


def _draw_categorical_row(ax: Any, result: LpdfResult, s: Snapshot) -> str:
    k = len(s.x)
    pos = list(range(k))
    below_p = [math.exp(v) for v in s.below_llik]
    above_p = [math.exp(v) for v in s.above_llik]
    width = 0.38
    ax.bar(
        [p - width / 2 for p in pos], below_p, width, color=BELOW, label="below: p(option | good)"
    )
    ax.bar(
        [p + width / 2 for p in pos], above_p, width, color=ABOVE, label="above: p(option | rest)"
    )
    top = max(below_p + above_p) * 1.25
    ax.set_ylim(0, top)
    flat = _flat([b - a for b, a in zip(s.below_llik, s.above_llik, strict=True)])
    if s.argmax_x is not None and not flat:
        i = int(s.argmax_x)
        ax.bar(
            [i],
            [top * 0.98],
            0.9,
            fill=False,
            ec=DIFF,
            ls="--",
            lw=1.0,
            label="argmax of log-ratio below/above",
        )
    if s.next_value is not None:
        _mark_next(ax, s.next_value, "option the next trial actually tried")
    ax.set_xticks(pos)
    ax.set_xticklabels(_short(result.options or [str(i) for i in pos]), fontsize=8)
    ax.set_ylabel("probability", fontsize=8)
    return "no clear preference" if flat else ""


def _short(labels: list[str], limit: int = 14) -> list[str]:
    return [lab if len(lab) <= limit else lab[: limit - 1] + "…" for lab in labels]


def _draw_samples_panel(ax: Any, result: LpdfResult, title_file: str) -> None:
    """Where every trial sampled this parameter, trial number growing downwards."""
    samples = result.samples
    if not samples:
        ax.text(0.5, 0.5, "no trial sampled this parameter", ha="center", transform=ax.transAxes)
        return
    startup = int(result.settings["n_startup_jobs"])
    finite = sorted(loss for _, _, loss in samples if loss is not None and math.isfinite(loss))
    rank = {loss: i / max(1, len(finite) - 1) for i, loss in enumerate(finite)}
    xs, ys, cs, xs_bad, ys_bad = [], [], [], [], []
    if result.options is not None:  # options: spread the points a little so counts show
        import numpy as np

        jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(samples))
        samples = [(t, v + j, loss) for (t, v, loss), j in zip(samples, jitter, strict=True)]
    for tid, value, loss in samples:
        if loss is not None and math.isfinite(loss):
            xs.append(value)
            ys.append(tid)
            cs.append(1.0 - rank[loss])
        else:
            xs_bad.append(value)
            ys_bad.append(tid)
    points = ax.scatter(xs, ys, c=cs, cmap="viridis", vmin=0, vmax=1, s=14, lw=0)
    if xs_bad:
        ax.scatter(
            xs_bad,
            ys_bad,
            marker="x",
            color="#888888",
            s=14,
            lw=1,
            label="failed / non-finite loss",
        )
    if finite:
        best_tid, best_value = min(
            ((tid, value) for tid, value, loss in samples if loss == finite[0]),
            key=lambda tv: tv[0],
        )
        ax.scatter(
            [best_value],
            [best_tid],
            marker="*",
            s=140,
            color="#CC79A7",
            ec="black",
            lw=0.6,
            zorder=3,
            label=f"best trial ({best_tid})",
        )
    max_tid = max(tid for tid, _, _ in samples)
    ax.axhspan(
        -0.5,
        min(startup, max_tid + 1) - 0.5,
        color=STARTUP_SHADE,
        zorder=0,
        label=f"first {startup} trials: random start-up, if n_startup_jobs={startup}",
    )
    ax.set_ylim(max_tid + 1, -1)
    ax.set_ylabel("trial number")
    ax.set_title(
        "where each trial sampled it (colour: loss)",
        fontsize=10,
        loc="left",
        y=1.0,  # a fixed position skips matplotlib's costly automatic title placement
    )
    # Above the panel, not over the points.
    ax.legend(
        loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=3, fontsize=7, frameon=False,
        borderaxespad=0.2,
    )  # fmt: skip
    # An inset colour bar keeps this panel as wide as the rows below it.
    cax = ax.inset_axes((1.01, 0.0, 0.015, 1.0))
    colorbar = ax.figure.colorbar(points, cax=cax)
    if finite:
        colorbar.set_ticks([1.0, 0.5, 0.0])
        median = finite[len(finite) // 2]
        colorbar.set_ticklabels(
            [f"best {finite[0]:.4g}", f"median {median:.4g}", f"worst {finite[-1]:.4g}"],
            fontsize=7,
        )
    colorbar.set_label("loss (by rank)", fontsize=8)
    if result.kind in LOG_KINDS:
        ax.set_xscale("log")


def lpdf_figure(result: LpdfResult, *, file_label: str, n_trials: int) -> Any:
    """The blog post's figure done well: one row per snapshot, below/above/difference."""
    rows = len(result.snapshots)
    height = 3.6 + 1.45 * rows
    fig = _figure(10.0, height)
    heights = [2.6] + [1.2] * rows
    axes = fig.subplots(rows + 1, 1, sharex=True, gridspec_kw={"height_ratios": heights})
    inch = 1.0 / height  # margins in inches, as fractions of the figure height
    fig.subplots_adjust(left=0.08, right=0.86, top=1 - 1.05 * inch, bottom=0.95 * inch, hspace=0.42)
    axes = list(axes) if rows else [axes]
    categorical = result.options is not None
    space = (
        "space INFERRED from observed values: pass --space for hyperopt's exact curves"
        if result.inferred
        else f"space: {result.space_source}"
    )
    fig.suptitle(
        f"TPE's below/above log-likelihoods for {result.param} ~ {result.distribution}"
        f"\n{file_label}, {n_trials} trials · {space}",
        fontsize=11,
        x=0.01,
        ha="left",
    )
    _draw_samples_panel(axes[0], result, file_label)
    for ax, snap in zip(axes[1:], result.snapshots, strict=True):
        if categorical:
            note = _draw_categorical_row(ax, result, snap)
        else:
            note = _draw_continuous_row(ax, result, snap)
        ax.set_title(
            _row_title(snap) + (f"; {note}" if note else ""),
            fontsize=8.5,
            loc="left",
            y=1.0,
            pad=2,
            color="#777777" if snap.startup else "black",
        )
        if snap.startup:
            ax.set_facecolor("#F7F7F7")
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.25, lw=0.5)
    if rows:
        seen: dict[str, Any] = {}
        for ax in axes[1:]:
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                seen.setdefault(lab, h)
        fig.legend(
            list(seen.values()),
            list(seen),
            loc="outside lower center",
            ncol=3,
            fontsize=8,
            frameon=False,
        )
    unit = result.param + ("  (log scale)" if result.kind in LOG_KINDS else "")
    axes[-1].set_xlabel(unit)
    return fig


IMAGE_FORMATS = ("png", "pdf", "svg")


def save_figure(fig: Any, stream: Any, fmt: str = "png") -> None:
    fig.savefig(stream, format=fmt)


def write_lpdf_png(result: LpdfResult, target: Any, file_label: str, n_trials: int) -> str:
    """Draw and atomically write one lpdf PNG; returns the path written."""
    from .files import atomic_write

    fig = lpdf_figure(result, file_label=file_label, n_trials=n_trials)
    fmt = target.suffix.lstrip(".").lower()
    atomic_write(target, lambda f: save_figure(fig, f, fmt if fmt in IMAGE_FORMATS else "png"))
    return str(target)


def write_many(jobs: list[tuple[Any, ...]], draw: Any, advance: Any) -> list[str]:
    """Run ``draw(*job)`` for each job, on every core when there are several jobs.

    Drawing dominates ``lpdf --param all`` (about 0.3 s per tall figure), and figures are
    independent, so they are drawn in forked worker processes.
    """
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    workers = min(len(jobs), os.cpu_count() or 1)
    if workers < 2 or len(jobs) < 3 or "fork" not in multiprocessing.get_all_start_methods():
        out = []
        for job in jobs:
            out.append(draw(*job))
            advance()
        return out
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(draw, *job) for job in jobs]
        out = []
        for future in futures:
            out.append(future.result())
            advance()
    return out
