"""Calibrate "Is TPE working?" (efficiency.py) on real fmin studies.

    python benchmarks/calibrate_verdict.py [--tpe-seeds 8] [--random-seeds 30] [--sizes 100,200]

Studies: hyperopt's own ``fmin`` with ``tpe.suggest`` (default settings: 20 random start-up
trials) and with ``rand.suggest``, on five smooth objectives over five space styles
(a 2-D box, a mixed log/q/choice space, gaussian priors, a 6-D box, the 10-parameter
Q-learning space), each size in --sizes. Studies are cached under
``benchmarks/.cache/verdict/`` (gitignored), so a rerun only computes the verdicts.

Prints, per arm, how often each verdict is given (with counts). Targets: random search
"better" <= 5%; TPE on these smooth objectives: "better" most of the time.

Also checks ``random_trials_to_best`` against the truth: the true P(loss <= best) under the
prior, from 20,000 prior draws of the objective per space (``pyll.stochastic.sample``): how
often the 90% interval holds the true median number of random trials.
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "sample_trials"))

from hopt_inspect.efficiency import analyse, trials_to_reach  # noqa: E402
from hopt_inspect.study import Source, Study, labels_in_order, trial_from_doc  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache" / "verdict"
PRIOR_DRAWS = 20_000


def problems() -> dict[str, tuple]:
    """name -> (space, objective): smooth objectives with an interior or edge optimum."""
    import tuner
    from hyperopt import hp

    def box2(p):
        return (p["x"] - 0.7) ** 2 + 2 * (p["y"] + 0.4) ** 2

    def mixed(p):
        lr = math.log10(p["lr"])
        return (lr + 2.5) ** 2 + 0.3 * (p["units"] / 64 - 1.5) ** 2 + 0.5 * p["act"] + p["d"] ** 2

    def gauss(p):
        return (p["a"] - 1) ** 2 + (p["b"] + 0.5) ** 2 + 0.5 * (p["c"] ** 2 - 1) ** 2

    def box6(p):
        return sum((p[f"x{i}"] - 0.1 * i) ** 2 * (1 + i / 3) for i in range(6))

    def qlearn(p):
        return tuner.qlearn_objective(p)["loss"]

    return {
        "box2": ({"x": hp.uniform("x", -2, 2), "y": hp.uniform("y", -2, 2)}, box2),
        "mixed": (
            {
                "lr": hp.loguniform("lr", math.log(1e-5), 0),
                "units": hp.quniform("units", 8, 256, 8),
                "act": hp.choice("act", [0.0, 1.0, 2.0]),
                "d": hp.uniform("d", -1, 1),
            },
            mixed,
        ),
        "gauss": (
            {"a": hp.normal("a", 0, 2), "b": hp.normal("b", 0, 1), "c": hp.normal("c", 0, 1.5)},
            gauss,
        ),
        "box6": ({f"x{i}": hp.uniform(f"x{i}", -1, 1) for i in range(6)}, box6),
        "qlearn": (tuner.qlearn_space, qlearn),
    }


def study_of(docs: list, name: str) -> Study:
    parsed = [trial_from_doc(d)[0] for d in docs]
    return Study(
        trials=tuple(sorted(parsed, key=lambda t: t.tid)),
        labels=labels_in_order(parsed),
        source=Source(path=name, format="memory", container="Trials"),
    )


def run(problem: str, algo_name: str, n: int, seed: int, cache: Path = CACHE) -> Study:
    """One fmin study, from the cache when it is there."""
    path = cache / f"{problem}-{algo_name}-{n}-{seed}.p"
    if path.exists():
        return study_of(pickle.loads(path.read_bytes()), path.stem)
    from hyperopt import Trials, fmin, rand, tpe

    space, objective = problems()[problem]
    trials = Trials()
    fmin(
        objective,
        space,
        algo=tpe.suggest if algo_name == "tpe" else rand.suggest,
        max_evals=n,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    docs = trials._dynamic_trials
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(docs))
    return study_of(docs, path.stem)


def prior_losses(problem: str) -> np.ndarray:
    """The objective's loss at PRIOR_DRAWS draws from the prior, sorted (cached)."""
    path = CACHE / f"prior-{problem}-{PRIOR_DRAWS}.npy"
    if path.exists():
        return np.load(path)
    from hyperopt.pyll import stochastic

    space, objective = problems()[problem]
    rng = np.random.default_rng(99)
    losses = np.sort([objective(stochastic.sample(space, rng=rng)) for _ in range(PRIOR_DRAWS)])
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, losses)
    return losses


