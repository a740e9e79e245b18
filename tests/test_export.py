"""export: one row per trial, loading into pandas untouched; Study.to_pandas."""

from __future__ import annotations

import io
import json
import math

import pytest
from conftest import SAMPLES, run_cli

from hopt_inspect.loading import load_study

pd = pytest.importorskip("pandas")
FAILURES_SPACE = f"{SAMPLES / 'tuner.py'}:failures_space"


def test_csv_loads_into_pandas_untouched(tmp_path):
    target = tmp_path / "out" / "trials.csv"
    out = run_cli("export", SAMPLES / "failures.p", "--space", FAILURES_SPACE, "-o", target)
    assert out.returncode == 0 and out.stdout == ""
    frame = pd.read_csv(target)
    study = load_study(SAMPLES / "failures.p")
    assert len(frame) == study.n_trials
    assert list(frame.columns[:8]) == [
        "tid", "state", "status", "loss", "book_time", "refresh_time", "duration_s", "error",
    ]  # fmt: skip
    assert {"dropout", "optimizer", "x", "accuracy"} <= set(frame.columns)
    assert set(frame["optimizer"].dropna()) <= {"adam", "sgd", "rmsprop"}  # by value
    assert frame["loss"].dtype == float
    assert frame.loc[frame.tid == 60, "loss"].isna().all()  # NaN loss
    assert math.isinf(frame.loc[frame.tid == 61, "loss"].iloc[0])
    best = study.best()
    assert frame.loc[frame.loss.idxmin(), "tid"] == best.tid
    assert (frame.state == "error").sum() == 4


def test_jsonl_and_json(tmp_path):
    out = run_cli("export", SAMPLES / "heart.p", "--format", "jsonl")
    lines = out.stdout.splitlines()
    assert len(lines) == 100 and json.loads(lines[0])["tid"] == 0
    out = run_cli("export", SAMPLES / "failures.p", "--format", "json")
    doc = json.loads(out.stdout)
    assert doc["schema"] == "hopt-inspect/export/1" and len(doc["trials"]) == 62
    assert doc["trials"][60]["loss"] == "nan"  # JSON has no NaN
    assert pd.read_json(io.StringIO(json.dumps(doc["trials"]))).shape[0] == 62


def test_to_pandas():
    frame = load_study(SAMPLES / "qlearn.p").to_pandas()
    assert frame.shape[0] == 200 and "learning_rate" in frame.columns
    assert str(frame["book_time"].dtype).startswith("datetime64")
    assert "episodes" in frame.columns  # a scalar extra result key


def test_bad_format():
    out = run_cli("export", SAMPLES / "heart.p", "--format", "xlsx")
    assert out.returncode == 2 and "use csv, jsonl, json or optuna" in out.stderr
