"""The command line: parse options, call one function per layer, choose an exit code."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from . import __version__
from .errors import InputError

# Short value names for the help: typer would print "<bool>" beside every flag and
# "<int range> [x>=1]" beside numbers, which squeezes the descriptions at 80 columns.
_METAVARS = {
    "--trust": "", "--strict": "", "--debug": "", "--json": "", "--version": "",
    "--top": "K", "--space": "SPACE", "--at": "N,N,..", "--every": "K", "--grid": "N",
    "--output": "PATH", "--gamma": "G", "--prior-weight": "W", "--n-startup-jobs": "N",
    "--lf": "N", "--select": "CODES", "--ignore": "CODES", "--fail-on": "LEVEL",
    "--format": "FMT", "--config": "FILE", "--x": "PARAM", "--y": "PARAM",
    "--objective": "FILE.py:FN", "--kind": "KIND", "--max-memory": "SIZE", "--study": "NAME",
    "--param": "NAME",
}  # fmt: skip


def _option(*decls: str, **kwargs):
    """typer.Option with a short metavar (see _METAVARS)."""
    name = next((d for d in decls if d.startswith("--")), None)
    if name is not None and "metavar" not in kwargs:
        kwargs["metavar"] = _METAVARS.get(name)
    return typer.Option(*decls, **kwargs)


app = typer.Typer(
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
TrustOpt = Annotated[
    bool,
    _option(
        "--trust",
        help="Load with plain pickle. RUNS CODE FROM THE FILE: only for files you made.",
    ),
]
StrictOpt = Annotated[
    bool,
    _option(
        "--strict",
        help="Refuse files that name any class outside the allow-list, instead of loading"
        " such objects as inert placeholders.",
    ),
]
MaxMemOpt = Annotated[
    str | None,
    _option(
        "--max-memory",
        help="Refuse files whose unpickling needs more memory than this, e.g. 2G or 500M."
        " [default: 64 x the file size, at least 256M]",
        show_default=False,
    ),
]
StudyOpt = Annotated[
    str | None,
    _option("--study", help="Optuna storages (sqlite:///PATH.db): the study to read, by name."),
]
DebugOpt = Annotated[
    bool, _option("--debug", help="Show the full traceback when something goes wrong.")
]
JsonOpt = Annotated[
    bool, _option("--json", help="Print one JSON document on stdout instead of text.")
]


SpaceOpt = Annotated[
    str | None,
    _option(
        "--space",
        help="The search space: FILE.py:NAME or package.module:NAME (IMPORTS AND RUNS that"
        " file, as your tuner does), a TOML spec (space.toml), or a pickled hp graph"
        " (--trust). Default: a space stored in the file (--trust), else inferred from the"
        " observed values.",
        show_default=False,
    ),
]


def _load(
    file: Path, trust: bool, strict: bool, max_memory: str | None, study_name: str | None = None
):
    """load_study, then move everything loaded out of the collector's way (a one-shot CLI)."""
    import gc

    from .loading import load_study

    study = load_study(
        file, trust=trust, strict=strict, max_memory=_bytes(max_memory), study_name=study_name
    )
    gc.freeze()  # analysis creates many small objects; re-scanning the study costs seconds
    return study


def _need_folder(output: Path, why: str = "") -> None:
    """-o must name a folder (new or existing), not a file."""
    if output.exists() and not output.is_dir():
        raise InputError(f"-o {output}: exists and is not a folder" + (f" ({why})" if why else ""))


def _bytes(size: str | None) -> int | None:
    """'2G', '500M', '800k' or a number of bytes."""
    if size is None:
        return None
    text = size.strip().upper().removesuffix("B")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1:], 1)
    try:
        value = float(text[:-1] if scale > 1 else text) * scale
    except ValueError as exc:
        raise InputError(f"--max-memory {size}: expected a size such as 2G or 500M") from exc
    if value < 16 << 20:
        raise InputError(f"--max-memory {size}: at least 16M")
    return int(value)


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


def _emit(renderable) -> None:
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


