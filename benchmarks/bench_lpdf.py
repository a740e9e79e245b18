"""How long `hopt-inspect lpdf --param all` takes, end to end, with PNGs.

    python benchmarks/bench_lpdf.py [--trials 10000] [--repeat 3]

1. `sample_trials/qlearn.p` (200 trials, 10 parameters, default snapshots).
2. A study of --trials trials on the same space (documents made with hyperopt's own
   `Trials.new_trial_docs`, values drawn from the prior), 10 snapshots per parameter.
Each also with --json only (no figure) and the big study's bare unpickle, so the drawing's
CPU per figure and the ratio to the unpickle are printed. Targets (issues #3, #18): 2 s for
1; 5 s for 2 at 10,000 trials.
"""

from __future__ import annotations

import argparse
import math
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SPACE = f"{ROOT / 'sample_trials' / 'tuner.py'}:qlearn_space"


def draw(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Values from the prior of the qlearn space, as rand.suggest would draw them."""
    return {
        "learning_rate": np.exp(rng.uniform(math.log(1e-5), 0, n)),
        "use_double_q_learning": rng.integers(0, 2, n),
        "layer1_size": np.round(rng.uniform(10, 100, n)),
        "layer2_size": np.round(rng.uniform(10, 100, n)),
        "layer3_size": np.round(rng.uniform(10, 100, n)),
        "future_discount_max": rng.uniform(0.5, 0.99, n),
        "future_discount_increment": np.exp(rng.uniform(math.log(1e-3), math.log(0.1), n)),
        "recall_memory_size": np.round(rng.uniform(1, 100, n)),
        "recall_memory_num_experiences_per_recall": np.round(rng.uniform(10, 2000, n)),
        "num_epochs": np.round(rng.uniform(1, 10, n)),
    }


def make_study(path: Path, n: int, seed: int = 0) -> None:
    from hyperopt import JOB_STATE_DONE, Trials

    rng = np.random.default_rng(seed)
    values = draw(rng, n)
    loss = (np.log10(values["learning_rate"]) + 2.5) ** 2 + rng.normal(0, 0.1, n)
    trials = Trials()
    tids = trials.new_trial_ids(n)
    start = datetime(2026, 1, 1)
    miscs, results = [], []
    for i, tid in enumerate(tids):
        miscs.append(
            {
                "tid": tid,
                "cmd": ("domain_attachment", "FMinIter_Domain"),
                "workdir": None,
                # numpy scalars, as fmin stores them (np.int64 tids, np.float64 values)
                "idxs": {k: [np.int64(tid)] for k in values},
                "vals": {k: [v[i]] for k, v in values.items()},
            }
        )
        results.append({"loss": float(loss[i]), "status": "ok"})
    docs = trials.new_trial_docs(tids, [None] * n, results, miscs)
    for i, doc in enumerate(docs):
        doc["state"] = JOB_STATE_DONE
        doc["book_time"] = start + timedelta(seconds=i)
        doc["refresh_time"] = start + timedelta(seconds=i + 0.5)
    trials.insert_trial_docs(docs)
    trials.refresh()
    with open(path, "wb") as f:
        pickle.dump(trials, f)


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + sys, the command and its drawing workers)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_of(cmd: list[str], repeat: int) -> tuple[float, float]:
    runs = sorted(timed(cmd) for _ in range(repeat))
    cpus = sorted(cpu for _, cpu in runs)
    return runs[len(runs) // 2][0], cpus[len(cpus) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (median)")
    args = parser.parse_args()
    tool = shutil.which("hopt-inspect") or str(Path(sys.executable).parent / "hopt-inspect")
    qlearn = str(ROOT / "sample_trials/qlearn.p")
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.p"
        make_study(big, args.trials)
        every = str(max(1, args.trials // 10))
        lpdf = [tool, "lpdf", "--param", "all", "--space", SPACE]
        bare = [sys.executable, "-c", f"import pickle; pickle.load(open({str(big)!r}, 'rb'))"]
        rows = {
            "q png": ("qlearn.p (200 trials), --param all, default snapshots",
                      [*lpdf, qlearn, "-o", f"{tmp}/q"]),
            "q json": ("qlearn.p, the same, --json only (no figure)", [*lpdf, qlearn, "--json"]),
            "big png": (f"{args.trials} trials, --param all, --every {every}",
                        [*lpdf, str(big), "--every", every, "-o", f"{tmp}/big"]),
            "big json": (f"{args.trials} trials, the same, --json only",
                         [*lpdf, str(big), "--every", every, "--json"]),
            "bare": (f"{args.trials} trials: bare pickle.load (imports hyperopt)", bare),
        }  # fmt: skip
        print(f"{'lpdf run (median of ' + str(args.repeat) + ')':<62} {'wall s':>7} {'cpu s':>7}")
        got = {}
        for key, (name, cmd) in rows.items():
            got[key] = median_of(cmd, args.repeat)
            print(f"{name:<62} {got[key][0]:>7.2f} {got[key][1]:>7.2f}")
        for key, label in (("q", "qlearn.p"), ("big", f"{args.trials} trials")):
            per = (got[f"{key} png"][1] - got[f"{key} json"][1]) / 10
            print(f"drawing, {label}: {per:.2f} s of CPU per figure (10 figures, PNG minus JSON)")
        ratio = got["big png"][0] / got["bare"][0]
        print(f"{args.trials} trials: lpdf --param all with PNGs = {ratio:.2f}x a bare unpickle")


if __name__ == "__main__":
    main()
