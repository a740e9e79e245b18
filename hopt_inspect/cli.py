"""The command line: parse options, open a session, call the analysis, render.

Each command is ``@command(...)``: the options every command shares (the study, its space,
TPE settings, config, debug, and the output vocabulary ``--format``/``--json``) are declared
once here and arrive as one ``Inputs`` value (see ``session.py``) plus the chosen format.

Exit codes: 0 done, 1 findings at or above ``--fail-on`` (check), 2 a bad input or usage,
3 an internal error (a bug: please report it), 130 interrupted.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from . import __version__
from .errors import InputError
from .session import Inputs, split_codes

EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 1, 2, 3, 130

# Short value names for the help: typer would print "<bool>" beside every flag and
# "<int range> [x>=1]" beside numbers, which squeezes the descriptions at 80 columns.
_METAVARS = {
    "--trust": "", "--strict": "", "--debug": "", "--json": "", "--version": "",
    "--run-space": "", "--top": "K", "--space": "SPACE", "--at": "N,N,..", "--every": "K",
    "--grid": "N", "--output": "PATH", "--gamma": "G", "--prior-weight": "W",
    "--n-startup-jobs": "N", "--lf": "N", "--select": "CODES", "--ignore": "CODES",
    "--fail-on": "LEVEL", "--format": "FMT", "--config": "FILE", "--x": "PARAM",
    "--y": "PARAM", "--objective": "FILE.py:FN", "--kind": "KIND", "--max-memory": "SIZE",
    "--study": "KEY", "--param": "NAME", "--algo": "ALGO", "--interval": "SECONDS",
    "--once": "", "--max-evals": "N", "--until-trials": "N", "--storage": "URL",
    "--space-a": "SPACE", "--space-b": "SPACE", "--n-startup-jobs-a": "N",
    "--n-startup-jobs-b": "N", "--study-a": "KEY", "--study-b": "KEY", "--study-name": "NAME",
    "--overwrite": "",
}  # fmt: skip


def _option(*decls: str, **kwargs: Any) -> Any:
    """typer.Option with a short metavar (see _METAVARS)."""
    name = next((d for d in decls if d.startswith("--")), None)
    if name is not None and "metavar" not in kwargs:
        kwargs["metavar"] = _METAVARS.get(name)
    if "help" in kwargs:  # typer reads help as rich markup: "[default: x]" must stay text
        kwargs["help"] = kwargs["help"].replace("[", "\\[")
    return typer.Option(*decls, **kwargs)


class _HelpFlagMixin:
    """typer 0.29 shows the help flag as `--help -h <bool>`: a flag takes no value."""

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option


class _Command(_HelpFlagMixin, typer.core.TyperCommand):
    pass


class _Group(_HelpFlagMixin, typer.core.TyperGroup):
    pass


app = typer.Typer(
    cls=_Group,
    name="hopt-inspect",
    help=(
        "Diagnose hyperopt studies: what happened, whether TPE is working, and why.\n\n"
        "Point it at a pickled hyperopt Trials file (default ./hyperopt.p). Files are"
        " loaded safely: nothing in them runs unless you pass --trust."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

FileArg = Annotated[
    Path,
    typer.Argument(
        help="A pickled hyperopt Trials (any protocol; gzip/bz2/xz ok; fmin's"
        " trials_save_file), a Ray Tune checkpoint, a JSON or BSON export of MongoTrials jobs,"
        " or an Optuna SQLite storage (sqlite:///PATH.db).",
        show_default=True,
    ),
]
DEFAULT_FILE = Path("hyperopt.p")

# ----------------------------------------------------------------- the shared options
# name → (annotation, default). Every command gets all of them, in this order, after its own.
_INPUT_PANEL = "Study and space"
_TPE_PANEL = "TPE settings (default: config, then the file, then hyperopt's)"
_SHARED: dict[str, tuple[Any, Any]] = {
    "space": (
        Annotated[
            str | None,
            _option(
                "--space",
                help="The search space: your tuning script FILE.py (the space passed to fmin)"
                " or FILE.py:NAME / package.module:NAME, READ WITHOUT RUNNING IT; a TOML spec"
                " (space.toml); or a pickled hp space. Default: [tool.hopt-inspect] space,"
                " else a space stored in the file, else one inferred from the observed values"
                " (hopt-inspect space shows it).",
                show_default=False,
                rich_help_panel=_INPUT_PANEL,
            ),
        ],
        None,
    ),
    "run_space": (
        Annotated[
            bool,
            _option(
                "--run-space",
                help="Import the --space script instead of reading it: RUNS ITS MODULE-LEVEL"
                " CODE (a script that calls fmin at import re-runs the study). Only when the"
                " static reader cannot evaluate the space; never from a config.",
                rich_help_panel=_INPUT_PANEL,
            ),
        ],
        False,
    ),
    "study": (
        Annotated[
            str | None,
            _option(
                "--study",
                help="Which study, when the file holds several: an Optuna study name, or a"
                " key of a dict (or index of a list) of Trials; a/b for nested ones.",
                rich_help_panel=_INPUT_PANEL,
            ),
        ],
        None,
    ),
    "trust": (
        Annotated[
            bool,
            _option(
                "--trust",
                help="Load with plain pickle. RUNS CODE FROM THE FILE: only for files you made.",
                rich_help_panel=_INPUT_PANEL,
            ),
        ],
        False,
    ),
    "strict": (
        Annotated[
            bool,
            _option(
                "--strict",
                help="Refuse files that name any class outside the allow-list, instead of"
                " loading such objects as inert placeholders.",
                rich_help_panel=_INPUT_PANEL,
            ),
        ],
        False,
    ),
    "max_memory": (
        Annotated[
            str | None,
            _option(
                "--max-memory",
                help="Refuse files whose unpickling needs more memory than this, e.g. 2G or"
                " 500M. [default: 64 x the file size, at least 256M]",
                show_default=False,
                rich_help_panel=_INPUT_PANEL,
            ),
        ],
        None,
    ),
    "config": (
        Annotated[
            Path | None,
            _option(
                "--config",
                help="A TOML file with [tool.hopt-inspect]; default: the nearest pyproject.toml.",
                rich_help_panel=_INPUT_PANEL,
            ),
        ],
        None,
    ),
    "algo": (
        Annotated[
            str | None,
            _option(
                "--algo",
                help="How the study was run: tpe or rand. Default: detected from the trials.",
                show_default=False,
                rich_help_panel=_TPE_PANEL,
            ),
        ],
        None,
    ),
    "n_startup_jobs": (
        Annotated[
            int | None,
            _option(
                "--n-startup-jobs",
                min=0,
                help="TPE's n_startup_jobs. [default: 20; Optuna studies 10]",
                show_default=False,
                rich_help_panel=_TPE_PANEL,
            ),
        ],
        None,
    ),
    "gamma": (
        Annotated[
            float | None,
            _option(
                "--gamma",
                min=0.001,
                max=1.0,
                help="TPE's gamma (0 to 1). [default: 0.25]",
                show_default=False,
                rich_help_panel=_TPE_PANEL,
            ),
        ],
        None,
    ),
    "prior_weight": (
        Annotated[
            float | None,
            _option(
                "--prior-weight",
                min=1e-9,
                help="TPE's prior_weight (> 0). [default: 1.0]",
                show_default=False,
                rich_help_panel=_TPE_PANEL,
            ),
        ],
        None,
    ),
    "debug": (
        Annotated[
            bool,
            _option("--debug", help="Show the full traceback when something goes wrong."),
        ],
        False,
    ),
}
_INPUT_NAMES = (
    "space", "run_space", "study", "trust", "strict", "max_memory", "config", "algo",
    "n_startup_jobs", "gamma", "prior_weight",
)  # fmt: skip

RunSpaceOpt = Annotated[
    bool,
    _option(
        "--run-space",
        help="Import the --space script instead of reading it: RUNS ITS MODULE-LEVEL CODE"
        " (a script that calls fmin at import re-runs the study). Only when the static"
        " reader cannot evaluate the space.",
    ),
]


class _Interrupted(Exception):
    """Ctrl-C inside a command (carried past typer, which would swallow it)."""


class _State:
    debug = os.environ.get("HOPT_INSPECT_DEBUG") == "1"


def _format_options(
    formats: Sequence[str], default: str, alias: str = "json"
) -> dict[str, tuple[Any, Any]]:
    if default == "auto":  # watch: the first on a terminal, else the second
        default = f"{formats[0]} on a terminal, else {formats[1]}"
    return {
        "output_format": (
            Annotated[
                str | None,
                _option(
                    "--format",
                    help=f"{', '.join(formats)}. [default: {default}]",
                    show_default=False,
                ),
            ],
            None,
        ),
        "json_out": (
            Annotated[bool, _option("--json", help=f"Same as --format {alias}.")],
            False,
        ),
    }


def _alternatives(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _chosen_format(
    given: str | None, json_out: bool, formats: Sequence[str], default: str, alias: str = "json"
) -> str:
    if json_out and given is not None and given != alias:
        raise InputError(f"--json and --format {given} disagree: use one of them")
    if given is None and not json_out:
        return default
    fmt = alias if json_out else given
    if fmt not in formats:
        raise InputError(f"--format {fmt}: use {_alternatives(formats)}")
    return fmt


def command(
    name: str | None = None,
    *,
    formats: Sequence[str] = ("text", "json"),
    default_format: str | None = None,
    json_alias: str = "json",
    study_options: bool = True,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a command whose shared options arrive as ``inputs: Inputs`` and ``fmt``.

    The function declares only its own options (and ``inputs``/``fmt`` if it wants them);
    the shared ones are appended to its signature for typer, parsed, and folded into one
    ``Inputs`` value here, so every command speaks the same vocabulary.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn, eval_str=True)
        own = [p for p in sig.parameters.values() if p.name not in ("inputs", "fmt")]
        shared = dict(_SHARED) if study_options else {"debug": _SHARED["debug"]}
        default = default_format or formats[0]
        if formats:
            shared.update(_format_options(formats, default, json_alias))
        extra = [
            inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a)
            for n, (a, d) in shared.items()
        ]
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]

        def wrapper(**kwargs: Any) -> Any:
            if kwargs.pop("debug", False):
                _State.debug = True
            fmt = None
            if formats:
                fmt = _chosen_format(
                    kwargs.pop("output_format"),
                    kwargs.pop("json_out"),
                    formats,
                    default,
                    json_alias,
                )
            values = {k: kwargs.pop(k) for k in _INPUT_NAMES if k in kwargs}
            call: dict[str, Any] = dict(kwargs)
            if "inputs" in sig.parameters:
                call["inputs"] = Inputs(
                    file=kwargs.get("file", DEFAULT_FILE),
                    select=split_codes(kwargs.get("select")),
                    ignore=split_codes(kwargs.get("ignore")),
                    fail_on=kwargs.get("fail_on"),
                    lf=kwargs.get("lf"),
                    **values,
                )
            if "fmt" in sig.parameters:
                call["fmt"] = fmt
            try:
                return fn(**call)
            except KeyboardInterrupt as exc:  # typer would turn it into a silent exit 130
                raise _Interrupted from exc

        wrapper.__signature__ = sig.replace(parameters=[*own, *extra])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *extra]}
        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        app.command(name or fn.__name__.rstrip("_"), cls=_Command)(wrapper)
        return fn

    return decorate


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"hopt-inspect {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        _option("--version", callback=_version_callback, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Diagnose hyperopt studies."""


