"""The few classical tests the checks use, without importing ``scipy.stats``.

``import scipy.stats`` costs about 0.5 s (more on a loaded machine), which every
``summary`` and ``check`` paid for one Mann-Whitney test. These follow scipy's own
definitions (``scipy.stats.mannwhitneyu`` with its defaults, ``fisher_exact``'s one-sided
p-value, ``spearmanr``'s two-sided p-value, ``norm.ppf``) and are tested against scipy on
random inputs: equal to about 1e-12 relative (the exact Mann-Whitney law is computed in
integers here, so it can differ from scipy's floats in the last bits).

Only ``math`` and numpy.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any, NamedTuple


class TestResult(NamedTuple):
    statistic: float
    pvalue: float


def ndtr(x: float) -> float:
    """The standard normal CDF."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def norm_ppf(p: float) -> float:
    """The standard normal quantile (Acklam's rational start, two Newton steps on erfc)."""
    if not 0.0 < p < 1.0:
        if p == 0.0:
            return -math.inf
        if p == 1.0:
            return math.inf
        return math.nan
    a = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
         -30.66479806614716, 2.506628277459239)  # fmt: skip
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
         -13.28068155288572)  # fmt: skip
    c = (-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
         4.374664141464968, 2.938163982698783)  # fmt: skip
    d = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    low = 0.02425
    if p < low:
        q = math.sqrt(-2 * math.log(p))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    elif p <= 1 - low:
        q = p - 0.5
        r = q * q
        x = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        )
    else:
        q = math.sqrt(-2 * math.log1p(-p))
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    for _ in range(2):  # Newton on the CDF, written in the tail that keeps precision
        err = ndtr(x) - p if x < 0 else (1.0 - p) - 0.5 * math.erfc(x / math.sqrt(2.0))
        x -= err * math.sqrt(2 * math.pi) * math.exp(0.5 * x * x)
    return x


def rankdata(values: Any) -> tuple[Any, Any]:
    """Average ranks (1-based) and the sizes of the groups of ties."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    order = np.argsort(v, kind="mergesort")
    sorted_v = v[order]
    starts = np.flatnonzero(np.r_[True, sorted_v[1:] != sorted_v[:-1]])
    counts = np.diff(np.r_[starts, len(v)])
    average = starts + (counts + 1) / 2.0  # 1-based average rank of each group
    ranks = np.empty(len(v))
    ranks[order] = np.repeat(average, counts)
    return ranks, counts


@cache
def _mwu_counts(n1: int, n2: int) -> tuple[int, ...]:
    """How many of the C(n1 + n2, n1) orderings give U = 0, 1, ..., n1 * n2 (no ties)."""
    # f(m, n) as a polynomial in U: f(m, n) = f(m - 1, n) shifted by n + f(m, n - 1)
    table = [[(1,)] * (n2 + 1)]
    for m in range(1, n1 + 1):
        row = [(1,)]
        for n in range(1, n2 + 1):
            left, up = table[m - 1][n], row[n - 1]
            size = m * n + 1
            out = [0] * size
            for u, count in enumerate(left):
                out[u + n] += count
            for u, count in enumerate(up):
                out[u] += count
            row.append(tuple(out))
        table.append(row)
    return table[n1][n2]


def mannwhitneyu(x: Any, y: Any, alternative: str = "two-sided") -> TestResult:
    """``scipy.stats.mannwhitneyu(x, y, alternative=...)`` with its defaults: the exact law
    when a sample has at most 8 values and there are no ties, else the normal
    approximation with the tie correction and a continuity correction. The statistic is
    U of ``x`` (pairs where x > y, ties counting half)."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n1, n2 = len(x), len(y)
    ranks, ties = rankdata(np.concatenate([x, y]))
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    u2 = n1 * n2 - u1
    if alternative == "greater":
        u, factor = u1, 1
    elif alternative == "less":
        u, factor = u2, 1
    elif alternative == "two-sided":
        u, factor = max(u1, u2), 2
    else:
        raise ValueError(f"alternative {alternative!r}")
    if (n1 > 8 and n2 > 8) or bool(np.any(ties > 1)):
        n = n1 + n2
        tie_term = float(np.sum(ties.astype(float) ** 3 - ties))
        s = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
        z = (u - n1 * n2 / 2 - 0.5) / s if s > 0 else math.nan
        p = ndtr(-z)
    else:
        counts = _mwu_counts(min(n1, n2), max(n1, n2))
        k = round(u)
        p = sum(counts[k:]) / math.comb(n1 + n2, n1)
    return TestResult(u1, min(max(p * factor, 0.0), 1.0))


def fisher_exact_greater(table: Any) -> float:
    """One-sided ("greater") p-value of Fisher's exact test on a 2x2 table
    ``[[a, b], [c, d]]``: P(X >= a), X hypergeometric with the table's margins (as
    ``scipy.stats.fisher_exact(table, alternative="greater")[1]``)."""
    (a, b), (c, d) = table
    row1, row2, col1 = a + b, c + d, a + c
    top = min(row1, col1)
    if a > top:
        return 0.0
    total = (
        math.lgamma(row1 + row2 + 1) - math.lgamma(col1 + 1) - math.lgamma(row1 + row2 - col1 + 1)
    )

    def log_term(x: int) -> float:
        return (
            math.lgamma(row1 + 1)
            - math.lgamma(x + 1)
            - math.lgamma(row1 - x + 1)
            + math.lgamma(row2 + 1)
            - math.lgamma(col1 - x + 1)
            - math.lgamma(row2 - col1 + x + 1)
            - total
        )

    lowest = max(a, col1 - row2)
    terms = [log_term(x) for x in range(lowest, top + 1)]
    if not terms:
        return 1.0
    peak = max(terms)
    return min(1.0, math.exp(peak) * math.fsum(math.exp(t - peak) for t in terms))


def _betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta I_x(a, b) (continued fraction, Lentz)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _betainc(b, a, 1.0 - x)
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    tiny = 1e-300
    f, c, d = 1.0, 1.0, 0.0
    for i in range(400):
        m = i // 2
        if i == 0:
            num = 1.0
        elif i % 2 == 0:
            num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            num = -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + num / c
        c = c if abs(c) > tiny else tiny
        f *= c * d
        if abs(1.0 - c * d) < 1e-16:
            break
    return math.exp(log_front) * (f - 1.0) / a


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * _betainc(df / 2, 0.5, df / (df + t * t))
    return tail if t > 0 else 1.0 - tail


def spearmanr(x: Any, y: Any) -> TestResult:
    """Spearman's rho and its two-sided p-value (t with n - 2 degrees of freedom), as
    ``scipy.stats.spearmanr(x, y)``; NaN for a constant sample."""
    import numpy as np

    rx, _ = rankdata(x)
    ry, _ = rankdata(y)
    n = len(rx)
    if n < 3 or rx.min() == rx.max() or ry.min() == ry.max():
        return TestResult(math.nan, math.nan)
    rho = max(-1.0, min(1.0, float(np.corrcoef(rx, ry)[0, 1])))  # as scipy computes it
    df = n - 2
    if abs(rho) == 1.0:
        return TestResult(rho, 0.0)
    t = rho * math.sqrt(df / ((rho + 1.0) * (1.0 - rho)))
    return TestResult(rho, min(1.0, 2 * t_sf(abs(t), df)))
