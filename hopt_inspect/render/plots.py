"""Figures drawn from result objects with matplotlib's object API (Agg, no pyplot state)."""

from __future__ import annotations

import itertools
import math
from typing import Any

from ..tpe import LpdfResult, Snapshot

# Okabe-Ito, a colour-blind-safe palette.
BELOW = "#009E73"  # bluish green: the "good" trials
ABOVE = "#D55E00"  # vermillion: the rest
DIFF = "#000000"
NEXT = "#0072B2"  # blue: what TPE tried next
STARTUP_SHADE = "#EEEEEE"


def _log_kind(kind: str) -> bool:
    from ..space import KIND_TABLE

    return KIND_TABLE[kind].log


def _figure(width: float, height: float) -> Any:
    import matplotlib
    from matplotlib.figure import Figure

    # Labels and options come from the file: "$...$" must print as written, never be
    # parsed as mathtext (a label "$\\frac{a}{$" raised ValueError). We draw no math.
    matplotlib.rcParams["text.parse_math"] = False

    # No constrained layout: it costs half a second per tall figure. Margins are set by hand.
    return Figure(figsize=(width, height), dpi=110)


# Past this many points a scatter overplots (and Agg draws each marker: ~6 us a point), so
# the figure shows hexagons instead: the mean loss rank of the trials in each, or their count.
DENSE = 5000


def _rank_points(
    ax: Any, xs: Any, ys: Any, cs: Any, *, size: float, logx: bool = False, logy: bool = False,
    gridsize: tuple[int, int] = (70, 24), **scatter_kw: Any,
) -> Any:  # fmt: skip
    """Points coloured by loss rank (1 = best), or past DENSE points hexagons of the mean rank.

    Scatter layers are rasterised past 1000 points so a PDF/SVG stays small.
    """
    if len(xs) <= DENSE:
        return ax.scatter(
            xs, ys, c=cs, cmap="viridis", vmin=0, vmax=1, s=size,
            rasterized=len(xs) > 1000, **{"lw": 0, **scatter_kw},
        )  # fmt: skip
    import numpy as np

    return ax.hexbin(
        np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), C=np.asarray(cs, dtype=float),
        reduce_C_function=np.mean, gridsize=gridsize, xscale="log" if logx else "linear",
        yscale="log" if logy else "linear", cmap="viridis", vmin=0, vmax=1, lw=0,
        rasterized=True, zorder=scatter_kw.get("zorder", 1),
    )  # fmt: skip


def _rank_bands(ax: Any, tids: Any, options: Any, cs: Any, k: int, *, tid_on_y: bool) -> Any:
    """Past DENSE points on a categorical axis: one band per option, cut into time bins,
    each coloured by the mean loss rank of its trials (empty bins left blank)."""
    import numpy as np

    t = np.asarray(tids, dtype=float)
    o = np.clip(np.rint(np.asarray(options, dtype=float)), 0, k - 1).astype(int)
    c = np.asarray(cs, dtype=float)
    edges = np.linspace(t.min() - 0.5, t.max() + 0.5, 81)
    b = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, 79)
    total = np.zeros((k, 80))
    count = np.zeros((k, 80))
    np.add.at(total, (o, b), c)
    np.add.at(count, (o, b), 1)
    mean = np.ma.masked_where(count == 0, total / np.maximum(count, 1))
    bands = np.arange(k + 1) - 0.5
    if tid_on_y:
        return ax.pcolormesh(bands, edges, mean.T, cmap="viridis", vmin=0, vmax=1,
                             rasterized=True)  # fmt: skip
    return ax.pcolormesh(edges, bands, mean, cmap="viridis", vmin=0, vmax=1, rasterized=True)


def _count_note(n: int) -> str:
    return f"{n:,} losses: hexagons, darker where more trials"


