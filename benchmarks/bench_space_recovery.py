"""Space recovery: inferred spaces vs the true ones, and tuning scripts read statically.

    python benchmarks/bench_space_recovery.py [--seeds 0,1,2,3,4] [--only NAME] [--no-cache]
                                              [--scale-trials 10000] [-v]

Seeds 0-4 are the dev set the inference rules were tuned on; 5 and 6 are held out (report
them separately). ``--scale-trials 0`` skips the timing at scale.

For each study below (made here with hyperopt's own ``fmin``, TPE or random search, on a
space written in a realistic style), the benchmark

1. writes the tuning script a user would have (imports, the space, an objective, a
   module-level ``fmin`` call that pickles the trials) with a first line that creates a
   marker file if the script is ever executed, reads it with ``--space SCRIPT`` semantics
   (``resolve.space_from_spec``: static, never imported) and checks the result equals the
   true space (``resolve.space_from_hp`` on the live hp objects) and that no marker exists;
2. infers the space from the trials alone (``infer.infer_study_space``) and, for each label,
   compares TPE's below/above curves (``tpe.tpe_curves``: hyperopt's own adaptive_parzen /
   GMM1_lpdf / LGMM1_lpdf, tested against ``tpe.suggest``) under the inferred space with
   the curves under the TRUE space: grid and both log-likelihoods equal to 1e-9 at every
   default snapshot;
3. times the static read (median of 20) and the overhead of inference on ``summary`` at
   ``--scale-trials`` trials (summary with the old observed-range guess vs with inference).

Studies are cached under ``benchmarks/.cache/space_recovery/`` (gitignored).
Targets (issue #11): curves equal for >= 90% of labels; 100% of scripts read statically,
no marker; static read < 50 ms; inference adds < 10% to ``summary`` at 10k trials.
"""

from __future__ import annotations

import argparse
import math
import pickle
import statistics
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "benchmarks" / ".cache" / "space_recovery"

HEADER = """import pickle
import numpy as np
from hyperopt import Trials, fmin, hp, rand, tpe
from hyperopt.pyll import scope
"""


@dataclass(frozen=True)
class Case:
    name: str
    algo: str  # "tpe" | "rand"
    n: int
    space: str  # Python source binding `space` (uses HEADER's imports)
    header: str = HEADER


