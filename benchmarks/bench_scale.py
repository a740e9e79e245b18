"""Big studies: `summary`, `check` and `lpdf` against a bare `pickle.load`, side by side.

    python benchmarks/bench_scale.py [--sizes 10000,50000,200000]

Studies are made with hyperopt's own `Trials.new_trial_docs` on the 10-parameter Q-learning
space (values drawn from the prior, stored as numpy scalars as fmin stores them). Each
command runs in a fresh process under /usr/bin/time; the bare unpickle is
`python -c "import pickle; pickle.load(open(FILE, 'rb'))"`, which must import hyperopt.
Targets (issue #6) on 200k trials: summary <= 0.8x the bare unpickle's wall time and
<= 1.0x its peak memory; check <= 2x.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_lpdf import SPACE, make_study


def measure(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of a command, via GNU time."""
    out = subprocess.run(
        ["/usr/bin/time", "-f", "TIME %e %M", *cmd],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    match = re.search(r"TIME ([\d.]+) (\d+)", out.stderr)
    if not match:
        raise RuntimeError(f"{cmd[0]} failed: {out.stderr[-500:]}")
    return float(match.group(1)), int(match.group(2)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,200000")
    args = parser.parse_args()
    if not Path("/usr/bin/time").exists():
        sys.exit("needs GNU time (/usr/bin/time): apt-get install time")
    tool = shutil.which("hopt-inspect") or str(Path(sys.executable).parent / "hopt-inspect")
    header = (
        f"{'trials':>7} {'command':<34} {'wall s':>7} {'x bare':>7} {'peak MB':>8} {'x bare':>7}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"study{n}.p"
            make_study(path, n)
            every = max(1, n // 10)
            rows = [
                ("bare pickle.load", [sys.executable, "-c",
                 f"import pickle; pickle.load(open({str(path)!r}, 'rb'))"]),
                ("hopt-inspect summary", [tool, "summary", str(path)]),
                ("hopt-inspect check", [tool, "check", str(path)]),
                ("hopt-inspect lpdf (1 param, 10 snaps)", [tool, "lpdf", str(path), "-p",
                 "learning_rate", "--space", SPACE, "--every", str(every), "--json"]),
            ]  # fmt: skip
            base_wall = base_mem = None
            for name, cmd in rows:
                wall, mem = measure(cmd)
                if base_wall is None:
                    base_wall, base_mem = wall, mem
                print(
                    f"{n:>7} {name:<34} {wall:>7.2f} {wall / base_wall:>7.2f}"
                    f" {mem:>8.0f} {mem / base_mem:>7.2f}"
                )
            print(f"{'':>7} (file: {path.stat().st_size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
