"""Files real picklers write that the rewritten stream (loading/leanstream.py) once read
differently from the plain one: each a study read both ways, compared."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hyperopt import STATUS_OK, Trials, fmin, hp, rand

from hopt_inspect.loading import load_study, safe_pickle


def _read(path, monkeypatch, lean: bool, buffer: int = 1 << 18) -> str:
    monkeypatch.setattr(safe_pickle, "LEAN_MIN_BYTES", 0 if lean else 1 << 62)
    monkeypatch.setattr(safe_pickle, "LEAN_BUFFER", buffer)
    study = load_study(path)
    return repr((study.trials, study.placeholders, study.exp_key, study.space))


def _fmin(objective, space, n: int = 6) -> Trials:
    trials = Trials()
    fmin(
        objective,
        space,
        rand.suggest,
        n,
        trials=trials,
        show_progressbar=False,
        rstate=np.random.default_rng(0),
    )
    return trials


@pytest.mark.parametrize("protocol", [3, 4, 5])
def test_results_holding_bools_and_int8s_read_the_same(tmp_path, monkeypatch, protocol):
    """``loss < 0.5`` on a numpy loss is an ``np.bool_``; its one-byte payload is a CPython
    singleton, so the second one is pickled as a GET of the first one's payload slot."""

    def objective(p):
        loss = np.float64(p["x"]) ** 2
        return {"loss": loss, "status": STATUS_OK, "good": loss < 0.5, "n": np.int8(1)}

    path = tmp_path / "bools.p"
    path.write_bytes(pickle.dumps(_fmin(objective, {"x": hp.uniform("x", -2, 2)}), protocol))
    assert _read(path, monkeypatch, lean=True) == _read(path, monkeypatch, lean=False)
