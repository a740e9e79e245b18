"""The loader's memory: trials rebuilt apart from the load (compact.py), shared scalars."""

from __future__ import annotations

import math
import pickle
import struct
from datetime import datetime, timedelta, timezone

import numpy as np
from conftest import SAMPLES

from hopt_inspect import loading
from hopt_inspect.loading import compact, load_study
from hopt_inspect.loading.safe_pickle import safe_loads


def _doc(tid, vals, **top):
    doc = {
        "state": 2,
        "tid": tid,
        "spec": None,
        "result": {"loss": 0.5 + tid, "status": "ok"},
        "misc": {"tid": tid, "cmd": None, "workdir": None, "idxs": {}, "vals": vals},
        "exp_key": None,
        "owner": None,
        "version": 0,
        "book_time": datetime(2026, 1, 1) + timedelta(seconds=tid),
        "refresh_time": datetime(2026, 1, 1, 0, 0, 1, 500) + timedelta(seconds=tid),
    }
    doc.update(top)
    return doc


def _odd_docs():
    """Values whose identity a copy could lose: -0.0, NaN, inf, huge ints, bools, text."""
    return [
        _doc(0, {"x": [np.float64(-0.0)], "n": [np.int64(2**40)], "b": [True]}),
        _doc(1, {"x": [np.float64("nan")], "n": [np.int64(7)], "b": [False]}),
        _doc(
            2,
            {"x": [np.float64("inf")], "n": [], "b": [np.float64(3.0)]},
            result={"loss": 1.0, "status": "ok", "extra": {"nested": [1, "two", None]}},
        ),
        _doc(
            3,
            {"x": [1e-300], "n": [3], "b": [0]},
            result={"status": "fail", "error": "ValueError: \udcff bad"},
            misc={"tid": 3, "vals": {"x": [0.25]}, "from_tid": 1, "error": ("E", "boom")},
            book_time=datetime(2026, 11, 1, 1, 30, fold=1),
            refresh_time=None,
        ),
    ]


def _bits(value):
    """A value as its exact bits: NaN equals NaN, -0.0 differs from 0.0."""
    if type(value) is float:
        return ("float", struct.pack("<d", value))
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), value.fold, type(value))
    if isinstance(value, dict):
        return tuple((k, _bits(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_bits(v) for v in value))
    return (type(value).__name__, value)


def _fields(study):
    return [tuple(_bits(getattr(t, f)) for f in t.__slots__) for t in study.trials]


def test_compacted_trials_equal_the_direct_ones_bit_for_bit(tmp_path, monkeypatch):
    path = tmp_path / "odd.p"
    path.write_bytes(pickle.dumps(_odd_docs()))
    direct = load_study(path, compact=False)
    blobs = []
    monkeypatch.setattr(
        loading, "pack", lambda records: blobs.append(compact.pack(records)) or blobs[-1]
    )
    packed = load_study(path)
    assert blobs and blobs[0] is not None  # this study went through the buffer
    assert _fields(packed) == _fields(direct)
    assert packed.labels == direct.labels and packed.source == direct.source
    assert packed.trials[3].book_time.fold == 1
    assert math.copysign(1.0, packed.trials[0].params["x"]) == -1.0


def test_compacted_trials_are_new_objects():
    when = datetime(2026, 1, 1)
    records = [(0, "done", "ok", 0.5, {"x": 1.5e10}, when, None, None, {}, None, None)]
    blob = compact.pack(records)
    assert blob is not None
    (trial,) = compact.unpack(blob)
    assert trial.params == records[0][4] and trial.params["x"] is not records[0][4]["x"]
    assert trial.book_time == records[0][5] and trial.book_time is not records[0][5]


def test_what_marshal_cannot_hold_keeps_the_direct_way(tmp_path):
    aware = _odd_docs()
    aware[0]["book_time"] = datetime(2026, 1, 1, tzinfo=timezone.utc)
    row = (0, "done", "ok", 0.5, {}, aware[0]["book_time"], None, None, {}, None, None)
    assert compact.pack([row]) is None
    placeholder_key = (0, "done", "ok", 0.5, {}, None, None, None, {}, None, object)
    assert compact.pack([placeholder_key]) is None  # an exp_key object the file named
    path = tmp_path / "aware.p"
    path.write_bytes(pickle.dumps(aware[:1]))
    study = load_study(path)
    # loading makes aware times naive UTC (study._time: mixed with naive ones they broke
    # min/max/subtraction); pack still refuses an aware time given directly (above)
    assert study.trials[0].book_time == datetime(2026, 1, 1)
    assert study.trials[0].book_time.tzinfo is None


def test_samples_load_the_same_compacted_or_not():
    for path in sorted(SAMPLES.glob("*.p")):
        assert _fields(load_study(path)) == _fields(load_study(path, compact=False)), path


def test_equal_numpy_scalars_become_one_object():
    """fmin's idxs hold the tid once per parameter: one Python int, not ten."""
    docs = [{"idxs": {k: [np.int64(12345)] for k in "abcdef"}, "v": [np.float64(0.1)] * 3}]
    loaded = safe_loads(pickle.dumps(docs)).obj[0]
    ints = [v[0] for v in loaded["idxs"].values()]
    assert ints == [12345] * 6 and all(i is ints[0] for i in ints)
    assert loaded["v"][0] is loaded["v"][2] and loaded["v"][0] == 0.1
