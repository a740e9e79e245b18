"""The vectorised q branch and the component merge, against hyperopt's and numpy's own
results bit for bit (lpdf's numbers must stay hyperopt's, not merely close to them)."""

from __future__ import annotations

import numpy as np
import pytest
from hyperopt import tpe as hyperopt_tpe

from hopt_inspect import tpe


def _bits(a):
    return np.asarray(a, dtype=float).view(np.int64)


@pytest.mark.parametrize("log_kind", [False, True])
@pytest.mark.parametrize("cells", [97, 1 << 20])  # many component blocks, one block
def test_quantised_lpdf_exact_is_hyperopts_loop_bit_for_bit(log_kind, cells, monkeypatch):
    monkeypatch.setattr(tpe, "_CHUNK_CELLS", cells)
    rng = np.random.default_rng(7)
    fn = hyperopt_tpe.LGMM1_lpdf if log_kind else hyperopt_tpe.GMM1_lpdf
    for case in range(25):
        k, g = int(rng.integers(2, 600)), int(rng.integers(1, 100))
        q = float(rng.choice([1.0, 0.5, 5.0, 0.01]))
        w = rng.random(k)
        w /= w.sum()
        bounded = case % 3 != 0
        if log_kind:
            mu, sigma = rng.normal(0, 2, k), rng.random(k) * 2 + 1e-3
            low, high = (-3.0, 3.0) if bounded else (None, None)
            samples = np.sort(rng.random(g) * 20)
        else:
            mu, sigma = rng.normal(50, 20, k), rng.random(k) * 30 + 1e-3
            low, high = (0.0, 100.0) if bounded else (None, None)
            samples = np.round(rng.random(g) * 100 / q) * q
        with np.errstate(all="ignore"):
            expected = fn(samples, w, mu, sigma, low=low, high=high, q=q)
            got = tpe.quantised_lpdf_exact(log_kind, samples, w, mu, sigma, low, high, q)
        assert np.array_equal(_bits(got), _bits(expected)), case


def test_merge_equal_components_is_numpys_unique_grouping_bit_for_bit():
    rng = np.random.default_rng(3)
    for case in range(60):
        n, k = int(rng.integers(1, 3000)), int(rng.integers(1, 120))
        mu = rng.integers(0, k, n).astype(float) * 0.5
        sigma = rng.choice([1.0, 2.0, 0.3], n) if case % 2 else np.full(n, 1.5)
        w = rng.random(n)
        unique, inverse = np.unique(np.stack([mu, sigma], axis=1), axis=0, return_inverse=True)
        got = tpe.merge_equal_components(w, mu, sigma)
        if len(unique) > 0.8 * n:
            assert got[1] is mu or np.array_equal(got[1], mu)
            continue
        summed = np.bincount(inverse.ravel(), weights=w, minlength=len(unique))
        for a, b in zip(got, (summed, unique[:, 0], unique[:, 1]), strict=True):
            assert np.array_equal(_bits(a), _bits(b)), case
    empty = np.array([])
    assert [len(v) for v in tpe.merge_equal_components(empty, empty, empty)] == [0, 0, 0]