def _dense_note(n: int) -> str:
    return f"{n:,} trials, binned: colour = mean rank per cell"


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
    from ..space import KIND_TABLE

    return result.q if KIND_TABLE[result.kind].quantised else None


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
    log_axis = _log_kind(result.kind)
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
    if result.options is not None:  # options: spread the points a little so counts show
        import numpy as np

        jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(samples))
        samples = [(t, v + j, loss) for (t, v, loss), j in zip(samples, jitter, strict=True)]
    colours, missing = _loss_colours([loss for _, _, loss in samples])
    bad = set(missing)
    xs = [v for i, (_, v, _) in enumerate(samples) if i not in bad]
    ys = [t for i, (t, _, _) in enumerate(samples) if i not in bad]
    cs = [c for i, c in enumerate(colours) if i not in bad]
    xs_bad = [samples[i][1] for i in missing]
    ys_bad = [samples[i][0] for i in missing]
    log_x = _log_kind(result.kind)
    if result.options is not None and len(xs) > DENSE:  # bands, not jittered hexagons
        points = _rank_bands(ax, ys, xs, cs, len(result.options), tid_on_y=True)
    else:
        points = _rank_points(ax, xs, ys, cs, size=14, logx=log_x, gridsize=(60, 30))
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
    if max_tid >= 10_000:  # "150k": long tick labels would push the axis label off the page
        from matplotlib.ticker import FuncFormatter

        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
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
    colorbar.set_label(
        "loss (by rank)" + (f"\n{_dense_note(len(xs))}" if len(xs) > DENSE else ""), fontsize=7
    )
    if _log_kind(result.kind):
        ax.set_xscale("log")


def _middle(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters in the middle (file names keep both ends)."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]


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
        "space INFERRED from the trials: pass --space for the real one"
        if result.inferred
        else f"space: {result.space_source}"
    )
    where = f"{_middle(file_label, 44)}, {n_trials} trial{'' if n_trials == 1 else 's'}"
    fig.suptitle(  # ~105 characters fit the 10-inch width at this size: long names ellipsized
        f"TPE's below/above log-likelihoods for {_middle(result.param, 36)}"
        f" ~ {_middle(result.distribution, 40)}"
        f"\n{where} · {_middle(space, 100 - len(where))}",
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
        if ax is not axes[-1]:
            # The shared x axis is labelled on the last row only; the others would still
            # build and draw a Tick (two lines, a grid line, two labels) per tick, which is
            # most of the figure's cost. Their vertical grid lines go with them.
            ax.xaxis.set_visible(False)
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
    unit = result.param + ("  (log scale)" if _log_kind(result.kind) else "")
    axes[-1].set_xlabel(unit)
    return fig


IMAGE_FORMATS = ("png", "pdf", "svg")


def save_figure(fig: Any, stream: Any, fmt: str = "png") -> None:
    _escape_texts(fig)
    _plain_log_ticks(fig)
    fig.savefig(stream, format=fmt)


def _plain_log_ticks(fig: Any) -> None:
    """Log and symlog axes label their ticks in mathtext (``$\\mathdefault{10^{-4}}$``),
    which ``text.parse_math = False`` (above) prints as written: use plain numbers."""
    from matplotlib.ticker import LogFormatter, LogFormatterMathtext

    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            for getter, setter in (
                (axis.get_major_formatter, axis.set_major_formatter),
                (axis.get_minor_formatter, axis.set_minor_formatter),
            ):
                old = getter()
                if isinstance(old, LogFormatterMathtext):
                    setter(
                        LogFormatter(
                            base=old._base,
                            labelOnlyBase=old.labelOnlyBase,
                            minor_thresholds=old.minor_thresholds,
                            linthresh=getattr(old, "_linthresh", None),
                        )
                    )


def _escape_texts(fig: Any) -> None:
    """Control characters in any text of the figure (labels, options and file names come
    from the file) drawn as ``\\xNN``: no missing-glyph warning echoes ESC to stderr."""
    from matplotlib.text import Text

    from .escape import CONTROL, escape_controls

    for text in fig.findobj(Text):
        content = text.get_text()
        if CONTROL.search(content.replace("\n", "")):
            lines = content.split("\n")  # our own line breaks stay
            text.set_text("\n".join(escape_controls(line) for line in lines))


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
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init)
    try:
        futures = [pool.submit(draw, *job) for job in jobs]
        out = []
        for future in futures:
            out.append(future.result())
            advance()
    except BaseException:  # Ctrl-C or a failed figure: stop the workers now, not after
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        raise
    pool.shutdown()
    return out


