"""The loss net of the other parameters: an additive least-squares fit for best-at-boundary.

In a space of several parameters, the loss near one parameter's bound is set by all of
them: the trials there differ in the other six parameters of an xgboost-like space more
than in the one being judged. ``partial_residuals`` removes the others' share: it fits the
loss, over every finished trial, by a sum of one term per parameter (a parabola in the
parameter's own-scale coordinate, one level per option of a choice, one for "inactive" in
a conditional space) and returns, for one parameter, the loss minus the fitted terms of
all the others. What is left is that parameter's own effect plus what the additive model
does not explain (interactions, noise). Losses above their 85th percentile are clipped to
it first, so a few diverged trials do not set the fit. numpy only.
"""

from __future__ import annotations

from typing import Any

from . import scale

# a fit needs at least this many trials per coefficient, else no residuals; and at most
# this many coefficients (a choice of hundreds of options, a space of hundreds of labels:
# no fit, rather than a matrix of trials x thousands of columns)
TRIALS_PER_TERM = 3
MAX_TERMS = 200
MAX_FIT_ROWS = 20_000
CLIP_QUANTILE = 0.85


class AdditiveFit:
    """The fit's per-parameter terms over the finished trials (``usable`` marks them)."""

    def __init__(self, study: Any, space: Any) -> None:
        import numpy as np

        losses = study.ok_losses
        self.usable = np.isfinite(losses)
        y = losses[self.usable]
        self.terms: dict[str, Any] = {}
        self.ok = False
        if len(y) < 10:
            return
        y = np.minimum(y, np.quantile(y, CLIP_QUANTILE))
        blocks = {}
        budget = min(MAX_TERMS, len(y) // TRIALS_PER_TERM) - 1  # the intercept
        for param in space.params.values():
            if param.label not in study.labels:
                continue
            block = _block(param, study.column(param.label)[self.usable], budget)
            if block is False:
                return  # more terms than the trials (or the cap) allow
            if block is not None:
                blocks[param.label] = block
                budget -= block.shape[1]
        x = np.column_stack([np.ones(len(y)), *blocks.values()])
        rows = slice(None)  # a big study: the fit on evenly spaced trials, its terms on all
        if len(y) > MAX_FIT_ROWS:
            rows = np.linspace(0, len(y) - 1, MAX_FIT_ROWS).astype(int)
        beta = np.linalg.lstsq(x[rows], y[rows], rcond=None)[0]
        i = 1
        for label, block in blocks.items():
            self.terms[label] = block @ beta[i : i + block.shape[1]]
            i += block.shape[1]
        self.clipped = y
        self.ok = True

    def partial_residuals(self, label: str) -> Any:
        """The (clipped) loss minus every other parameter's fitted term, per usable trial;
        None when the fit was not made (too few trials for its terms)."""
        if not self.ok:
            return None
        others = [term for other, term in self.terms.items() if other != label]
        return self.clipped - sum(others) if others else self.clipped


def _block(param: Any, column: Any, budget: int) -> Any:
    """The design columns of one parameter: centred coordinate and its square, or one
    indicator per option but the first; plus "active" where some trials lack it. None
    when it has none, False when it would take more than ``budget`` columns."""
    import numpy as np

    present = np.isfinite(column)
    if present.sum() < 3:
        return None
    cols = []
    if param.is_categorical and param.kind != "randint":
        levels = np.unique(column[present])
        if len(levels) > budget:
            return False
        for value in levels[1:]:
            cols.append((column == value).astype(float))
    else:
        z = np.zeros(column.shape)
        z[present] = scale.coords(param, column[present])
        lo, hi = float(z[present].min()), float(z[present].max())
        if hi <= lo:
            return None
        z = np.where(present, (z - lo) / (hi - lo) - 0.5, 0.0)
        cols += [z, np.where(present, z * z, 0.0)]
    if not present.all():
        cols.append(present.astype(float))
    if len(cols) > budget:
        return False
    return np.column_stack(cols) if cols else None


def slope_test(distance: Any, values: Any) -> tuple[float, float, float]:
    """Least-squares slope of ``values`` against ``distance``, its t statistic and the
    one-sided p-value that it is positive (the loss rises away from the bound, i.e. falls
    towards it); (nan, nan, 1.0) with fewer than 5 trials or 3 distinct distances."""
    import math

    import numpy as np

    from ..stats import t_sf

    keep = np.isfinite(distance) & np.isfinite(values)
    distance, values = distance[keep], values[keep]
    n = len(distance)
    if n < 5 or len(np.unique(distance)) < 3:
        return math.nan, math.nan, 1.0
    x = np.column_stack([np.ones(n), distance])
    beta = np.linalg.lstsq(x, values, rcond=None)[0]
    resid = values - x @ beta
    s2 = float(resid @ resid) / (n - 2)
    var = s2 * float(np.linalg.inv(x.T @ x)[1, 1])
    if var <= 0:
        return float(beta[1]), math.nan, 1.0
    t = float(beta[1]) / math.sqrt(var)
    return float(beta[1]), t, float(t_sf(t, n - 2))
