"""Calibrate the statistical checks: false alarms on random search, detection of planted defects.

    python benchmarks/calibrate_checks.py [--studies 200] [--seed 0]

Method (also in the README):
- Random studies: hyperopt's own fmin with rand.suggest, 50-500 trials, on three mixed
  spaces. `clumping`, `edge-sampling` and `collapsed` should fire at warning level in at
  most 1% of them.
- Planted studies: fmin with a custom `algo` that wraps rand.suggest and, after the 20
  start-up trials, either perturbs one of the best earlier trials by 0.2% of each range
  (clumping, 70% of proposals) or moves proposals into the outer 2% of each bounded range
  (edge-hugging, 50% of proposals). The matching check should fire in at least 95%.
Prints both rates and the time taken.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hopt_inspect.checks import run_checks  # noqa: E402
from hopt_inspect.loading.jsondocs import docs_from_json  # noqa: E402,F401
from hopt_inspect.study import Source, Study, labels_in_order, trial_from_doc  # noqa: E402

WATCHED = {"clumping", "edge-sampling", "collapsed"}


def spaces():
    from hyperopt import hp

    return {
        "mixed-a": {
            "x": hp.uniform("x", -5, 5),
            "lr": hp.loguniform("lr", math.log(1e-5), 0),
            "units": hp.quniform("units", 16, 512, 16),
            "act": hp.choice("act", ["relu", "tanh", "gelu"]),
        },
        "mixed-b": {
            "depth": hp.uniformint("depth", 1, 12),
            "w": hp.normal("w", 0, 2),
            "reg": hp.qloguniform("reg", math.log(1), math.log(1000), 1),
            "opt": hp.pchoice("opt", [(0.5, "adam"), (0.3, "sgd"), (0.2, "rms")]),
        },
        "qlearn": None,  # filled from sample_trials/tuner.py
    }


def objective(params: dict) -> float:
    """A loss with an interior optimum, unrelated to the planted defects."""
    loss = 0.0
    for key, value in sorted(params.items()):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            v = math.log(value) if value > 0 and key in ("lr", "reg", "learning_rate") else value
            loss += math.sin(0.7 * v + len(key)) ** 2
    return loss


@dataclass
class Planted:
    kind: str  # "clumping" or "edge"
    space_info: dict  # label -> (kind, low, high, q) in own scale

    def __call__(self, new_ids, domain, trials, seed):
        from hyperopt import rand

        docs = rand.suggest(new_ids, domain, trials, seed)
        rng = np.random.default_rng(seed)
        done = [t for t in trials.trials if t["result"].get("loss") is not None]
        if len(trials.trials) < 20:
            return docs
        vals = docs[0]["misc"]["vals"]
        if self.kind == "clumping" and done and rng.uniform() < 0.7:
            good = sorted(done, key=lambda t: t["result"]["loss"])[: max(3, len(done) // 4)]
            source = good[rng.integers(len(good))]["misc"]["vals"]
            for label, (kind, lo, hi, q) in self.space_info.items():
                if vals.get(label) and source.get(label):
                    c = _coord(kind, source[label][0]) + rng.normal(0, 0.002 * (hi - lo))
                    vals[label] = [_value(kind, min(max(c, lo), hi), q)]
        elif self.kind == "edge" and rng.uniform() < 0.5:
            for label, (kind, lo, hi, q) in self.space_info.items():
                if vals.get(label) and kind in ("uniform", "loguniform", "quniform", "qloguniform"):
                    side = lo if rng.uniform() < 0.5 else hi - 0.02 * (hi - lo)
                    c = side + rng.uniform(0, 0.02 * (hi - lo))
                    vals[label] = [_value(kind, c, q)]
        return docs


def _coord(kind, value):
    return math.log(value) if kind.startswith(("log", "qlog")) else value


def _value(kind, coord, q):
    v = math.exp(coord) if kind.startswith(("log", "qlog")) else coord
    return round(v / q) * q if q else v


def info_for(space) -> dict:
    from hopt_inspect.resolve import space_from_hp

    sp = space_from_hp(space, source="calibration")
    out = {}
    for label, p in sp.params.items():
        if p.kind in ("uniform", "quniform", "uniformint", "loguniform", "qloguniform"):
            out[label] = (p.kind.replace("uniformint", "quniform"), p.low, p.high, p.q)
        elif p.kind in ("normal", "qnormal"):  # perturbed on mu ± 4 sigma; no edges
            out[label] = ("normal", p.mu - 4 * p.sigma, p.mu + 4 * p.sigma, p.q)
    return out, sp


def run_study(space, n, seed, algo):
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
    docs = trials._dynamic_trials
    parsed = [trial_from_doc(d)[0] for d in docs]
    return Study(
        trials=tuple(sorted(parsed, key=lambda t: t.tid)),
        labels=labels_in_order(parsed),
        source=Source(path=f"calibration-{seed}", format="memory", container="Trials"),
    )


def fired(study, sp, names) -> set[str]:
    report = run_checks(study, sp)
    return {f.name for f in report.findings if f.severity != "info" and f.name in names}


def calibrate(n_studies: int, seed: int = 0, sizes=(50, 500)) -> dict[str, float]:
    """Rates over n_studies per arm; returns them for the test to assert on."""
    from hyperopt import rand

    sys.path.insert(0, str(ROOT / "sample_trials"))
    import tuner

    all_spaces = spaces()
    all_spaces["qlearn"] = tuner.qlearn_space
    names = list(all_spaces)
    rng = np.random.default_rng(seed)
    counts = {"random": 0, "clumping": 0, "edge": 0}
    fired_random: dict[str, int] = {}
    for i in range(n_studies):
        name = names[i % len(names)]
        space = all_spaces[name]
        info, sp = info_for(space)
        n = int(rng.integers(sizes[0], sizes[1] + 1))
        random_study = run_study(space, n, seed * 100_000 + i, rand.suggest)
        hits = fired(random_study, sp, WATCHED)
        for h in hits:
            fired_random[h] = fired_random.get(h, 0) + 1
        counts["random"] += bool(hits)
        clumped = run_study(space, n, seed * 100_000 + i, Planted("clumping", info))
        counts["clumping"] += "clumping" in fired(clumped, sp, WATCHED)
        edged = run_study(space, n, seed * 100_000 + i, Planted("edge", info))
        counts["edge"] += "edge-sampling" in fired(edged, sp, WATCHED)
    rates = {k: v / n_studies for k, v in counts.items()}
    rates["random_by_check"] = {k: v / n_studies for k, v in fired_random.items()}
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    rates = calibrate(args.studies, args.seed)
    took = time.perf_counter() - start
    print(f"{args.studies} studies per arm, 50-500 trials, 3 spaces, {took:.0f} s")
    print(
        f"random search, any of {sorted(WATCHED)} at warning: {rates['random']:.1%} (target <= 1%)"
    )
    for name, rate in sorted(rates["random_by_check"].items()):
        print(f"    {name}: {rate:.1%}")
    print(f"planted clumping detected by clumping:      {rates['clumping']:.1%} (target >= 95%)")
    print(f"planted edge-hugging detected by edge-sampling: {rates['edge']:.1%} (target >= 95%)")


if __name__ == "__main__":
    main()