CASES = [
    Case(
        "xgboost_tpe",
        "tpe",
        200,
        """
space = {
    "max_depth": scope.int(hp.quniform("max_depth", 3, 10, 1)),
    "learning_rate": hp.loguniform("learning_rate", np.log(0.01), np.log(0.3)),
    "subsample": hp.uniform("subsample", 0.5, 1.0),
    "colsample_bytree": hp.uniform("colsample_bytree", 0.5, 1.0),
    "min_child_weight": hp.quniform("min_child_weight", 1, 10, 1),
    "gamma": hp.uniform("gamma", 0, 5),
    "n_estimators": hp.quniform("n_estimators", 100, 1000, 50),
}
""",
    ),
    Case(
        "xgboost_random",
        "rand",
        150,
        """
space = {
    "max_depth": hp.uniformint("max_depth", 2, 12),
    "eta": hp.loguniform("eta", np.log(1e-3), np.log(0.5)),
    "subsample": hp.uniform("subsample", 0.6, 1.0),
    "reg_lambda": hp.loguniform("reg_lambda", -5, 2),
    "reg_alpha": hp.uniform("reg_alpha", 0, 1),
}
""",
    ),
    Case(
        "keras_tpe",
        "tpe",
        150,
        """
space = {
    "units": hp.choice("units", [32, 64, 128, 256]),
    "dropout": hp.uniform("dropout", 0, 0.5),
    "lr": hp.loguniform("lr", -10, -2),
    "batch_size": hp.choice("batch_size", [16, 32, 64, 128]),
    "optimizer": hp.choice("optimizer", ["adam", "sgd", "rmsprop"]),
    "epochs": hp.quniform("epochs", 5, 50, 5),
}
""",
    ),
    Case(
        "keras_random",
        "rand",
        120,
        """
space = {
    "units": hp.qloguniform("units", np.log(16), np.log(512), 16),
    "lr": hp.loguniform("lr", np.log(1e-5), np.log(1e-1)),
    "dropout": hp.quniform("dropout", 0.0, 0.5, 0.05),
    "activation": hp.choice("activation", ["relu", "elu", "tanh"]),
}
""",
    ),
    Case(
        "sklearn_conditional_tpe",
        "tpe",
        200,
        """
space = hp.choice("classifier", [
    {"type": "svm", "C": hp.loguniform("svm_C", np.log(0.01), np.log(10)),
     "kernel": hp.choice("kernel", ["linear", "rbf"])},
    {"type": "rf", "max_depth": scope.int(hp.quniform("rf_max_depth", 2, 20, 1)),
     "n_estimators": hp.quniform("rf_n_estimators", 10, 500, 10)},
    {"type": "knn", "n_neighbors": hp.uniformint("knn_k", 1, 50)},
])
""",
    ),
    Case(
        "sklearn_conditional_random",
        "rand",
        200,
        """
space = {
    "scaler": hp.choice("scaler", ["standard", "minmax", None]),
    "model": hp.choice("model", [
        {"kind": "logreg", "C": hp.loguniform("lr_C", np.log(1e-3), np.log(1e3))},
        {"kind": "tree", "min_samples_leaf": hp.quniform("min_samples_leaf", 1, 20, 1),
         "max_features": hp.uniform("max_features", 0.1, 1.0)},
    ]),
}
""",
    ),
    Case(
        "normals_tpe",
        "tpe",
        200,
        """
space = {
    "bias": hp.normal("bias", 0, 1),
    "alpha": hp.lognormal("alpha", 0, 1),
    "n": hp.qnormal("n", 50, 10, 1),
    "width": hp.qlognormal("width", 3, 1, 1),
}
""",
    ),
    Case(
        "normals_random",
        "rand",
        200,
        """
space = {
    "bias": hp.normal("bias", 10, 3),
    "scale": hp.lognormal("scale", np.log(0.01), 1),
    "offset": hp.normal("offset", 0, 0.5),
}
""",
    ),
    Case(
        "pchoice_tpe",
        "tpe",
        150,
        """
space = {
    "optimizer": hp.pchoice("optimizer", [(0.5, "adam"), (0.3, "sgd"), (0.2, "rmsprop")]),
    "momentum": hp.uniform("momentum", 0.5, 0.99),
}
""",
    ),
    Case(
        "pchoice_random",
        "rand",
        300,
        """
space = {
    "loss": hp.pchoice("loss", [(0.7, "hinge"), (0.3, "log")]),
    "penalty": hp.pchoice("penalty", [(0.5, "l2"), (0.25, "l1"), (0.25, "elasticnet")]),
    "alpha": hp.loguniform("alpha", np.log(1e-6), np.log(1e-2)),
}
""",
    ),
    Case(
        "randint_tpe",
        "tpe",
        150,
        """
space = {
    "seed": hp.randint("seed", 10),
    "k": hp.randint("k", 2, 12),
    "depth": hp.uniformint("depth", 1, 20),
    "frac": hp.uniform("frac", 0, 1),
}
""",
    ),
    Case(
        "lightgbm_tpe",
        "tpe",
        300,
        """
space = {
    "num_leaves": scope.int(hp.quniform("num_leaves", 20, 150, 1)),
    "learning_rate": hp.loguniform("learning_rate", np.log(0.005), np.log(0.2)),
    "feature_fraction": hp.uniform("feature_fraction", 0.6, 1.0),
    "bagging_fraction": hp.uniform("bagging_fraction", 0.6, 1.0),
    "lambda_l1": hp.loguniform("lambda_l1", -8, 2),
    "min_data_in_leaf": hp.qloguniform("min_data_in_leaf", np.log(5), np.log(200), 1),
}
""",
    ),
    Case(
        "heart_tpe",
        "tpe",
        150,
        """
space = {
    "learning_rate": hp.uniform("learning_rate", -2, 2),
    "size_of_hidden_layer": hp.uniform("size_of_hidden_layer", -2, 2),
}
""",
    ),
    Case(
        "qlearn_random",
        "rand",
        100,
        """
space = {
    "learning_rate": hp.loguniform("learning_rate", np.log(1e-5), np.log(1)),
    "use_double_q_learning": hp.choice("use_double_q_learning", [True, False]),
    "layer1_size": hp.quniform("layer1_size", 10, 100, 1),
    "future_discount_max": hp.uniform("future_discount_max", 0.5, 0.99),
    "future_discount_increment": hp.loguniform(
        "future_discount_increment", np.log(0.001), np.log(0.1)),
    "num_epochs": hp.quniform("num_epochs", 1, 10, 1),
}
""",
    ),
    Case(
        "small_log_range_random",
        "rand",
        100,
        """
space = {
    "C": hp.loguniform("C", np.log(0.01), np.log(10)),
    "l1_ratio": hp.uniform("l1_ratio", 0, 1),
}
""",
    ),
    Case(
        "q_mix_tpe",
        "tpe",
        120,
        """
space = {
    "x": hp.quniform("x", -10, 10, 0.5),
    "y": hp.qloguniform("y", 0, np.log(1000), 10),
    "z": hp.quniform("z", 0, 1, 0.1),
}
""",
    ),
    Case(
        "conditional_uniformint_tpe",
        "tpe",
        250,
        """
layers = hp.choice("n_layers", [
    {"n": 1, "units_1": hp.uniformint("units_1", 16, 256)},
    {"n": 2, "units_1": hp.uniformint("units_2a", 16, 256),
     "units_2": hp.uniformint("units_2b", 16, 128)},
])
space = {"layers": layers, "weight_decay": hp.loguniform("weight_decay", -12, -4)}
""",
    ),
    Case(
        "shift_bias_tpe",
        "tpe",
        100,
        """
space = [hp.uniform("shift", -1, 1), hp.normal("bias", 10, 3), hp.randint("bucket", 5)]
""",
    ),
]