# ----------------------------------------------------------------- output helpers


def _console(stderr: bool = False) -> Any:  # rich is imported only by commands that print
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def _width() -> int:
    """The terminal's width (COLUMNS wins); 80 when unknown."""
    return max(_console().width, 40)


def _emit(renderable: Any) -> None:
    """Print once. Piped or redirected output gets no colour and no trailing padding."""
    console = _console()
    if console.is_terminal:
        console.print(renderable)
        return
    import io

    from rich.console import Console

    buffer = io.StringIO()
    Console(file=buffer, width=console.width, highlight=False, no_color=True).print(renderable)
    sys.stdout.write("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n")


def _write_text(output: Path | None, text: str) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        from .render.files import atomic_write_text

        atomic_write_text(output, text)


def _json(doc: Any) -> str:
    from .render.jsonout import dumps

    return dumps(doc) + "\n"


def _warn_run_space(inputs: Inputs) -> None:
    if inputs.run_space:
        sys.stderr.write(
            "hopt-inspect: --run-space imports the --space script: its module-level code runs\n"
        )


def _open(inputs: Inputs, planned: Any = None, *, compact: bool = True) -> Any:
    """Load the study (with a spinner for big files on a terminal) into a Session.

    ``compact=False`` for commands whose peak memory is the load's (summary, check): they
    skip rebuilding the trials in memory of their own (``loading/compact.py``).
    """
    from .session import open_session

    _warn_run_space(inputs)
    path = Path(inputs.file)
    big = path.is_file() and path.stat().st_size > 20_000_000
    console = _console(stderr=True)
    if big and console.is_terminal:
        with console.status(f"loading {path.name} ({path.stat().st_size / 1e6:.0f} MB)"):
            return open_session(inputs, freeze=True, planned=planned, compact=compact)
    return open_session(inputs, freeze=True, planned=planned, compact=compact)


