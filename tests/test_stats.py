"""hopt_inspect.stats against scipy.stats itself (which the checks no longer import)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from hopt_inspect import stats

scipy_stats = pytest.importorskip("scipy.stats")


def _rel(a: float, b: float) -> float:
    return 0.0 if a == b else abs(a - b) / max(abs(b), 1e-300)


def _samples(rng, n1, n2, tied):
    if tied:
        return rng.integers(0, 5, n1).astype(float), rng.integers(0, 5, n2).astype(float)
    return rng.normal(size=n1), rng.normal(size=n2) + rng.normal()


@pytest.mark.parametrize("tied", [False, True])
def test_mannwhitneyu_equals_scipy_exact_and_asymptotic(tied):
    rng = np.random.default_rng(7 + tied)
    for _ in range(300):
        n1, n2 = (int(v) for v in rng.integers(1, 25, 2))
        x, y = _samples(rng, n1, n2, tied)
        for alternative in ("less", "greater", "two-sided"):
            ours = stats.mannwhitneyu(x, y, alternative)
            theirs = scipy_stats.mannwhitneyu(x, y, alternative=alternative)
            assert ours.statistic == theirs.statistic
            assert _rel(ours.pvalue, float(theirs.pvalue)) < 1e-12, (x, y, alternative)


def test_fisher_exact_greater_equals_scipy():
    rng = np.random.default_rng(3)
    for _ in range(500):
        n = int(rng.integers(0, 400))
        k = int(rng.integers(0, n + 1))
        s = int(rng.integers(1, 40))
        m = int(rng.integers(0, s + 1))
        table = [[k, n - k], [m, s - m]]
        theirs = scipy_stats.fisher_exact(table, alternative="greater")[1]
        assert _rel(stats.fisher_exact_greater(table), float(theirs)) < 1e-10, table


def test_spearmanr_equals_scipy():
    rng = np.random.default_rng(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on a constant input
        for _ in range(500):
            n = int(rng.integers(3, 80))
            x = rng.normal(size=n)
            y = x * rng.normal() + rng.normal(size=n)
            if rng.random() < 0.3:
                x = np.round(x)
            ours, theirs = stats.spearmanr(x, y), scipy_stats.spearmanr(x, y)
            if math.isnan(theirs.pvalue):
                assert math.isnan(ours.pvalue)
                continue
            assert abs(ours.statistic - theirs.statistic) < 1e-14
            assert _rel(ours.pvalue, float(theirs.pvalue)) < 1e-10, (x, y)


def test_norm_ppf_equals_scipy():
    levels = np.r_[
        np.logspace(-300, -1, 100), np.linspace(0.01, 0.99, 99), 1 - np.logspace(-15, -1, 30)
    ]
    for p in levels:
        assert _rel(stats.norm_ppf(float(p)), float(scipy_stats.norm.ppf(p))) < 1e-13, p


def test_summary_and_check_do_not_import_scipy_stats(tmp_path):
    import subprocess
    import sys

    from conftest import SAMPLES

    code = (
        "import sys, runpy; sys.argv = ['hopt-inspect', 'check', sys.argv[1]];"
        " import hopt_inspect.cli as c\n"
        "try:\n    c.main()\nexcept SystemExit:\n    pass\n"
        "print('scipy.stats' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(SAMPLES / "qlearn.p")], capture_output=True, text=True
    )
    assert "tpe-vs-random" in out.stdout and "edge-sampling" not in out.stderr  # it ran
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout + out.stderr


def test_sampler_closeness_all_parameters_at_once_equals_one_at_a_time():
    """sampler._closeness (numpy, every parameter at once) against _union_length per
    parameter, the loop it replaced: the same numbers in the same order, NaN (inactive)
    values and exact ties (d = 0, a tiny random value) included."""
    from hopt_inspect.sampler import _closeness

    rng = np.random.default_rng(11)
    for _ in range(400):
        p, nb = int(rng.integers(1, 12)), int(rng.integers(1, 26))
        good = rng.random((nb, p))
        good[rng.random((nb, p)) < 0.2] = np.nan
        ui = rng.random(p)
        ui[rng.random(p) < 0.15] = np.nan
        if rng.random() < 0.3:  # an exact repeat of a good value
            j = int(rng.integers(p))
            ui[j] = good[0, j]
        seed = int(rng.integers(1 << 30))
        got = _closeness(ui, good, np.random.default_rng(seed))
        ref_rng, want = np.random.default_rng(seed), []
        for j in range(p):
            if ui[j] != ui[j]:
                continue
            g = sorted(x for x in good[:, j] if x == x)
            if not g:
                continue
            d = min(abs(ui[j] - x) for x in g)
            want.append(_union_length(g, d) if d > 0 else ref_rng.uniform() * 1e-9)
        assert got == want


def _union_length(g: list[float], d: float) -> float:
    """Length of the union of [x - d, x + d] ∩ [0, 1] over sorted x in g."""
    total, reach = 0.0, 0.0
    for x in g:
        lo, hi = max(0.0, x - d), min(1.0, x + d)
        lo = max(lo, reach)
        if hi > lo:
            total += hi - lo
        reach = max(reach, hi)
    return total
