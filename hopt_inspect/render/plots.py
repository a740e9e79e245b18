"""Figures drawn from result objects with matplotlib's object API (Agg, no pyplot state)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
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
    # Unhinted glyphs: a fifth of an lpdf figure's time is rendering its ~1400 glyphs, and
    # at 110 dpi hinted and unhinted text look the same.
    matplotlib.rcParams["text.hinting"] = "none"

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
    return _mean_hexbin(
        ax, xs, ys, cs, gridsize=gridsize, logx=logx, logy=logy,
        zorder=scatter_kw.get("zorder", 1),
    )  # fmt: skip


def _mean_hexbin(
    ax: Any, xs: Any, ys: Any, cs: Any, *, gridsize: tuple[int, int], logx: bool, logy: bool,
    zorder: float,
) -> Any:  # fmt: skip
    """``ax.hexbin`` of the mean of ``cs`` per hexagon, without its loop over every point.

    Given ``C``, hexbin appends each point to a Python list of its cell (0.1 s per 200k
    points, each figure and panel) and reduces every list. Here hexbin only counts (numpy),
    on an extent we fix, and the means come from the same cell arithmetic with
    ``np.bincount`` weights; if our counts ever differ from hexbin's, its own way is used.
    """
    import numpy as np

    x, y, c = (np.asarray(v, dtype=float) for v in (xs, ys, cs))
    tx, ty = np.log10(x) if logx else x, np.log10(y) if logy else y
    extent = []
    for t in (tx, ty):
        lo, hi = float(t.min()), float(t.max())
        if not hi > lo:
            pad = 0.1 * abs(lo) or 0.1
            lo, hi = lo - pad, hi + pad
        extent += [lo, hi]
    common = {
        "gridsize": gridsize, "xscale": "log" if logx else "linear",
        "yscale": "log" if logy else "linear", "cmap": "viridis", "vmin": 0, "vmax": 1,
        "lw": 0, "rasterized": True, "zorder": zorder,
    }  # fmt: skip
    cells = ax.hexbin(x, y, mincnt=1, extent=extent, **common)
    nx, ny = gridsize
    xmin, xmax, ymin, ymax = extent
    padding = 1.0e-9 * (xmax - xmin)
    xmin, xmax = xmin - padding, xmax + padding
    ix, iy = (tx - xmin) / ((xmax - xmin) / nx), (ty - ymin) / ((ymax - ymin) / ny)
    ix1, iy1 = np.round(ix).astype(int), np.round(iy).astype(int)
    ix2, iy2 = np.floor(ix).astype(int), np.floor(iy).astype(int)
    i1 = np.where((ix1 >= 0) & (ix1 < nx + 1) & (iy1 >= 0) & (iy1 < ny + 1),
                  ix1 * (ny + 1) + iy1 + 1, 0)  # fmt: skip
    i2 = np.where((ix2 >= 0) & (ix2 < nx) & (iy2 >= 0) & (iy2 < ny), ix2 * ny + iy2 + 1, 0)
    near1 = (ix - ix1) ** 2 + 3.0 * (iy - iy1) ** 2 < (ix - ix2 - 0.5) ** 2 + 3.0 * (
        iy - iy2 - 0.5
    ) ** 2
    size1, size2 = 1 + (nx + 1) * (ny + 1), 1 + nx * ny
    counts = np.concatenate([np.bincount(i1[near1], minlength=size1)[1:],
                             np.bincount(i2[~near1], minlength=size2)[1:]])  # fmt: skip
    sums = np.concatenate([np.bincount(i1[near1], c[near1], minlength=size1)[1:],
                           np.bincount(i2[~near1], c[~near1], minlength=size2)[1:]])  # fmt: skip
    filled = counts > 0
    drawn = np.asarray(cells.get_array(), dtype=float)
    if drawn.shape == (int(filled.sum()),) and np.array_equal(drawn, counts[filled]):
        cells.set_array(sums[filled] / counts[filled])
        return cells
    cells.remove()  # another matplotlib's arithmetic: let hexbin reduce, slowly
    return ax.hexbin(x, y, C=c, reduce_C_function=_mean, extent=extent, **common)


def _mean(values: list[float]) -> float:
    """hexbin calls this once per non-empty cell: ``np.mean`` of a short list costs 25 us,
    a second for the 40,000 cells of a params figure."""
    return sum(values) / len(values)


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


# The snapshot rows share one Axes: each row is a band of height 1 in its y data units
# (row i of n at [n - 1 - i, n - i)), its curves drawn through a transform that maps the
# row's own y range into the band and clipped to the row's frame. One axes instead of one
# per row: matplotlib builds and draws ticks per Axis, which was most of the figure's cost.
ROW_PLOT = 0.80  # the share of a band that holds the curves; the rest holds its title


class _Row:
    """One snapshot's band: its y range ``lo..hi`` drawn in ``[base, base + ROW_PLOT]``."""

    def __init__(self, ax: Any, base: float, lo: float, hi: float) -> None:
        from matplotlib.patches import Rectangle
        from matplotlib.transforms import Affine2D, blended_transform_factory

        self.ax, self.base, self.lo, self.hi = ax, base, lo, hi
        k = ROW_PLOT / ((hi - lo) or 1.0)
        self.transform = Affine2D().scale(1.0, k).translate(0.0, base - lo * k) + ax.transData
        self.band = blended_transform_factory(ax.transAxes, ax.transData)  # x: 0..1 of the axes
        self.frame = Rectangle(
            (0.0, base), 1.0, ROW_PLOT, transform=self.band, fill=False, lw=0.8, ec="black",
            zorder=2.5,
        )  # fmt: skip
        ax.add_patch(self.frame)

    def y(self, value: float) -> float:
        """A value of this row's scale, in the axes' data units."""
        return self.base + (value - self.lo) * ROW_PLOT / ((self.hi - self.lo) or 1.0)

    def clip(self, artist: Any) -> Any:
        artist.set_clip_path(self.frame)
        return artist

    def plot(self, x: Any, y: Any, **kw: Any) -> Any:
        (line,) = self.ax.plot(x, y, transform=self.transform, **kw)
        return self.clip(line)

    def ticks(self) -> list[tuple[float, str]]:
        """About three round values of the row's scale, as (position, label)."""
        from matplotlib.ticker import MaxNLocator

        values = MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10]).tick_values(self.lo, self.hi)
        return [(self.y(v), f"{v:g}".replace("-", "−")) for v in values if self.lo <= v <= self.hi]

    def shade(self, colour: str) -> None:
        from matplotlib.patches import Rectangle

        self.ax.add_patch(
            Rectangle((0.0, self.base), 1.0, ROW_PLOT, transform=self.band, color=colour,
                      lw=0, zorder=0)
        )  # fmt: skip

    def title(self, text: str, colour: str) -> None:
        self.ax.text(
            0.0, self.base + ROW_PLOT + 0.03, text, transform=self.band, fontsize=8.5,
            va="bottom", ha="left", color=colour,
        )  # fmt: skip