class _progress:
    """A progress bar on stderr for long work; silent when stderr is not a terminal."""

    def __init__(self, total: int, what: str = "drawing") -> None:
        self.total = total
        self.what = what
        self.bar: Any = None

    def __enter__(self) -> Callable[[], None]:
        console = _console(stderr=True)
        if self.total > 1 and console.is_terminal:
            from rich.progress import Progress

            self.bar = Progress(console=console, transient=True)
            self.bar.start()
            task = self.bar.add_task(self.what, total=self.total)
            return lambda: self.bar.advance(task)
        return lambda: None

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


# ----------------------------------------------------------------- commands


@command(formats=("text", "json"))
def summary(
    file: FileArg = DEFAULT_FILE,
    top: Annotated[int, _option("--top", "-k", min=0, help="How many best trials to list.")] = 10,
    *,
    inputs: Inputs,
    fmt: str,
) -> None:
    """What happened in a study: counts, the best trial, sorted losses, time, failures."""
    from .loading import SeveralStudiesError

    try:
        session = _open(inputs, compact=False)
    except SeveralStudiesError as exc:  # a dict or list of studies: list them
        _emit_study_list(exc, fmt == "json")
        return
    result = session.summary(top)
    if fmt == "json":
        sys.stdout.write(_json(result))
        return
    from .render.terminal import render_summary

    _emit(render_summary(result, width=_width()))


def _emit_study_list(exc, json_out: bool) -> None:
    from .summary import list_studies

    listing = list_studies(exc.path, exc.container, exc.studies())
    if json_out:
        sys.stdout.write(_json(listing))
        return
    from .render.terminal import render_study_list

    _emit(render_study_list(listing))


OutputFile = Annotated[
    Path | None, _option("--output", "-o", help="Write to this file instead of stdout.")
]


