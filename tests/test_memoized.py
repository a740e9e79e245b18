"""Results computed once per study (Study.memoized) stay what a fresh computation gives."""

from __future__ import annotations

from conftest import SAMPLES

from hopt_inspect.efficiency import _analyse, analyse
from hopt_inspect.loading import load_study
from hopt_inspect.tpe import TPESettings


def test_analyse_once_per_study_and_arguments_including_the_startup_source():
    study = load_study(SAMPLES / "qlearn.p")
    default = analyse(study, TPESettings())
    given = analyse(study, TPESettings(startup_source="--n-startup-jobs"))
    # equal settings by __eq__ (startup_source is not compared), different sentences
    assert default.result.evidence["startup_assumed"] is True
    assert given.result.evidence["startup_assumed"] is False
    assert analyse(study, TPESettings()) is default
    fresh = _analyse(study, TPESettings(), n_startup=None, sampler_kind=None)
    assert fresh.result == default.result and fresh.startup == default.startup
    other = analyse(study, TPESettings(), n_startup=5)
    assert other is not default and other.startup == 5


def test_tpe_history_is_computed_once_and_handed_out_as_a_copy():
    study = load_study(SAMPLES / "failures.p")
    first = study.tpe_history()
    first.clear()  # a caller's list: the study's own stays whole
    again = study.tpe_history()
    assert again and again == study._tpe_history() and again is not study.tpe_history()
    assert study.tpe_history(10) == study._tpe_history(10)


def test_ok_by_loss_is_the_python_sort_by_loss_then_tid(tmp_path):
    """One numpy sort stands in for sorted(key=(loss, tid)): ties, -0.0 against 0.0, int
    losses, failures, NaN and inf losses, tids out of order in the file."""
    import pickle
    import random
    from datetime import datetime

    from hopt_inspect.loading import load_study

    rng = random.Random(7)
    pool = [0.0, -0.0, 1, 1.0, 2.5, -3, 1e-300, -1e300, float("nan"), float("inf"), None]
    docs = []
    for tid in rng.sample(range(400), 400):
        loss = rng.choice(pool)
        status = "fail" if rng.random() < 0.1 else "ok"
        result = {"status": status} if loss is None else {"status": status, "loss": loss}
        docs.append(
            {
                "state": 2 if rng.random() < 0.9 else 3,
                "tid": tid,
                "spec": None,
                "result": result,
                "misc": {"tid": tid, "cmd": None, "workdir": None, "idxs": {}, "vals": {}},
                "exp_key": None,
                "owner": None,
                "version": 0,
                "book_time": datetime(2026, 1, 1),
                "refresh_time": datetime(2026, 1, 1),
            }
        )
    path = tmp_path / "ties.p"
    path.write_bytes(pickle.dumps(docs))
    study = load_study(path)
    expected = sorted((t for t in study.trials if t.is_ok), key=lambda t: (t.loss, t.tid))
    assert len(expected) > 100
    assert [t.tid for t in study.ok_by_loss] == [t.tid for t in expected]