def _console(stderr: bool = False):  # rich is imported only by commands that print
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


@app.command()
def summary(
    file: FileArg = Path("hyperopt.p"),
    top: Annotated[int, _option("--top", "-k", min=0, help="How many best trials to list.")] = 10,
    space: SpaceOpt = None,
    json_out: JsonOpt = False,
    trust: TrustOpt = False,
    max_memory: MaxMemOpt = None,
    study_name: StudyOpt = None,
    strict: StrictOpt = False,
    debug: DebugOpt = False,
) -> None:
    """What happened in a study: counts, the best trial, sorted losses, time, failures."""
    from .summary import summarize

    study = _load(file, trust, strict, max_memory, study_name)
    search_space = None
    if space is not None or study.space is not None:  # a space that came with the file
        from .resolve import resolve_space

        search_space = resolve_space(space, study, trust=trust)
        if search_space.inferred:
            search_space = None
    result = summarize(study, top=top, space=search_space)
    if json_out:
        from .render.jsonout import dumps

        sys.stdout.write(dumps(result) + "\n")
        return
    from .render.terminal import render_summary

    _emit(render_summary(result))


@app.command()
def check(
    file: FileArg = Path("hyperopt.p"),
    space: SpaceOpt = None,
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
    output_format: Annotated[
        str, _option("--format", help="text, json, github (annotations) or junit (XML).")
    ] = "text",
    output: Annotated[
        Path | None, _option("--output", "-o", help="Write the report to this file.")
    ] = None,
    config: Annotated[
        Path | None,
        _option(
            "--config", help="A TOML file with [tool.hopt-inspect]; default: nearest pyproject."
        ),
    ] = None,
    n_startup_jobs: Annotated[
        int | None,
        _option("--n-startup-jobs", min=0, help="TPE's n_startup_jobs, if not the default 20."),
    ] = None,
    json_out: Annotated[bool, _option("--json", help="Same as --format json.")] = False,
    trust: TrustOpt = False,
    max_memory: MaxMemOpt = None,
    study_name: StudyOpt = None,
    strict: StrictOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Study-health findings with evidence; exit 1 when any is at or above --fail-on."""
    from dataclasses import replace

    from .checks import SEVERITIES, run_checks, unknown_patterns
    from .config import load_config
    from .resolve import resolve_space
    from .tpe import settings_for

    fmt = "json" if json_out else output_format
    if fmt not in ("text", "json", "github", "junit"):
        raise InputError(f"--format {fmt}: use text, json, github or junit")
    cfg = load_config(config)
    select_codes = _split_codes(select) if select is not None else cfg.select
    ignore_codes = _split_codes(ignore) if ignore is not None else cfg.ignore
    bad = unknown_patterns([*select_codes, *ignore_codes])
    if bad:
        raise InputError(f"unknown check {bad[0]!r}; run `hopt-inspect checks` for the list")
    threshold = fail_on or cfg.fail_on
    if threshold not in SEVERITIES:
        raise InputError(f"--fail-on {threshold}: use info, warning or error")
    study = _load(file, trust, strict, max_memory, study_name)
    settings = settings_for(
        study, n_startup_jobs if n_startup_jobs is not None else cfg.n_startup_jobs
    )
    search_space = resolve_space(space or cfg.space, study, trust=trust)
    report = run_checks(
        study,
        search_space,
        select=select_codes,
        ignore=ignore_codes,
        fail_on=threshold,
        thresholds=cfg.thresholds,
        settings=settings,
    )
    if cfg.path:
        report = replace(report, settings={**report.settings, "config": cfg.path})
    if fmt == "text":
        from .render.terminal import render_check

        if output is None:
            _emit(render_check(report))
        else:
            from rich.console import Console

            with _text_capture(output) as stream:
                Console(file=stream, width=100, no_color=True).print(render_check(report))
    else:
        if fmt == "json":
            from .render.jsonout import dumps

            text = dumps(report) + "\n"
        elif fmt == "github":
            from .render.ci import github_annotations

            text = github_annotations(report)
        else:
            from .render.ci import junit_xml

            text = junit_xml(report)
        if output is None:
            sys.stdout.write(text)
        else:
            from .render.files import atomic_write_text

            atomic_write_text(output, text)
    raise typer.Exit(1 if report.failed else 0)


@app.command()
def plot(
    file: FileArg = Path("hyperopt.p"),
    kind: Annotated[
        str,
        _option("--kind", help="history, params, scatter, hist, importance, or all."),
    ] = "all",
    space: SpaceOpt = None,
    x: Annotated[str | None, _option("--x", help="scatter: the x parameter.")] = None,
    y: Annotated[str | None, _option("--y", help="scatter: the y parameter.")] = None,
    objective: Annotated[
        str | None,
        _option(
            help="scatter: FILE.py:FN, a function of (x, y) returning the loss, drawn as"
            " contours (IMPORTS AND RUNS that file)."
        ),
    ] = None,
    output: Annotated[
        Path, _option("--output", "-o", help="Folder for the PNGs (KIND.png).")
    ] = Path("plots"),
    n_startup_jobs: Annotated[
        int, _option("--n-startup-jobs", min=0, help="TPE's n_startup_jobs, to shade the start-up.")
    ] = 20,
    trust: TrustOpt = False,
    max_memory: MaxMemOpt = None,
    study_name: StudyOpt = None,
    strict: StrictOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Pictures of a study: loss history, sampled values, a 2-D scatter, histograms, importance."""
    from . import plotinfo
    from .resolve import python_object, resolve_space
    from .tpe import TPESettings

    kinds = list(plotinfo.KINDS) if kind == "all" else [k.strip() for k in kind.split(",")]
    unknown = [k for k in kinds if k not in plotinfo.KINDS]
    if unknown:
        raise InputError(f"--kind {unknown[0]}: use {', '.join(plotinfo.KINDS)} or all")
    _need_folder(output)
    study = _load(file, trust, strict, max_memory, study_name)
    if not study.trials:
        raise InputError(f"{file}: holds no trials to plot")
    search_space = resolve_space(space, study, trust=trust)
    settings = TPESettings(n_startup_jobs=n_startup_jobs)
    from .render.report import shown_parameters

    shown, shown_note = shown_parameters(search_space)  # bounded panels per figure
    jobs = []
    for k in kinds:
        if k == "history":
            info = plotinfo.history_info(study, settings)
        elif k == "params":
            info = plotinfo.params_info(study, shown, settings)
        elif k == "hist":
            info = plotinfo.hist_info(study, shown, settings)
        elif k == "importance":
            info = plotinfo.importance_info(study, search_space)
        else:
            if len(search_space.labels) < 2:
                if kind != "all":
                    raise InputError("scatter needs a study with two parameters or more")
                continue
            px, py = x, y
            if px is None or py is None:
                first, second = plotinfo.most_important_pair(study, search_space)
                px, py = (
                    px or (second if py == first else first),
                    py or (first if (px or first) == second else second),
                )
            for label in (px, py):
                if label not in search_space.params:
                    raise InputError(
                        f"--x/--y {label}: no such parameter; the study has"
                        f" {', '.join(search_space.labels)}"
                    )
            fn = python_object(objective, option="--objective") if objective else None
            if fn is not None and not callable(fn):
                raise InputError(f"--objective {objective}: not a function")
            info = plotinfo.scatter_info(study, search_space, px, py, objective=fn)
        jobs.append((output / f"{k}.png", k, info))
    from .render.plots import write_figure, write_many

    with _progress(len(jobs)) as advance:
        written = write_many(jobs, write_figure, advance)
    from rich.console import Group
    from rich.text import Text

    lines = [Text(f"wrote {path}", style="green") for path in written]
    if shown_note and any(k in ("params", "hist") for k in kinds):
        lines.insert(0, Text(shown_note.replace("per-parameter figures", "params and hist")))
    if search_space.inferred:
        lines.insert(
            0,
            Text(
                "space INFERRED from observed values: bounds are the observed"
                " range; pass --space for the real ones",
                style="yellow",
            ),
        )
    _emit(Group(*lines))


_CAPTIONS = {
    "history": "Loss per trial; the line is the best so far; the shaded start-up is where TPE"
    " draws at random (with its default n_startup_jobs).",
    "params": "Each parameter's value per trial, coloured by loss rank: how sampling moved.",
    "scatter": "The two most important parameters, every trial labelled with its number.",
    "hist": "Sampled values, start-up and TPE phase stacked, against what random search would"
    " draw: edge-hugging and clumping show as bars far above the dashed line.",
    "importance": "PED-ANOVA (Watanabe et al., IJCAI 2023): how different the top 10% of"
    " trials look from all trials, per parameter.",
}


@app.command()
def report(
    file: FileArg = Path("hyperopt.p"),
    space: SpaceOpt = None,
    output: Annotated[Path, _option("--output", "-o", help="Folder for index.html.")] = Path(
        "report"
    ),
    objective: Annotated[
        str | None,
        _option(
            "--objective", help="FILE.py:FN of (x, y) for the scatter's contours (runs that file)."
        ),
    ] = None,
    n_startup_jobs: Annotated[
        int, _option("--n-startup-jobs", min=0, help="TPE's n_startup_jobs.")
    ] = 20,
    trust: TrustOpt = False,
    max_memory: MaxMemOpt = None,
    study_name: StudyOpt = None,
    strict: StrictOpt = False,
    debug: DebugOpt = False,
) -> None:
    """One self-contained HTML file: summary, findings, every plot, TPE curves, trials."""
    from . import __version__, plotinfo
    from .checks import run_checks
    from .config import load_config
    from .render.files import atomic_write_text
    from .render.plots import png_bytes, write_many
    from .render.report import build_report, shown_parameters
    from .resolve import python_object, resolve_space
    from .summary import summarize
    from .tpe import TPESettings, tpe_curves

    _need_folder(output)
    cfg = load_config()
    study = _load(file, trust, strict, max_memory, study_name)
    if not study.trials:
        raise InputError(f"{file}: holds no trials to report on")
    search_space = resolve_space(space or cfg.space, study, trust=trust)
    settings = TPESettings(n_startup_jobs=n_startup_jobs)
    summary_result = summarize(study, space=search_space, settings=settings)
    check_report = run_checks(
        study, search_space, select=cfg.select, ignore=cfg.ignore, fail_on=cfg.fail_on,
        thresholds=cfg.thresholds, settings=settings,
    )  # fmt: skip
    if cfg.path:  # say which config file was used
        from dataclasses import replace

        check_report = replace(check_report, settings={**check_report.settings, "config": cfg.path})
    importance = plotinfo.importance_info(study, search_space)
    shown, shown_note = shown_parameters(search_space, importance)  # bounded figures
    infos = [
        ("history", plotinfo.history_info(study, settings)),
        ("params", plotinfo.params_info(study, shown, settings)),
        ("hist", plotinfo.hist_info(study, shown, settings)),
        ("importance", importance),
    ]
    if len(search_space.labels) >= 2:
        px, py = plotinfo.most_important_pair(study, shown)
        fn = python_object(objective, option="--objective") if objective else None
        infos.insert(2, ("scatter", plotinfo.scatter_info(study, search_space, px, py, fn)))
    curves = [tpe_curves(study, search_space, label, settings=settings) for label in shown.labels]
    jobs = [*infos, *(("lpdf", c, file.name, len(study.trials)) for c in curves)]
    with _progress(len(jobs)) as advance:
        pngs = write_many(jobs, png_bytes, advance)
    figures = [
        (info.title, _CAPTIONS[kind], png)
        for (kind, info), png in zip(infos, pngs[: len(infos)], strict=True)
    ]
    lpdf = [(c.param, png) for c, png in zip(curves, pngs[len(infos) :], strict=True)]
    options = search_space.option_display()
    page = build_report(
        summary=summary_result,
        check=check_report,
        study=study,
        figures=figures,
        lpdf=lpdf,
        option_text=options,
        generated_by=f"hopt-inspect {__version__}",
        notes=(shown_note,) if shown_note else (),
    )
    target = output / "index.html"
    atomic_write_text(target, page)
    from rich.text import Text

    _emit(Text(f"wrote {target} ({len(page) / 1e6:.1f} MB, {len(jobs)} figures)", style="green"))


@app.command()
def export(
    file: FileArg = Path("hyperopt.p"),
    output_format: Annotated[
        str, _option("--format", help="csv, jsonl (one trial per line) or json.")
    ] = "csv",
    output: Annotated[
        Path | None, _option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    space: SpaceOpt = None,
    trust: TrustOpt = False,
    max_memory: MaxMemOpt = None,
    study_name: StudyOpt = None,
    strict: StrictOpt = False,
    debug: DebugOpt = False,
) -> None:
    """One row per trial: tid, state, status, loss, times, every parameter, scalar results."""
    from .render.tables import to_csv, to_json, to_jsonl
    from .resolve import resolve_space
    from .study import study_table

    if output_format not in ("csv", "jsonl", "json"):
        raise InputError(f"--format {output_format}: use csv, jsonl or json")
    study = _load(file, trust, strict, max_memory, study_name)
    display: dict[str, dict] = {}
    space_source = None
    if space is not None or study.space is not None:  # a space that came with the file
        search_space = resolve_space(space, study, trust=trust)
        space_source = None if search_space.inferred else search_space.source
        display = search_space.option_display()
    columns, rows = study_table(study, display)
    if output_format == "csv":
        text = to_csv(columns, rows)
    elif output_format == "jsonl":
        text = to_jsonl(columns, rows)
    else:
        text = to_json(columns, rows, study.source.path, space_source)
    if output is None:
        sys.stdout.write(text)
    else:
        from .render.files import atomic_write_text

        atomic_write_text(output, text)


@app.command("checks")
def list_checks() -> None:
    """List every check: its code, name and what it looks for."""
    from .checks import REGISTRY

    for c in REGISTRY:
        typer.echo(f"{c.code}  {c.name:<18} {c.summary}")


def _split_codes(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


class _text_capture:
    """A text stream whose content is written atomically to ``path`` on exit."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self):
        import io

        self.buffer = io.StringIO()
        return self.buffer

    def __exit__(self, exc_type, *rest: object) -> None:
        if exc_type is None:
            from .render.files import atomic_write_text

            atomic_write_text(self.path, self.buffer.getvalue())


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


def _png_name(label: str) -> str:
    from .render.files import png_names

    return png_names([label])[0]


@app.command()
def lpdf(
    file: FileArg = Path("hyperopt.p"),
    param: Annotated[
        str,
        _option("--param", "-p", help="The parameter label, or 'all' (one PNG each)."),
    ] = ...,  # type: ignore[assignment]
    space: SpaceOpt = None,
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
    gamma: Annotated[
        float, _option("--gamma", min=0.001, max=1.0, help="TPE's gamma (0 to 1).")
    ] = 0.25,
    prior_weight: Annotated[
        float, _option("--prior-weight", min=1e-9, help="TPE's prior_weight (> 0).")
    ] = 1.0,
    n_startup_jobs: Annotated[
        int,
        _option("--n-startup-jobs", min=0, help="TPE's n_startup_jobs (random trials first)."),
    ] = 20,
    lf: Annotated[int, _option("--lf", min=1, help="Linear forgetting (tpe.DEFAULT_LF).")] = 25,
    json_out: JsonOpt = False,
    trust: TrustOpt = False,
    max_memory: MaxMemOpt = None,
    study_name: StudyOpt = None,
    strict: StrictOpt = False,
    debug: DebugOpt = False,
) -> None:
    """TPE's below/above log-likelihood curves for a parameter, as hyperopt computes them."""
    from .resolve import resolve_space
    from .tpe import TPESettings, tpe_curves

    study = _load(file, trust, strict, max_memory, study_name)
    if study.source.format == "optuna-sqlite":
        raise InputError(
            f"{file}: an Optuna study; lpdf replays hyperopt's TPE, and Optuna's TPE differs"
            " (its own priors, bandwidths and multivariate options): use summary, check, plot"
        )
    search_space = resolve_space(space, study, trust=trust)
    labels = list(search_space.labels) if param == "all" else [param]
    unknown = [label for label in labels if label not in search_space.params]
    if unknown:
        raise InputError(
            f"--param {param}: no such parameter; the study has {', '.join(search_space.labels)}"
        )
    points = _parse_at(at, every, len(study.trials))
    settings = TPESettings(
        gamma=gamma, prior_weight=prior_weight, n_startup_jobs=n_startup_jobs, lf=lf
    )
    if output is None and not json_out:
        output = Path("lpdf") if param == "all" else Path(_png_name(param))
    targets: list[Path | None] = [None] * len(labels)
    if output is not None:
        as_folder = param == "all" or output.is_dir() or str(output).endswith("/")
        if as_folder:
            _need_folder(output, "--param all writes one PNG per parameter into a folder")
        if not as_folder and output.suffix.lower() not in (".png", ".pdf", ".svg"):
            raise InputError(f"-o {output}: the figure is written as .png, .pdf or .svg")
        if as_folder:  # distinct, bounded names (a/b and a:b must not overwrite each other)
            from .render.files import png_names

            targets = [output / name for name in png_names(list(labels))]
        else:
            targets = [output for _ in labels]
        n_rows = len(points) if points else 11
        if n_rows > MAX_ROWS:
            raise InputError(
                f"{n_rows} snapshots make a figure too tall to read (at most {MAX_ROWS});"
                " use a larger --every, fewer --at values, or --json without -o"
            )

    results = [
        tpe_curves(study, search_space, label, at=points, settings=settings, grid=grid)
        for label in labels
    ]
    jobs = [
        (t, "lpdf", r, file.name, len(study.trials))
        for r, t in zip(results, targets, strict=True)
        if t
    ]
    written: list[str] = []
    if jobs:
        from .render.plots import write_figure, write_many

        with _progress(len(jobs)) as advance:
            written = write_many(jobs, write_figure, advance)
    if json_out:
        from .render.jsonout import dumps

        if param == "all":
            doc: object = {"schema": "hopt-inspect/lpdf-set/1", "results": results}
        else:
            doc = results[0]
        sys.stdout.write(dumps(doc) + "\n")
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


class _progress:
    """A progress bar on stderr for long work; silent when stderr is not a terminal."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.bar = None

    def __enter__(self):
        console = _console(stderr=True)
        if self.total > 1 and console.is_terminal:
            from rich.progress import Progress

            self.bar = Progress(console=console, transient=True)
            self.bar.start()
            task = self.bar.add_task("drawing", total=self.total)
            return lambda: self.bar.advance(task)
        return lambda: None

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def main() -> None:
    """Console-script entry point: one-line errors, exit code 2, tracebacks only on --debug."""
    debug = "--debug" in sys.argv[1:] or os.environ.get("HOPT_INSPECT_DEBUG") == "1"
    sys.argv[1:] = [_sqlite_path(a) for a in sys.argv[1:]]
    try:
        code = app(prog_name="hopt-inspect", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except InputError as exc:
        if debug:
            raise
        sys.stderr.write(f"hopt-inspect: error: {exc}\n")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.stderr.write("hopt-inspect: interrupted\n")
        sys.exit(130)
    except Exception as exc:
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # usage errors
            _usage_error(exc)
        if debug:
            raise
        message = str(exc).splitlines()[0][:200] if str(exc) else ""
        sys.stderr.write(
            f"hopt-inspect: internal error: {type(exc).__name__}: {message}"
            " (rerun with --debug for the traceback, and please report it)\n"
        )
        sys.exit(2)


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