@command(formats=("text", "json", "github", "junit"))
def check(
    file: FileArg = DEFAULT_FILE,
    select: Annotated[
        str | None,
        _option("--select", help="Only these checks: codes, prefixes or names, e.g. S,T003."),
    ] = None,
    ignore: Annotated[
        str | None, _option("--ignore", help="Skip these checks: codes, prefixes or names.")
    ] = None,
    fail_on: Annotated[
        str | None,
        _option(
            "--fail-on",
            help="Exit 1 when a finding is at or above this severity: info, warning, error."
            " [default: warning]",
            show_default=False,
        ),
    ] = None,
    output: OutputFile = None,
    *,
    inputs: Inputs,
    fmt: str,
) -> None:
    """Study-health findings with evidence; exit 1 when any is at or above --fail-on."""
    from .outputs import check_file, check_not_input
    from .session import plan

    planned = plan(inputs)
    if output is not None:
        check_file(output)
        check_not_input(output, (inputs.file, inputs.space or planned.config.space))
    session = _open(inputs, planned, compact=False)
    report = session.checks()
    if fmt == "text":
        from .render.terminal import render_check

        if output is None:
            _emit(render_check(report))
        else:
            import io

            from rich.console import Console

            buffer = io.StringIO()
            Console(file=buffer, width=100, no_color=True).print(render_check(report))
            _write_text(output, buffer.getvalue())
    elif fmt == "json":
        _write_text(output, _json(report))
    elif fmt == "github":
        from .render.ci import github_annotations

        _write_text(output, github_annotations(report))
    else:
        from .render.ci import junit_xml

        _write_text(output, junit_xml(report))
    raise typer.Exit(EXIT_FINDINGS if report.failed else 0)


def _plot_kinds_help() -> str:
    from .plotkinds import kinds_help

    return kinds_help()


@command(formats=("text", "json"))
def plot(
    file: FileArg = DEFAULT_FILE,
    kind: Annotated[str, _option("--kind", help=_plot_kinds_help())] = "all",
    x: Annotated[str | None, _option("--x", help="scatter: the x parameter.")] = None,
    y: Annotated[str | None, _option("--y", help="scatter: the y parameter.")] = None,
    objective: Annotated[
        str | None,
        _option(
            "--objective",
            help="scatter: FILE.py:FN, a function of (x, y) returning the loss, drawn as"
            " contours (IMPORTS AND RUNS that file).",
        ),
    ] = None,
    output: Annotated[
        Path, _option("--output", "-o", help="Folder for the PNGs (KIND.png).")
    ] = Path("plots"),
    *,
    inputs: Inputs,
    fmt: str,
) -> None:
    """Pictures of a study: loss history, sampled values, a 2-D scatter, histograms, importance."""
    from . import plotkinds
    from .outputs import check_folder, final_path, staged_folder
    from .plotkinds import PlotOptions, infos, parse_kinds
    from .session import plan

    kinds = parse_kinds(kind)
    planned = plan(inputs)
    check_folder(output)
    session = _open(inputs, planned)
    if not session.study.trials:
        raise InputError(f"{file}: holds no trials to plot")
    opts = PlotOptions(x=x, y=y, objective=objective)
    chosen = infos(session, kinds, opts, strict=kind.strip() != "all")
    from .render.plots import write_figure, write_many

    with staged_folder(output) as stage, _progress(len(chosen)) as advance:
        jobs = [(stage / f"{k}.png", k, info) for k, info in chosen]
        written = [final_path(stage, output, w) for w in write_many(jobs, write_figure, advance)]
    inferred = session.space.inferred
    if fmt == "json":
        doc = {"schema": "hopt-inspect/plot/1", "written": written, "space_inferred": inferred}
        sys.stdout.write(_json(doc))
        return
    from rich.console import Group
    from rich.text import Text

    lines = [Text(f"wrote {path}", style="green") for path in written]
    shown_note = plotkinds.shown_space(session)[1]
    if shown_note and any(k in ("params", "hist") for k, _ in chosen):
        lines.insert(0, Text(shown_note.replace("per-parameter figures", "params and hist")))
    if inferred:
        lines.insert(
            0,
            Text(
                "space INFERRED from the trials (hopt-inspect space shows how sure);"
                " pass --space for the real one",
                style="yellow",
            ),
        )
    _emit(Group(*lines))


