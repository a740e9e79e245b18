"""``export --format optuna``'s report: what was written and what could not be carried over."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from ..export_optuna import ExportResult
from .terminal import safe


def render_export(result: ExportResult) -> RenderableType:
    states = ", ".join(f"{n} {s}" for s, n in result.states.items())
    verb = "replaced" if result.replaced else "wrote"
    lines: list[RenderableType] = [
        Text(
            f"{verb} Optuna study {safe(result.study_name)!r} in {safe(result.path)}:"
            f" {result.n_trials} trials ({states or 'none'}), direction minimize",
            style="green",
        )
    ]
    for label, dist in result.distributions.items():
        lines.append(Text(f"  {safe(label, 60)}: {safe(dist, 300)}"))
    for warning in result.warnings:
        lines.append(Text(f"warning: {safe(warning, 400)}", style="yellow"))
    lines.append(
        Text(
            f"open it with optuna.load_study(study_name={result.study_name!r},"
            f" storage='sqlite:///{result.path}')"
        )
    )
    return Group(*lines)
