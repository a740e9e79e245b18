"""Param and SearchSpace: the model of a hyperopt search space, in hyperopt's own terms.

Kinds and parametrisation are hyperopt's: for the log kinds ``low``/``high``/``mu``/``sigma``
are in log space (``hp.loguniform('lr', log(1e-5), 0)`` has ``low = -11.51``), values are
stored in natural scale. ``choice``/``pchoice``/``randint`` values are option indices (for
``randint(low, high)`` the integer itself). This module imports nothing of ours.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CONTINUOUS_KINDS = (
    "uniform",
    "quniform",
    "uniformint",
    "loguniform",
    "qloguniform",
    "normal",
    "qnormal",
    "lognormal",
    "qlognormal",
)
CATEGORICAL_KINDS = ("randint", "choice", "pchoice")
# hp.<kind>(label, *args): the names of the arguments, in hyperopt's order
SIGNATURES = {
    "uniform": ("low", "high"),
    "quniform": ("low", "high", "q"),
    "uniformint": ("low", "high"),
    "loguniform": ("low", "high"),
    "qloguniform": ("low", "high", "q"),
    "normal": ("mu", "sigma"),
    "qnormal": ("mu", "sigma", "q"),
    "lognormal": ("mu", "sigma"),
    "qlognormal": ("mu", "sigma", "q"),
    "randint": ("low", "high"),
}
KINDS = CONTINUOUS_KINDS + CATEGORICAL_KINDS
LOG_KINDS = frozenset({"loguniform", "qloguniform", "lognormal", "qlognormal"})


@dataclass(frozen=True)
class KindInfo:
    """What one hyperopt kind is: the single table every module reads (through ``Param``).

    ``bounded``: hard ``low``/``high`` bounds that TPE passes to its lpdf (continuous kinds
    only; categoricals are bounded by their options). ``log``: fitted and drawn in log space.
    ``quantised``: values rounded to a ``q`` lattice. ``family``: the prior's shape,
    ``"uniform"``, ``"normal"`` or ``"categorical"``.
    """

    bounded: bool
    log: bool
    quantised: bool
    categorical: bool
    family: str


KIND_TABLE: dict[str, KindInfo] = {
    "uniform": KindInfo(True, False, False, False, "uniform"),
    "quniform": KindInfo(True, False, True, False, "uniform"),
    "uniformint": KindInfo(True, False, True, False, "uniform"),
    "loguniform": KindInfo(True, True, False, False, "uniform"),
    "qloguniform": KindInfo(True, True, True, False, "uniform"),
    "normal": KindInfo(False, False, False, False, "normal"),
    "qnormal": KindInfo(False, False, True, False, "normal"),
    "lognormal": KindInfo(False, True, False, False, "normal"),
    "qlognormal": KindInfo(False, True, True, False, "normal"),
    "randint": KindInfo(False, False, False, True, "categorical"),
    "choice": KindInfo(False, False, False, True, "categorical"),
    "pchoice": KindInfo(False, False, False, True, "categorical"),
}
assert set(KIND_TABLE) == set(KINDS)

# Where a space came from (SearchSpace.origin).
ORIGINS = ("script", "stored", "inferred", "toml", "import", "pickle")
# An inferred parameter below this confidence cannot support a verdict on its own.
LOW_CONFIDENCE = 0.8
# Bounds: a runner-up such as 0.99 for 1 leaves a check about pressing a bound unchanged
BOUND_LOW_CONFIDENCE = 0.6


@dataclass(frozen=True)
class Condition:
    """Active only when the choice ``label`` took option ``index`` (any of ``indices``)."""

    label: str
    indices: tuple[int, ...]


@dataclass(frozen=True)
class Param:
    """One labelled distribution of a search space."""

    label: str
    kind: str
    low: float | None = None
    high: float | None = None
    q: float | None = None
    mu: float | None = None
    sigma: float | None = None
    options: tuple[str, ...] | None = None  # display text of each option (categoricals)
    # each option as written when it is a plain literal (int, float, str, bool, None), else
    # its display text: what the space command and export write back (16 stays 16, not "16")
    option_values: tuple[Any, ...] | None = None
    p: tuple[float, ...] | None = None  # pchoice probabilities
    conditional: tuple[Condition, ...] = ()  # all must hold; () = always active
    inferred: bool = False  # bounds/kind guessed from observed values
    confidence: float | None = None  # None/1.0: exact source; 0-1: inferred
    # inferred: how sure the natural bounds are, when every plausible family agrees on them
    # (uniform and loguniform over [0.3, 1] cannot be told apart by 20 draws; the bound 1
    # can). None: as ``confidence``.
    bound_confidence: float | None = None
    evidence: str = ""  # why an inferred parameter is believed (tests, margins)

    @property
    def kind_info(self) -> KindInfo:
        return KIND_TABLE[self.kind]

    @property
    def is_log(self) -> bool:
        return KIND_TABLE[self.kind].log

    @property
    def is_categorical(self) -> bool:
        return KIND_TABLE[self.kind].categorical

    @property
    def is_quantised(self) -> bool:
        return KIND_TABLE[self.kind].quantised

    @property
    def is_bounded(self) -> bool:
        """Hard continuous bounds (uniform kinds); categoricals and normals are not."""
        return KIND_TABLE[self.kind].bounded

    @property
    def family(self) -> str:
        """The prior's shape: ``"uniform"``, ``"normal"`` or ``"categorical"``."""
        return KIND_TABLE[self.kind].family

    @property
    def low_confidence(self) -> bool:
        """Inferred, and the data cannot pin its family or bounds: no verdicts from it."""
        if not self.inferred:
            return False
        return self.confidence is None or self.confidence < LOW_CONFIDENCE

    @property
    def bounds_uncertain(self) -> bool:
        """Inferred, and the data cannot pin its bounds (its family may still be open):
        checks about bounds (best-at-boundary, edge-sampling) judge the observed range
        instead (``checks.scale.bounds_frame``) and say so."""
        if not self.inferred:
            return False
        if self.bound_confidence is None:
            return self.low_confidence
        return self.bound_confidence < BOUND_LOW_CONFIDENCE

    @property
    def n_options(self) -> int:
        """Number of categories: options of a choice, integers of a randint."""
        if self.options is not None:
            return len(self.options)
        if self.kind == "randint" and self.low is not None:
            return int((self.high or 0) - self.low) if self.high is not None else int(self.low)
        return 0

    @property
    def randint_offset(self) -> int:
        """``hp.randint(low, high)`` stores the value; TPE counts ``value - low``."""
        return int(self.low) if self.kind == "randint" and self.high is not None else 0

    @property
    def tpe_name(self) -> str:
        """The pyll distribution name ``tpe.suggest`` dispatches on."""
        if self.kind == "uniformint":
            return "quniform"
        if self.kind == "choice":
            return "randint"
        if self.kind == "pchoice":
            return "categorical"
        return self.kind

    def natural_bounds(self) -> tuple[float, float] | None:
        """The range of stored values, in the parameter's own (natural) units."""
        if self.is_categorical:
            n = self.n_options
            off = self.randint_offset
            return (off, off + n - 1) if n else None
        if self.low is None or self.high is None:
            return None
        if self.is_log:
            return math.exp(self.low), math.exp(self.high)
        return self.low, self.high

    def option_value(self, index: int) -> Any:
        """Option ``index`` as written (a plain literal), else its display text."""
        if self.option_values is not None and 0 <= index < len(self.option_values):
            return self.option_values[index]
        return self.option_text(index)

    def option_text(self, index: int) -> str:
        if self.options is not None and 0 <= index < len(self.options):
            return self.options[index]
        return str(index + self.randint_offset)

    def describe(self) -> str:
        """``loguniform(-11.51, 0)``: hyperopt's own spelling of the distribution."""

        def n(v: float | None) -> str:
            return "?" if v is None else f"{v:.4g}"

        if self.kind == "pchoice" and self.p and len(self.p) == self.n_options:
            pairs = zip(self.p, self.options or (), strict=False)
            opts = ", ".join(f"({p:.4g}, {o})" for p, o in pairs)
            if len(opts) < 80:  # the odds are the point of a pchoice
                return f"pchoice([{opts}])"
            return f"pchoice(p=[{', '.join(f'{p:.3g}' for p in self.p)}])"
        if self.kind in ("choice", "pchoice"):
            opts = ", ".join(self.options or ())
            return f"{self.kind}([{opts}])" if len(opts) < 60 else f"{self.kind}({self.n_options})"
        if self.kind == "randint":
            if self.high is None:
                return f"randint({n(self.low)})"
            return f"randint({n(self.low)}, {n(self.high)})"
        if self.kind in ("normal", "qnormal", "lognormal", "qlognormal"):
            args = [n(self.mu), n(self.sigma)] + ([n(self.q)] if self.q is not None else [])
        else:
            args = [n(self.low), n(self.high)] + ([n(self.q)] if self.q is not None else [])
            if self.kind == "uniformint":
                args = args[:2]
        text = f"{self.kind}({', '.join(args)})"
        if self.is_log and self.low is not None and self.high is not None:
            text += f" = {math.exp(self.low):.3g}..{math.exp(self.high):.3g}"
        return text


