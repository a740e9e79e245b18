"""Search spaces: from Python hp spaces, TOML specs, the file, or inferred."""

from __future__ import annotations

import math
import pickle

import pytest
from conftest import SAMPLES, run_fmin
from test_tpe import all_kinds_space

from hopt_inspect.errors import InputError
from hopt_inspect.loading import load_study
from hopt_inspect.resolve import (
    parse_distribution,
    resolve_space,
    space_from_hp,
    space_from_python,
    space_from_toml,
)

FIXTURES = SAMPLES.parent / "tests" / "fixtures"


def test_every_kind_from_an_hp_space():
    sp = space_from_hp(all_kinds_space(), source="test")
    kinds = {label: p.kind for label, p in sp.params.items()}
    assert kinds == {
        "u": "uniform",
        "qu": "quniform",
        "ui": "uniformint",
        "lu": "loguniform",
        "qlu": "qloguniform",
        "n": "normal",
        "qn": "qnormal",
        "ln": "lognormal",
        "qln": "qlognormal",
        "ri": "randint",
        "ri2": "randint",
        "ch": "choice",
        "pch": "pchoice",
    }
    assert sp["lu"].low == pytest.approx(math.log(1e-4)) and sp["lu"].high == pytest.approx(
        math.log(10)
    )
    assert sp["qu"].q == 2.5 and sp["ui"].q == 1.0
    assert sp["ch"].options == ("relu", "tanh", "gelu") and sp["ch"].n_options == 3
    assert sp["pch"].p == (0.1, 0.6, 0.3) and sp["pch"].options == ("a", "b", "c")
    assert sp["ri"].n_options == 6 and sp["ri2"].n_options == 8 and sp["ri2"].randint_offset == 3
    assert sp["n"].mu == 1.0 and sp["n"].sigma == 2.0


@pytest.mark.parametrize(
    ("text", "kind", "fields"),
    [
        ("uniform(-2, 2)", "uniform", {"low": -2, "high": 2}),
        ("quniform(0, 20, 2.5)", "quniform", {"q": 2.5}),
        ("uniformint(1, 9)", "uniformint", {"low": 1, "high": 9, "q": 1.0}),
        ("loguniform(-11.5, 0)", "loguniform", {"low": -11.5}),
        ("loguniform(log(1e-4), log(10))", "loguniform", {"high": math.log(10)}),
        ("qloguniform(0, log(500), 5)", "qloguniform", {"q": 5}),
        ("normal(1, 2)", "normal", {"mu": 1, "sigma": 2}),
        ("qnormal(10, 4, 1)", "qnormal", {"q": 1}),
        ("lognormal(0, 1)", "lognormal", {"sigma": 1}),
        ("qlognormal(1, 0.5, 0.5)", "qlognormal", {"q": 0.5}),
        ("randint(6)", "randint", {"low": 6, "high": None}),
        ("randint(3, 11)", "randint", {"low": 3, "high": 11}),
        ("choice(['relu', 'tanh'])", "choice", {"options": ("relu", "tanh")}),
        ("pchoice([(0.2, 'a'), (0.8, 'b')])", "pchoice", {"p": (0.2, 0.8)}),
        ("uniform(low=0, high=1)", "uniform", {"low": 0, "high": 1}),
    ],
)
def test_toml_kinds_match_hyperopts_parametrisation(text, kind, fields):
    param = parse_distribution("x", text)
    assert param.kind == kind
    for name, value in fields.items():
        if value is None:
            assert getattr(param, name) is None
        else:
            assert getattr(param, name) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("uniform(2, -2)", "low must be below high"),
        ("beta(1, 2)", "unknown kind 'beta'"),
        ("uniform(0)", "needs low, high"),
        ("normal(0, -1)", "sigma must be positive"),
        ("__import__('os').system('true')", "not a distribution call"),
        ("uniform(__import__('os'), 1)", "is not a number"),
        ("pchoice([(0.5, 'a'), (0.6, 'b')])", "sum to 1"),
        ("uniform(0, 10 ** 1000)", "exponent too large"),
    ],
)
def test_bad_toml_distributions(text, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        parse_distribution("x", text)


def test_toml_space_equals_python_space():
    toml = space_from_toml(FIXTURES / "qlearn_space.toml")
    python = space_from_python(f"{SAMPLES / 'tuner.py'}:qlearn_space")
    assert set(toml.params) == set(python.params)
    for label, param in python.params.items():
        other = toml[label]
        assert other.kind == param.kind
        assert other.n_options == param.n_options
        if param.is_categorical:
            continue
        for field in ("low", "high", "q"):
            assert getattr(other, field) == pytest.approx(getattr(param, field))
    assert toml["use_double_q_learning"].options == ("True", "False")


@pytest.mark.parametrize("name", ["heart_space", "qlearn_space", "failures_space"])
def test_sample_tuner_read_statically_equals_import(name):
    from hopt_inspect.resolve import space_from_spec

    spec = f"{SAMPLES / 'tuner.py'}:{name}"
    static = space_from_spec(spec)
    assert static.origin == "script"
    assert dict(static.params) == dict(space_from_python(spec).params)
    assert dict(space_from_spec(spec, run_space=True).params) == dict(static.params)


def test_module_spec_is_located_not_imported(monkeypatch):
    monkeypatch.syspath_prepend(str(SAMPLES))
    from hopt_inspect.resolve import space_from_spec

    assert space_from_spec("tuner:heart_space").origin == "script"
    with pytest.raises(InputError, match="no file for module"):
        space_from_spec("no_such_module_xyz:space")


def test_python_space_by_module_name(monkeypatch):
    monkeypatch.syspath_prepend(str(SAMPLES))
    sp = space_from_python("tuner:heart_space")
    assert sp.labels == ("learning_rate", "size_of_hidden_layer")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope.py:space", "no such file"),
        (f"{SAMPLES / 'tuner.py'}:no_such_space", "has no attribute 'no_such_space'"),
        ("no_such_module_xyz:space", "importing no_such_module_xyz failed"),
        (f"{SAMPLES / 'tuner.py'}:heart", "holds no hp.* parameters"),
    ],
)
def test_bad_python_specs(spec, message):
    with pytest.raises(InputError, match=message):
        space_from_python(spec)


