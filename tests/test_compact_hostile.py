"""Files that the compacted load (loading/compact.py) got wrong: found by attacker a18.

* An ``exp_key`` the file shares between the Trials and every document: a copy of it is
  no longer the Study's own object, and ``visible_to_hyperopt`` compares the two with
  ``==`` per trial. A 4.8 KB file whose key is a list of 2 refs to a list of 2 refs ...
  (40 levels) made ``lpdf`` compare 2^40 items (hung, deaf to SIGTERM); a 50 MB string key
  (85 KB gzip, 3000 trials) took 69 s instead of 1.5 s. Documents with an exp_key now
  keep the direct way.
* Under ``--trust`` the values are real numpy scalars; ``marshal`` writes any buffer
  (``numpy.float64`` included) as ``bytes``: every fmin study's float parameters became
  byte strings (lpdf/report crashed, export wrote bytes). ``--trust`` loads keep the
  direct way.
* (Pre-existing) two equal but distinct exp_key objects hung every command: keys that are
  not text or numbers are compared by identity (``study.same_exp_key``).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
from hyperopt import Trials

from hopt_inspect.loading import load_study

HOSTILE = Path(__file__).resolve().parent / "hostile" / "compact"


def _doc(tid, x, exp_key):
    return {
        "state": 2,
        "tid": tid,
        "spec": None,
        "result": {"loss": float(tid), "status": "ok", "acc": np.float64(0.5)},
        "misc": {
            "tid": tid,
            "cmd": None,
            "workdir": None,
            "idxs": {"x": [tid]},
            "vals": {"x": [x]},
        },
        "exp_key": exp_key,
        "owner": None,
        "version": 0,
        "book_time": None,
        "refresh_time": None,
    }


def _trials_file(tmp_path, exp_key, xs):
    t = Trials(exp_key=exp_key)
    t._dynamic_trials = [_doc(i, x, exp_key) for i, x in enumerate(xs)]
    path = tmp_path / "t.p"
    path.write_bytes(pickle.dumps(t))
    return path


def test_a_shared_exp_key_stays_the_studys_own_object(tmp_path):
    key = ["k"]
    for _ in range(18):  # 2^18 comparisons per trial if copied: slow, not a hang
        key = [key, key]
    path = _trials_file(tmp_path, key, [0.5, 1.5, 2.5])
    study = load_study(path)
    assert all(t.exp_key is study.exp_key for t in study.trials)
    assert len(study.visible_to_hyperopt()) == 3


def test_trusted_numpy_floats_stay_numbers(tmp_path):
    path = _trials_file(tmp_path, None, [np.float64(0.25), np.float64(-1.5)])
    study = load_study(path, trust=True)
    direct = load_study(path, trust=True, compact=False)
    assert [t.params["x"] for t in study.trials] == [0.25, -1.5]
    assert [t.params for t in study.trials] == [t.params for t in direct.trials]
    assert all(not isinstance(t.params["x"], bytes) for t in study.trials)
    assert all(not isinstance(t.extra.get("acc"), bytes) for t in study.trials)


def test_the_exp_key_bomb_file_runs_lpdf_in_seconds(tmp_path):
    """The committed 4.8 KB file: a 40-level shared list as exp_key (hung before)."""
    out = subprocess.run(
        [sys.executable, "-m", "hopt_inspect", "lpdf", "-p", "x", "-o", str(tmp_path / "l.png"),
         str(HOSTILE / "exp_key_shared_list_bomb.p")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "l.png").exists()


def test_two_equal_but_distinct_exp_keys_do_not_hang_summary(tmp_path):
    """1.7 KB: the Trials' exp_key and the documents' one are two separate 40-level lists
    of 2 refs each (equal, not the same object). ``docs_of_experiment`` (plain._same_key)
    and ``Study.visible_to_hyperopt`` compare them with ``==``: 2^40 steps, every command
    hangs (main before h18b too). Keys that are not text or numbers are now compared by
    identity (study.same_exp_key); a hang is 2^40 steps, so the timeout only stops it."""
    out = subprocess.run(
        [sys.executable, "-m", "hopt_inspect", "summary",
         str(HOSTILE / "exp_key_twin_list_bomb.p")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode in (0, 2), out.stderr


def test_duplicates_do_not_depend_on_whether_nans_are_one_object():
    """A NaN parameter value groups the same way whether the file made its NaNs one shared
    object (the loader's shared scalars do) or many: as in the numpy path past 1000
    trials, a NaN value is no value."""
    from hopt_inspect.study import Source, Study, Trial

    shared = float("nan")
    for nans in ([shared] * 4, [float("nan") for _ in range(4)]):
        trials = tuple(Trial(i, "done", "ok", float(i), {"x": nans[i], "y": 0}) for i in range(4))
        study = Study(trials, ("x", "y"), Source("t.p", "pickle", "Trials"))
        assert study.duplicate_groups() == [[0, 1, 2, 3]]