@dataclass(frozen=True)
class SearchSpace:
    params: Mapping[str, Param]
    source: str  # "tuner.py:space", "space.toml", "stored in the file", "inferred ..."
    inferred: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    origin: str = ""  # one of ORIGINS; "" = "inferred" if inferred else "stored"

    def __post_init__(self) -> None:
        if not self.origin:
            object.__setattr__(self, "origin", "inferred" if self.inferred else "stored")
        elif self.origin not in ORIGINS:
            raise ValueError(f"unknown space origin {self.origin!r}")
        if self.origin == "inferred" and not self.inferred:
            object.__setattr__(self, "inferred", True)

    @property
    def low_confidence_labels(self) -> tuple[str, ...]:
        return tuple(label for label, p in self.params.items() if p.low_confidence)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.params)

    def __getitem__(self, label: str) -> Param:
        return self.params[label]

    def option_display(self) -> dict[str, dict[int, str]]:
        """For each choice-like label: stored value → option text (inferred ones left out)."""
        return {
            label: {i + p.randint_offset: p.option_text(i) for i in range(p.n_options)}
            for label, p in self.params.items()
            if p.is_categorical and not p.inferred
        }


def infer_space(observed: Mapping[str, list[Any]]) -> SearchSpace:
    """A space guessed from observed values, every parameter marked inferred.

    Integers 0..K-1 with few distinct values are guessed ``randint(K)`` (how ``hp.choice``
    stores option indices); other integers ``quniform(min, max, 1)``; positive values
    spanning more than three decades ``loguniform``; anything else ``uniform(min, max)``.
    """
    import numpy as np

    params: dict[str, Param] = {}
    for label, values in observed.items():
        if isinstance(values, np.ndarray):
            nums = values.astype(float)
        else:
            nums = np.asarray(
                [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)],
                dtype=float,
            )
        nums = nums[np.isfinite(nums)]
        if not nums.size:
            params[label] = Param(label, "uniform", low=0.0, high=1.0, inferred=True)
            continue
        low, high = float(nums.min()), float(nums.max())
        integral = bool(np.all(nums == np.round(nums)))
        n_distinct = len(np.unique(nums)) if integral and high <= 30 else 0
        if integral and low == 0 and high <= 30 and n_distinct >= min(high + 1, 2):
            params[label] = Param(label, "randint", low=high + 1, inferred=True)
        elif integral and high > low:
            params[label] = Param(label, "quniform", low=low, high=high, q=1.0, inferred=True)
        elif low > 0 and high / low > 1000:
            params[label] = Param(
                label, "loguniform", low=math.log(low), high=math.log(high), inferred=True
            )
        else:
            if low == high:
                low, high = low - 0.5, high + 0.5
            params[label] = Param(label, "uniform", low=low, high=high, inferred=True)
    return SearchSpace(params, "inferred from the observed values", inferred=True)
