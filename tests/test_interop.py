"""Other places hyperopt studies live: Ray Tune checkpoints, MongoDB exports, Optuna storages.

The files in tests/fixtures/interop/ were written by the real producers (see its README and
make_interop.py); the expected numbers beside them were read with those producers' own APIs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import run_cli

from hopt_inspect.errors import InputError
from hopt_inspect.loading import load_study
from hopt_inspect.resolve import resolve_space

INTEROP = Path(__file__).resolve().parent / "fixtures" / "interop"


def _expected(name):
    return json.loads((INTEROP / name).read_text())


def _same_loss(a, b):
    if b == "nan":
        return a is not None and math.isnan(a)
    return a == b


@pytest.mark.parametrize(
    "name", ["ray_searcher_state_min.pkl", "ray_old_dict.pkl", "ray_old_tuple.pkl"]
)
def test_ray_checkpoints(name):
    study = load_study(INTEROP / name)
    expected = _expected("ray_searcher_state_min.expected.json")
    assert [t.tid for t in study.trials] == [e["tid"] for e in expected]
    assert [t.loss for t in study.trials] == [e["loss"] for e in expected]
    for t, e in zip(study.trials, expected, strict=True):
        assert t.params == {k: v[0] if v else None for k, v in e["vals"].items()}
    assert study.source.container.startswith("Ray Tune")


def test_ray_mode_max_is_said():
    study = load_study(INTEROP / "ray_searcher_state_max.pkl")
    assert any("mode='max'" in hint and "negated" in hint for hint in study.source.writer_hints)
    out = run_cli("summary", INTEROP / "ray_searcher_state_max.pkl")
    assert out.returncode == 0 and "negated" in " ".join(out.stdout.split())


@pytest.mark.parametrize("name", ["mongo_jobs.json", "mongo_jobs_relaxed.json", "mongo_jobs.bson"])
def test_mongo_exports(name):
    study = load_study(INTEROP / name)
    expected = _expected("mongo_jobs.expected.json")
    assert [t.tid for t in study.trials] == [e["tid"] for e in expected]
    assert all(_same_loss(t.loss, e["loss"]) for t, e in zip(study.trials, expected, strict=True))
    assert [t.status for t in study.trials] == [e["status"] for e in expected]
    assert study.trials[0].book_time is not None
    errors = [t for t in study.trials if t.state == "error"]  # the worker's top-level "error"
    assert len(errors) == 1 and errors[0].error.startswith("ValueError: deliberate failure")


def test_bson_damage_is_one_line(tmp_path):
    data = (INTEROP / "mongo_jobs.bson").read_bytes()
    path = tmp_path / "cut.bson"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="damaged or incomplete"):
        load_study(path)


def test_optuna_study_reads_like_optuna_reports_it():
    expected = _expected("optuna.expected.json")[0]
    study = load_study(INTEROP / "optuna.db", study_name="demo")
    assert [t.tid for t in study.trials] == [e["number"] for e in expected["trials"]]
    states = {"COMPLETE": "done", "FAIL": "error", "PRUNED": "cancel"}
    assert [t.state for t in study.trials] == [states[e["state"]] for e in expected["trials"]]
    space = resolve_space(None, study)
    assert space.source.startswith("Optuna distributions")
    assert space["lr"].kind == "loguniform" and space["units"].kind == "quniform"
    assert space["act"].options == ("relu", "tanh", "gelu")
    for t, e in zip(study.trials, expected["trials"], strict=True):
        if e["state"] == "COMPLETE":
            assert t.loss == e["value"]
        for label, value in e["params"].items():
            shown = (
                space[label].option_text(int(t.params[label]))
                if space[label].is_categorical
                else t.params[label]
            )
            assert shown == value


def test_optuna_maximize_and_study_choice(tmp_path):
    expected = _expected("optuna.expected.json")[1]
    study = load_study(INTEROP / "optuna.db", study_name=expected["name"])
    values = [e["value"] for e in expected["trials"] if e["state"] == "COMPLETE"]
    assert study.best().loss == -max(values)
    with pytest.raises(InputError, match="--study NAME"):
        load_study(INTEROP / "optuna.db")
    with pytest.raises(InputError, match="not in"):
        load_study(INTEROP / "optuna.db", study_name="nope")


def test_optuna_through_every_command(tmp_path):
    db = INTEROP / "optuna.db"
    assert run_cli("summary", f"sqlite:///{db}", "--study", "demo").returncode == 0
    assert run_cli("check", db, "--study", "demo").returncode in (0, 1)
    out = run_cli("export", db, "--study", "demo", "--format", "csv")
    assert out.returncode == 0 and out.stdout.count("\n") == 21
    assert "gelu" in out.stdout  # choices by value: the space came with the storage
    assert run_cli("plot", db, "--study", "demo", "-o", tmp_path / "p").returncode == 0
    out = run_cli("lpdf", db, "--study", "demo", "-p", "x")
    assert out.returncode == 2 and "Optuna's TPE differs" in out.stderr
    before = db.read_bytes()
    assert run_cli("report", db, "--study", "demo", "-o", tmp_path / "r").returncode == 0
    assert db.read_bytes() == before  # read-only