def objective_for(name: str):
    """A deterministic, mildly noisy loss over every numeric leaf of the sampled point."""

    def leaves(value, path=""):
        if isinstance(value, dict):
            for k in sorted(value):
                yield from leaves(value[k], f"{path}/{k}")
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                yield from leaves(v, f"{path}/{i}")
        else:
            yield path, value

    def objective(params):
        loss = 0.0
        for path, value in leaves(params):
            h = zlib.crc32(f"{name}{path}".encode()) / 2**32
            if isinstance(value, bool) or value is None or isinstance(value, str):
                loss += (zlib.crc32(f"{path}{value}".encode()) % 7) / 7
            else:
                v = float(value)
                v = math.copysign(math.log1p(abs(v)), v)
                loss += (v - (h * 4 - 1)) ** 2
        noise = (zlib.crc32(repr(sorted(map(str, leaves(params)))).encode()) % 1000) / 1e4
        return loss + noise

    return objective


def true_space(case: Case):
    namespace: dict = {}
    exec(case.header + case.space, namespace)  # the benchmark's own text, not a user script
    return namespace["space"]


def make_study(case: Case, use_cache: bool, seed: int) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{case.name}{'' if seed == 0 else f'_s{seed}'}.p"
    if use_cache and path.exists():
        return path
    from hyperopt import Trials, fmin, rand, tpe

    trials = Trials()
    fmin(
        objective_for(case.name),
        true_space(case),
        algo=tpe.suggest if case.algo == "tpe" else rand.suggest,
        max_evals=case.n,
        trials=trials,
        rstate=np.random.default_rng(zlib.crc32(case.name.encode()) + seed),
        show_progressbar=False,
    )
    path.write_bytes(pickle.dumps(trials))
    return path


