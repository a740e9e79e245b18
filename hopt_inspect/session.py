"""The application layer: everything a command needs, assembled in one place.

Every command (and a notebook, through the public API) goes

    Inputs ──open_session──▶ Session ──analysis──▶ results ──render──▶ output

``open_session`` is the ONLY place that merges the command-line options with
``[tool.hopt-inspect]`` and with what the file itself says (an Optuna study's start-up,
a Ray checkpoint's mode). Precedence, for every setting: the option, then the config file,
then the file, then hyperopt's defaults.

No rich, matplotlib or typer here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError

if TYPE_CHECKING:
    from .checks import CheckReport
    from .checks.base import Thresholds
    from .config import Config
    from .space import SearchSpace
    from .study import Study
    from .summary import Summary
    from .tpe import TPESettings

ALGOS = ("tpe", "rand")
SEVERITY_NAMES = ("info", "warning", "error")


@dataclass(frozen=True)
class Inputs:
    """What the user asked for: command-line options (or notebook arguments), unmerged.

    ``None`` means "not given": the config file, then the study file, then the defaults
    decide.
    """

    file: Path | str = Path("hyperopt.p")
    trust: bool = False
    strict: bool = False
    max_memory: str | int | None = None
    study: str | None = None
    space: str | None = None
    run_space: bool = False
    config: Path | None = None
    algo: str | None = None
    n_startup_jobs: int | None = None
    gamma: float | None = None
    prior_weight: float | None = None
    lf: int | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    fail_on: str | None = None


@dataclass
class Session:
    """One study, opened: the loaded trials and everything decided about them.

    The space is resolved on first use (``space``), the checks run once (``checks()``),
    so a command that needs both summary and findings does the work once.
    """

    inputs: Inputs
    study: Study
    config: Config
    settings: TPESettings
    algo: str  # "tpe" or "rand"
    algo_source: str  # "option", "config", "file", "detected" or "default"
    select: tuple[str, ...]
    ignore: tuple[str, ...]
    fail_on: str
    thresholds: Thresholds
    notes: list[str] = field(default_factory=list)
    _check_report: CheckReport | None = field(default=None, repr=False)

    @property
    def space_spec(self) -> str | None:
        """The ``--space`` in force: the option, else the config's ``space``."""
        return self.inputs.space or self.config.space

    @cached_property
    def space(self) -> SearchSpace:
        """The search space: ``--space``/config, else stored in the file, else inferred."""
        from .resolve import resolve_space

        return resolve_space(
            self.space_spec,
            self.study,
            trust=space_trust(self.inputs.trust, self.inputs.space, self.space_spec),
            run_space=self.inputs.run_space and self.inputs.space is not None,
            n_startup_jobs=self.settings.n_startup_jobs,
            config=self.config_space_file,
        )

    @property
    def config_space_file(self) -> str | None:
        """The config file, when the space in force is its ``space =`` (for its errors)."""
        if self.inputs.space is None and self.config.space is not None:
            return self.config.path or "the config file"
        return None

    @property
    def known_space(self) -> SearchSpace | None:
        """The space when it was given or stored, ``None`` when it would only be inferred.

        Cheap: nothing is inferred when no space was given and none came with the file.
        """
        if self.space_spec is None and self.study.space is None:
            return None
        space = self.space
        return None if space.inferred else space

    def checks(self) -> CheckReport:
        """The findings of every selected check, computed once per session."""
        if self._check_report is None:
            from .checks import run_checks

            report = run_checks(
                self.study,
                self.space,
                select=self.select,
                ignore=self.ignore,
                fail_on=self.fail_on,
                thresholds=self.thresholds,
                settings=self.settings,
                algo=self.algo if self.algo_source != "default" else None,
                n_startup_jobs=self.given_startup,
            )
            extra: dict[str, Any] = {"algo": self.algo, "algo_source": self.algo_source}
            if self.config.path:
                extra["config"] = self.config.path
            self._check_report = replace(report, settings={**report.settings, **extra})
        return self._check_report

    def summary(
        self, top: int = 10, *, space: SearchSpace | str | None = "auto", model: bool = True
    ) -> Summary:
        """``summarize`` with this session's settings (and its space when one is known);
        ``model=False`` leaves out TPE's final model (``report`` does not show it)."""
        from .summary import summarize

        chosen = self.known_space if space == "auto" else space
        return summarize(
            self.study,
            top=top,
            space=chosen,  # type: ignore[arg-type]
            settings=self.settings,
            checks=self.checks(),
            model=model,
        )

    @property
    def given_startup(self) -> int | None:
        """n_startup_jobs when the user gave it (option or config), else None: detected."""
        source = self.settings.startup_source
        return None if source in ("default", "Optuna's default") else self.settings.n_startup_jobs


def space_trust(trust: bool, given: str | None, spec: str | None) -> bool:
    """Whether ``--trust`` covers the space ``spec``: yes for the trials file's own space and
    a ``--space`` given on the command line beside it (``given``), never for a space a config
    file names, so no value in a config can make the tool run code."""
    return trust and (given is not None or spec is None)