def _mark_next(row: _Row, value: float, label: str) -> None:
    """A triangle on the row's bottom edge at the value the next trial tried."""
    row.ax.plot(
        [value], [row.base], marker="^", ms=9, color=NEXT, clip_on=False, ls="none",
        label=label, zorder=5,
    )  # fmt: skip


def _draw_continuous_row(row: _Row, result: LpdfResult, s: Snapshot, i: int) -> str:
    x = s.x
    diff = [b - a for b, a in zip(s.below_llik, s.above_llik, strict=True)]
    steps = {"drawstyle": "steps-mid"} if _q(result) and len(x) <= 60 else {}
    row.plot(x, s.below_llik, color=BELOW, lw=1.6, label="below: log l(x), good trials",
             gid=f"below-{i}", **steps)  # fmt: skip
    row.plot(x, s.above_llik, color=ABOVE, lw=1.6, label="above: log g(x), the rest",
             gid=f"above-{i}", **steps)  # fmt: skip
    row.plot(x, diff, color=DIFF, lw=1.1, label="difference: log l(x) − log g(x)",
             gid=f"diff-{i}", **steps)  # fmt: skip
    flat = _flat(diff)
    if s.argmax_x is not None and not flat:
        row.plot([s.argmax_x, s.argmax_x], [row.lo, row.hi], color=DIFF, ls="--", lw=1.2,
                 label="argmax of the difference", gid=f"argmax-{i}")  # fmt: skip
    if s.next_value is not None:
        _mark_next(row, s.next_value, "value the next trial actually tried")
    return "no clear preference" if flat else ""


def _draw_categorical_row(row: _Row, result: LpdfResult, s: Snapshot, i: int) -> str:
    k = len(s.x)
    pos = list(range(k))
    below_p = [math.exp(v) for v in s.below_llik]
    above_p = [math.exp(v) for v in s.above_llik]
    width = 0.38
    for offset, p, colour, label, name in (
        (-width / 2, below_p, BELOW, "below: p(option | good)", "below"),
        (width / 2, above_p, ABOVE, "above: p(option | rest)", "above"),
    ):
        bars = row.ax.bar([q + offset for q in pos], p, width, color=colour, label=label,
                          transform=row.transform, gid=f"{name}-{i}")  # fmt: skip
        for bar in bars:
            row.clip(bar)
    flat = _flat([b - a for b, a in zip(s.below_llik, s.above_llik, strict=True)])
    if s.argmax_x is not None and not flat:
        top = row.hi
        (box,) = row.ax.bar([int(s.argmax_x)], [top * 0.98], 0.9, fill=False, ec=DIFF, ls="--",
                            lw=1.0, label="argmax of log-ratio below/above",
                            transform=row.transform, gid=f"argmax-{i}")  # fmt: skip
        row.clip(box)
    if s.next_value is not None:
        _mark_next(row, s.next_value, "option the next trial actually tried")
    return "no clear preference" if flat else ""


def _row_range(result: LpdfResult, s: Snapshot) -> tuple[float, float]:
    if result.options is not None:
        return 0.0, max(math.exp(v) for v in [*s.below_llik, *s.above_llik]) * 1.25
    return _ylimits(s) or (-1.0, 1.0)


def _drawn(result: LpdfResult, s: Snapshot) -> Snapshot:
    """The snapshot as drawn: per unit of log x on a log axis, relative to a uniform."""
    if result.options is not None:
        return s
    log_axis = _log_kind(result.kind)
    if log_axis:
        s = _per_log_unit(s)
    return _relative_to_uniform(result, s, log_axis)


