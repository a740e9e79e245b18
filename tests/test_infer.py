"""Space inference: exact hyperopt parameters from the trials alone, checked against the
spaces the studies were really run with (TPE curves compared with hyperopt's maths)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from conftest import SAMPLES, run_fmin

from hopt_inspect.infer import detect_q, infer_study_space, round_numbers, roundness
from hopt_inspect.loading import load_study
from hopt_inspect.resolve import space_from_hp, space_from_spec
from hopt_inspect.tpe import tpe_curves


def _same_curves(study, truth, inferred, label):
    a, b = tpe_curves(study, truth, label), tpe_curves(study, inferred, label)
    for sa, sb in zip(a.snapshots, b.snapshots, strict=True):
        for u, v in ((sa.x, sb.x), (sa.below_llik, sb.below_llik), (sa.above_llik, sb.above_llik)):
            np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    ("sample", "space"),
    [("heart", "heart_space"), ("qlearn", "qlearn_space"), ("failures", "failures_space")],
)
def test_sample_studies_give_hyperopts_exact_curves_without_space(sample, space):
    study = load_study(SAMPLES / f"{sample}.p")
    truth = space_from_spec(f"{SAMPLES / 'tuner.py'}:{space}")
    inferred = infer_study_space(study)
    assert inferred.origin == "inferred"
    for label in truth.labels:
        _same_curves(study, truth, inferred, label)
        p = inferred[label]
        assert p.inferred and p.evidence and 0 <= p.confidence <= 1


@pytest.fixture(scope="module")
def random_study(tmp_path_factory):
    from hyperopt import hp

    space = {
        "lr": hp.loguniform("lr", -10, -2),  # raw log units
        "units": hp.quniform("units", 16, 256, 16),
        "bias": hp.normal("bias", 0, 1),
        "loss": hp.pchoice("loss", [(0.7, "hinge"), (0.3, "log")]),
        "k": hp.randint("k", 2, 12),
    }
    trials = run_fmin(lambda p: 0.0, space, 300, seed=5)
    path = tmp_path_factory.mktemp("infer") / "random.p"
    path.write_bytes(pickle.dumps(trials))
    return load_study(path), space_from_hp(space, source="truth")


def test_random_search_study_recovers_every_kind(random_study):
    study, truth = random_study
    inferred = infer_study_space(study)
    assert "random search" in inferred.notes[0]
    assert inferred["lr"].kind == "loguniform" and (inferred["lr"].low, inferred["lr"].high) == (
        -10,
        -2,
    )
    assert inferred["units"].kind == "quniform" and inferred["units"].q == 16
    assert inferred["bias"].kind == "normal" and (inferred["bias"].mu, inferred["bias"].sigma) == (
        0,
        1,
    )
    # 300 draws cannot always tell 0.7 from 0.75: the kind, and p within one step
    assert inferred["loss"].kind == "pchoice"
    assert inferred["loss"].p in ((0.7, 0.3), (0.75, 0.25))
    assert inferred["k"].kind == "randint" and inferred["k"].randint_offset == 2
    for label in ("lr", "units", "bias", "k"):
        _same_curves(study, truth, inferred, label)


def test_few_trials_are_low_confidence(tmp_path):
    from hyperopt import hp

    trials = run_fmin(lambda p: 0.0, {"x": hp.uniform("x", 0.3, 0.7)}, 6, seed=3)
    path = tmp_path / "few.p"
    path.write_bytes(pickle.dumps(trials))
    param = infer_study_space(load_study(path))["x"]
    assert param.low_confidence and param.confidence < 0.8


def test_roundness_orders_what_people_write():
    assert roundness(0) < roundness(1) < roundness(5) < roundness(0.35) < roundness(0.123)
    assert roundness(512) == roundness(0.99) == roundness(3)
    assert 0.3 in round_numbers(0.28, 0.31, 0.3)  # the float a user gets from "0.3"
    assert 0.0 in round_numbers(-0.1, 0.2, 0.0)


@pytest.mark.parametrize(
    ("values", "q"),
    [
        ([16, 48, 256, 64, 112], 16),
        ([0.5, 1.5, -3.0, 7.5], 0.5),
        ([0.1, 0.3, 0.7, 0.2], 0.1),
        ([0.1234567891, 0.4567891234, 0.7891234567], None),
    ],
)
def test_q_step_detection(values, q):
    assert detect_q(np.asarray(values, float)) == q


def test_log_bounds_in_natural_units():
    study = load_study(SAMPLES / "qlearn.p")
    lr = infer_study_space(study)["learning_rate"]
    assert lr.low == math.log(1e-5) and lr.high == 0


def _infer_one(tmp_path, node, n, algo=None, seed=0):
    from hyperopt import hp

    space = {"x": node, "y": hp.uniform("y", 0, 1)}
    trials = run_fmin(lambda p: (p["x"] - 5) ** 2 + p["y"], space, n, seed=seed, algo=algo)
    path = tmp_path / f"degenerate_{seed}.p"
    path.write_bytes(pickle.dumps(trials))
    study = load_study(path)
    return study, infer_study_space(study)["x"]


@pytest.mark.parametrize("algo", ["tpe", "rand"])
def test_two_lattice_values_are_a_low_confidence_quniform_never_normal(tmp_path, algo):
    from hyperopt import hp, rand, tpe

    suggest = tpe.suggest if algo == "tpe" else rand.suggest
    study, x = _infer_one(tmp_path, hp.quniform("x", 3, 7, 2), 40, suggest)
    assert set(study.column("x").tolist()) == {4.0, 6.0}
    assert x.kind == "quniform" and x.q == 2
    assert x.low_confidence and x.bounds_uncertain
    assert "2 distinct values" in x.evidence


def test_one_distinct_value_is_a_quniform_with_no_confidence(tmp_path):
    from hyperopt import hp

    study, x = _infer_one(tmp_path, hp.quniform("x", 3.2, 3.8, 2), 25)
    assert set(study.column("x").tolist()) == {4.0}
    assert x.kind == "quniform" and x.low < 4 < x.high and x.confidence == 0
    assert x.low_confidence and "one distinct value" in x.evidence
    # all draws 0 (a qloguniform whose values all round to 0): sane, no confidence
    study, x = _infer_one(tmp_path, hp.qloguniform("x", 0, 0.5, 5), 25, seed=1)
    assert set(study.column("x").tolist()) == {0.0}
    assert x.kind == "quniform" and x.low < 0 < x.high and x.confidence == 0


def test_two_values_of_a_skewed_kind_are_low_confidence(tmp_path):
    from hyperopt import hp

    study, x = _infer_one(tmp_path, hp.qlognormal("x", 0, 0.2, 1), 40)
    assert set(study.column("x").tolist()) <= {1.0, 2.0}
    assert x.family == "uniform" and x.low_confidence


def test_q_step_of_two_repeated_values():
    assert detect_q(np.asarray([4.0, 6.0, 4.0, 6.0, 6.0])) == 2
    assert detect_q(np.asarray([0.5, 1.0, 1.0, 0.5])) == 0.5
    assert detect_q(np.asarray([3.0, 5.0, 3.0, 5.0])) is None  # 3 and 5 share no step 2
    assert detect_q(np.asarray([0.1234, 0.5678])) is None  # two draws: no repeats, no lattice


@pytest.fixture(scope="module")
def tpe_study(tmp_path_factory):
    from hyperopt import hp, tpe

    space = {
        "x": hp.uniform("x", -2, 2),
        "y": hp.uniform("y", 0, 1),
        "n": hp.choice("n", [16, 32, 64]),
    }
    trials = run_fmin(
        lambda p: (p["x"] - 1.5) ** 2 + (p["y"] - 0.3) ** 2 + (p["n"] != 32),
        space, 80, seed=4, algo=tpe.suggest,
    )  # fmt: skip
    path = tmp_path_factory.mktemp("infer") / "tpe.p"
    path.write_bytes(pickle.dumps(trials))
    return load_study(path)


def test_sampler_detection_overrides_an_undecided_ks_test(random_study, tpe_study, monkeypatch):
    import hopt_inspect.infer as infer

    study, _ = random_study
    # the later-vs-first KS test undecided (p = 0.05): the sampler test finds random search,
    # so every draw is a prior draw and 300 draws tell (0.7, 0.3) from equal odds
    undecided = (False, "undecided", set(), 0.05)
    monkeypatch.setattr(infer, "_looks_random", lambda *a, **k: undecided)
    space = infer.infer_study_space(study)
    assert "random search" in space.notes[0] and "z =" in space.notes[0]
    assert space["loss"].kind == "pchoice"
    # a TPE study the KS test took for random search: the lean on the best trials wins
    monkeypatch.setattr(infer, "_looks_random", lambda *a, **k: (True, "ks", {"x"}, 0.9))
    space = infer.infer_study_space(tpe_study)
    assert "TPE" in space.notes[0] and "random search" not in space.notes[0]


def test_pchoice_confidence_follows_the_margin_over_the_next_probabilities():
    from hopt_inspect.infer import _snap_probabilities

    p, margin = _snap_probabilities(np.array([171, 66, 63]), 300)  # 0.57 / 0.22 / 0.21
    assert p in ((0.6, 0.2, 0.2), (0.5, 0.25, 0.25)) and margin < 2
    p, margin = _snap_probabilities(np.array([700, 300]), 1000)
    assert p == (0.7, 0.3) and margin > 2


def test_both_bounds_written_the_same_way_win_over_a_mixed_pair():
    from hopt_inspect.infer import _Choice, pick_bounds

    low = _Choice(-8.0, -3.75, "-8", -10.0, "raw")
    natural_high = _Choice(math.log(7), -3.0, "log(7)", -10.0, "natural")
    raw_high = _Choice(2.0, -5.0, "2", -10.0, "raw")
    lo, hi = pick_bounds([low], [natural_high, raw_high])
    assert (lo.how, hi.how) == ("-8", "2")  # loguniform(-8, 2), not (-8, log(7))


def test_pchoice_odds_from_tpes_proposals(tmp_path):
    """20 prior draws cannot tell (0.5, 0.3, 0.2) from equal odds; TPE's proposals can: the
    odds are pseudo-counts in its posteriors, so they decide which option it proposes."""
    from hyperopt import hp, tpe

    space = {
        "opt": hp.pchoice("opt", [(0.5, "adam"), (0.3, "sgd"), (0.2, "rmsprop")]),
        "m": hp.uniform("m", 0.5, 0.99),
    }
    trials = run_fmin(
        lambda p: (p["m"] - 0.8) ** 2 + {"adam": 0.1, "sgd": 0.0, "rmsprop": 0.2}[p["opt"]],
        space, 70, seed=3, algo=tpe.suggest,
    )  # fmt: skip
    path = tmp_path / "pchoice_tpe.p"
    path.write_bytes(pickle.dumps(trials))
    study = load_study(path)
    inferred = infer_study_space(study)
    opt = inferred["opt"]
    assert opt.kind == "pchoice" and opt.p == (0.5, 0.3, 0.2), opt.evidence
    assert "TPE proposals" in opt.evidence
    _same_curves(study, space_from_hp(space, source="truth"), inferred, "opt")


def test_tpe_choice_keeps_equal_odds(tpe_study):
    n = infer_study_space(tpe_study)["n"]
    assert n.kind == "randint" and n.n_options == 3
    assert "equal odds beat any hp.pchoice odds" in n.evidence


def test_forgetting_weights_are_hyperopts():
    from hyperopt import tpe

    from hopt_inspect.infer import _forgetting_weights

    for n in (0, 1, 24, 25, 26, 60):
        np.testing.assert_array_equal(_forgetting_weights(n), tpe.linear_forgetting_weights(n, 25))


def test_no_random_search_when_all_trials_fit_no_prior(tmp_path, monkeypatch):
    """Proposals pushed to the bounds do not lean on the best trials (the sampler test says
    random search), yet taken together they fit no prior: the start-up draws alone stay the
    prior's, and the bounds are found (edge-sampling can then be checked)."""
    import hopt_inspect.infer as infer

    rng = np.random.default_rng(7)
    start = rng.uniform(-5, 10, size=20)
    later = np.where(rng.random(100) < 0.5, rng.uniform(-5, -4.4, 100), rng.uniform(9.4, 10, 100))
    trials = _trials_with_values({"x": np.concatenate([start, later])}, rng)
    path = tmp_path / "edges.p"
    path.write_bytes(pickle.dumps(trials))
    study = load_study(path)
    monkeypatch.setattr(infer, "_sampler_verdict", lambda s, p: (True, "random search"))
    monkeypatch.setattr(infer, "_looks_random", lambda *a, **k: (False, "ks", set(), 0.05))
    space = infer.infer_study_space(study)
    assert "fit no prior" in space.notes[0]
    x = space["x"]
    assert x.kind == "uniform" and (x.low, x.high) == (-5, 10)


def _trials_with_values(columns, rng):
    """A hyperopt Trials whose trials hold these float values (losses at random)."""
    from hyperopt import Trials
    from hyperopt.base import JOB_STATE_DONE, STATUS_OK

    trials = Trials()
    n = len(next(iter(columns.values())))
    docs = []
    for tid in range(n):
        vals = {label: [float(v[tid])] for label, v in columns.items()}
        idxs = {label: [tid] for label in columns}
        misc = {"tid": tid, "cmd": None, "workdir": None, "idxs": idxs, "vals": vals}
        result = {"status": STATUS_OK, "loss": float(rng.random())}
        docs.append({"tid": tid, "spec": None, "result": result, "misc": misc,
                     "state": JOB_STATE_DONE, "owner": None, "book_time": None,
                     "refresh_time": None, "exp_key": None, "version": 0})  # fmt: skip
    trials.insert_trial_docs(docs)
    trials.refresh()
    return trials
