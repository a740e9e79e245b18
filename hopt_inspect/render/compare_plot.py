"""``compare``'s figure: both studies' best-so-far curves on one axis of trial numbers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..compare import Comparison

COLOURS = {"A": "#0072B2", "B": "#D55E00"}  # Okabe-Ito blue and vermillion


def _short(path: str, limit: int = 40) -> str:
    name = Path(path).name or path
    name = name if len(name) <= limit else name[: limit - 1] + "…"
    return name.replace("$", r"\$")  # a file name is text, not mathtext


def compare_figure(result: Comparison) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.0, 4.8), dpi=110)
    ax = fig.subplots()
    fig.subplots_adjust(left=0.09, right=0.97, top=0.82, bottom=0.12)
    values: list[float] = []
    for s in (result.a, result.b):
        colour = COLOURS[s.name]
        if s.losses:
            xs, ys = zip(*s.losses, strict=True)
            ax.scatter(xs, ys, s=10, color=colour, alpha=0.25, lw=0, zorder=2)
            values += list(ys)
        if s.best_so_far:
            last = max(s.n_trials - 1, s.best_so_far[-1][0])
            steps_x = [x for x, _ in s.best_so_far] + [last]
            steps_y = [y for _, y in s.best_so_far] + [s.best_so_far[-1][1]]
            ax.step(
                steps_x, steps_y, where="post", color=colour, lw=2, zorder=3,
                label=f"{s.name}: {_short(s.path)} (best {steps_y[-1]:.4g})",
            )  # fmt: skip
        startup = s.settings["startup"]
        if 0 < startup < s.n_trials:
            label = (
                f"{s.name}: first {startup} left out (random search)"
                if s.settings.get("sampler_detected") == "random"
                else f"{s.name}: end of start-up ({startup},"
                f" {s.settings['startup_source'].split(';')[0]})"
            )
            ax.axvline(
                startup - 0.5, color=colour, ls="--", lw=1, alpha=0.7, zorder=1, label=label,
            )  # fmt: skip
    finite = sorted(v for v in values if math.isfinite(v))
    if finite:
        log = finite[0] > 0 and finite[-1] / finite[0] > 100
        # the best-so-far curves are what matters: the axis stops at the losses' q75
        top = finite[min(len(finite) - 1, (3 * len(finite)) // 4)]
        low = finite[0]
        if log:
            ax.set_yscale("log")
            span = math.log10(top / low) if top > low else 1.0
            ax.set_ylim(low / 10 ** (0.05 * span), top * 10 ** (0.05 * span))
        else:
            pad = 0.05 * (top - low) if top > low else max(abs(low), 1.0) * 0.05
            ax.set_ylim(low - pad, top + pad)
        ax.set_ylabel("loss" + (" (log scale)" if log else "") + ", up to the q75 of all losses")
    else:
        ax.set_ylabel("loss")
    ax.set_xlabel("trial number (position in the study)")
    title = "best loss so far (lines) and every trial's loss (dots)"
    ax.set_title(title, loc="left", fontsize=11)
    fig.text(0.09, 0.985, _verdict_title(result), fontsize=9, ha="left", va="top")
    ax.grid(alpha=0.25, lw=0.5)
    ax.legend(fontsize=8, loc="center right", framealpha=0.9)
    return fig


def _verdict_title(result: Comparison) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(result.verdict_text, 140)[:3])


def write_compare_figure(result: Comparison, target: Path) -> str:
    from .files import atomic_write

    fig = compare_figure(result)
    fmt = target.suffix.lstrip(".").lower()
    fmt = fmt if fmt in ("png", "pdf", "svg") else "png"
    atomic_write(target, lambda f: fig.savefig(f, format=fmt))
    return str(target)
