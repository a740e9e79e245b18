"""Calibrate `compare`'s verdict on real fmin studies: false alarms and detections.

    python benchmarks/calibrate_compare.py [--pairs 100] [--trials 100] [--seed 0]

Method (also in the README, section `compare`):
- Null arms: pairs of studies run by hyperopt's own ``fmin`` with the same space, objective
  and algorithm, differing only in the seed. Any verdict other than "no clear difference"
  is a false alarm. Arms: TPE on the heart (sample_trials/tuner.py), TPE on a mixed
  4-parameter space (uniform, loguniform, quniform, choice), random search on the heart.
- Detection arms: pairs where B is better by construction. "narrowed": B searches a box
  a quarter as wide around the heart's best corner (A the whole box). "TPE vs random": B is
  TPE, A random search, on the mixed space (whose optimum lies inside the ranges) and on the
  heart. "x in [-2, 4]": a modest change, B's range of x is 60% as wide (both hold the
  optimum).
For each arm and for alpha in 0.05, 0.01, 0.001 it prints how often each verdict came out,
beside the nominal rate. The verdict compares the losses after each study's start-up (20).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "sample_trials"))

from hopt_inspect.compare import loss_test  # noqa: E402
from hopt_inspect.study import Source, Study, labels_in_order, trial_from_doc  # noqa: E402
from hopt_inspect.tpe import TPESettings  # noqa: E402

ALPHAS = (0.05, 0.01, 0.001)


def mixed_space():
    from hyperopt import hp

    return {
        "x": hp.uniform("x", -5, 5),
        "lr": hp.loguniform("lr", math.log(1e-5), 0),
        "units": hp.quniform("units", 16, 512, 16),
        "act": hp.choice("act", ["relu", "tanh", "gelu"]),
    }


def mixed_objective(p: dict) -> float:
    """An interior optimum: x = 1.3, lr = 3e-3, units = 200, act = tanh."""
    loss = (p["x"] - 1.3) ** 2 / 4 + (math.log10(p["lr"]) + 2.5) ** 2
    loss += ((p["units"] - 200) / 150) ** 2 + {"relu": 0.3, "tanh": 0.0, "gelu": 0.5}[p["act"]]
    return loss


def run(objective, space, n: int, seed: int, algo) -> Study:
    from hyperopt import Trials, fmin

    trials = Trials()
    fmin(
        objective,
        space,
        algo=algo,
        max_evals=n,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    parsed = [trial_from_doc(d)[0] for d in trials.trials]
    return Study(tuple(parsed), labels_in_order(parsed), Source("fmin", "memory", "Trials"))


def after(study: Study, startup: int = 20) -> list[float]:
    return [float(t.loss) for t in study.trials[startup:] if t.is_ok]  # type: ignore[arg-type]


def arms(n: int):
    import tuner
    from hyperopt import hp, rand, tpe

    heart = tuner.heart_objective
    narrow = {
        "learning_rate": hp.uniform("learning_rate", -2, -1),
        "size_of_hidden_layer": hp.uniform("size_of_hidden_layer", -2, -1),
    }
    mixed = mixed_space()
    mixed_x = {**mixed_space(), "x": hp.uniform("x", -2, 4)}  # the optimum, 1.3, in both
    return [
        ("null: TPE on the heart", None, (heart, tuner.heart_space, tpe.suggest),
         (heart, tuner.heart_space, tpe.suggest)),
        ("null: TPE on the mixed space", None, (mixed_objective, mixed, tpe.suggest),
         (mixed_objective, mixed, tpe.suggest)),
        ("null: random search on the heart", None, (heart, tuner.heart_space, rand.suggest),
         (heart, tuner.heart_space, rand.suggest)),
        ("detect: narrowed box (B better)", "B", (heart, tuner.heart_space, tpe.suggest),
         (heart, narrow, tpe.suggest)),
        ("detect: TPE vs random, mixed (B better)", "B", (mixed_objective, mixed, rand.suggest),
         (mixed_objective, mixed, tpe.suggest)),
        ("detect: TPE vs random, heart (B better)", "B", (heart, tuner.heart_space, rand.suggest),
         (heart, tuner.heart_space, tpe.suggest)),
        ("detect: x in [-2, 4], not [-5, 5] (B better)", "B",
         (mixed_objective, mixed, tpe.suggest), (mixed_objective, mixed_x, tpe.suggest)),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    TPESettings()  # the start-up assumed by compare: 20
    print(f"{args.pairs} pairs per arm, {args.trials} trials per study, start-up 20")
    print(f"{'arm':<42} " + "  ".join(f"alpha={a:<6g} A/B/none" for a in ALPHAS))
    for i, (name, truth, spec_a, spec_b) in enumerate(arms(args.trials)):
        tallies = {a: {"A": 0, "B": 0, "none": 0} for a in ALPHAS}
        for k in range(args.pairs):
            seed = args.seed + 1000 * i + 2 * k
            sa = run(spec_a[0], spec_a[1], args.trials, seed, spec_a[2])
            sb = run(spec_b[0], spec_b[1], args.trials, seed + 1, spec_b[2])
            test = loss_test(after(sa), after(sb))
            for a in ALPHAS:
                if test is None or test.p_value >= a or test.median_a == test.median_b:
                    tallies[a]["none"] += 1
                else:
                    tallies[a]["B" if test.median_b < test.median_a else "A"] += 1
        cells = []
        for a in ALPHAS:
            t = tallies[a]
            if truth is None:
                rate = (t["A"] + t["B"]) / args.pairs
                cells.append(f"false alarm {rate:5.1%} (nominal {a:g})")
            else:
                cells.append(
                    f"detect {t[truth] / args.pairs:5.1%}, wrong side {t['A'] / args.pairs:4.1%}"
                )
        print(f"{name:<42} " + " | ".join(cells), flush=True)
    print(f"took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