def verdict_as_summary(study):
    """The verdict exactly as `hopt-inspect summary FILE` gives it without --space: the
    sampler and start-up detected from the trials (sampler.py) feed the analysis."""
    from hopt_inspect.resolve import resolve_space
    from hopt_inspect.sampler import detect_sampler
    from hopt_inspect.tpe import settings_for

    settings = settings_for(study)
    guess = detect_sampler(study, resolve_space(None, study), settings)
    return analyse(
        study,
        settings,
        n_startup=guess.n_startup if guess.kind == "tpe" else None,
        sampler_kind="random" if guess.kind == "random" else None,
    ).result


def calibrate(tpe_seeds: int, random_seeds: int, sizes: tuple[int, ...]) -> dict:
    names = list(problems())
    out: dict = {"tpe": {}, "random": {}, "coverage": {"in": 0, "below": 0, "above": 0}}
    by_problem: dict = {}
    out["by_problem"] = by_problem
    for arm, seeds in (("random", random_seeds), ("tpe", tpe_seeds)):
        for problem in names:
            truth = prior_losses(problem) if arm == "tpe" else None
            for n in sizes:
                for seed in range(seeds):
                    study = run(problem, arm, n, 1000 * n + seed)
                    result = verdict_as_summary(study)
                    out[arm][result.verdict] = out[arm].get(result.verdict, 0) + 1
                    tally = by_problem.setdefault((arm, problem), {})
                    tally[result.verdict] = tally.get(result.verdict, 0) + 1
                    if truth is not None and result.random_trials_to_best is not None:
                        best = result.evidence["best_loss"]
                        q = np.searchsorted(truth, best, side="right") / len(truth)
                        true_n = float(trials_to_reach(q)) if q > 0 else math.inf
                        rt = result.random_trials_to_best
                        side = (
                            "below"
                            if true_n < rt["low"]
                            else "above"
                            if true_n > rt["high"]
                            else "in"
                        )
                        out["coverage"][side] += 1
    return out


def _rates(counts: dict) -> str:
    total = sum(counts.values())
    order = ("better", "no-better", "worse", "inconclusive")
    return " · ".join(
        f"{v} {counts.get(v, 0) / total:.1%} ({counts.get(v, 0)}/{total})" for v in order
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tpe-seeds", type=int, default=8)
    parser.add_argument("--random-seeds", type=int, default=30)
    parser.add_argument("--sizes", default="100,200")
    args = parser.parse_args()
    sizes = tuple(int(s) for s in args.sizes.split(","))
    start = time.perf_counter()
    out = calibrate(args.tpe_seeds, args.random_seeds, sizes)
    took = time.perf_counter() - start
    print(f"5 smooth objectives x sizes {sizes}; {took:.0f} s (studies cached in {CACHE})")
    print(f"rand.suggest: {_rates(out['random'])}  (target: better <= 5%)")
    print(f"tpe.suggest:  {_rates(out['tpe'])}")
    for (arm, problem), tally in sorted(out["by_problem"].items()):
        print(f"    {arm:6} {problem:6} {_rates(tally)}")
    cov = out["coverage"]
    total = sum(cov.values()) or 1
    print(
        f"random_trials_to_best, TPE studies: true value inside the 90% interval"
        f" {cov['in'] / total:.0%} ({cov['in']}/{total}), above it {cov['above'] / total:.0%},"
        f" below it {cov['below'] / total:.0%}"
    )


if __name__ == "__main__":
    main()
