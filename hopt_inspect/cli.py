"""The command line: parse options, call one function per layer, choose an exit code."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from . import __version__
from .errors import InputError

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
        help="A pickled hyperopt Trials (any protocol, gzip/bz2/xz ok), a dict holding one"
        " under 'trials', a list of trial documents, or a JSON export.",
        show_default=True,
    ),
]
TrustOpt = Annotated[
    bool,
    typer.Option(
        "--trust",
        help="Load with plain pickle. RUNS CODE FROM THE FILE: only for files you made.",
    ),
]
StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Refuse files that name any class outside the allow-list, instead of loading"
        " such objects as inert placeholders.",
    ),
]
DebugOpt = Annotated[
    bool, typer.Option("--debug", help="Show the full traceback when something goes wrong.")
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout instead of text.")
]


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"hopt-inspect {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Diagnose hyperopt studies."""


def _console(stderr: bool = False):  # rich is imported only by commands that print
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


@app.command()
def summary(
    file: FileArg = Path("hyperopt.p"),
    top: Annotated[
        int, typer.Option("--top", "-k", min=0, help="How many best trials to list.")
    ] = 10,
    json_out: JsonOpt = False,
    trust: TrustOpt = False,
    strict: StrictOpt = False,
    debug: DebugOpt = False,
) -> None:
    """What happened in a study: counts, the best trial, sorted losses, time, failures."""
    from .loading import load_study
    from .summary import summarize

    study = load_study(file, trust=trust, strict=strict)
    result = summarize(study, top=top)
    if json_out:
        from .render.jsonout import dumps

        sys.stdout.write(dumps(result) + "\n")
        return
    from .render.terminal import render_summary

    _console().print(render_summary(result))


def main() -> None:
    """Console-script entry point: one-line errors, exit code 2, tracebacks only on --debug."""
    debug = "--debug" in sys.argv[1:] or os.environ.get("HOPT_INSPECT_DEBUG") == "1"
    try:
        app(prog_name="hopt-inspect")
    except InputError as exc:
        if debug:
            raise
        sys.stderr.write(f"hopt-inspect: error: {exc}\n")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.stderr.write("hopt-inspect: interrupted\n")
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        message = str(exc).splitlines()[0][:200] if str(exc) else ""
        sys.stderr.write(
            f"hopt-inspect: internal error: {type(exc).__name__}: {message}"
            " (rerun with --debug for the traceback, and please report it)\n"
        )
        sys.exit(2)