def test_labels_that_differ_are_named():
    study = load_study(SAMPLES / "heart.p")
    with pytest.raises(InputError, match="'learning_rate', 'size_of_hidden_layer'"):
        resolve_space(f"{SAMPLES / 'tuner.py'}:failures_space", study)


def test_inferred_space_is_marked():
    study = load_study(SAMPLES / "qlearn.p")
    sp = resolve_space(None, study)
    assert sp.inferred and all(p.inferred for p in sp.params.values())
    assert sp["learning_rate"].kind == "loguniform"
    assert sp["use_double_q_learning"].kind == "randint"
    assert sp["future_discount_max"].kind == "uniform"
    # the bounds the tuner wrote (0.5, 0.99), not the observed range
    assert sp["future_discount_max"].natural_bounds() == (0.5, 0.99)
    assert sp.origin == "inferred"
    assert all(p.evidence and 0 <= p.confidence <= 1 for p in sp.params.values())


def test_space_stored_beside_trials_is_read_without_trust(tmp_path):
    import sys

    sys.path.insert(0, str(SAMPLES))
    import tuner

    with open(SAMPLES / "heart.p", "rb") as f:
        trials = pickle.load(f)
    path = tmp_path / "with_space.p"
    path.write_bytes(pickle.dumps({"trials": trials, "space": tuner.heart_space}))
    safe = resolve_space(None, load_study(path))
    assert safe.origin == "stored" and not safe.inferred
    trusted = resolve_space(None, load_study(path, trust=True), trust=True)
    assert trusted.source == "stored in the file" and not trusted.inferred
    assert trusted["learning_rate"].low == -2
    assert dict(safe.params) == dict(trusted.params)


def test_pickled_hp_graph_is_read_as_data(tmp_path):
    import sys

    sys.path.insert(0, str(SAMPLES))
    import tuner

    path = tmp_path / "space.pkl"
    path.write_bytes(pickle.dumps(tuner.heart_space))
    study = load_study(SAMPLES / "heart.p")
    safe = resolve_space(str(path), study)
    assert safe.origin == "pickle" and safe["learning_rate"].kind == "uniform"
    assert dict(safe.params) == dict(resolve_space(str(path), study, trust=True).params)


def test_conditional_labels_are_active_only_in_their_branch(tmp_path):
    from hyperopt import hp

    space = hp.choice(
        "model",
        [{"C": hp.loguniform("C", -3, 3)}, {"depth": hp.quniform("depth", 1, 10, 1)}],
    )
    trials = run_fmin(lambda p: 1.0, space, 12, seed=1)
    path = tmp_path / "c.p"
    path.write_bytes(pickle.dumps(trials))
    study = load_study(path)
    sp = resolve_space(None, study)
    for t in study.trials:
        assert (t.params["C"] is None) != (t.params["depth"] is None)
    assert set(sp.labels) == {"model", "C", "depth"}


def test_ray_checkpoint_domain_is_read_without_trust():
    study = load_study(FIXTURES / "interop" / "ray_searcher_state_min.pkl")
    sp = resolve_space(None, study)
    assert sp.origin == "stored" and not sp.inferred
    assert sp["x"].kind == "uniform" and (sp["x"].low, sp["x"].high) == (-2, 2)
    assert sp["lr"].kind == "loguniform" and sp["lr"].low == pytest.approx(math.log(1e-4))
    assert sp["act"].kind == "choice" and sp["act"].options == ("relu", "tanh")


def _objective(params):
    return 0.0


def test_mongo_domain_attachment_is_read_without_trust(tmp_path):
    from hyperopt import hp
    from hyperopt.base import Domain

    space = {"x": hp.uniform("x", -3, 3), "k": hp.choice("k", ["a", "b"])}
    trials = run_fmin(lambda p: 1.0, space, 5, seed=2)
    trials.attachments["FMinIter_Domain"] = pickle.dumps(Domain(_objective, space))
    path = tmp_path / "mongo_like.p"
    path.write_bytes(pickle.dumps(trials))
    study = load_study(path)
    sp = resolve_space(None, study)
    assert sp.origin == "stored" and sp["x"].high == 3 and sp["k"].options == ("a", "b")
    # the objective inside the Domain stays a placeholder: its module is never imported
    from hopt_inspect.loading.safe_pickle import safe_loads

    nested = safe_loads(trials.attachments["FMinIter_Domain"])
    assert any(name.endswith("._objective") for name in nested.placeholder_counts)