def _draw_rows(ax: Any, result: LpdfResult) -> None:
    """Every snapshot as a band of ``ax`` (top: the first), each with its own y scale."""
    from matplotlib.collections import LineCollection
    from matplotlib.ticker import FixedFormatter, FixedLocator

    n = len(result.snapshots)
    categorical = result.options is not None
    ticks: list[tuple[float, str]] = []
    rows = []
    for i, snap in enumerate(result.snapshots):
        s = _drawn(result, snap)
        row = _Row(ax, float(n - 1 - i), *_row_range(result, s))
        draw = _draw_categorical_row if categorical else _draw_continuous_row
        note = draw(row, result, s, i)
        if snap.startup:
            row.shade("#F7F7F7")
        row.title(_row_title(snap) + (f"; {note}" if note else ""),
                  "#777777" if snap.startup else "black")  # fmt: skip
        ticks += row.ticks()
        rows.append(row)
    ax.set_ylim(0.0, n - 1 + ROW_PLOT if n else 1.0)
    ax.yaxis.set_major_locator(FixedLocator([p for p, _ in ticks]))
    ax.yaxis.set_major_formatter(FixedFormatter([t for _, t in ticks]))
    ax.tick_params(labelsize=8)
    ax.set_ylabel(
        "probability" if categorical else "log density vs uniform (each row its own scale)",
        fontsize=8,
    )
    ax.patch.set_visible(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    # Grid lines inside each row's frame only (the axes' own grid would cross the titles).
    xs = [v for v in ax.xaxis.get_majorticklocs() if _inside(ax.get_xlim(), v)]
    segments = [[(v, r.base), (v, r.base + ROW_PLOT)] for r in rows for v in xs]
    segments += [[(x0, p), (x1, p)] for p, _ in ticks for x0, x1 in [ax.get_xlim()]]
    ax.add_collection(
        LineCollection(segments, colors="#000000", alpha=0.12, lw=0.5, zorder=1), autolim=False
    )


def _inside(limits: tuple[float, float], v: float) -> bool:
    return min(limits) <= v <= max(limits)


def _short(labels: list[str], limit: int = 14) -> list[str]:
    return [lab if len(lab) <= limit else lab[: limit - 1] + "…" for lab in labels]


def _samples_array(samples: Any) -> Any:
    """The samples as an n x 3 float array: trial number, value, loss (None as NaN); the
    samples may already be that array (``for_drawing``)."""
    import numpy as np

    return np.array(samples, dtype=float).reshape(-1, 3)


def for_drawing(result: LpdfResult) -> LpdfResult:
    """The result with its samples as one float array, for a forked drawing child: reading
    200,000 (tid, value, loss) tuples would write to every one's reference count and copy
    the pages the child shares with the parent (100 MB or more at 200,000 trials)."""
    import dataclasses

    return dataclasses.replace(result, samples=_samples_array(result.samples))


def _draw_samples_panel(ax: Any, result: LpdfResult, table: Any) -> None:
    """Where every trial sampled this parameter, trial number growing downwards."""
    import numpy as np

    if not len(table):
        ax.text(0.5, 0.5, "no trial sampled this parameter", ha="center", transform=ax.transAxes)
        return
    startup = int(result.settings["n_startup_jobs"])
    tids, values, losses = table[:, 0], table[:, 1].copy(), table[:, 2]
    if result.options is not None:  # options: spread the points a little so counts show
        values += np.random.default_rng(0).uniform(-0.15, 0.15, len(values))
    colours = _rank_colours(losses)
    good = np.isfinite(losses)
    log_x = _log_kind(result.kind)
    shown = good & (values > 0) if log_x else good  # a q-rounded 0 is off a log axis
    xs, ys, cs = values[shown], tids[shown], colours[shown]
    if result.options is not None and len(xs) > DENSE:  # bands, not jittered hexagons
        points = _rank_bands(ax, ys, xs, cs, len(result.options), tid_on_y=True)
    else:
        points = _rank_points(ax, xs, ys, cs, size=14, logx=log_x, gridsize=(60, 30))
    if not good.all():
        ax.scatter(
            values[~good],
            tids[~good],
            marker="x",
            color="#888888",
            s=14,
            lw=1,
            label="failed / non-finite loss",
        )
    finite = np.sort(losses[good])
    if finite.size:
        at_best = np.flatnonzero(losses == finite[0])
        first = at_best[np.argmin(tids[at_best])]
        best_tid, best_value = int(tids[first]), float(values[first])
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
    max_tid = int(tids.max())
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
    # Its keys go in the figure's legend, under the rows (above the panel they hid its title).
    # An inset colour bar keeps this panel as wide as the rows below it.
    cax = ax.inset_axes((1.01, 0.0, 0.015, 1.0))
    colorbar = ax.figure.colorbar(points, cax=cax)
    if finite.size:
        colorbar.set_ticks([1.0, 0.5, 0.0])
        median = finite[len(finite) // 2]
        colorbar.set_ticklabels(
            [f"best {finite[0]:.4g}", f"median {median:.4g}", f"worst {finite[-1]:.4g}"],
            fontsize=7,
        )
    colorbar.set_label(
        "loss (by rank)" + (f"\n{_dense_note(len(xs))}" if len(xs) > DENSE else ""), fontsize=7
    )


def _middle(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters in the middle (file names keep both ends)."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]


def lpdf_figure(result: LpdfResult, *, file_label: str, n_trials: int) -> Any:
    """The blog post's figure done well: one row per snapshot, below/above/difference.

    Three axes whatever the number of snapshots: the samples panel (with an inset colour
    bar) and one axes holding every snapshot as a framed band with its own y scale."""
    rows = len(result.snapshots)
    top_in, panel_in, gap_in, row_in = 0.95, 2.3, 0.42, 1.45
    import numpy as np

    table = _samples_array(result.samples)
    legend_lines = 3 + (0 if np.isfinite(table[:, 2]).all() else 1)
    bottom_in = 0.6 + 0.17 * legend_lines  # x tick labels, x label, the legend
    rows_tall = (max(rows, 1) - 1 + ROW_PLOT) * row_in
    height = top_in + panel_in + gap_in + rows_tall + bottom_in
    fig = _figure(10.0, height)
    left, width = 0.08, 0.78

    def box(top: float, tall: float) -> tuple[float, float, float, float]:
        return (left, 1 - (top + tall) / height, width, tall / height)

    rows_top = top_in + panel_in + gap_in
    panel = fig.add_axes(box(top_in, panel_in))
    curves = fig.add_axes(box(rows_top, rows_tall), sharex=panel)
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
        x=0.01, y=1 - 0.12 / height, fontsize=11, ha="left", va="top",
    )  # fmt: skip
    _draw_samples_panel(panel, result, table)
    _x_axis(curves, result, table)  # after the panel: a hexbin resets the (shared) x scale
    panel.xaxis.set_visible(False)  # the x axis is labelled under the rows
    if rows:
        _draw_rows(curves, result)
    else:
        curves.set_visible(False)
    seen: dict[str, Any] = {}
    for ax in (panel, curves):
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    fig.legend(
        list(seen.values()), list(seen), loc="upper center",
        bbox_to_anchor=(0.5, (bottom_in - 0.5) / height), ncol=3, fontsize=8, frameon=False,
    )  # fmt: skip
    unit = result.param + ("  (log scale)" if _log_kind(result.kind) else "")
    curves.set_xlabel(unit)
    return fig


def _x_axis(ax: Any, result: LpdfResult, table: Any) -> None:
    """The parameter's axis, fixed before drawing: its range, scale and tick labels."""
    from matplotlib.ticker import FixedFormatter, FixedLocator

    if result.options is not None:
        k = len(result.options)
        ax.set_xlim(-0.6, k - 0.4)
        ax.xaxis.set_major_locator(FixedLocator(list(range(k))))
        ax.xaxis.set_major_formatter(FixedFormatter(_short(result.options)))
        ax.tick_params(axis="x", labelsize=8)
        return
    import numpy as np

    values = [v for s in result.snapshots for v in (s.x[0], s.x[-1]) if s.x]
    values += [s.next_value for s in result.snapshots if s.next_value is not None]
    if len(table):
        values += [float(np.nanmin(table[:, 1])), float(np.nanmax(table[:, 1]))]
        if _log_kind(result.kind) and (table[:, 1] > 0).any():
            values.append(float(table[:, 1][table[:, 1] > 0].min()))
    log = _log_kind(result.kind)
    if log:
        values = [v for v in values if v > 0]
    finite = _finite(values) or [0.0, 1.0]
    lo, hi = min(finite), max(finite)
    if log:
        ax.set_xscale("log")
        pad = (math.log(hi) - math.log(lo)) * 0.02 if hi > lo else math.log(2)
        ax.set_xlim(math.exp(math.log(lo) - pad), math.exp(math.log(hi) + pad))
        _plain_log_labels(ax.xaxis)
    else:
        pad = (hi - lo) * 0.02 if hi > lo else 0.5
        ax.set_xlim(lo - pad, hi + pad)
    ax.tick_params(axis="x", labelsize=8)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_label(v: float) -> str:
    """10⁻⁵ for a power of ten far from 1, else the plain number (0.01, 100, 2e+06)."""
    if v == 0 or not math.isfinite(v):
        return "0" if v == 0 else f"{v:g}"
    e = math.log10(abs(v))
    sign = "−" if v < 0 else ""
    if abs(e - round(e)) < 1e-9 and not -2 <= round(e) <= 3:
        return f"{sign}10{str(round(e)).translate(_SUPERSCRIPT)}"
    return f"{sign}{abs(v):g}"


def _plain_log_labels(axis: Any) -> None:
    """Plain-text tick labels on a log or symlog axis. matplotlib's own are mathtext
    ('$\\\\mathdefault{10^{-5}}$'), which printed raw since text.parse_math is off; minor
    ticks are labelled only when the axis spans less than two decades."""
    from matplotlib.ticker import Formatter

    class Labels(Formatter):
        def __init__(self, minor: bool) -> None:
            self.minor = minor

        def __call__(self, x: float, pos: Any = None) -> str:
            if not self.minor:
                return _power_label(x)
            lo, hi = sorted(abs(v) for v in self.axis.get_view_interval())
            if lo <= 0 or math.log10(hi) - math.log10(lo) >= 2 or x <= 0:
                return ""
            mantissa = x / 10 ** math.floor(math.log10(x) + 1e-9)
            return f"{x:g}" if round(mantissa, 6) in (2.0, 5.0) else ""

    axis.set_major_formatter(Labels(False))
    if axis.get_scale() == "log":
        axis.set_minor_formatter(Labels(True))
        lo, hi = sorted(abs(v) for v in axis.get_view_interval())
        if lo > 0 and math.log10(hi) - math.log10(lo) >= 4:  # decades only
            from matplotlib.ticker import NullLocator

            axis.set_minor_locator(NullLocator())


IMAGE_FORMATS = ("png", "pdf", "svg")


def save_figure(fig: Any, stream: Any, fmt: str = "png") -> None:
    _escape_texts(fig)
    _plain_log_ticks(fig)  # any log axis a plot function left in mathtext
    if fmt != "png":
        fig.savefig(stream, format=fmt)
        return
    # A PNG of at most 256 colours: a figure of flat colours and antialiased edges looks the
    # same, the file is a third of the size (the report embeds ten or more) and it encodes
    # faster than the RGBA image savefig writes.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
    palette = image.convert("RGB").quantize(
        256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    palette.save(stream, format="png")


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
    from the file) drawn as ``\\xNN``: no missing-glyph warning echoes ESC to stderr.

    The walk skips the Axis objects' ticks (``findobj`` would build every tick of every
    axis, minor ones too: that was half the cost of a figure on a log axis). Tick labels
    are made at draw time from the formatter, so fixed ones are escaped there."""
    from matplotlib.axis import Axis
    from matplotlib.text import Text
    from matplotlib.ticker import FixedFormatter

    from .escape import CONTROL, escape_controls

    def escaped(content: str) -> str:
        if not CONTROL.search(content.replace("\n", "")):
            return content
        return "\n".join(escape_controls(line) for line in content.split("\n"))

    stack: list[Any] = [fig]
    while stack:
        artist = stack.pop()
        if isinstance(artist, Axis):
            for formatter in (artist.get_major_formatter(), artist.get_minor_formatter()):
                if isinstance(formatter, FixedFormatter):
                    formatter.seq = [escaped(str(t)) for t in formatter.seq]
            stack.extend((artist.label, artist.offsetText))
            continue
        if isinstance(artist, Text):
            content = artist.get_text()
            if escaped(content) != content:  # our own line breaks stay
                artist.set_text(escaped(content))
        stack.extend(artist.get_children())


def write_many(
    jobs: Iterable[tuple[Any, ...]], draw: Any, advance: Any, count: int | None = None
) -> list[str]:
    """Run ``draw(*job)`` for each job, on every core when there are several jobs.

    Drawing dominates ``lpdf --param all`` and ``report``, and figures are independent, so
    each is drawn in a child forked once its job is computed (``forks.run_forked``: the child
    inherits the job, nothing is pickled but the result). ``jobs`` may be a generator that
    computes each job (``count`` of them at most): children draw while the parent computes
    the next one.
    """
    import multiprocessing
    import os

    if count is None:
        jobs = list(jobs)
        count = len(jobs)
    workers = min(count, os.cpu_count() or 1)
    if workers < 2 or count < 3 or "fork" not in multiprocessing.get_all_start_methods():
        out = []
        for job in jobs:
            out.append(draw(*job))
            advance()
        return out
    from .forks import run_forked

    return run_forked(jobs, draw, advance, workers, prepare=_prepare_drawing)


def _prepare_drawing() -> None:
    """What every figure needs, made once in the parent so forked children inherit it:
    matplotlib and its Agg canvas (about 0.6 s of imports), the fonts and their caches,
    PIL's PNG writer; a tiny figure drawn and saved warms them all."""
    import io

    fig = _figure(1, 1)
    ax = fig.add_subplot()
    ax.scatter([0, 1], [0, 1], c=[0, 1])
    ax.set_title("warm-up", fontsize=9)
    save_figure(fig, io.BytesIO())


# --------------------------------------------------------------------------- study plots

BEST = "#CC79A7"  # reddish purple
FAILED = "#888888"


def _loss_array(losses: Any) -> Any:
    """Losses as floats, None as NaN."""
    import numpy as np

    try:
        return np.asarray(losses, dtype=float)  # no None: numpy converts it in C
    except TypeError:
        return np.array([math.nan if x is None else x for x in losses], dtype=float)


def _rank_colours(v: Any) -> Any:
    """Colour value by loss rank (1 = best, ties share the worst rank); NaN for the rest."""
    import numpy as np

    ok = np.flatnonzero(np.isfinite(v))
    order = ok[np.argsort(v[ok], kind="stable")]
    finite = v[order]  # sorted
    colours = np.full(v.shape, math.nan)
    if finite.size:
        # Sorted queries: searchsorted walks the array once (200k unsorted ones cost 30 ms).
        rank = np.searchsorted(finite, finite, side="right") - 1
        colours[order] = 1.0 - rank / max(1, finite.size - 1)
    return colours


def _loss_colours(losses: Any) -> tuple[list[float], list[int]]:
    """Colour value by loss rank (1 = best, ties share the worst rank); indices of the rest."""
    import numpy as np

    colours = _rank_colours(_loss_array(losses))
    return colours.tolist(), np.flatnonzero(np.isnan(colours)).tolist()


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
    table = _points(info)  # tid, loss
    if len(table):
        tids, losses = table[:, 0], table[:, 1]
        if len(tids) > DENSE and not info.symlog:  # hexbin has no symlog scale
            ax.hexbin(
                tids, losses, gridsize=(90, 30), bins="log", mincnt=1, cmap="Blues", lw=0,
                rasterized=True, zorder=2,
            )  # fmt: skip
            ax.scatter([], [], marker="h", s=40, color=NEXT, label=_count_note(len(tids)))
        else:
            ax.scatter(
                tids, losses, s=14 if len(tids) <= DENSE else 3, color=NEXT, lw=0,
                label="loss of a trial", zorder=2, rasterized=len(tids) > 1000,
            )  # fmt: skip
        steps_t = [t for t, _ in info.best_so_far] + [float(tids.max())]
        steps_l = [v for _, v in info.best_so_far] + [info.best_so_far[-1][1]]
        ax.step(steps_t, steps_l, where="post", color=BEST, lw=2, label="best so far", zorder=3)
    if info.symlog:  # before reading the limits: a linear autoscale of ±1e308 overflows
        ax.set_yscale("symlog", linthresh=_linthresh(info))
        _plain_log_labels(ax.yaxis)
        _symlog_limits(ax, table[:, 1])
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
    ax.set_xlabel("trial (tid)")
    ax.set_ylabel("loss" + (" (symlog scale)" if info.symlog else ""))
    ax.set_title(info.title, loc="left", fontsize=11, y=1.0)
    ax.grid(alpha=0.25, lw=0.5)
    ax.legend(fontsize=8, loc="upper right", framealpha=0.9)
    return fig


def _points(info: Any) -> Any:
    """A figure's (n, 2) points as a float array (plotinfo makes arrays; lists work too)."""
    import numpy as np

    return np.asarray(info.points, dtype=float).reshape(-1, 2)


def _symlog_limits(ax: Any, values: Any) -> None:
    """y limits of a symlog axis with 5% margins taken on the symlog scale, kept finite:
    matplotlib's own margins overflow (and warn) for losses near ±1e308."""
    import sys

    import numpy as np

    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    if not finite.size:
        return
    lo, hi = float(finite.min()), float(finite.max())
    forward = ax.yaxis.get_transform()
    a, b = forward.transform(np.array([[lo], [hi]], dtype=float))[:, 0]
    pad = (b - a) * 0.05 or 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        new = forward.inverted().transform(np.array([[a - pad], [b + pad]]))[:, 0]
    big = sys.float_info.max
    ax.set_autoscaley_on(False)  # no pending autoscale first: its margins are what overflow
    ax.set_ylim(*(float(np.clip(np.nan_to_num(v, posinf=big, neginf=-big), -big, big))
                  for v in new))  # fmt: skip


def _linthresh(info: Any) -> float:
    import numpy as np

    values = np.abs(_points(info)[:, 1])
    values = np.sort(values[values != 0])
    return float(values[len(values) // 4]) if len(values) else 1.0


def _param_axis(ax: Any, s: Any, axis: str = "y") -> None:
    set_scale = ax.set_yscale if axis == "y" else ax.set_xscale
    if s.log:
        set_scale("log")
        _plain_log_labels(ax.yaxis if axis == "y" else ax.xaxis)
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
    import numpy as np

    low = high = math.nan
    for ax, s in zip(axes.flat, info.series, strict=False):
        loss = _loss_array(s.losses)
        colours, good = _rank_colours(loss), np.isfinite(loss)
        if good.any():
            low, high = np.nanmin([low, loss[good].min()]), np.nanmax([high, loss[good].max()])
        if info.startup:
            ax.axvspan(-0.5, info.startup - 0.5, color=STARTUP_SHADE, zorder=0)
        tids, values = np.asarray(s.tids, dtype=float), np.asarray(s.values, dtype=float)
        gt, gv, gc = tids[good], values[good], colours[good]
        if s.options is not None and len(gt) > DENSE:
            points = _rank_bands(ax, gt, gv, gc, len(s.options), tid_on_y=False)
        elif len(gt):
            points = _rank_points(ax, gt, gv, gc, size=10, logy=s.log, gridsize=(60, 20))
        ax.scatter(
            tids[~good],
            values[~good],
            marker="x",
            color=FAILED,
            s=12,
            lw=0.8,
            rasterized=int((~good).sum()) > 1000,
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
        cax = fig.add_axes((0.92, 0.2, 0.012, 0.6))
        bar = fig.colorbar(points, cax=cax)
        if math.isfinite(low):
            bar.set_ticks([1.0, 0.0])
            bar.set_ticklabels([f"best {low:.4g}", f"worst {high:.4g}"], fontsize=7)
        bar.set_label("loss (by rank); grey x: failed; shaded: start-up", fontsize=7)
        # on the bar's left, in the gap to the plots: right of the tick labels it fell
        # beyond the figure's edge
        bar.ax.yaxis.set_label_position("left")
        bar.ax.yaxis.labelpad = 2
    return fig


LABEL_ALL = 150  # up to this many trials, every point carries its trial number
LABEL_BEST = 10  # past it: the best few trials ...
LABEL_IMPROVEMENTS = 25  # ... and the latest improvements of the best so far


def _labelled_tids(tids: list[int], losses: list[float | None]) -> list[int]:
    """Which points get their trial number: all of a small study, a bounded set otherwise."""
    if len(tids) <= LABEL_ALL:
        return list(tids)
    import numpy as np

    t, v = np.asarray(tids), _loss_array(losses)
    ok = np.isfinite(v)
    best = t[ok][np.lexsort((t[ok], v[ok]))[:LABEL_BEST]]  # by loss, then tid
    order = np.argsort(t, kind="stable")
    by_tid, in_order = np.where(ok, v, math.inf)[order], t[order]
    before = np.concatenate([[math.inf], np.minimum.accumulate(by_tid)[:-1]])
    improvements = in_order[ok[order] & (by_tid < before)]  # a new best so far
    latest = improvements[::-1][:LABEL_IMPROVEMENTS]
    return list(dict.fromkeys([*best.tolist(), *latest.tolist()]))  # best first, then latest


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
    import numpy as np

    rank = np.asarray(colours)
    good = [i for i in np.argsort(rank, kind="stable").tolist() if i not in bad]
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
    best_shown = info.best_tid is not None and info.best_tid in xv and info.best_tid in by_tid_y
    if best_shown:
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
        info.title
        + ("; grey lines: loss contours" if info.contour else "")
        + (
            f"; the best trial ({info.best_tid}) sets neither or only one of these"
            if info.best_tid is not None and not best_shown
            else ""
        ),
        loc="left",
        fontsize=10,
        y=1.0,
    )
    if ax.get_legend_handles_labels()[0]:
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
            a = _lattice_counts(values, panel.startup_values)
            b = _lattice_counts(values, panel.tpe_values)
            width = 0.8 * step
            _bars(ax, values, a, width, color="#BBBBBB", label="start-up")
            _bars(ax, values, b, width, bottom=a, color=NEXT, label="after start-up")
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
                _plain_log_labels(ax.xaxis)
        elif s.options is not None:
            k = len(s.options)
            a = np.bincount(np.asarray(panel.startup_values, int), minlength=k)[:k]
            b = np.bincount(np.asarray(panel.tpe_values, int), minlength=k)[:k]
            _bars(ax, range(k), a, 0.8, color="#BBBBBB", label="start-up")
            _bars(ax, range(k), b, 0.8, bottom=a, color=NEXT, label="after start-up")
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
            # Two filled outlines (one patch each), not a Rectangle per bin and series.
            a = np.histogram(np.asarray(panel.startup_values, dtype=float), bins=edges)[0]
            b = np.histogram(np.asarray(panel.tpe_values, dtype=float), bins=edges)[0]
            ax.stairs(a, edges, fill=True, color="#BBBBBB", label="start-up")
            ax.stairs(a + b, edges, baseline=a, fill=True, color=NEXT, label="after start-up")
            widths = np.log(edges[1:]) - np.log(edges[:-1]) if s.log else np.diff(edges)
            px = np.asarray(panel.prior_x)
            pd = np.asarray(panel.prior_density) * total * float(widths.mean())
            ax.plot(px, pd, "k--", lw=1.2, label="random search")
            if s.log:
                ax.set_xscale("log")
                _plain_log_labels(ax.xaxis)
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


def _bars(ax: Any, xs: Any, heights: Any, width: float, bottom: Any = None, **kw: Any) -> Any:
    """Bars as one PolyCollection (``ax.bar`` makes a Rectangle artist per bar: most of
    a histogram figure's cost when a lattice has a hundred values)."""
    from matplotlib.collections import PolyCollection

    xs, heights = list(xs), list(heights)
    bases = [0.0] * len(xs) if bottom is None else list(bottom)
    half = width / 2
    verts = [
        [(x - half, y0), (x - half, y0 + h), (x + half, y0 + h), (x + half, y0)]
        for x, h, y0 in zip(xs, heights, bases, strict=True)
    ]
    bars = PolyCollection(verts, lw=0, **kw)
    bars.sticky_edges.y.append(0.0)  # bars stand on 0: no margin below it, as ax.bar
    ax.add_collection(bars)
    return bars


def _lattice_counts(values: list[float], samples: list[float]) -> Any:
    """How many samples fall on each of the (sorted) lattice values, each at its nearest
    (the lower one on a tie)."""
    import numpy as np

    lattice, x = np.asarray(values, dtype=float), np.asarray(samples, dtype=float)
    if not len(x):
        return np.zeros(len(lattice))
    right = np.clip(np.searchsorted(lattice, x), 1, max(1, len(lattice) - 1))
    left = right - 1
    if len(lattice) == 1:
        nearest = np.zeros(len(x), dtype=int)
    else:
        nearest = np.where(np.abs(x - lattice[left]) <= np.abs(x - lattice[right]), left, right)
    return np.bincount(nearest, minlength=len(lattice)).astype(float)


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
    # A loss that was never negative (an error, a squared distance) has a floor at 0: the
    # tail model, which knows no floor, is drawn cut there and the legend says so.
    losses = _points(info)[:, 1]
    zero = 0.0 if len(losses) and losses.min() >= 0 else -math.inf
    band_low = [max(v, zero) for v in info.band_low]
    band_high = [max(v, zero) for v in info.band_high]
    band_mid = [max(v, zero) for v in info.band_mid]
    cut = any(v < zero for v in info.band_low)
    if any(math.isfinite(v) for v in band_mid):
        floor = info.startup_lowest if info.startup_lowest is not None else -math.inf
        data_low = [max(v, floor) for v in band_low]
        data_high = [max(v, floor) for v in band_high]
        ax.fill_between(
            ns, data_low, data_high, color=NEXT, alpha=0.18, lw=0, step="post",
            label="random search's best so far: 5-95%", zorder=1,
        )  # fmt: skip
        ax.fill_between(  # below the lowest start-up loss: the tail model, not data
            ns, [min(v, floor) for v in band_low], [min(v, floor) for v in band_high],
            facecolor="none", edgecolor=NEXT, alpha=0.35, hatch="///", lw=0, step="post",
            label="the same, below the lowest start-up loss: tail model"
            + (", cut at 0 (no loss was negative)" if cut else ""), zorder=1,
        )  # fmt: skip
        ax.step(
            ns, band_mid, where="post", color=NEXT, ls="--", lw=1.3, zorder=2,
            label="random search's best so far: median",
        )  # fmt: skip
    median = info.startup_median
    if len(info.points):
        import numpy as np

        table = _points(info)
        xs, ys = table[:, 0], table[:, 1]
        beat = (xs > info.startup) & (ys < median) if median is not None else xs < 0
        # Past DENSE points the cloud is a sample of them (Agg draws every marker, and
        # 200k overplot anyway), as dense along the log axis as at its start; the
        # best-so-far line is still drawn from every trial.
        shown = _thinned(xs) if len(xs) > DENSE else np.arange(len(xs))
        sample = (
            f" ({len(shown):,} of {len(xs):,}, thinned evenly along the axis)"
            if len(shown) < len(xs)
            else ""
        )
        rest, good = shown[~beat[shown]], shown[beat[shown]]
        ax.scatter(
            xs[rest], ys[rest], s=10, color=FAILED, alpha=0.5, lw=0, zorder=2,
            label="a trial's loss" + sample, rasterized=len(rest) > 1000,
        )  # fmt: skip
        ax.scatter(
            xs[good], ys[good], s=12, color=BELOW, alpha=0.8, lw=0, zorder=2,
            label="after start-up, below the start-up median", rasterized=len(good) > 1000,
        )  # fmt: skip
        steps_n = [n for n, _ in info.best_so_far] + [max(xs.max(), ns[-1] if ns else 0)]
        steps_v = [v for _, v in info.best_so_far] + [info.best_so_far[-1][1]]
        ax.step(steps_n, steps_v, where="post", color=BEST, lw=2.2, zorder=4,
                label="this study's best so far")  # fmt: skip
        if median is not None and info.startup < xs.max():
            ax.hlines(
                median, info.startup + 0.5, xs.max(), colors="black", linestyles=":", lw=1.1,
                zorder=3, label=f"start-up median {median:.4g}",
            )  # fmt: skip
        if info.startup_lowest is not None:
            ax.axhline(
                info.startup_lowest, color="#555555", ls="-.", lw=0.9, zorder=3,
                label=f"lowest start-up loss {info.startup_lowest:.4g}",
            )  # fmt: skip
        finite_band = [v for v in band_low if math.isfinite(v)]
        bottom = min([float(ys.min()), *finite_band])
        ordered = np.sort(ys)
        top = max(ordered[int(0.9 * (len(ordered) - 1))], median if median is not None else bottom)
        if info.symlog:  # margins on the symlog scale (a linear span of ±1e308 overflows)
            ax.set_yscale("symlog", linthresh=_linthresh(info))
            _plain_log_labels(ax.yaxis)
            _symlog_limits(ax, [*ys.tolist(), *finite_band])
        else:
            span = (top - bottom) or 1.0
            ax.set_ylim(bottom - 0.05 * span, top + 0.08 * span)
    elif info.symlog:
        ax.set_yscale("symlog", linthresh=_linthresh(info))
        _plain_log_labels(ax.yaxis)
    if len(info.points) > 400:
        ax.set_xscale("log")
        _plain_log_labels(ax.xaxis)
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


def _thinned(ns: Any, target: int = DENSE) -> Any:
    """Indices of about ``target`` of the trials numbered ``ns``: trial n kept with
    probability min(1, c / n), so as many per decade of a log axis (fixed seed)."""
    import numpy as np

    n = np.maximum(np.asarray(ns, dtype=float), 1.0)
    lo, hi = 0.0, float(target)
    for _ in range(50):  # c: the expected number kept, sum(min(1, c / n)), is target
        c = (lo + hi) / 2
        lo, hi = (c, hi) if np.minimum(1.0, c / n).sum() < target else (lo, c)
    # Not seed 0: the benchmark studies draw their values from default_rng(0) too.
    keep = np.random.default_rng(18).random(len(n)) < np.minimum(1.0, hi / n)
    return np.flatnonzero(keep)


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
