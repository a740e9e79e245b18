"""``[tool.hopt-inspect]`` in the nearest pyproject.toml, or ``--config FILE``.

[tool.hopt-inspect]
select = ["S", "T003"]          # codes, code prefixes or names
ignore = ["S005"]
fail-on = "warning"             # info | warning | error
space = "tuner.py:space"        # default --space: read statically, never imported
algo = "tpe"                    # tpe | rand; default: what the trials show
n-startup-jobs = 20
gamma = 0.25
prior-weight = 1.0

[tool.hopt-inspect.thresholds]
margin = 0.05
failure-rate = 0.2
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .checks.base import SEVERITIES, Thresholds
from .errors import InputError

_KEYS = {
    "select", "ignore", "fail-on", "space", "algo", "n-startup-jobs", "gamma", "prior-weight",
    "thresholds",
}  # fmt: skip


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_on: str = "warning"
    space: str | None = None
    algo: str | None = None  # None: detected from the trials
    n_startup_jobs: int | None = None  # None: hyperopt's 20, or Optuna's 10
    gamma: float | None = None
    prior_weight: float | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    path: str | None = None  # where it came from, for messages


def find_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from exc


def load_config(explicit: Path | None = None, start: Path | None = None) -> Config:
    """The explicit ``--config`` file, else ``[tool.hopt-inspect]`` of the nearest pyproject."""
    if explicit is not None:
        if not explicit.is_file():
            raise InputError(f"--config {explicit}: no such file")
        doc = _read_toml(explicit)
        table = doc.get("tool", {}).get("hopt-inspect", doc)
        return _parse(table, explicit)
    pyproject = find_pyproject(start or Path.cwd())
    if pyproject is None:
        return Config()
    table = _read_toml(pyproject).get("tool", {}).get("hopt-inspect")
    return Config() if table is None else _parse(table, pyproject)


def _codes(value: Any, key: str, path: Path) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f'{path}: {key} must be a list of codes such as ["S", "T003"]')
    return tuple(v for v in value if v)


def _parse(table: dict[str, Any], path: Path) -> Config:
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        known = ", ".join(sorted(_KEYS))
        raise InputError(
            f"{path}: unknown key {unknown[0]!r} in [tool.hopt-inspect]; known: {known}"
        )
    config = Config(path=str(path))
    if "select" in table:
        config = replace(config, select=_codes(table["select"], "select", path))
    if "ignore" in table:
        config = replace(config, ignore=_codes(table["ignore"], "ignore", path))
    if "fail-on" in table:
        if table["fail-on"] not in SEVERITIES:
            raise InputError(f"{path}: fail-on must be one of {', '.join(SEVERITIES)}")
        config = replace(config, fail_on=table["fail-on"])
    if "space" in table:
        config = replace(config, space=_space(table["space"], path))
    if "algo" in table:
        if table["algo"] not in ("tpe", "rand"):
            raise InputError(f'{path}: algo must be "tpe" or "rand"')
        config = replace(config, algo=table["algo"])
    if "n-startup-jobs" in table:
        config = replace(
            config, n_startup_jobs=_number(table, "n-startup-jobs", int, path, 0, 10**6)
        )
    if "gamma" in table:
        config = replace(config, gamma=_number(table, "gamma", float, path, 1e-3, 1.0))
    if "prior-weight" in table:
        config = replace(config, prior_weight=_number(table, "prior-weight", float, path, 1e-9))
    if "thresholds" in table:
        config = replace(config, thresholds=_thresholds(table["thresholds"], path))
    return config


def _space(value: Any, path: Path) -> str:
    """The config's ``space``: a TOML spec or a script, relative to the config's folder.

    A script named here is only ever READ (``scriptspace``): ``--run-space``, the one way
    to import a script, applies to ``--space`` on the command line and never to a config,
    so no value in a config file can make the tool run code.
    """
    if not isinstance(value, str) or not value.strip() or len(value) > 4096:
        raise InputError(f"{path}: space in [tool.hopt-inspect] must be a path such as space.toml")
    return _relative_to(value, path.parent)


def _relative_to(spec: str, folder: Path) -> str:
    """A ``space`` file named in a config is relative to that config's folder (a TOML spec,
    a script, a pickle: anything but ``package.module:NAME``)."""
    file_part, sep, name = spec.partition(":")
    if sep and not file_part.endswith(".py"):  # package.module:NAME, found on sys.path
        return spec
    if Path(file_part).is_absolute():
        return spec
    return str(folder / file_part) + sep + name


def _number(
    table: dict[str, Any], key: str, kind: type, path: Path, low: float, high: float | None = None
) -> Any:
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{path}: {key} must be a number")
    if kind is int and value != int(value):
        raise InputError(f"{path}: {key} must be a whole number")
    if value < low or (high is not None and value > high):
        where = f"at least {low}" if high is None else f"between {low} and {high}"
        raise InputError(f"{path}: {key} must be {where}")
    return kind(value)


def _thresholds(table: Any, path: Path) -> Thresholds:
    if not isinstance(table, dict):
        raise InputError(f"{path}: [tool.hopt-inspect.thresholds] must be a table")
    known = {f.name: f for f in fields(Thresholds)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in known:
            names = ", ".join(n.replace("_", "-") for n in known)
            raise InputError(f"{path}: unknown threshold {key!r}; known: {names}")
        kind = int if isinstance(getattr(Thresholds(), name), int) else float
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{path}: threshold {key} must be a number")
        try:
            values[name] = kind(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InputError(f"{path}: threshold {key} must be a number") from exc
    return Thresholds(**values)
