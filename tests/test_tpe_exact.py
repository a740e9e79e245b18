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


def test_split_without_a_pass_over_the_history_equals_hyperopts(tmp_path):
    """The fast path of _split_cached (one document per loss key) against tpe_history and
    hyperopt's ap_split_trials: NaN and missing losses, error, cancelled and running
    trials, a parameter that is not always active."""
    import math
    import pickle
    from datetime import datetime

    from hopt_inspect.loading import load_study

    rng = np.random.default_rng(5)
    docs = []
    for tid in range(300):
        loss = float(rng.normal())
        state = int(rng.choice([2, 2, 2, 2, 3, 4, 1]))
        result = {"loss": loss, "status": "ok"}
        if tid % 17 == 0:
            result["loss"] = math.nan
        if tid % 23 == 0:
            result = {"status": "fail"}
        vals = {"x": [float(rng.random())], "c": [] if tid % 3 else [float(tid % 5)]}
        misc = {"tid": tid, "idxs": {}, "vals": vals, "cmd": None, "workdir": None}
        docs.append({"state": state, "tid": tid, "result": result, "misc": misc,
                     "exp_key": None, "book_time": datetime(2026, 1, 1),
                     "refresh_time": datetime(2026, 1, 1)})  # fmt: skip
    path = tmp_path / "mixed.p"
    path.write_bytes(pickle.dumps(docs))
    study = load_study(path)
    assert tpe._one_document_per_key(study) is not None
    for n in (0, 1, 20, 21, 150, 300):
        for label in ("x", "c"):
            hist, below, above, observed = tpe._split_cached(study, n, label, 0.25)
            ref_hist = study.tpe_history(n)
            assert [t.tid for t in hist] == [t.tid for t in ref_hist]
            ref_below, ref_above = tpe.split(ref_hist, label, 0.25)
            assert below == ref_below and above == ref_above, (n, label)
            assert observed == [v for t in ref_hist if (v := t.params.get(label)) is not None]