def write_script(case: Case, folder: Path) -> tuple[Path, Path]:
    marker = folder / f"{case.name}.EXECUTED"
    script = folder / f"{case.name}_tuner.py"
    algo = "tpe.suggest" if case.algo == "tpe" else "rand.suggest"
    script.write_text(
        f'open({str(marker)!r}, "w").write("this script was executed")\n'
        + case.header
        + case.space
        + "\n\ndef objective(params):\n    return 0.0\n\n\ntrials = Trials()\n"
        + f"best = fmin(objective, space, algo={algo}, max_evals={case.n}, trials=trials)\n"
        + 'pickle.dump(trials, open("hyperopt.p", "wb"))\n'
    )
    return script, marker


def curves_equal(a, b, tol: float = 1e-9) -> bool:
    if len(a.snapshots) != len(b.snapshots):
        return False
    for sa, sb in zip(a.snapshots, b.snapshots, strict=True):
        pairs = ((sa.x, sb.x), (sa.below_llik, sb.below_llik), (sa.above_llik, sb.above_llik))
        for xa, xb in pairs:
            if len(xa) != len(xb):
                return False
            u, v = np.asarray(xa, float), np.asarray(xb, float)
            close = np.abs(u - v) <= tol * np.maximum(1, np.abs(u))
            if not np.all((u == v) | (np.isnan(u) & np.isnan(v)) | close):
                return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default=None)
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument(
        "--seeds",
        default="0",
        help="comma-separated; 0-4 are the dev set the rules were tuned on, 5 and 6 held out",
    )
    parser.add_argument("--scale-trials", type=int, default=10_000)
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args()
    totals = [run_set(args, seed) for seed in (int(s) for s in args.seeds.split(","))]
    if len(totals) > 1:
        labels, equal = sum(t[0] for t in totals), sum(t[1] for t in totals)
        conf_n, conf_ok = sum(t[2] for t in totals), sum(t[3] for t in totals)
        print(
            f"\nseeds {args.seeds}: {equal}/{labels} labels exact = {100 * equal / labels:.1f}%;"
            f" confident (>= 0.8): {conf_ok}/{conf_n} exact ({100 * conf_ok / max(conf_n, 1):.1f}%)"
        )
    if args.scale_trials:
        scale(args.scale_trials)


