"""End-to-end: `hopt-inspect summary FILE` against a bare `pickle.load` of the same file.

    python benchmarks/bench_load.py [FILE] [--repeat N]

A bare pickle.load of a Trials file must import hyperopt (about a second); hopt-inspect's
safe loader never does. Prints the median wall time of N fresh processes for each.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wall_times(cmd: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=str(ROOT / "sample_trials" / "heart.p"))
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    tool = shutil.which("hopt-inspect") or str(Path(sys.executable).parent / "hopt-inspect")
    rows = [
        ("hopt-inspect summary FILE", [tool, "summary", args.file]),
        ("hopt-inspect summary FILE --json", [tool, "summary", args.file, "--json"]),
        (
            "python -c 'pickle.load(FILE)'",
            [sys.executable, "-c", f"import pickle; pickle.load(open({args.file!r}, 'rb'))"],
        ),
        ("python -c 'pass' (interpreter start)", [sys.executable, "-c", "pass"]),
    ]
    print(f"file: {args.file}  ({Path(args.file).stat().st_size} bytes), {args.repeat} runs each")
    print(f"{'command':<40} {'median s':>9} {'min s':>7}")
    results = {}
    for name, cmd in rows:
        times = wall_times(cmd, args.repeat)
        results[name] = statistics.median(times)
        print(f"{name:<40} {statistics.median(times):>9.3f} {min(times):>7.3f}")
    ratio = results["python -c 'pickle.load(FILE)'"] / results["hopt-inspect summary FILE"]
    print(f"hopt-inspect summary is {ratio:.1f}x faster than a bare pickle.load, end to end")


if __name__ == "__main__":
    main()
