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


def spread(param: Param, values: Any) -> float:
    """Range of values in own-scale coordinates, as a share of the parameter's range."""
    import numpy as np

    c = coords(param, values)
    lo, hi = coord_range(param)
    if len(c) == 0 or hi <= lo:
        return math.nan
    return float((np.max(c) - np.min(c)) / (hi - lo))