def run_set(args: argparse.Namespace, seed: int) -> tuple[int, int, int, int]:
    """One seed's studies; returns (labels, exact, confident labels, confident exact)."""
    from hopt_inspect.infer import infer_study_space
    from hopt_inspect.loading import load_study
    from hopt_inspect.resolve import space_from_hp, space_from_spec
    from hopt_inspect.tpe import tpe_curves

    folder = CACHE / "scripts"
    folder.mkdir(parents=True, exist_ok=True)
    cases = [c for c in CASES if args.only is None or args.only in c.name]
    total_labels = total_equal = scripts_ok = markers = 0
    calibration = {True: [0, 0], False: [0, 0]}  # confident?: [labels, exact]
    read_times = []
    print(
        f"\nseed {seed}"
        + (" (dev set: the rules were tuned on it)" if seed <= 4 else " (held out)")
    )
    print(
        f"{'study':28} {'algo':4} {'n':>4} {'labels':>6} {'exact':>5} {'script':>6} {'read ms':>7}"
    )
    for case in cases:
        study = load_study(make_study(case, not args.no_cache, seed))
        truth = space_from_hp(true_space(case), source="truth")
        script, marker = write_script(case, folder)
        marker.unlink(missing_ok=True)
        try:
            script_ok = dict(space_from_spec(str(script)).params) == dict(truth.params)
        except Exception as exc:  # report, do not stop
            print(f"  static read failed: {exc}")
            script_ok = False
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            space_from_spec(str(script))
            times.append(time.perf_counter() - t0)
        read_ms = statistics.median(times) * 1000
        read_times.append(read_ms)
        markers += marker.exists()
        scripts_ok += script_ok
        inferred = infer_study_space(study)
        equal = 0
        for label in truth.labels:
            ok = curves_equal(tpe_curves(study, truth, label), tpe_curves(study, inferred, label))
            equal += ok
            p = inferred[label]
            cell = calibration[not p.low_confidence]
            cell[0] += 1
            cell[1] += ok
            if args.verbose or not ok:
                flag = "ok " if ok else "BAD"
                got = f"{p.describe()}  conf {p.confidence:.2f}"
                print(f"    {flag} {label:22} true {truth[label].describe():40} got {got}")
                if not ok and args.verbose:
                    print(f"        {p.evidence}")
        total_labels += len(truth.labels)
        total_equal += equal
        print(
            f"{case.name:28} {case.algo:4} {case.n:>4} {len(truth.labels):>6} {equal:>5}"
            f" {'yes' if script_ok else 'NO':>6} {read_ms:>7.1f}"
        )
    share = 100 * total_equal / max(total_labels, 1)
    print(
        f"labels whose inferred-space curves equal the true-space curves (1e-9):"
        f" {total_equal}/{total_labels} = {share:.1f}%  (target >= 90%)"
    )
    for confident, (n, exact) in sorted(calibration.items(), reverse=True):
        name = "confident (>= 0.8)" if confident else "low confidence (< 0.8)"
        print(f"  {name}: {exact}/{n} exact ({100 * exact / max(n, 1):.0f}%)")
    print(
        f"scripts read statically, equal to the true space: {scripts_ok}/{len(cases)}"
        f" = {100 * scripts_ok / max(len(cases), 1):.0f}%  (target 100%);"
        f" marker files created: {markers}"
    )
    print(
        f"static read time: median {statistics.median(read_times):.1f} ms,"
        f" max {max(read_times):.1f} ms (target < 50 ms)"
    )
    return total_labels, total_equal, calibration[True][0], calibration[True][1]


def scale(n: int) -> None:
    """summary() at n trials: the old observed-range guess vs the inference, timed."""
    from hyperopt import Trials

    import hopt_inspect.summary as summary_mod
    from hopt_inspect.infer import infer_study_space
    from hopt_inspect.loading import load_study
    from hopt_inspect.space import infer_space

    path = CACHE / f"scale_{n}.p"
    if not path.exists():
        from hyperopt import rand  # noqa: F401
        from hyperopt.base import Domain

        case = next(c for c in CASES if c.name == "xgboost_random")
        trials = Trials()
        domain = Domain(objective_for(case.name), true_space(case))
        rng = np.random.default_rng(0)
        from hyperopt import rand as rand_mod

        docs = rand_mod.suggest(list(range(n)), domain, trials, rng.integers(2**31 - 1))
        trials.insert_trial_docs(docs)
        trials.refresh()
        for t in trials._dynamic_trials:
            t["state"] = 2
            t["result"] = {"status": "ok", "loss": float(rng.random())}
        trials.refresh()
        path.write_bytes(pickle.dumps(trials))
    study = load_study(path)

    import hopt_inspect.resolve as resolve_mod

    def run(infer) -> float:  # summarize() without a space infers through resolve
        original = resolve_mod.infer_space_for
        resolve_mod.infer_space_for = lambda s, n_startup_jobs=None: infer(s)
        try:
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                summary_mod.summarize(study)
                times.append(time.perf_counter() - t0)
            return min(times)
        finally:
            resolve_mod.infer_space_for = original

    old = run(lambda s: infer_space(s.observed_values()))
    new = run(infer_study_space)
    t0 = time.perf_counter()
    infer_study_space(study)
    alone = time.perf_counter() - t0
    print(
        f"\nsummary() at {n} trials (best of 3): observed-range guess {old:.3f} s, with"
        f" inference {new:.3f} s (x{new / old:.2f}, {100 * (new - old) / old:+.1f}%;"
        f" target < +10%); inference alone {alone:.3f} s"
    )


if __name__ == "__main__":
    main()
