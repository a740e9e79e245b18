"""TPE replay equals hyperopt's own suggest(): the oracle wraps broadcast_best.

For each history prefix, ``tpe.suggest`` is run on the same documents with
``scope._impls["broadcast_best"]`` wrapped: it receives hyperopt's own candidates and both
log-likelihoods for every label. The tool's curves, evaluated at those candidates, must
agree to 1e-9.
"""

from __future__ import annotations

import itertools
import math
import pickle
from functools import partial

import numpy as np
import pytest
from conftest import SAMPLES, run_fmin

from hopt_inspect.loading import load_study
from hopt_inspect.resolve import space_from_hp
from hopt_inspect.tpe import (
    TPESettings,
    category_probabilities,
    default_snapshots,
    fit_mixture,
    mixture_lpdf,
    n_below,
    split,
    tpe_curves,
)


def oracle_calls(space, docs, seed=0):
    """Every broadcast_best call tpe.suggest makes for this history: (samples, below, above)."""
    from hyperopt import tpe
    from hyperopt.base import Domain, trials_from_docs
    from hyperopt.pyll import scope

    calls = []
    original = scope._impls["broadcast_best"]

    def spy(samples, below_llik, above_llik):
        calls.append((np.asarray(samples), np.asarray(below_llik), np.asarray(above_llik)))
        return original(samples, below_llik, above_llik)

    scope._impls["broadcast_best"] = spy
    try:
        domain = Domain(lambda p: 0.0, space)
        history = trials_from_docs(docs, validate=False)
        new_id = max([d["tid"] for d in docs], default=-1) + 1
        tpe.suggest([new_id], domain, history, seed, n_startup_jobs=0)
    finally:
        scope._impls["broadcast_best"] = original
    return calls


def ours_at(study, sp, label, n, samples, settings):
    param = sp[label]
    hist = study.tpe_history(n)
    below, above = split(hist, label, settings.gamma)
    if param.is_categorical:
        idx = np.asarray(samples, dtype=int)
        if np.any(idx != samples) or idx.min() < 0 or idx.max() >= param.n_options:
            return None  # these candidates belong to another label
        pb = np.asarray(category_probabilities(param, below, settings))
        pa = np.asarray(category_probabilities(param, above, settings))
        return np.log(pb[idx]), np.log(pa[idx])
    if param.is_log and np.any(samples < 0):
        return None  # these candidates belong to another label
    with np.errstate(all="ignore"):
        return (
            np.asarray(mixture_lpdf(param, fit_mixture(param, below, settings), samples)),
            np.asarray(mixture_lpdf(param, fit_mixture(param, above, settings), samples)),
        )


def assert_matches_oracle(trials, space, study, prefixes):
    settings = TPESettings()
    sp = space_from_hp(space, source="test")
    docs = sorted(trials._dynamic_trials, key=lambda d: d["tid"])
    checked = set()
    for n in prefixes:
        calls = oracle_calls(space, docs[:n], seed=n)
        assert calls, "suggest made no broadcast_best call"
        for samples, below, above in calls:
            if samples.size == 0:
                continue
            matched = []
            for label in sp.labels:
                ours = ours_at(study, sp, label, n, samples, settings)
                if ours is None:
                    continue
                ours_b, ours_a = ours
                with np.errstate(invalid="ignore"):
                    if np.allclose(
                        ours_b, below, rtol=0, atol=1e-9, equal_nan=True
                    ) and np.allclose(ours_a, above, rtol=0, atol=1e-9, equal_nan=True):
                        matched.append(label)
            assert matched, f"no label reproduces a broadcast_best call after {n} trials"
            checked.update(matched)
    return checked


ALL_KINDS_SPACE = None


def all_kinds_space():
    from hyperopt import hp

    return {
        "u": hp.uniform("u", -2, 3),
        "qu": hp.quniform("qu", 0, 20, 2.5),
        "ui": hp.uniformint("ui", 1, 9),
        "lu": hp.loguniform("lu", math.log(1e-4), math.log(10)),
        "qlu": hp.qloguniform("qlu", math.log(1), math.log(500), 5),
        "n": hp.normal("n", 1.0, 2.0),
        "qn": hp.qnormal("qn", 10.0, 4.0, 1.0),
        "ln": hp.lognormal("ln", 0.0, 1.0),
        "qln": hp.qlognormal("qln", 1.0, 0.5, 0.5),
        "ri": hp.randint("ri", 6),
        "ri2": hp.randint("ri2", 3, 11),
        "ch": hp.choice("ch", ["relu", "tanh", "gelu"]),
        "pch": hp.pchoice("pch", [(0.1, "a"), (0.6, "b"), (0.3, "c")]),
    }