@command(formats=("text", "json"))
def report(
    file: FileArg = DEFAULT_FILE,
    output: Annotated[
        Path,
        _option("--output", "-o", help="A folder (index.html goes in it) or a FILE.html."),
    ] = Path("report"),
    objective: Annotated[
        str | None,
        _option(
            "--objective", help="FILE.py:FN of (x, y) for the scatter's contours (runs that file)."
        ),
    ] = None,
    *,
    inputs: Inputs,
    fmt: str,
) -> None:
    """One self-contained HTML file: summary, findings, every plot, TPE curves, trials."""
    from .outputs import check_file, check_folder
    from .plotkinds import KINDS, PlotOptions, infos, shown_space
    from .render.files import atomic_write_text
    from .render.plots import for_drawing, png_bytes, write_many
    from .render.report import build_report
    from .session import plan
    from .tpe import tpe_curves

    planned = plan(inputs)
    as_file = output.suffix.lower() in (".html", ".htm") and not output.is_dir()
    if as_file:
        check_file(output)
    else:
        check_folder(output, why="name a folder, or a FILE.html")
    target = output if as_file else output / "index.html"
    session = _open(inputs, planned)
    study = session.study
    if not study.trials:
        raise InputError(f"{file}: holds no trials to report on")
    space = session.space
    shown, shown_note = shown_space(session)  # at most 16 parameters' figures
    # hyperopt's TPE curves, not for an Optuna study (its TPE differs: lpdf refuses it too)
    labels = [] if study.source.format == "optuna-sqlite" else list(shown.labels)
    chosen: list[tuple[str, Any]] = []
    curves: list[Any] = []
    done: dict[str, Any] = {}
    name, n_trials = Path(file).name, len(study.trials)

    def draw(kind: str, *payload: Any) -> bytes:  # in a forked child (or here: one core)
        if kind == "tpe":  # the child computes a label's curves from the study it inherited
            curve = tpe_curves(study, space, payload[0], settings=session.settings)
            return png_bytes("lpdf", curve, name, n_trials)
        return png_bytes(kind, *payload)

    with _progress(len(KINDS) + len(labels) + bool(labels), "computing") as advance:

        def jobs() -> Any:  # each figure goes to the drawing children as soon as it is made
            for kind in KINDS:  # (kind, title) kept: the data go to the children
                for got in infos(session, [kind], PlotOptions(objective=objective), strict=False):
                    chosen.append((got[0], got[1].title))
                    yield got
            for i, label in enumerate(labels):
                curves.append(label)
                if i:  # computed and drawn in a child, on the other core
                    yield ("tpe", label)
                    continue
                # the first here: what every label shares (TPE's history and split at each
                # snapshot) is then computed once, and the children inherit it
                curve = tpe_curves(study, space, label, settings=session.settings)
                advance()
                yield ("lpdf", for_drawing(curve), name, n_trials)
                del curve
            # while the children work; TPE's final model is not on the page: not fitted
            done["summary"] = session.summary(space=space, model=False)
            done["check"] = session.checks()

        pngs = write_many(jobs(), draw, advance, count=len(KINDS) + len(labels))
    summary_result, check_report = done["summary"], done["check"]
    figures = [
        (title, KINDS[kind].caption, png)
        for (kind, title), png in zip(chosen, pngs[: len(chosen)], strict=True)
        if kind != "efficiency"  # drawn in the verdict's panel
    ]
    kinds_drawn = [kind for kind, _ in chosen]
    efficiency_png = pngs[kinds_drawn.index("efficiency")] if "efficiency" in kinds_drawn else None
    lpdf_pngs = list(zip(curves, pngs[len(chosen) :], strict=True))
    page = build_report(
        summary=summary_result,
        check=check_report,
        study=study,
        figures=figures,
        lpdf=lpdf_pngs,
        option_text=space.option_display(),
        generated_by=f"hopt-inspect {__version__}",
        efficiency_png=efficiency_png,
        notes=(shown_note,) if shown_note else (),
    )
    atomic_write_text(target, page)
    if fmt == "json":
        doc = {"schema": "hopt-inspect/report/1", "written": [str(target)], "bytes": len(page)}
        sys.stdout.write(_json(doc))
        return
    from rich.text import Text

    _emit(Text(f"wrote {target} ({len(page) / 1e6:.1f} MB, {len(pngs)} figures)", style="green"))


