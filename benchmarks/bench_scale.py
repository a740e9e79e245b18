"""Every command at 1k to 200k trials, side by side with what it replaces, with growth.

    python benchmarks/bench_scale.py [--sizes 1000,10000,50000,200000] [--only summary,plot]
                                     [--no-optuna] [--cache DIR]

Studies are made with hyperopt's own `Trials.new_trial_docs` on the 10-parameter Q-learning
space (values drawn from the prior, numpy scalars as fmin stores them; bench_lpdf.make_study)
and the same trials are written to an Optuna SQLite storage. Each command runs in a fresh
process under GNU time (wall seconds, peak RSS; with forked workers, the peak of the
process tree's summed PSS when larger), one after the other, each followed by its
peer, so that the ratio compares runs made under the same load:

- `summary`, `summary --json`, `summary --space`, `check`, `export`, `lpdf`: a bare
  `pickle.load` of the file in a fresh interpreter (which imports hyperopt);
- `plot --kind all` and each plot kind: hyperopt's own `plotting.main_plot_history` +
  `main_plot_vars` saved to PNG (for `history`: `main_plot_history` alone);
- `report`: the bare unpickle (there is no hyperopt equivalent);
- on the Optuna storage: `summary` against `optuna trials -f json`, `plot --kind history`
  against `optuna.visualization.matplotlib.plot_optimization_history`, `importance` against
  its `plot_param_importances` (PED-ANOVA evaluator), `report` against those two plus
  `plot_slice` (Optuna's three matplotlib plots).

The growth exponent of a command is the slope of log(wall) against log(trials) between the
two largest sizes run. Targets (issues #10, #18) are printed with the table.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_lpdf import SPACE, draw, make_study

HYPEROPT_PLOTS = """
import pickle, sys, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from hyperopt import plotting
trials = pickle.load(open(sys.argv[1], "rb"))
plotting.main_plot_history(trials, do_show=False)
plt.savefig(sys.argv[2] + "/history.png"); plt.close("all")
if sys.argv[3] == "all":
    plotting.main_plot_vars(trials, do_show=False)
    plt.savefig(sys.argv[2] + "/vars.png"); plt.close("all")
"""

OPTUNA_PLOTS = """
import sys, warnings, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import optuna
from optuna.importance import PedAnovaImportanceEvaluator
from optuna.visualization import matplotlib as vis
warnings.simplefilter("ignore")
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name="bench", storage="sqlite:///" + sys.argv[1])
which = sys.argv[3].split(",")
if "history" in which:
    vis.plot_optimization_history(study); plt.savefig(sys.argv[2] + "/o-history.png")
if "importance" in which:
    vis.plot_param_importances(study, evaluator=PedAnovaImportanceEvaluator())
    plt.savefig(sys.argv[2] + "/o-importance.png")
if "slice" in which:
    vis.plot_slice(study); plt.savefig(sys.argv[2] + "/o-slice.png")