def all_kinds_objective(p):
    loss = (p["u"] - 1) ** 2 + abs(math.log(p["lu"]) + 4) + (p["qu"] - 10) ** 2 / 50 + p["ri"] * 0.1
    loss += (p["n"] - 0.5) ** 2 + p["ln"] * 0.1 + (0.3 if p["ch"] == "tanh" else 0.0)
    return loss + (0.2 if p["pch"] == "a" else 0.0) + p["ri2"] * 0.01


@pytest.fixture(scope="module")
def all_kinds(tmp_path_factory):
    from hyperopt import tpe

    space = all_kinds_space()
    trials = run_fmin(
        all_kinds_objective, space, 45, seed=2, algo=partial(tpe.suggest, n_startup_jobs=10)
    )
    path = tmp_path_factory.mktemp("kinds") / "kinds.p"
    path.write_bytes(pickle.dumps(trials))
    return trials, space, load_study(path)


def test_every_kind_matches_hyperopt(all_kinds):
    trials, space, study = all_kinds
    checked = assert_matches_oracle(trials, space, study, [1, 5, 12, 30, 45])
    assert checked == set(space)


def test_lf_forgetting_regime_matches(tmp_path):
    """More than 25 observations on one side: linear forgetting weights kick in."""
    from hyperopt import hp, tpe

    space = {"x": hp.uniform("x", 0, 1), "c": hp.choice("c", [0, 1, 2, 3])}
    trials = run_fmin(
        lambda p: (p["x"] - 0.3) ** 2 + 0.1 * p["c"],
        space,
        120,
        seed=9,
        algo=partial(tpe.suggest, n_startup_jobs=5),
    )
    path = tmp_path / "lf.p"
    path.write_bytes(pickle.dumps(trials))
    checked = assert_matches_oracle(trials, space, load_study(path), [40, 119, 120])
    assert checked == {"x", "c"}


def test_conditional_space_matches(tmp_path):
    from hyperopt import hp, tpe

    space = hp.choice(
        "model",
        [
            {"model": "svm", "C": hp.loguniform("C", -3, 3)},
            {
                "model": "tree",
                "depth": hp.quniform("depth", 1, 10, 1),
                "crit": hp.choice("crit", ["gini", "entropy"]),
            },
        ],
    )

    def objective(p):
        if p["model"] == "svm":
            return abs(math.log(p["C"]) - 1)
        return abs(p["depth"] - 4) / 3 + (0.2 if p["crit"] == "gini" else 0)

    trials = run_fmin(objective, space, 40, seed=4, algo=partial(tpe.suggest, n_startup_jobs=8))
    path = tmp_path / "cond.p"
    path.write_bytes(pickle.dumps(trials))
    study = load_study(path)
    sp = space_from_hp(space, source="test")
    assert sp["C"].conditional == ((("model", 0),),)
    assert sp["depth"].conditional == ((("model", 1),),)
    assert sp["model"].conditional == ()
    assert sp["model"].options == ("{C, model}", "{crit, depth, model}")
    checked = assert_matches_oracle(trials, space, study, [10, 25, 40])
    assert checked == {"model", "C", "depth", "crit"}


def test_failed_nan_inf_and_error_trials_match(tmp_path):
    from hyperopt import hp, tpe

    space = {"x": hp.uniform("x", -3, 3), "k": hp.randint("k", 4)}
    state = {"n": 0}

    def objective(p):
        state["n"] += 1
        n = state["n"]
        if n % 7 == 0:
            return {"status": "fail"}
        if n % 11 == 0:
            raise RuntimeError("boom")
        if n in (9, 20):
            return {"loss": math.nan, "status": "ok"}
        if n in (15, 26):
            return {"loss": math.inf, "status": "ok"}
        return (p["x"] - 1) ** 2 + p["k"]

    trials = run_fmin(
        objective,
        space,
        40,
        seed=6,
        algo=partial(tpe.suggest, n_startup_jobs=6),
        catch_eval_exceptions=True,
    )
    path = tmp_path / "bad.p"
    path.write_bytes(pickle.dumps(trials))
    study = load_study(path)
    n_all = len(study.trials)
    # NaN trials are dropped from the history by suggest's `loss <= best` test.
    assert len(study.tpe_history()) == len(
        [t for t in trials.trials if t["result"].get("loss") == t["result"].get("loss")]
    )
    checked = assert_matches_oracle(trials, space, study, [10, 21, 30, n_all])
    assert checked == {"x", "k"}


