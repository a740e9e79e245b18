"""A parameter's values in its own scale, and what random search would draw there.

The coordinate is linear for uniform kinds, log for log kinds, and the prior's CDF for the
normal kinds (unbounded, so their "range" is the unit interval of probability).
"""

from __future__ import annotations

import math
from typing import Any

from ..space import Param


def is_continuous(param: Param) -> bool:
    return not param.is_categorical


def is_bounded(param: Param) -> bool:
    return param.kind in ("uniform", "quniform", "uniformint", "loguniform", "qloguniform")


def coords(param: Param, values: Any) -> Any:
    """Values (natural units) → coordinates in the parameter's own scale."""
    import numpy as np

    x = np.asarray(values, dtype=float)
    if param.kind in ("loguniform", "qloguniform"):
        return np.log(np.maximum(x, 1e-300))
    if param.kind in ("normal", "qnormal", "lognormal", "qlognormal"):
        from scipy.special import ndtr  # only the normal kinds need scipy (0.1 s to import)

        if param.kind.endswith("lognormal"):
            x = np.log(np.maximum(x, 1e-300))
        return ndtr((x - param.mu) / param.sigma)
    return x


def coord_range(param: Param) -> tuple[float, float]:
    if param.kind in ("normal", "qnormal", "lognormal", "qlognormal"):
        return 0.0, 1.0
    return float(param.low), float(param.high)


def prior_draws(param: Param, n: int, seed: int = 0) -> Any:
    """``n`` values as hyperopt's own samplers draw them (natural units, q-rounded)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    kind = param.kind
    if kind in ("uniform", "quniform", "uniformint"):
        x = rng.uniform(param.low, param.high, n)
    elif kind in ("loguniform", "qloguniform"):
        x = np.exp(rng.uniform(param.low, param.high, n))
    elif kind in ("normal", "qnormal"):
        x = rng.normal(param.mu, param.sigma, n)
    elif kind in ("lognormal", "qlognormal"):
        x = np.exp(rng.normal(param.mu, param.sigma, n))
    else:
        raise ValueError(f"no continuous prior for {kind}")
    if param.q is not None:
        x = np.round(x / param.q) * param.q
    return x


def category_probs(param: Param) -> list[float]:
    k = param.n_options
    if param.kind == "pchoice" and param.p:
        return list(param.p)
    return [1.0 / k] * k if k else []


def margin_mass(param: Param, margin: float, draws: Any) -> tuple[float, float]:
    """Prior probability of the low and the high margin (in own-scale coordinates)."""
    import numpy as np

    lo, hi = coord_range(param)
    width = (hi - lo) * margin
    c = coords(param, draws)
    return float(np.mean(c <= lo + width)), float(np.mean(c >= hi - width))


def margin_sides(param: Param, values: Any, margin: float) -> list[str | None]:
    """``in_margin`` of every value, in one pass over an array (the same coordinates)."""
    import numpy as np

    lo, hi = coord_range(param)
    c = coords(param, values)
    width = (hi - lo) * margin
    low, high = c <= lo + width, c >= hi - width
    return np.where(low, "low", np.where(high, "high", None)).tolist()


def in_margin(param: Param, value: float, margin: float) -> str | None:
    """'low', 'high' or None: which margin of the range a value lies in."""
    lo, hi = coord_range(param)
    c = float(coords(param, [value])[0])
    width = (hi - lo) * margin
    if c <= lo + width:
        return "low"
    if c >= hi - width:
        return "high"
    return None


def bound_text(param: Param, side: str) -> str:
    bounds = param.natural_bounds()
    if bounds is None:
        return side
    value = bounds[0] if side == "low" else bounds[1]
    word = "lower" if side == "low" else "upper"
    shown = f"{value:.4g}"
    if param.is_log:
        raw = param.low if side == "low" else param.high
        shown += f" = exp({raw:.4g})"
    return f"its {word} bound {shown}"


def observed_frame(param: Param, column: Any) -> Param | None:
    """Without --space, when the bounds cannot be pinned down (or the guessed kind has
    none): a uniform (or log-uniform) stand-in over the observed range, in the guessed
    scale, so that "the outer 5%" has a meaning. Its margins are those of the observed
    extremes, a symmetric function of all the trials: comparing the start-up's share there
    with the later trials' is exact under random search."""
    import numpy as np

    x = np.asarray(column, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) < 20:
        return None
    log = param.is_log and bool(np.all(x > 0))
    c = np.log(x) if log else x
    lo, hi = float(np.min(c)), float(np.max(c))
    if not hi > lo:
        return None
    return Param(
        param.label, "loguniform" if log else "uniform", low=lo, high=hi, inferred=True,
        evidence=OBSERVED,
    )  # fmt: skip


OBSERVED = "observed range"


