"""W001 (failures-rising): false alarms under a steady failure rate, detection of an onset.

    python benchmarks/calibrate_watch.py [--runs 200] [--trials 200]

W001 reads only which trials failed, in tid order, so a run is a sequence of independent
failures with probability p (what fmin records for an objective that fails at random),
evaluated as `watch` does: after every new trial. Printed: the share of runs in which
W001 was ever raised with a steady p (false alarms), and, with p jumping at trial
N/2 to p1, the share raised within 50 trials of the jump and the median delay.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hopt_inspect.study import Source, Study, Trial
from hopt_inspect.watch import Findings, WatchOptions, WatchState


def first_raise(failed: np.ndarray) -> int | None:
    """The trial count at which W001 is first raised, or None."""
    trials = tuple(
        Trial(
            tid=i,
            state="error" if f else "done",
            status=None if f else "ok",
            loss=None if f else 1.0,
            params={"x": float(i)},
        )
        for i, f in enumerate(failed)
    )
    study = Study(trials=trials, labels=("x",), source=Source("sim", "pickle", "Trials"))
    options = WatchOptions(interval=0.0)
    state = WatchState(Path("sim"), options, Findings(options, lambda s: None))
    for n in range(1, len(trials) + 1):
        signals = state._from_study(replace(study, trials=trials[:n]))
        if any(s.code == "W001" for s in signals):
            return n
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--trials", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = args.trials
    print(f"{args.runs} runs of {n} trials each")
    print("steady failure rate p: share of runs with W001 ever raised (false alarms)")
    for p in (0.0, 0.05, 0.1, 0.2, 0.3):
        raised = sum(first_raise(rng.random(n) < p) is not None for _ in range(args.runs))
        print(f"  p = {p:<4}  {raised / args.runs:6.1%}")
    half = n // 2
    print(f"failure rate p0 until trial {half}, p1 after: detected within 50 trials, delay")
    for p0, p1 in ((0.0, 1.0), (0.05, 1.0), (0.1, 0.7), (0.05, 0.5), (0.2, 0.6)):
        delays = []
        for _ in range(args.runs):
            failed = np.concatenate([rng.random(half) < p0, rng.random(n - half) < p1])
            at = first_raise(failed)
            if at is not None and at <= half:
                continue  # raised before the jump: counted as a false alarm above
            delays.append(None if at is None else at - half)
        hit = [d for d in delays if d is not None and d <= 50]
        median = f"{np.median(hit):.0f}" if hit else "-"
        print(
            f"  p0 = {p0:<4} p1 = {p1:<4} {len(hit) / max(1, len(delays)):6.1%}"
            f"  median delay {median} trials"
        )


if __name__ == "__main__":
    main()