def test_heart_sample_matches_hyperopt():
    import sys

    sys.path.insert(0, str(SAMPLES))
    import tuner
    from hyperopt import Trials

    with open(SAMPLES / "heart.p", "rb") as f:
        trials: Trials = pickle.load(f)
    study = load_study(SAMPLES / "heart.p")
    checked = assert_matches_oracle(trials, tuner.heart_space, study, [20, 60, 100])
    assert checked == {"learning_rate", "size_of_hidden_layer"}


def test_split_sizes_follow_gamma_sqrt_n():
    study = load_study(SAMPLES / "qlearn.p")
    for n in (20, 64, 65, 144, 145, 200):
        hist = study.tpe_history(n)
        below, above = split(hist, "learning_rate", 0.25)
        assert len(below) == n_below(n) and len(below) + len(above) == n


def test_default_snapshots():
    settings = TPESettings()
    assert default_snapshots(100, settings) == [20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert default_snapshots(200, settings)[0] == 20 and default_snapshots(200, settings)[-1] == 200
    assert default_snapshots(10, settings) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]


def test_curves_on_heart_tell_the_story():
    import sys

    sys.path.insert(0, str(SAMPLES))
    import tuner

    study = load_study(SAMPLES / "heart.p")
    sp = space_from_hp(tuner.heart_space, source="tuner.py:heart_space")
    result = tpe_curves(study, sp, "learning_rate")
    assert [s.n_trials for s in result.snapshots] == [20, 30, 40, 50, 60, 70, 80, 90, 100]
    last = result.snapshots[-1]
    assert last.n_below == 3 and last.n_above == 97 and last.next_value is None
    assert len(last.x) == 400 and last.x[0] == -2 and last.x[-1] == 2
    # 2 or 3 below points and the prior: the prior carries a quarter to a third of the weight.
    assert all(0.24 < s.prior_share < 0.34 for s in result.snapshots)
    # next_value is the value the trial after n actually tried.
    s60 = result.snapshots[4]
    assert s60.next_value == study.trials[60].params["learning_rate"]
    assert s60.startup is False and result.snapshots[0].startup is False
    # The best is at a corner: the below model peaks near a bound.
    assert abs(last.below_peak_x) > 1.5


@pytest.mark.parametrize("kind", ["quniform", "qnormal", "qloguniform", "qlognormal"])
def test_blocked_quantised_lpdf_equals_hyperopts_loop(kind):
    """Large histories use a blocked evaluation of the q branch; it must equal hyperopt's."""
    from hyperopt import tpe

    from hopt_inspect.space import Param
    from hopt_inspect.tpe import quantised_lpdf_blocked

    rng = np.random.default_rng(3)
    log_kind = kind in ("qloguniform", "qlognormal")
    bounded = kind in ("quniform", "qloguniform")
    low, high = (math.log(1), math.log(500)) if log_kind else (0.0, 50.0)
    n = 3000
    mus = rng.uniform(low, high, n)
    sigmas = rng.uniform(0.05, 2.0, n)
    weights = rng.uniform(0.1, 1.0, n)
    weights /= weights.sum()
    q = 5.0 if log_kind else 2.5
    samples = np.arange(1, 100) * q
    fn = tpe.LGMM1_lpdf if log_kind else tpe.GMM1_lpdf
    lo, hi = (low, high) if bounded else (None, None)
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0) at far-out lattice points
        expected = fn(samples, weights, mus, sigmas, low=lo, high=hi, q=q)
        ours = quantised_lpdf_blocked(log_kind, samples, weights, mus, sigmas, lo, hi, q)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)
    # And the dispatcher takes this path for such sizes, with the same result.
    param = Param("p", kind, low=lo, high=hi, q=q, mu=0.0, sigma=1.0)
    from hopt_inspect.tpe import Mixture, mixture_lpdf

    mix = Mixture(list(weights), list(mus), list(sigmas), 0, 0.0, 1.0)
    np.testing.assert_allclose(mixture_lpdf(param, mix, samples), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["uniform", "normal", "loguniform", "lognormal", "quniform"])