def is_observed(frame: Param) -> bool:
    return frame.evidence == OBSERVED


def bounds_frame(param: Param, column: Any) -> Param | None:
    """The parameter whose bounds define "the margins" of ``param``: itself when its bounds
    are known (given, or inferred with confidence), the observed range when they were
    inferred but cannot be pinned down (or the guessed kind has none and the guess is
    unsure), None for categoricals and for normal kinds (no bounds)."""
    if param.is_categorical:
        return None
    uncertain = bool(getattr(param, "bounds_uncertain", False))
    if is_bounded(param) and not uncertain:
        return param
    if param.inferred and (uncertain or bool(getattr(param, "low_confidence", False))):
        return observed_frame(param, column)
    return None


def bound_words(frame: Param, side: str) -> str:
    """'its lower bound 0.3', or for an observed range 'its lowest value tried 0.31'."""
    if not is_observed(frame):
        return bound_text(frame, side)
    raw = frame.low if side == "low" else frame.high
    value = math.exp(raw) if frame.is_log else raw
    return f"its {'lowest' if side == 'low' else 'highest'} value tried {value:.4g}"


def spread(param: Param, values: Any) -> float:
    """Range of values in own-scale coordinates, as a share of the parameter's range."""
    import numpy as np

    c = coords(param, values)
    lo, hi = coord_range(param)
    if len(c) == 0 or hi <= lo:
        return math.nan
    return float((np.max(c) - np.min(c)) / (hi - lo))


SCALE_WORDS = {
    "uniform": "linear scale",
    "quniform": "linear scale",
    "uniformint": "linear scale",
    "loguniform": "log scale",
    "qloguniform": "log scale",
    "normal": "prior-probability scale",
    "qnormal": "prior-probability scale",
    "lognormal": "prior-probability scale",
    "qlognormal": "prior-probability scale",
}


def scale_word(param: Param) -> str:
    """'log scale', 'linear scale' or 'prior-probability scale' (normal kinds)."""
    return SCALE_WORDS.get(param.kind, "option scale")


def range_word(param: Param) -> str:
    """What a share of the coordinate range means for this parameter."""
    if param.kind in ("normal", "qnormal", "lognormal", "qlognormal"):
        return "of the prior's probability mass"
    if param.is_log:
        return "of the range (log scale)"
    return "of the range"


def pit(param: Param, values: Any, rng: Any) -> Any:
    """Values → the prior's CDF at them, randomised within q cells and options.

    Under random search (values drawn from the prior) the result is exactly uniform on
    [0, 1], whatever the kind: the probability integral transform. NaN stays NaN.
    """
    import numpy as np

    x = np.asarray(values, dtype=float)
    out = np.full(x.shape, np.nan)
    ok = ~np.isnan(x)
    if not ok.any():
        return out
    v = x[ok]
    kind = param.kind
    if param.is_categorical:
        probs = np.asarray(category_probs(param), dtype=float)
        if not len(probs):
            return out
        probs = probs / probs.sum()
        cum = np.concatenate([[0.0], np.cumsum(probs)])
        k = np.clip(np.round(v - param.randint_offset).astype(int), 0, len(probs) - 1)
        out[ok] = cum[k] + rng.uniform(size=len(v)) * probs[k]
        return out
    q = param.q if param.q is not None else (1.0 if kind == "uniformint" else None)
    if q is None:
        out[ok] = np.clip(_cdf(param, v), 0.0, 1.0)
        return out
    a = np.clip(_cdf(param, v - q / 2), 0.0, 1.0)
    b = np.clip(_cdf(param, v + q / 2), 0.0, 1.0)
    out[ok] = a + rng.uniform(size=len(v)) * np.maximum(b - a, 0.0)
    return out


def _cdf(param: Param, x: Any) -> Any:
    """The unrounded prior's CDF at natural-unit values x."""
    import numpy as np

    kind = param.kind
    with np.errstate(all="ignore"):
        if kind in ("uniform", "quniform", "uniformint"):
            return (x - param.low) / (param.high - param.low)
        if kind in ("loguniform", "qloguniform"):
            lx = np.where(x > 0, np.log(np.maximum(x, 1e-300)), -np.inf)
            return (lx - param.low) / (param.high - param.low)
        from scipy.special import ndtr

        if kind in ("lognormal", "qlognormal"):
            x = np.where(x > 0, np.log(np.maximum(x, 1e-300)), -np.inf)
        return ndtr((x - param.mu) / param.sigma)


def has_prior(param: Param) -> bool:
    """Whether the prior is known well enough for pit()."""
    if param.is_categorical:
        return param.n_options > 0
    if param.kind in ("normal", "qnormal", "lognormal", "qlognormal"):
        return param.mu is not None and param.sigma is not None and param.sigma > 0
    return param.low is not None and param.high is not None and param.high > param.low