"""

TARGETS = """targets: plot --kind all <= 1.5x hyperopt's two plots at every size and <= 10 s at 50k;
report <= 30 s and <= 1.5 GB at 200k, <= 1.0x Optuna's three plots on a storage;
lpdf --param all <= 5 s at 10k, <= 30 s and <= 1.5 GB at 200k; lpdf (1 parameter) <= 5 s and
<= 1 GB at 200k; summary <= 0.8x the bare unpickle at 200k (text and --json), memory <= 1.0x;
summary --space <= 1.5x and < 1 GB at 200k; growth exponents <= 1.2."""


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """(wall seconds, peak memory in MB, of it the largest process's) of a command; NaN
    when it fails.

    Wall time and the largest single process's peak RSS come from GNU time. A command that
    forks workers (the PNGs of ``lpdf --param all`` and ``report``) pays more than its
    largest process: the peak is the larger of GNU time's figure and the peak, sampled
    every 100 ms while there are several processes, of the process tree's summed
    proportional set size (PSS: each page shared between the parent and its forked workers
    counted once in all).
    """
    proc = subprocess.Popen(
        ["/usr/bin/time", "-f", "TIME %e %M", *cmd],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    sampler = TreeSampler(proc.pid)
    sampler.start()
    _, stderr = proc.communicate()
    sampler.stop()
    match = re.search(r"TIME ([\d.]+) (\d+)", stderr)
    if proc.returncode not in (0, 1) or not match:  # check exits 1 on findings
        sys.stderr.write(f"FAILED: {' '.join(cmd)}\n{stderr[-800:]}\n")
        return math.nan, math.nan, math.nan
    largest = int(match.group(2)) / 1024
    return float(match.group(1)), max(largest, sampler.peak_mb), largest


class TreeSampler(threading.Thread):
    """The peak of the summed PSS of a process and all its descendants (Linux /proc)."""

    def __init__(self, root: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.peak_mb = 0.0
        self._done = threading.Event()

    def stop(self) -> None:
        self._done.set()
        self.join()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            tree = _descendants(self.root)
            if len(tree) > 2:  # GNU time and one process: its own peak RSS is exact (and cheaper)
                total = sum(_pss_kb(pid) for pid in tree)
                self.peak_mb = max(self.peak_mb, total / 1024)


def _descendants(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(parents.get(pid, ()))
    return found


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def make_optuna(db: Path, n: int, seed: int = 0) -> None:
    """The same trials as make_study (same draws), in an Optuna SQLite storage.

    Optuna creates the storage and the study; the trials are then inserted with sqlite3 in
    Optuna's own row format (``add_trials`` takes about a minute per 1000 trials).
    """
    import sqlite3
    from datetime import datetime, timedelta

    import numpy as np
    import optuna
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
        distribution_to_json,
    )

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = np.random.default_rng(seed)
    values = draw(rng, n)
    loss = (np.log10(values["learning_rate"]) + 2.5) ** 2 + rng.normal(0, 0.1, n)
    dists = {
        "learning_rate": FloatDistribution(1e-5, 1.0, log=True),
        "use_double_q_learning": CategoricalDistribution([0, 1]),
        "layer1_size": IntDistribution(10, 100),
        "layer2_size": IntDistribution(10, 100),
        "layer3_size": IntDistribution(10, 100),
        "future_discount_max": FloatDistribution(0.5, 0.99),
        "future_discount_increment": FloatDistribution(1e-3, 0.1, log=True),
        "recall_memory_size": IntDistribution(1, 100),
        "recall_memory_num_experiences_per_recall": IntDistribution(10, 2000),
        "num_epochs": IntDistribution(1, 10),
    }
    optuna.create_study(study_name="bench", storage=f"sqlite:///{db}")
    con = sqlite3.connect(db)
    (study_id,) = con.execute("SELECT study_id FROM studies").fetchone()
    start = datetime(2026, 1, 1)
    trials, params, vals = [], [], []
    for i in range(n):
        tid = i + 1
        t0 = start + timedelta(seconds=i)
        trials.append((tid, i, study_id, "COMPLETE", str(t0), str(t0 + timedelta(seconds=0.5))))
        vals.append((tid, tid, 0, float(loss[i]), "FINITE"))
        for k, d in dists.items():
            params.append((tid, k, float(values[k][i]), distribution_to_json(d)))
    con.executemany("INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?)", trials)
    con.executemany(
        "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json)"
        " VALUES (?, ?, ?, ?)",
        params,
    )
    con.executemany("INSERT INTO trial_values VALUES (?, ?, ?, ?, ?)", vals)
    con.commit()
    con.close()


def rows_for(n: int, path: Path, db: Path | None, out: Path, tool: list[str], py: str) -> list:
    """(command name, our command, peer name, peer command) for one size."""
    f = str(path)
    every = str(max(1, n // 10))
    bare = ("bare pickle.load", [py, "-c", f"import pickle; pickle.load(open({f!r}, 'rb'))"])
    hp_all = ("hyperopt history+vars", [py, "-c", HYPEROPT_PLOTS, f, str(out), "all"])
    hp_hist = ("hyperopt history", [py, "-c", HYPEROPT_PLOTS, f, str(out), "history"])
    o = str(out)
    rows = [
        ("summary", [*tool, "summary", f], *bare),
        ("summary --json", [*tool, "summary", f, "--json"], *bare),
        ("summary --space", [*tool, "summary", f, "--space", SPACE], *bare),
        ("check", [*tool, "check", f], *bare),
        ("export csv", [*tool, "export", f, "--format", "csv", "-o", f"{o}/t.csv"], *bare),
        ("lpdf 1 param --json", [*tool, "lpdf", f, "-p", "learning_rate", "--space", SPACE,
                                 "--every", every, "--json"], *bare),
        ("lpdf --param all", [*tool, "lpdf", f, "-p", "all", "--space", SPACE, "--every",
                              every, "-o", f"{o}/lpdf"], *bare),
        ("plot --kind all", [*tool, "plot", f, "--space", SPACE, "-o", f"{o}/plots"], *hp_all),
        ("plot history", [*tool, "plot", f, "--kind", "history", "-o", f"{o}/p1"], *hp_hist),
    ]  # fmt: skip
    for kind in ("params", "scatter", "hist", "importance"):
        rows.append((f"plot {kind}", [*tool, "plot", f, "--space", SPACE, "--kind", kind, "-o",
                                      f"{o}/p-{kind}"], *hp_all))  # fmt: skip
    rows.append(("report", [*tool, "report", f, "--space", SPACE, "-o", f"{o}/r"], *bare))
    if db is not None:
        d = str(db)
        optuna_bin = str(Path(py).parent / "optuna")
        otrials = ("optuna trials -f json", [optuna_bin, "trials", "--storage",
                   f"sqlite:///{d}", "--study-name", "bench", "-f", "json"])  # fmt: skip

        def oplots(which: str) -> tuple[str, list[str]]:
            return f"optuna {which}", [py, "-c", OPTUNA_PLOTS, d, o, which]

        rows += [
            ("optuna db: summary", [*tool, "summary", d], *otrials),
            ("optuna db: plot history", [*tool, "plot", d, "--kind", "history", "-o",
                                         f"{o}/od1"], *oplots("history")),
            ("optuna db: plot importance", [*tool, "plot", d, "--kind", "importance", "-o",
                                            f"{o}/od2"], *oplots("importance")),
            ("optuna db: report", [*tool, "report", d, "-o", f"{o}/or"],
             *oplots("history,importance,slice")),
        ]  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000,200000")
    parser.add_argument("--only", default="", help="comma-separated name prefixes to run")
    parser.add_argument("--no-optuna", action="store_true", help="skip the Optuna storage rows")
    parser.add_argument("--cache", default="", help="keep generated studies in this folder")
    args = parser.parse_args()
    if not Path("/usr/bin/time").exists():
        sys.exit("needs GNU time (/usr/bin/time): apt-get install time")
    py = sys.executable
    tool = [py, "-m", "hopt_inspect"]
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    os.environ.update(env)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"load before: {os.getloadavg()[0]:.1f} (1-min average) on {os.cpu_count()} cores")
    header = (
        f"{'trials':>7} {'command':<28} {'wall s':>7} {'peak MB':>8}"
        f"  {'peer':<24} {'wall s':>7} {'peak MB':>8} {'x wall':>7} {'x mem':>6}"
    )
    print(header)
    print("-" * len(header))
    results: dict[str, dict[int, float]] = {}
    cache = Path(args.cache) if args.cache else None
    with tempfile.TemporaryDirectory() as tmp:
        folder = cache or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            path = folder / f"study{n}.p"
            if not path.exists():
                make_study(path, n)
            db = None
            if not args.no_optuna:
                db = folder / f"study{n}.db"
                if not db.exists():
                    make_optuna(db, n)
            out = Path(tmp) / f"out{n}"
            out.mkdir(exist_ok=True)
            peers: dict[str, tuple[float, float]] = {}
            for name, cmd, peer, peer_cmd in rows_for(n, path, db, out, tool, py):
                if only and not any(name.startswith(p) for p in only):
                    continue
                wall, mem, largest = measure(cmd, env)
                if peer not in peers or peer.startswith("bare"):
                    peers[peer] = measure(peer_cmd, env)  # bare: re-run beside each command
                pw, pm, _ = peers[peer]
                results.setdefault(name, {})[n] = wall
                print(
                    f"{n:>7} {name:<28} {wall:>7.2f} {mem:>8.0f}  {peer:<24} {pw:>7.2f}"
                    f" {pm:>8.0f} {wall / pw:>7.2f} {mem / pm:>6.2f}"
                    + (f"  (largest process {largest:.0f} MB)" if mem > largest + 1 else ""),
                    flush=True,
                )
            size_mb = path.stat().st_size / 1e6
            print(f"{'':>7} (pickle {size_mb:.0f} MB; load now {os.getloadavg()[0]:.1f})")
            shutil.rmtree(out, ignore_errors=True)
    if len(sizes) > 1:
        a, b = sizes[-2], sizes[-1]
        print(f"\ngrowth exponent, log(wall) against log(trials) from {a} to {b}:")
        for name, walls in results.items():
            if a in walls and b in walls and walls[a] > 0 and walls[b] > 0:
                slope = math.log(walls[b] / walls[a]) / math.log(b / a)
                print(f"  {name:<28} {slope:5.2f}")
    print(f"load after: {os.getloadavg()[0]:.1f}\n{TARGETS}")


if __name__ == "__main__":
    main()