@command(formats=("csv", "jsonl", "json", "optuna"))
def export(
    file: FileArg = DEFAULT_FILE,
    output: OutputFile = None,
    storage: Annotated[
        str | None,
        _option("--storage", help="--format optuna: the SQLite storage, sqlite:///PATH.db."),
    ] = None,
    optuna_study: Annotated[
        str | None,
        _option(
            "--study-name", help="--format optuna: the study's name (default: the file's stem)."
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        _option("--overwrite", help="--format optuna: replace a study of that name."),
    ] = False,
    *,
    inputs: Inputs,
    fmt: str,
) -> None:
    """One row per trial (tid, state, status, loss, times, parameters), or an Optuna study."""
    from .render.tables import to_csv, to_json, to_jsonl
    from .session import plan
    from .study import study_table

    if fmt == "optuna":
        _export_optuna(inputs, storage, optuna_study, overwrite, output)
        return
    if storage is not None or optuna_study is not None or overwrite:
        raise InputError("--storage, --study-name and --overwrite go with --format optuna")
    planned = plan(inputs)
    if output is not None:
        from .outputs import check_file, check_not_input

        check_file(output)
        check_not_input(output, (inputs.file, inputs.space or planned.config.space))
    session = _open(inputs, planned)
    space = session.known_space
    display = space.option_display() if space is not None else {}
    columns, rows = study_table(session.study, display)
    if fmt == "csv":
        text = to_csv(columns, rows)
    elif fmt == "jsonl":
        text = to_jsonl(columns, rows)
    else:
        text = to_json(
            columns, rows, session.study.source.path, space.source if space is not None else None
        )
    _write_text(output, text)


@command(formats=("live", "jsonl"), default_format="auto", json_alias="jsonl")
def watch(
    file: FileArg = DEFAULT_FILE,
    interval: Annotated[
        float, _option("--interval", help="Look at the file this often, in seconds (>= 0.1).")
    ] = 2.0,
    once: Annotated[bool, _option("--once", help="Print one refresh and exit.")] = False,
    max_evals: Annotated[
        int | None,
        _option("--max-evals", min=1, help="fmin's max_evals: an ETA, and exit when reached."),
    ] = None,
    until_trials: Annotated[
        int | None,
        _option("--until-trials", min=1, help="Exit once this many trials have finished."),
    ] = None,
    fail_on: Annotated[
        str | None,
        _option(
            "--fail-on",
            help="On exit by itself (--once, --until-trials, --max-evals): exit 1 when check"
            " finds something at or above info, warning or error.",
            show_default=False,
        ),
    ] = None,
    top: Annotated[int, _option("--top", "-k", min=0, help="How many best trials to show.")] = 5,
    *,
    inputs: Inputs,
    fmt: str,
) -> None:
    """Follow a study while fmin writes it: progress, the best so far, findings as they arise.

    Output: a live view on a terminal, else JSON lines (one object per event).
    """
    from .watch import watch_command

    code = watch_command(
        file, inputs, interval=interval, once=once,
        output_format=None if fmt == "auto" else fmt, max_evals=max_evals,
        until_trials=until_trials, fail_on=fail_on, top=top,
    )  # fmt: skip
    raise typer.Exit(code)


@command(formats=("text", "json"))
def compare(
    file_a: Annotated[
        Path, typer.Argument(metavar="A", help="Study A (the before): any file summary reads.")
    ],
    file_b: Annotated[
        Path, typer.Argument(metavar="B", help="Study B (the after): any file summary reads.")
    ],
    space_a: Annotated[
        str | None, _option("--space-a", help="A's search space (default: --space).")
    ] = None,
    space_b: Annotated[
        str | None, _option("--space-b", help="B's search space (default: --space).")
    ] = None,
    startup_a: Annotated[
        int | None,
        _option("--n-startup-jobs-a", min=0, help="A's start-up (default: --n-startup-jobs)."),
    ] = None,
    startup_b: Annotated[
        int | None,
        _option("--n-startup-jobs-b", min=0, help="B's start-up (default: --n-startup-jobs)."),
    ] = None,
    output: Annotated[
        Path | None,
        _option(
            "--output",
            "-o",
            help="Folder for compare.png (best so far, both studies), or a .png/.pdf/.svg.",
        ),
    ] = None,
    study_a: Annotated[
        str | None, _option("--study-a", help="A's study, when A holds several (default: --study).")
    ] = None,
    study_b: Annotated[
        str | None, _option("--study-b", help="B's study, when B holds several (default: --study).")
    ] = None,
    *,
    inputs: Inputs,
    fmt: str,
) -> None:
    """Two studies side by side: spaces, settings, losses, best, findings, and which did better.

    Options without -a/-b (--space, --study, --n-startup-jobs, ...) apply to both studies.
    """
    from dataclasses import replace

    from .compare import compare as compare_studies
    from .outputs import check_file, check_folder
    from .session import open_session, plan

    planned = plan(inputs)
    figure_path = None
    if output is not None:
        if output.suffix.lower() in FIGURE_SUFFIXES and not output.is_dir():
            figure_path = check_file(output, suffixes=FIGURE_SUFFIXES)
        else:
            check_folder(output, why="compare writes compare.png into a folder, or name a .png")
            figure_path = output / "compare.png"
    sessions = []
    sides = (("a", file_a, study_a, space_a, startup_a), ("b", file_b, study_b, space_b, startup_b))
    for side, file, name, space, startup in sides:
        side_inputs = replace(
            inputs,
            file=file,
            study=name or inputs.study,
            space=space or inputs.space,
            n_startup_jobs=startup if startup is not None else inputs.n_startup_jobs,
        )
        try:
            sessions.append(open_session(side_inputs, planned=planned))
        except InputError as exc:  # the loader names --study; here it is --study-a/-b
            raise InputError(str(exc).replace("--study ", f"--study-{side} ")) from exc
    sa, sb = sessions
    result = compare_studies(
        sa.study, sb.study, sa.space, sb.space, sa.settings, sb.settings,
        startup_given=tuple(  # type: ignore[arg-type]
            x.settings.startup_source not in ("default", "Optuna's default") for x in (sa, sb)
        ),
        algo=tuple(x.algo if x.algo_source != "default" else None for x in (sa, sb)),  # type: ignore[arg-type]
    )  # fmt: skip
    figure = None
    if output is not None:
        from .render.compare_plot import write_compare_figure

        figure = write_compare_figure(result, figure_path)
    if fmt == "json":
        sys.stdout.write(_json(result))
        return
    from .render.compare import render_compare

    _emit(render_compare(result, figure))


def _export_optuna(
    inputs: Inputs,
    storage: str | None,
    name: str | None,
    overwrite: bool,
    output: Path | None,
) -> None:
    """Glue for ``export --format optuna``: the work is in export_optuna.py."""
    from .export_optuna import check_target, export_to_optuna, require_optuna
    from .session import plan

    planned = plan(inputs)
    if output is not None:
        raise InputError("--format optuna writes to --storage sqlite:///PATH.db, not -o")
    if storage is None:
        raise InputError("--format optuna needs --storage sqlite:///PATH.db")
    name = name or Path(inputs.file).stem
    check_target(storage, name, overwrite)  # before loading anything: refuse early
    require_optuna()
    session = _open(inputs, planned)
    result = export_to_optuna(session.study, session.space, storage, name, overwrite=overwrite)
    from .render.export_optuna import render_export

    _emit(render_export(result))


@command("space", formats=("text", "toml", "python", "json"))
def space_command(
    file: FileArg = DEFAULT_FILE,
    output: OutputFile = None,
    *,
    inputs: Inputs,
    fmt: str,
) -> None:
    """The search space as the tool sees it: where it came from, kinds, confidence.

    --format toml writes a spec to edit and pass back with --space; python writes hp code.
    """
    from .outputs import check_file, check_not_input
    from .render.spacefmt import render_space
    from .session import plan

    planned = plan(inputs)
    spec = inputs.space or planned.config.space
    if output is not None:
        check_file(output)
        check_not_input(output, (inputs.file, spec))
    if spec is not None and not Path(inputs.file).exists() and Path(inputs.file) == DEFAULT_FILE:
        from .resolve import space_from_spec
        from .session import space_trust

        _warn_run_space(inputs)
        space = space_from_spec(
            spec,
            trust=space_trust(inputs.trust, inputs.space, spec),  # never a config's space
            run_space=inputs.run_space and inputs.space is not None,
            config=None if inputs.space else planned.config.path or "the config file",
        )
    else:
        space = _open(inputs, planned).space
    _write_text(output, render_space(space, fmt))


@command("checks", formats=("text", "json"), study_options=False)
def list_checks(*, fmt: str) -> None:
    """List every check: its code, name and what it looks for."""
    from .checks import REGISTRY

    if fmt == "json":
        doc = [{"code": c.code, "name": c.name, "summary": c.summary} for c in REGISTRY]
        sys.stdout.write(_json({"schema": "hopt-inspect/checks/1", "checks": doc}))
        return
    for c in REGISTRY:
        typer.echo(f"{c.code}  {c.name:<18} {c.summary}")


def _parse_at(at: str | None, every: int | None, n_trials: int) -> list[int] | None:
    if at and every:
        raise InputError("use either --at or --every, not both")
    if every:
        points = list(range(every, n_trials, every))
        return [*points, n_trials] if not points or points[-1] != n_trials else points
    if not at:
        return None
    try:
        points = [int(p) for p in at.replace(" ", "").split(",") if p]
    except ValueError as exc:
        raise InputError(f"--at {at}: expected trial counts such as 20,50,100") from exc
    bad = [p for p in points if not 0 <= p <= n_trials]
    if bad or not points:
        raise InputError(f"--at {at}: each count must be between 0 and {n_trials} (the study size)")
    return sorted(set(points))


MAX_ROWS = 30
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def _png_name(label: str) -> str:
    from .render.files import png_names

    return png_names([label])[0]


@command(formats=("text", "json"))
def lpdf(
    file: FileArg = DEFAULT_FILE,
    param: Annotated[
        str,
        _option("--param", "-p", help="The parameter label, or 'all' (one PNG each)."),
    ] = ...,  # type: ignore[assignment]
    at: Annotated[
        str | None,
        _option("--at", help="Snapshots after exactly these trial counts, e.g. 20,50,100."),
    ] = None,
    every: Annotated[
        int | None, _option("--every", min=1, help="A snapshot every K trials (and the last).")
    ] = None,
    grid: Annotated[
        int, _option("--grid", min=2, max=100_000, help="Points per curve (2 to 100000).")
    ] = 400,
    output: Annotated[
        Path | None,
        _option(
            "--output",
            "-o",
            help="PNG path (one parameter) or folder (--param all). Default:"
            " lpdf-PARAM.png, or the folder lpdf/ for all; with --json only if given.",
        ),
    ] = None,
    lf: Annotated[
        int | None, _option("--lf", min=1, help="Linear forgetting (tpe.DEFAULT_LF, 25).")
    ] = None,
    *,
    inputs: Inputs,
    fmt: str,
) -> None:
    """TPE's below/above log-likelihood curves for a parameter, as hyperopt computes them."""
    from .outputs import check_file, check_folder, final_path, staged_folder
    from .render.files import png_names
    from .session import plan
    from .tpe import tpe_curves

    planned = plan(inputs)
    json_out = fmt == "json"
    if output is None and not json_out:
        output = Path("lpdf") if param == "all" else Path(_png_name(param))
    as_folder = output is not None and (
        param == "all" or output.is_dir() or str(output).endswith("/")
    )
    if output is not None:
        if param == "all" and output.suffix.lower() in FIGURE_SUFFIXES and not output.is_dir():
            raise InputError(
                f"-o {output}: --param all writes one PNG per parameter: name a folder"
            )
        if as_folder:
            check_folder(output, why="--param all writes one PNG per parameter into a folder")
        else:
            check_file(output, suffixes=FIGURE_SUFFIXES)
    # compaction only for figures drawn in forked workers (--param all -o DIR): otherwise one
    # figure at most, drawn in this process, so the load's peak is the command's (as for
    # summary) and rebuilding the trials apart would only cost time
    session = _open(inputs, planned, compact=param == "all" and output is not None)
    study = session.study
    if study.source.format == "optuna-sqlite":
        raise InputError(
            f"{file}: an Optuna study; lpdf replays hyperopt's TPE, and Optuna's TPE differs"
            " (its own priors, bandwidths and multivariate options): use summary, check, plot"
        )
    space = session.space
    labels = list(space.labels) if param == "all" else [param]
    unknown = [label for label in labels if label not in space.params]
    if unknown:
        raise InputError(
            f"--param {param}: no such parameter; the study has {', '.join(space.labels)}"
        )
    points = _parse_at(at, every, len(study.trials))
    n_rows = len(points) if points else 11
    if output is not None and n_rows > MAX_ROWS:
        raise InputError(
            f"{n_rows} snapshots make a figure too tall to read (at most {MAX_ROWS});"
            " use a larger --every, fewer --at values, or --json without -o"
        )
    results = []
    written: list[str] = []
    steps = len(labels) * (2 if output is not None else 1)
    with _progress(steps, "computing") as advance:

        def computed() -> Any:  # each result as it is made: workers draw meanwhile
            for label in labels:
                results.append(
                    tpe_curves(study, space, label, at=points, settings=session.settings, grid=grid)
                )
                advance()
                yield results[-1]

        if output is None or not as_folder:
            list(computed())
        if output is not None:
            from .render.plots import for_drawing, write_figure, write_many

            name = Path(file).name
            if as_folder:
                with staged_folder(output) as stage:
                    names = png_names(labels)  # distinct, bounded
                    jobs = (
                        (stage / n, "lpdf", for_drawing(r), name, len(study.trials))
                        for n, r in zip(names, computed(), strict=True)
                    )
                    written = [
                        final_path(stage, output, w)
                        for w in write_many(jobs, write_figure, advance, count=len(labels))
                    ]
            else:
                job = (output, "lpdf", results[0], name, len(study.trials))
                written = write_many([job], write_figure, advance)
    if json_out:
        doc: object = (
            {"schema": "hopt-inspect/lpdf-set/1", "results": results}
            if param == "all"
            else results[0]
        )
        sys.stdout.write(_json(doc))
        return
    from rich.console import Group
    from rich.text import Text

    from .render.terminal import render_lpdf

    blocks = []
    for i, result in enumerate(results):
        blocks.append(render_lpdf(result, written[i : i + 1]))  # PNGs are in result order
        if i + 1 < len(results):
            blocks.append(Text(""))
    _emit(Group(*blocks))


# ----------------------------------------------------------------- entry point


def _terminated(signum: int, frame: Any) -> None:
    raise _Terminated


class _Terminated(BaseException):
    """SIGTERM (a CI time-out): unwinds like Ctrl-C, so temporary outputs are removed."""


def main() -> None:
    """Console-script entry point: one-line errors and the exit codes in the module doc."""
    import signal

    signal.signal(signal.SIGTERM, _terminated)
    sys.argv[1:] = [_sqlite_path(a) for a in sys.argv[1:]]
    try:
        code = app(prog_name="hopt-inspect", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except InputError as exc:
        if _State.debug:
            raise
        sys.stderr.write(f"hopt-inspect: error: {exc}\n")
        sys.exit(EXIT_INPUT)
    except (KeyboardInterrupt, _Interrupted):
        sys.stderr.write("hopt-inspect: interrupted; nothing was written\n")
        sys.exit(EXIT_INTERRUPTED)
    except _Terminated:
        sys.stderr.write("hopt-inspect: terminated; nothing was written\n")
        sys.exit(128 + 15)
    except BrokenPipeError:  # `hopt-inspect export | head`
        sys.stderr.close()
        os._exit(0)
    except Exception as exc:
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # usage errors
            _usage_error(exc)
        if isinstance(exc, OSError) and exc.filename is not None:
            if _State.debug:
                raise
            reason = exc.strerror or type(exc).__name__
            sys.stderr.write(f"hopt-inspect: error: {exc.filename}: {reason}\n")
            sys.exit(EXIT_INPUT)
        if _State.debug:
            raise
        message = str(exc).splitlines()[0][:200] if str(exc) else ""
        sys.stderr.write(
            f"hopt-inspect: internal error: {type(exc).__name__}: {message}"
            " (rerun with --debug for the traceback, and please report it)\n"
        )
        sys.exit(EXIT_INTERNAL)


def _sqlite_path(arg: str) -> str:
    """``sqlite:///rel.db`` → ``rel.db``, ``sqlite:////abs.db`` → ``/abs.db`` (SQLAlchemy's
    rule), before typer turns the argument into a Path and merges the slashes."""
    return arg[len("sqlite:///") :] if arg.startswith("sqlite:///") else arg


def _usage_error(exc: Exception) -> None:
    """typer/click usage errors as one line (their default is a boxed panel)."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # `hopt-inspect` or a command alone
        exc.show()  # type: ignore[attr-defined]
        sys.exit(0)
    ctx = getattr(exc, "ctx", None)
    where = f"hopt-inspect {ctx.command.name}" if ctx is not None and ctx.parent else "hopt-inspect"
    message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
    sys.stderr.write(f"hopt-inspect: error: {message} (see {where} --help)\n")
    sys.exit(exc.exit_code)  # type: ignore[attr-defined]