def test_large_mixtures_equal_hyperopts_functions(kind):
    """Past BLOCKED_Q_THRESHOLD the mixtures are evaluated in grid chunks, with repeated
    (mu, sigma) kernels merged; the curves must equal GMM1_lpdf / LGMM1_lpdf's."""
    from hyperopt import tpe

    from hopt_inspect.space import Param
    from hopt_inspect.tpe import BLOCKED_Q_THRESHOLD, Mixture, mixture_lpdf

    rng = np.random.default_rng(7)
    log_kind = kind in ("loguniform", "lognormal")
    bounded = kind in ("uniform", "loguniform", "quniform")
    low, high = (math.log(1e-4), 0.0) if log_kind else (-3.0, 5.0)
    n = 4000
    obs = rng.uniform(low, high, n)
    if kind == "quniform":
        obs = np.round(obs)  # a lattice: kernels repeat and are merged
    prior_mu, prior_sigma = 0.5 * (low + high), high - low
    weights, mus, sigmas = tpe.adaptive_parzen_normal(obs, 1.0, prior_mu, prior_sigma, LF=25)
    samples = np.exp(np.linspace(low, high, 150)) if log_kind else np.linspace(low, high, 150)
    if kind == "quniform":
        samples = np.arange(-3.0, 6.0)
    assert len(mus) * len(samples) > BLOCKED_Q_THRESHOLD or kind == "quniform"
    lo, hi = (low, high) if bounded else (None, None)
    q = 1.0 if kind == "quniform" else None
    fn = tpe.LGMM1_lpdf if log_kind else tpe.GMM1_lpdf
    expected = fn(samples, weights, mus, sigmas, low=lo, high=hi, q=q)
    param = Param("p", kind, low=lo, high=hi, q=q, mu=prior_mu, sigma=prior_sigma)
    mix = Mixture(list(weights), list(mus), list(sigmas), 0, 0.0, 1.0)
    if kind == "quniform":  # enough grid x components to take the fast path
        mix = Mixture(list(weights) * 8, list(mus) * 8, list(sigmas) * 8, 0, 0.0, 1.0)
        expected = fn(samples, np.tile(weights, 8), np.tile(mus, 8), np.tile(sigmas, 8),
                      low=lo, high=hi, q=q)  # fmt: skip
    np.testing.assert_allclose(mixture_lpdf(param, mix, samples), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["qlearn.p", "failures.p"])
def test_split_shared_across_labels_equals_ap_split_trials(name):
    """snapshot() splits once per history and reuses it for every label: same groups as
    hyperopt's ap_split_trials on each label's own history."""
    from hopt_inspect.tpe import _split_cached

    study = load_study(SAMPLES / name)
    python_path = load_study(SAMPLES / name)
    python_path.__dict__["_matrix"] = None  # as when some value is not a number
    for n, label, s in itertools.product(
        (5, 21, 40, len(study.trials)), study.labels, (study, python_path)
    ):
        hist, below, above, observed = _split_cached(s, n, label, 0.25)
        ref_hist = study.tpe_history(n)
        ref_below, ref_above = split(ref_hist, label, 0.25)
        assert [t.tid for t in hist] == [t.tid for t in ref_hist]
        assert below == ref_below and above == ref_above
        assert observed == [v for t in ref_hist if (v := t.params.get(label)) is not None]


def test_samples_from_columns_equal_the_python_pass():
    from hopt_inspect.tpe import _samples

    for name in ("qlearn.p", "failures.p"):
        study = load_study(SAMPLES / name)
        for label in study.labels:
            expected = [
                (t.tid, float(t.params[label]), t.loss)
                for t in study.trials
                if t.params.get(label) is not None
            ]
            assert repr(_samples(study, label, 0)) == repr(expected)  # NaN losses too
