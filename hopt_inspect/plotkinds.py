"""The one registry of plot kinds, used by ``plot``, ``report`` and ``--help``.

A kind is a row here: its name, a caption, a one-line help, and an ``info`` function of
(session, options) that returns the picture's data (``plotinfo``), or raises ``NotApplicable``
when the study cannot have that picture. Its drawing is ``render.plots.<name>_figure(info)``.
Adding a kind: one info function, one draw function, one row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import InputError

if TYPE_CHECKING:
    from .session import Session


class NotApplicable(Exception):
    """This study cannot have this picture (the message says why)."""


@dataclass(frozen=True)
class PlotOptions:
    x: str | None = None
    y: str | None = None
    objective: str | None = None  # FILE.py:FN: imports and runs that file (explicit opt-in)


@dataclass(frozen=True)
class PlotKind:
    name: str
    help: str  # for --help and the README
    caption: str  # under the figure in the report
    info: Callable[[Session, PlotOptions], Any]


def _history(session: Session, opts: PlotOptions) -> Any:
    from .plotinfo import history_info

    return history_info(session.study, session.settings)


def shown_space(session: Session) -> tuple[Any, str | None]:
    """The parameters per-parameter figures show (at most 16, most important first) and a
    note when some were left out; computed once per session."""
    cached = session.__dict__.get("_shown_space")
    if cached is None:
        from .plotinfo import importance_info
        from .render.report import shown_parameters

        space = session.space
        importance = importance_info(session.study, space) if len(space.labels) > 16 else None
        cached = session.__dict__["_shown_space"] = shown_parameters(space, importance)
    return cached


def _shown_or_none(session: Session, kind: str) -> Any:
    """The parameters a per-parameter figure shows; NotApplicable when there are none
    (trial documents without ``misc.vals``: a grid of 0 rows was an internal error)."""
    space = shown_space(session)[0]
    if not space.labels:
        raise NotApplicable(f"{kind} needs a study with at least one parameter")
    return space


def _params(session: Session, opts: PlotOptions) -> Any:
    from .plotinfo import params_info

    return params_info(session.study, _shown_or_none(session, "params"), session.settings)


def _scatter(session: Session, opts: PlotOptions) -> Any:
    from . import plotinfo

    space = session.space
    if len(space.labels) < 2:
        raise NotApplicable("scatter needs a study with two parameters or more")
    px, py = opts.x, opts.y
    if px is None or py is None:
        first, second = plotinfo.most_important_pair(session.study, space)
        px, py = (
            px or (second if py == first else first),
            py or (first if (px or first) == second else second),
        )
    for label in (px, py):
        if label not in space.params:
            raise InputError(
                f"--x/--y {label}: no such parameter; the study has {', '.join(space.labels)}"
            )
    fn = None
    if opts.objective:
        from .resolve import python_object

        fn = python_object(opts.objective, option="--objective")
        if not callable(fn):
            raise InputError(f"--objective {opts.objective}: not a function")
    return plotinfo.scatter_info(session.study, space, px, py, objective=fn)


def _hist(session: Session, opts: PlotOptions) -> Any:
    from .plotinfo import hist_info

    return hist_info(session.study, _shown_or_none(session, "hist"), session.settings)


def _importance(session: Session, opts: PlotOptions) -> Any:
    from .plotinfo import importance_info

    return importance_info(session.study, session.space)


def _efficiency(session: Session, opts: PlotOptions) -> Any:
    """With the start-up and sampler that ``check`` and ``summary`` detect: the figure's
    verdict is the one beside it in the report (it assumed TPE with 20 start-up trials)."""
    from .plotinfo import efficiency_info
    from .sampler import detect_sampler

    guess = detect_sampler(
        session.study,
        session.space,
        session.settings,
        algo=session.algo if session.algo_source != "default" else None,
        n_startup_jobs=session.given_startup,
    )
    return efficiency_info(
        session.study,
        session.settings,
        n_startup=guess.n_startup if guess.kind == "tpe" else None,
        sampler_kind="random" if guess.kind == "random" else None,
    )


KINDS: dict[str, PlotKind] = {
    k.name: k
    for k in (
        PlotKind(
            "history",
            "loss per trial and the best so far",
            "Loss per trial; the line is the best so far; the shaded start-up is where TPE"
            " draws at random.",
            _history,
        ),
        PlotKind(
            "params",
            "each parameter's value per trial",
            "Each parameter's value per trial, coloured by loss rank: how sampling moved.",
            _params,
        ),
        PlotKind(
            "scatter",
            "two parameters against each other (--x, --y)",
            "The two most important parameters; up to 150 trials every trial is labelled with"
            " its number, past that the 10 best and the latest improvements.",
            _scatter,
        ),
        PlotKind(
            "hist",
            "sampled values against the prior",
            "Sampled values, start-up and TPE phase stacked, against what random search would"
            " draw: edge-hugging and clumping show as bars far above the dashed line.",
            _hist,
        ),
        PlotKind(
            "importance",
            "PED-ANOVA parameter importance",
            "PED-ANOVA (Watanabe et al., IJCAI 2023): how different the top 10% of"
            " trials look from all trials, per parameter.",
            _importance,
        ),
        PlotKind(
            "efficiency",
            "is TPE working? best so far against random search's band",
            "Is TPE working? The study's best so far against the band random search would"
            " reach (median and 5-95%, from the start-up's own losses and a generalized Pareto"
            " lower tail beyond them: hatched, and biased low); green: trials after the"
            " start-up that beat the start-up median.",
            _efficiency,
        ),
    )
}


def kinds_help() -> str:
    return ", ".join(KINDS) + ", or all (comma-separate several)"


def parse_kinds(text: str) -> list[str]:
    """``all`` or a comma-separated list of kind names, checked."""
    if text.strip() == "all":
        return list(KINDS)
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        bad = unknown[0] if unknown else text
        raise InputError(f"--kind {bad}: use {', '.join(KINDS)} or all")
    return list(dict.fromkeys(kinds))


def infos(
    session: Session, kinds: list[str], opts: PlotOptions, *, strict: bool
) -> list[tuple[str, Any]]:
    """(kind, info) for each kind; kinds that don't apply are dropped, or an error when
    ``strict`` (the user named that kind)."""
    out = []
    for name in kinds:
        try:
            out.append((name, KINDS[name].info(session, opts)))
        except NotApplicable as exc:
            if strict:
                raise InputError(str(exc)) from exc
    return out