def parse_size(size: str | int | None, option: str = "--max-memory") -> int | None:
    """'2G', '500M', '800k' or a number of bytes."""
    if size is None or isinstance(size, int):
        return size
    text = size.strip().upper().removesuffix("B")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1:], 1)
    try:
        value = float(text[:-1] if scale > 1 else text) * scale
    except ValueError as exc:
        raise InputError(f"{option} {size}: expected a size such as 2G or 500M") from exc
    if value < 16 << 20:
        raise InputError(f"{option} {size}: at least 16M")
    return int(value)


def split_codes(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(p.strip() for p in text.split(",") if p.strip())


@dataclass(frozen=True)
class Plan:
    """The settings decided before loading (config merged with the options)."""

    config: Config
    select: tuple[str, ...]
    ignore: tuple[str, ...]
    fail_on: str


def plan(inputs: Inputs) -> Plan:
    """Read the config and validate every option that does not need the study.

    Called before the (possibly long) load, so a typo fails at once.
    """
    from .checks import unknown_patterns
    from .config import load_config

    cfg = load_config(inputs.config)
    select = inputs.select if inputs.select is not None else cfg.select
    ignore = inputs.ignore if inputs.ignore is not None else cfg.ignore
    bad = unknown_patterns([*select, *ignore])
    if bad:
        raise InputError(f"unknown check {bad[0]!r}; run `hopt-inspect checks` for the list")
    fail_on = inputs.fail_on or cfg.fail_on
    if fail_on not in SEVERITY_NAMES:
        raise InputError(f"--fail-on {fail_on}: use info, warning or error")
    algo = inputs.algo or cfg.algo
    if algo is not None and algo not in ALGOS:
        raise InputError(f"--algo {algo}: use tpe or rand (default: detected from the trials)")
    parse_size(inputs.max_memory)
    if inputs.run_space and inputs.space is None:  # never a config's space: explicit only
        raise InputError("--run-space needs --space FILE.py:NAME on the command line")
    if inputs.run_space and str(inputs.space).endswith(".py"):  # before the warning it runs
        raise InputError(
            f"--space {inputs.space}: --run-space needs the variable, as in {inputs.space}:space"
        )
    return Plan(cfg, tuple(select), tuple(ignore), fail_on)


def open_session(
    inputs: Inputs, *, freeze: bool = False, planned: Plan | None = None, compact: bool = True
) -> Session:
    """Load the study and decide its settings (options > config > the file > defaults).

    ``freeze`` moves everything loaded out of the cyclic collector's way (for a one-shot
    command: analysis creates many small objects and re-scanning the study costs seconds).
    ``compact`` as in ``load_study``.
    """
    p = planned or plan(inputs)
    study = load_inputs(inputs, compact=compact)
    if freeze:
        import gc

        gc.freeze()
    return session_for(study, inputs, p)


def load_inputs(inputs: Inputs, path: Path | str | None = None, *, compact: bool = True) -> Study:
    """The study file ``inputs`` name (or ``path``), loaded with their --trust, --strict,
    --max-memory and --study: the one place a command turns options into a load."""
    from .loading import load_study

    return load_study(
        Path(path if path is not None else inputs.file),
        trust=inputs.trust,
        strict=inputs.strict,
        max_memory=parse_size(inputs.max_memory),
        study_name=inputs.study,
        compact=compact,
    )


def session_for(study: Study, inputs: Inputs | None = None, planned: Plan | None = None) -> Session:
    """A session around an already loaded study (notebooks, ``watch``, ``compare``)."""
    from .tpe import TPESettings, settings_for

    inputs = inputs or Inputs(file=study.source.path)
    p = planned or plan(inputs)
    cfg = p.config
    base = settings_for(study, _first(inputs.n_startup_jobs, cfg.n_startup_jobs))
    if inputs.n_startup_jobs is not None:
        startup_source = "--n-startup-jobs"
    elif cfg.n_startup_jobs is not None:
        startup_source = Path(cfg.path).name if cfg.path else "the config"
    else:
        startup_source = base.startup_source
    settings = TPESettings(
        gamma=_first(inputs.gamma, cfg.gamma, base.gamma),
        prior_weight=_first(inputs.prior_weight, cfg.prior_weight, base.prior_weight),
        n_startup_jobs=base.n_startup_jobs,
        lf=_first(inputs.lf, base.lf),
        startup_source=startup_source,
    )
    algo, algo_source = _algo(study, inputs, cfg)
    notes = []
    if cfg.path:
        notes.append(f"settings from {cfg.path}")
    return Session(
        inputs=inputs,
        study=study,
        config=cfg,
        settings=settings,
        algo=algo,
        algo_source=algo_source,
        select=p.select,
        ignore=p.ignore,
        fail_on=p.fail_on,
        thresholds=cfg.thresholds,
        notes=notes,
    )


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _algo(study: Study, inputs: Inputs, cfg: Config) -> tuple[str, str]:
    if inputs.algo:
        return inputs.algo, "option"
    if cfg.algo:
        return cfg.algo, "config"
    return "tpe", "default"
