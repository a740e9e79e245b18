"""Make the sample studies in this folder by running hyperopt's own ``fmin`` (fixed seeds).

    python sample_trials/make_samples.py        # rewrites the *.p files next to this script

Numbers are reproducible for a given hyperopt and numpy; the book/refresh times are not.
"""

from __future__ import annotations

import math
import pickle
import sys
from functools import partial
from pathlib import Path

import numpy as np
from hyperopt import Trials, fmin, tpe

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # tuner.py and custommod.py, as in a user's project

import tuner  # noqa: E402


def run(objective, space, n, seed, algo=tpe.suggest, **kwargs) -> Trials:
    trials = Trials()
    fmin(
        objective,
        space,
        algo=algo,
        max_evals=n,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
        **kwargs,
    )
    return trials


def save(trials: Trials, name: str) -> None:
    path = HERE / name
    with open(path, "wb") as f:
        pickle.dump(trials, f)  # what users do: pickle.dump(trials, open("hyperopt.p", "wb"))
    print(f"{name}: {len(trials.trials)} trials, {path.stat().st_size} bytes")


def failures_study() -> Trials:
    trials = run(
        tuner.failures_objective, tuner.failures_space, 60, seed=7, catch_eval_exceptions=True
    )
    # One NaN and one inf loss, as objectives produce when training blows up. They are
    # real evaluations: each is added with fmin on the same Trials, one trial at a time.
    for seed, bad in ((11, math.nan), (12, math.inf)):
        fmin(
            lambda params, bad=bad: {"loss": bad, "status": "ok", "note": "diverged"},
            tuner.failures_space,
            algo=tpe.suggest,
            max_evals=len(trials.trials) + 1,
            trials=trials,
            rstate=np.random.default_rng(seed),
            show_progressbar=False,
        )
    return trials


def main() -> None:
    heart = partial(run, tuner.heart_objective, tuner.heart_space, 100)
    save(heart(seed=42), "heart.p")
    save(heart(seed=42, algo=partial(tpe.suggest, n_startup_jobs=1)), "heart_startup1.p")
    save(run(tuner.qlearn_objective, tuner.qlearn_space, 200, seed=3), "qlearn.p")
    save(failures_study(), "failures.p")


if __name__ == "__main__":
    main()
