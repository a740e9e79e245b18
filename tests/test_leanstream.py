"""The rewritten pickle stream (loading/leanstream.py): the same study, less memory."""

from __future__ import annotations

import io
import pickle
import pickletools
import sys
from datetime import datetime, timezone

import numpy as np
import pytest
from conftest import SAMPLES

from hopt_inspect.loading import load_study, safe_pickle
from hopt_inspect.loading.leanstream import lean_bytes
from hopt_inspect.loading.safe_pickle import safe_loads


@pytest.fixture(scope="module")
def qlearn_trials():
    with open(SAMPLES / "qlearn.p", "rb") as f:
        return pickle.load(f)  # our own sample, with hyperopt's classes


def _study(path, monkeypatch, lean: bool, buffer: int = 1 << 18):
    monkeypatch.setattr(safe_pickle, "LEAN_MIN_BYTES", 0 if lean else 1 << 62)
    monkeypatch.setattr(safe_pickle, "LEAN_BUFFER", buffer)
    study = load_study(path)
    return repr((study.trials, study.exp_key, study.placeholders))


def _unframed(data: bytes) -> bytes:
    """The same protocol-4 pickle without its FRAME opcodes (as some writers make it)."""
    frames = [pos for op, _, pos in pickletools.genops(data) if op.name == "FRAME"]
    out, last = bytearray(), 0
    for pos in frames:
        out += data[last:pos]
        last = pos + 9
    return bytes(out + data[last:])


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_every_protocol_reads_the_same_study_leaned_or_not(
    qlearn_trials, mixed_trials, tmp_path, monkeypatch, protocol
):
    for name, trials in (("qlearn", qlearn_trials), ("mixed", mixed_trials)):
        data = pickle.dumps(trials, protocol=protocol)
        # protocol 2 from Python 3 writes bytes as _codecs.encode calls: left as they are
        assert (lean_bytes(data) != data) == (protocol >= 3), "the rewrite found nothing"
        assert len(lean_bytes(data)) == len(data)
        path = tmp_path / f"{name}{protocol}.p"
        path.write_bytes(data + b"trailing")
        assert _study(path, monkeypatch, lean=True) == _study(path, monkeypatch, lean=False)
        monkeypatch.setattr(safe_pickle, "LEAN_MIN_BYTES", 0)
        assert safe_loads(path).trailing_bytes == len(b"trailing")


@pytest.mark.parametrize("buffer", [300, 4096, 65536])
def test_blocks_of_any_size_read_the_same_study(qlearn_trials, tmp_path, monkeypatch, buffer):
    """The unpickler parses what peek() returned and re-reads across the block's end:
    a match cut there must come out the same in both views."""
    path = tmp_path / "q.p"
    path.write_bytes(pickle.dumps(qlearn_trials, protocol=4))
    assert _study(path, monkeypatch, lean=True, buffer=buffer) == _study(
        path, monkeypatch, lean=False
    )
    path.write_bytes(_unframed(path.read_bytes()))
    assert _study(path, monkeypatch, lean=True, buffer=buffer) == _study(
        path, monkeypatch, lean=False
    )


def _memo_after(data: bytes):
    unpickler = pickle.Unpickler(io.BytesIO(data))
    obj = unpickler.load()
    return obj, list(unpickler.memo.copy().values())


def test_the_memo_keeps_no_payloads_or_argument_tuples_and_one_value_lists_are_exact():
    docs = [
        {
            "result": {"loss": 1.0},
            "misc": {
                "vals": {
                    "p0": [np.float64(0.25 * i)],
                    "p1": [np.int64(7 + i)],
                    "p2": [np.float32(1.5 * i)],
                    "p3": [np.bool_(i % 2)],
                }
            },
            "book_time": datetime(2026, 1, 2, 3, 4, 5, i),
        }
        for i in range(3)
    ]
    data = pickle.dumps(docs, protocol=4)
    before, memo_before = _memo_after(data)
    after, memo_after = _memo_after(lean_bytes(data))
    assert repr(after) == repr(before)
    assert len(memo_after) == len(memo_before)  # the same slots, so later GETs still match

    def garbage(memo):  # payloads, and the argument tuples that hold one (not one-byte ones:
        # CPython singletons, read back by the next bool's GET, so left as they are)
        def payload(o):
            return type(o) is bytes and len(o) > 1

        return [o for o in memo if payload(o) or (type(o) is tuple and any(map(payload, o)))]

    assert len(garbage(memo_before)) >= 3 * 4 * 2  # (one-byte payloads are shared)
    assert garbage(memo_after) == []
    # Not rewritten: a list whose scalar builds its dtype inline (the first of each dtype)
    # and a call whose one-byte payload was seen before (a GET, not a new payload)
    lists = [d["misc"]["vals"][k] for d in after[1:] for k in ("p0", "p1", "p2")]
    assert {sys.getsizeof(v) for v in lists} == {sys.getsizeof([0.0])}
    assert sys.getsizeof(before[0]["misc"]["vals"]["p0"]) > sys.getsizeof([0.0])


def test_a_list_shared_by_idxs_and_vals_and_a_value_used_again_read_as_before(
    tmp_path, monkeypatch
):
    """What the rewrite gives away: the one-value list's memo slot (a later use of the
    list reads its value, the flattened list the trial reader accepts)."""
    docs = []
    for tid in range(40):
        x, shared = np.float64(tid / 7), [np.float64(tid / 3)]
        docs.append(
            {
                "tid": tid,
                "state": 2,
                "result": {"loss": float(tid % 5), "status": "ok"},
                "misc": {
                    "tid": tid,
                    "idxs": {"a": shared, "b": [np.int64(tid)]},
                    "vals": {"a": shared, "b": [x]},
                },
                "book_time": datetime(2026, 1, 1, 0, 0, tid, tzinfo=timezone.utc),
            }
        )
        if tid:
            docs[-1]["result"]["previous_b"] = docs[-2]["misc"]["vals"]["b"][0]
    for protocol in (3, 4):
        path = tmp_path / f"shared{protocol}.p"
        path.write_bytes(pickle.dumps(docs, protocol=protocol))
        assert lean_bytes(path.read_bytes()) != path.read_bytes()
        assert _study(path, monkeypatch, lean=True) == _study(path, monkeypatch, lean=False)
    study = load_study(path)
    assert [t.params["a"] for t in study.trials] == [tid / 3 for tid in range(40)]


def test_the_pattern_inside_a_string_changes_that_string_only(tmp_path, monkeypatch):
    """Only a crafted file has one; the offsets stay, so the rest reads the same."""
    pattern = b"C\x08" + bytes(8) + b"\x94\x86\x94R\x94"
    docs = [
        {
            "tid": tid,
            "result": {"loss": float(tid), "status": "ok", "blob": pattern * 3},
            "misc": {"vals": {"x": [np.float64(tid)]}},
        }
        for tid in range(30)
    ]
    path = tmp_path / "crafted.p"
    path.write_bytes(pickle.dumps(docs, protocol=4))
    monkeypatch.setattr(safe_pickle, "LEAN_MIN_BYTES", 0)
    study = load_study(path)
    assert [t.params["x"] for t in study.trials] == [float(t) for t in range(30)]
    assert [t.loss for t in study.trials] == [float(t) for t in range(30)]