def _worker_init() -> None:
    """Workers leave Ctrl-C to the parent, which stops them (no traceback per worker)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


# --------------------------------------------------------------------------- study plots

BEST = "#CC79A7"  # reddish purple
FAILED = "#888888"


def _loss_colours(losses: Any) -> tuple[list[float], list[int]]:
    """Colour value by loss rank (1 = best, ties share the worst rank); indices of the rest."""
    import numpy as np

    v = np.array([math.nan if x is None else x for x in losses], dtype=float)
    ok = np.isfinite(v)
    finite = np.sort(v[ok])
    colours = np.full(v.shape, math.nan)
    if finite.size:
        rank = np.searchsorted(finite, v[ok], side="right") - 1
        colours[ok] = 1.0 - rank / max(1, finite.size - 1)
    return colours.tolist(), np.flatnonzero(~ok).tolist()


def _loss_colourbar(
    fig: Any, mappable: Any, ax: Any, losses: list[float | None], label: str = "loss (by rank)"
) -> None:
    finite = sorted(v for v in losses if v is not None and math.isfinite(v))
    bar = fig.colorbar(mappable, ax=ax, pad=0.01, fraction=0.04)
    if finite:
        bar.set_ticks([1.0, 0.5, 0.0])
        bar.set_ticklabels(
            [f"best {finite[0]:.4g}", f"median {finite[len(finite) // 2]:.4g}",
             f"worst {finite[-1]:.4g}"], fontsize=7,
        )  # fmt: skip
    bar.set_label(label, fontsize=8)


def history_figure(info: Any) -> Any:
    fig = _figure(10.0, 4.6)
    ax = fig.subplots()
    fig.subplots_adjust(left=0.08, right=0.97, top=0.88, bottom=0.14)
    if info.startup:
        ax.axvspan(
            -0.5,
            info.startup - 0.5,
            color=STARTUP_SHADE,
            zorder=0,
            label=f"first {info.startup} trials: random start-up"
            + (", if default" if info.startup_default else ""),
        )
    if info.points:
        tids, losses = zip(*info.points, strict=True)
        if len(tids) > DENSE and not info.symlog:  # hexbin has no symlog scale
            import numpy as np

            ax.hexbin(
                np.asarray(tids, dtype=float), np.asarray(losses, dtype=float),
                gridsize=(90, 30), bins="log", mincnt=1, cmap="Blues", lw=0,
                rasterized=True, zorder=2,
            )  # fmt: skip
            ax.scatter([], [], marker="h", s=40, color=NEXT, label=_count_note(len(tids)))
        else:
            ax.scatter(
                tids, losses, s=14 if len(tids) <= DENSE else 3, color=NEXT, lw=0,
                label="loss of a trial", zorder=2, rasterized=len(tids) > 1000,
            )  # fmt: skip
        steps_t = [t for t, _ in info.best_so_far] + [max(tids)]
        steps_l = [v for _, v in info.best_so_far] + [info.best_so_far[-1][1]]
        ax.step(steps_t, steps_l, where="post", color=BEST, lw=2, label="best so far", zorder=3)
    low = ax.get_ylim()[0]
    if info.failed:
        ax.scatter(
            info.failed,
            [low] * len(info.failed),
            marker="x",
            color=FAILED,
            s=28,
            clip_on=False,
            label="failed or error (no loss)",
            zorder=4,
        )
    if info.non_finite:
        ax.scatter(
            [t for t, _ in info.non_finite],
            [low] * len(info.non_finite),
            marker="D",
            color=ABOVE,
            s=24,
            clip_on=False,
            label="NaN or inf loss",
            zorder=4,
        )
    if info.symlog:
        ax.set_yscale("symlog", linthresh=_linthresh(info))
    ax.set_xlabel("trial (tid)")
    ax.set_ylabel("loss" + (" (symlog scale)" if info.symlog else ""))
    ax.set_title(info.title, loc="left", fontsize=11, y=1.0)
    ax.grid(alpha=0.25, lw=0.5)
    ax.legend(fontsize=8, loc="upper right", framealpha=0.9)
    return fig


def _linthresh(info: Any) -> float:
    values = sorted(abs(v) for _, v in info.points if v != 0)
    return values[len(values) // 4] if values else 1.0


def _param_axis(ax: Any, s: Any, axis: str = "y") -> None:
    set_scale = ax.set_yscale if axis == "y" else ax.set_xscale
    if s.log:
        set_scale("log")
    if s.options is not None:
        ticks = list(range(len(s.options)))
        (ax.set_yticks if axis == "y" else ax.set_xticks)(ticks)
        (ax.set_yticklabels if axis == "y" else ax.set_xticklabels)(_short(s.options), fontsize=8)
    elif s.bounds is not None:
        line = ax.axhline if axis == "y" else ax.axvline
        for b in s.bounds:
            line(b, color="#555555", lw=0.8, ls=":")


def params_figure(info: Any) -> Any:
    n = len(info.series)
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    fig = _figure(11.0, 1.2 + 2.3 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.subplots_adjust(
        left=0.09,
        right=0.9,
        top=1 - 0.8 / (1.2 + 2.3 * rows),
        bottom=0.5 / (1.2 + 2.3 * rows),
        hspace=0.55,
        wspace=0.3,
    )
    dense = any(len(s.tids) > DENSE for s in info.series)
    fig.suptitle(
        info.title + (f"; {_dense_note(max(len(s.tids) for s in info.series))}" if dense else ""),
        x=0.01, ha="left", fontsize=11,
    )  # fmt: skip
    points = None
    for ax, s in zip(axes.flat, info.series, strict=False):
        colours, missing = _loss_colours(s.losses)
        if info.startup:
            ax.axvspan(-0.5, info.startup - 0.5, color=STARTUP_SHADE, zorder=0)
        bad = set(missing)
        good = [i for i in range(len(s.tids)) if i not in bad]
        gt, gv, gc = (
            [s.tids[i] for i in good],
            [s.values[i] for i in good],
            [colours[i] for i in good],
        )
        if s.options is not None and len(good) > DENSE:
            points = _rank_bands(ax, gt, gv, gc, len(s.options), tid_on_y=False)
        elif good:
            points = _rank_points(ax, gt, gv, gc, size=10, logy=s.log, gridsize=(60, 20))
        ax.scatter(
            [s.tids[i] for i in missing],
            [s.values[i] for i in missing],
            marker="x",
            color=FAILED,
            s=12,
            lw=0.8,
            rasterized=len(missing) > 1000,
        )
        _param_axis(ax, s, "y")
        ax.set_title(
            f"{s.label} ~ {s.distribution}" + (" (inferred)" if s.inferred else ""),
            loc="left",
            fontsize=8.5,
            y=1.0,
        )
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.2, lw=0.5)
        ax.set_xlabel("trial (tid)", fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    if points is not None:
        all_losses = [v for s in info.series for v in s.losses]
        cax = fig.add_axes((0.92, 0.2, 0.012, 0.6))
        bar = fig.colorbar(points, cax=cax)
        finite = sorted(v for v in all_losses if v is not None and math.isfinite(v))
        if finite:
            bar.set_ticks([1.0, 0.0])
            bar.set_ticklabels([f"best {finite[0]:.4g}", f"worst {finite[-1]:.4g}"], fontsize=7)
        bar.set_label("loss (by rank); grey x: failed; shaded: start-up", fontsize=7)
    return fig


LABEL_ALL = 150  # up to this many trials, every point carries its trial number
LABEL_BEST = 10  # past it: the best few trials ...
LABEL_IMPROVEMENTS = 25  # ... and the latest improvements of the best so far


def _labelled_tids(tids: list[int], losses: list[float | None]) -> list[int]:
    """Which points get their trial number: all of a small study, a bounded set otherwise."""
    if len(tids) <= LABEL_ALL:
        return list(tids)
    finite = [(loss, t) for t, loss in zip(tids, losses, strict=True)
              if loss is not None and math.isfinite(loss)]  # fmt: skip
    best = [t for _, t in sorted(finite)[:LABEL_BEST]]
    improvements, low = [], math.inf
    for t, loss in sorted(zip(tids, losses, strict=True)):
        if loss is not None and math.isfinite(loss) and loss < low:
            improvements.append(t)
            low = loss
    latest = improvements[::-1][:LABEL_IMPROVEMENTS]
    return list(dict.fromkeys(best + latest))  # by priority: best first, then latest


def _label_points(ax: Any, tids: list[int], xv: dict, yv: dict, every: bool) -> None:
    """Trial numbers beside their points: every one in a small study (the blog's picture),
    else in priority order, leaving out a number that would overlap one already placed."""
    placed: list[tuple[float, float]] = []
    for t in tids:
        if not every:
            px, py = ax.transData.transform((xv[t], yv[t]))
            if any(abs(px - qx) < 30 and abs(py - qy) < 10 for qx, qy in placed):
                continue
            placed.append((px, py))
        ax.annotate(
            str(t), (xv[t], yv[t]), fontsize=5.5 if every else 6.5, color="#333333",
            xytext=(2.5, 2.5), textcoords="offset points", zorder=4,
        )  # fmt: skip


def _label_note() -> str:
    return "numbers: the best trials, the latest improvements (where they fit)"


def scatter_figure(info: Any) -> Any:
    fig = _figure(8.5, 7.0)
    ax = fig.subplots()
    fig.subplots_adjust(left=0.12, right=0.86, top=0.9, bottom=0.1)
    if info.contour is not None:
        import numpy as np

        xs, ys, z = info.contour
        zz = np.asarray(z, dtype=float)
        finite = zz[np.isfinite(zz)]
        if finite.size:
            levels = np.quantile(finite, np.linspace(0, 1, 12))
            levels = np.unique(levels)
            if levels.size > 2:
                cs = ax.contour(xs, ys, zz, levels=levels, colors="#BBBBBB", linewidths=0.8)
                ax.clabel(cs, fontsize=6, fmt="%.3g")
    x, y = info.x, info.y
    by_tid_y = dict(zip(y.tids, y.values, strict=True))
    loss_by_tid = dict(zip(x.tids, x.losses, strict=True))
    tids = [t for t in x.tids if t in by_tid_y]
    xv = dict(zip(x.tids, x.values, strict=True))
    losses = [loss_by_tid[t] for t in tids]
    colours, missing = _loss_colours(losses)
    bad = set(missing)
    # Worst first, so the best trials are drawn on top of the crowd.
    good = sorted((i for i in range(len(tids)) if i not in bad), key=lambda i: colours[i])
    points = _rank_points(
        ax, [xv[tids[i]] for i in good], [by_tid_y[tids[i]] for i in good],
        [colours[i] for i in good], size=26 if len(good) <= 1000 else 10,
        logx=x.log, logy=y.log, gridsize=(60, 40), lw=0.3 if len(good) <= 1000 else 0,
        ec="white", zorder=3,
    )  # fmt: skip
    if missing:
        ax.scatter(
            [xv[tids[i]] for i in missing],
            [by_tid_y[tids[i]] for i in missing],
            marker="x",
            color=FAILED,
            s=20,
            zorder=3,
            label="failed or non-finite",
            rasterized=len(missing) > 1000,
        )
    labelled = _labelled_tids(tids, losses)
    if len(good) > 1000:  # the labelled trials stand out of the crowd
        at = {t: i for i, t in enumerate(tids)}
        shown = [at[t] for t in labelled if colours[at[t]] == colours[at[t]]]
        ax.scatter(
            [xv[tids[i]] for i in shown], [by_tid_y[tids[i]] for i in shown],
            c=[colours[i] for i in shown], cmap="viridis", vmin=0, vmax=1, s=22, ec="black",
            lw=0.5, zorder=4,
        )  # fmt: skip
    if len(labelled) < len(tids):
        ax.plot([], [], ls="none", marker="$12$", ms=9, color="#333333", label=_label_note())
    if info.best_tid is not None and info.best_tid in xv and info.best_tid in by_tid_y:
        ax.scatter(
            [xv[info.best_tid]],
            [by_tid_y[info.best_tid]],
            marker="*",
            s=260,
            color=BEST,
            ec="black",
            lw=0.7,
            zorder=5,
            label=f"best trial ({info.best_tid})",
        )
    _param_axis(ax, x, "x")
    _param_axis(ax, y, "y")
    _label_points(ax, labelled, xv, by_tid_y, every=len(labelled) == len(tids))
    ax.set_xlabel(x.label + (" (inferred bounds)" if x.inferred else ""))
    ax.set_ylabel(y.label + (" (inferred bounds)" if y.inferred else ""))
    ax.set_title(
        info.title + ("; grey lines: loss contours" if info.contour else ""),
        loc="left",
        fontsize=10,
        y=1.0,
    )
    ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.03), ncol=3, frameon=False)
    dense = f"loss (by rank); {_dense_note(len(good))}" if len(good) > DENSE else "loss (by rank)"
    _loss_colourbar(fig, points, ax, losses, dense)
    return fig


def _hist_edges(lo: float, hi: float, log: bool) -> Any:
    """31 increasing bin edges from lo to hi (a widened range when all values are equal)."""
    import numpy as np

    if not hi > lo:
        lo, hi = (lo / 2, lo * 2) if log else (lo - 0.5, lo + 0.5)
    return np.geomspace(lo, hi, 31) if log else np.linspace(lo, hi, 31)


def hist_figure(info: Any) -> Any:
    import numpy as np

    n = len(info.panels)
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    height = 1.2 + 2.4 * rows
    fig = _figure(11.0, height)
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.subplots_adjust(
        left=0.07, right=0.98, top=1 - 0.85 / height, bottom=0.5 / height, hspace=0.6, wspace=0.22
    )
    fig.suptitle(
        info.title + " (dashed: what random search would draw)", x=0.01, ha="left", fontsize=11
    )
    for ax, panel in zip(axes.flat, info.panels, strict=False):
        s = panel.series
        total = len(panel.startup_values) + len(panel.tpe_values)
        off_axis = 0
        if panel.lattice:  # one bar per lattice value, random search's share as a tick
            values = panel.prior_x
            step = min(b - a for a, b in itertools.pairwise(values)) if len(values) > 1 else 1
            index = {v: i for i, v in enumerate(values)}
            a = np.zeros(len(values))
            b = np.zeros(len(values))
            for v in panel.startup_values:
                a[index.get(v, _nearest(values, v))] += 1
            for v in panel.tpe_values:
                b[index.get(v, _nearest(values, v))] += 1
            width = 0.8 * step
            ax.bar(values, a, width, color="#BBBBBB", label="start-up")
            ax.bar(values, b, width, bottom=a, color=NEXT, label="after start-up")
            ax.plot(
                values,
                [p * total for p in panel.prior_density],
                "k_",
                ms=8,
                mew=1.5,
                ls="none",
                label="random search",
            )
            if s.log:
                ax.set_xscale("log")
        elif s.options is not None:
            k = len(s.options)
            a = np.bincount(np.asarray(panel.startup_values, int), minlength=k)[:k]
            b = np.bincount(np.asarray(panel.tpe_values, int), minlength=k)[:k]
            ax.bar(range(k), a, color="#BBBBBB", label="start-up")
            ax.bar(range(k), b, bottom=a, color=NEXT, label="after start-up")
            ax.plot(
                range(k),
                [p * total for p in panel.prior_density],
                "k_",
                ms=18,
                mew=1.5,
                ls="none",
                label="random search",
            )
            _param_axis(ax, s, "x")
        else:
            lo, hi = s.bounds if s.bounds else (min(s.values), max(s.values))
            if s.log and lo <= 0:  # q-rounded log kinds can round to 0: not on a log axis
                positive = [v for v in s.values if v > 0]
                off_axis = len(s.values) - len(positive)
                lo = min(positive, default=1.0)
            edges = _hist_edges(lo, hi, s.log)
            ax.hist(
                [panel.startup_values, panel.tpe_values],
                bins=edges,
                stacked=True,
                color=["#BBBBBB", NEXT],
                label=["start-up", "after start-up"],
            )
            widths = np.log(edges[1:]) - np.log(edges[:-1]) if s.log else np.diff(edges)
            px = np.asarray(panel.prior_x)
            pd = np.asarray(panel.prior_density) * total * float(widths.mean())
            ax.plot(px, pd, "k--", lw=1.2, label="random search")
            if s.log:
                ax.set_xscale("log")
            if s.bounds:
                for b in s.bounds:
                    ax.axvline(b, color="#555555", lw=0.8, ls=":")
        ax.set_title(
            f"{s.label} ~ {s.distribution}"
            + (" (inferred)" if s.inferred else "")
            + (f" · {off_axis} at 0, off the log axis" if off_axis else ""),
            loc="left",
            fontsize=8.5,
            y=1.0,
        )
        ax.tick_params(labelsize=7)
        ax.set_ylabel("trials", fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    if info.panels:
        axes.flat[0].legend(fontsize=7, loc="upper right")
    return fig


def _nearest(values: list[float], v: float) -> int:
    return min(range(len(values)), key=lambda i: abs(values[i] - v))


def importance_figure(info: Any) -> Any:
    labels = [label for label, _ in info.importances][::-1]
    values = [v for _, v in info.importances][::-1]
    height = 1.6 + 0.32 * max(1, len(labels))
    fig = _figure(8.5, height)
    ax = fig.subplots()
    fig.subplots_adjust(left=0.35, right=0.95, top=1 - 0.75 / height, bottom=0.55 / height)
    ax.barh(range(len(labels)), values, color=NEXT)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels([_short([lab], 40)[0] for lab in labels], fontsize=8)
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.2f}", va="center", fontsize=7)
    ax.set_xlim(0, max([*values, 0.01]) * 1.15)
    ax.set_xlabel(f"importance (share of the total; top {info.quantile:.0%} = {info.n_top} trials)")
    ax.set_title(info.title, loc="left", fontsize=10, y=1.0)
    return fig


def efficiency_figure(info: Any) -> Any:
    """Best so far against the band random search would reach; the start-up shaded."""
    import textwrap

    fig = _figure(10.0, 6.0)
    ax = fig.subplots()
    fig.subplots_adjust(left=0.09, right=0.97, top=0.8, bottom=0.24)
    if info.startup:
        ax.axvspan(
            0.5, info.startup + 0.5, color=STARTUP_SHADE, zorder=0,
            label=f"start-up: {info.startup} random trials",
        )  # fmt: skip
    ns = info.band_n
    if any(math.isfinite(v) for v in info.band_mid):
        floor = info.startup_lowest if info.startup_lowest is not None else -math.inf
        data_low = [max(v, floor) for v in info.band_low]
        data_high = [max(v, floor) for v in info.band_high]
        ax.fill_between(
            ns, data_low, data_high, color=NEXT, alpha=0.18, lw=0, step="post",
            label="random search's best so far: 5-95%", zorder=1,
        )  # fmt: skip
        ax.fill_between(  # below the lowest start-up loss: the tail model, not data
            ns, [min(v, floor) for v in info.band_low], [min(v, floor) for v in info.band_high],
            facecolor="none", edgecolor=NEXT, alpha=0.35, hatch="///", lw=0, step="post",
            label="the same, below the lowest start-up loss: tail model", zorder=1,
        )  # fmt: skip
        ax.step(
            ns, info.band_mid, where="post", color=NEXT, ls="--", lw=1.3, zorder=2,
            label="random search's best so far: median",
        )  # fmt: skip
    median = info.startup_median
    if info.points:
        xs = [n for n, _ in info.points]
        ys = [v for _, v in info.points]
        beat = [n > info.startup and median is not None and v < median for n, v in info.points]
        ax.scatter(
            [x for x, b in zip(xs, beat, strict=True) if not b],
            [y for y, b in zip(ys, beat, strict=True) if not b],
            s=10, color=FAILED, alpha=0.5, lw=0, zorder=2, label="a trial's loss",
        )  # fmt: skip
        ax.scatter(
            [x for x, b in zip(xs, beat, strict=True) if b],
            [y for y, b in zip(ys, beat, strict=True) if b],
            s=12, color=BELOW, alpha=0.8, lw=0, zorder=2,
            label="after start-up, below the start-up median",
        )  # fmt: skip
        steps_n = [n for n, _ in info.best_so_far] + [max(max(xs), ns[-1] if ns else 0)]
        steps_v = [v for _, v in info.best_so_far] + [info.best_so_far[-1][1]]
        ax.step(steps_n, steps_v, where="post", color=BEST, lw=2.2, zorder=4,
                label="this study's best so far")  # fmt: skip
        if median is not None and info.startup < max(xs):
            ax.hlines(
                median, info.startup + 0.5, max(xs), colors="black", linestyles=":", lw=1.1,
                zorder=3, label=f"start-up median {median:.4g}",
            )  # fmt: skip
        if info.startup_lowest is not None:
            ax.axhline(
                info.startup_lowest, color="#555555", ls="-.", lw=0.9, zorder=3,
                label=f"lowest start-up loss {info.startup_lowest:.4g}",
            )  # fmt: skip
        finite_band = [v for v in info.band_low if math.isfinite(v)]
        bottom = min([*ys, *finite_band])
        ordered = sorted(ys)
        top = max(ordered[int(0.9 * (len(ordered) - 1))], median if median is not None else bottom)
        span = (top - bottom) or 1.0
        if not info.symlog:
            ax.set_ylim(bottom - 0.05 * span, top + 0.08 * span)
    if info.symlog:
        ax.set_yscale("symlog", linthresh=_linthresh(info))
    ax.set_xscale("log" if len(info.points) > 400 else "linear")
    ax.set_xlabel("trials so far")
    ax.set_ylabel("loss" + (" (symlog scale)" if info.symlog else ""))
    wrapped = [textwrap.fill(line, 125) for line in info.lines]
    ax.set_title(info.title, loc="left", fontsize=11, y=1.0, pad=14 + 11 * sum(
        w.count("\n") + 1 for w in wrapped))  # fmt: skip
    ax.text(0.0, 1.02, "\n".join(wrapped), transform=ax.transAxes, fontsize=7.5,
            va="bottom", ha="left", color="#333333")  # fmt: skip
    ax.grid(alpha=0.25, lw=0.5)
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False)
    return fig


def build_figure(kind: str, *payload: Any) -> Any:
    """``("lpdf", result, file_label, n_trials)`` or a plot kind and its info → a Figure."""
    if kind == "lpdf":
        result, file_label, n_trials = payload
        return lpdf_figure(result, file_label=file_label, n_trials=n_trials)
    return globals()[f"{kind}_figure"](payload[0])  # plotkinds.KINDS names each kind


def write_figure(target: Any, kind: str, *payload: Any) -> str:
    """Draw and atomically write one figure (format from the suffix: png, pdf, svg)."""
    from .files import atomic_write

    fig = build_figure(kind, *payload)
    fmt = target.suffix.lstrip(".").lower()
    atomic_write(target, lambda f: save_figure(fig, f, fmt if fmt in IMAGE_FORMATS else "png"))
    return str(target)


def png_bytes(kind: str, *payload: Any) -> bytes:
    """One figure as PNG bytes (for the HTML report)."""
    import io

    buffer = io.BytesIO()
    save_figure(build_figure(kind, *payload), buffer)
    return buffer.getvalue()
