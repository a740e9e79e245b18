"""`watch` on a big study: one refresh, memory over many refreshes, CPU while idle.

    python benchmarks/bench_watch.py [--trials 10000] [--refreshes 40] [--idle 10] [--long 300]

Targets (issue #16): one refresh of a 10k-trial file < 1 s; memory flat over a long run;
near-zero CPU while the file does not change. The file is rewritten in place (plain
open/write, as fmin does) alternately with studies of N and N+10 trials, so each refresh
is a real change. Figures are printed beside what they replace: a bare safe load of the
same file (`load_study`, the least a refresh must do) and a one-shot `check`. `--long`:
that many refreshes of a 2000-trial file, drawn by the live sink, resident memory printed
every 50 (a leak would grow it steadily).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_lpdf import make_study


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--refreshes", type=int, default=40)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--long", type=int, default=300)
    args = parser.parse_args()

    from io import StringIO

    from rich.console import Console

    from hopt_inspect.checks import run_checks
    from hopt_inspect.loading import load_study
    from hopt_inspect.render.live import render_view
    from hopt_inspect.resolve import resolve_space
    from hopt_inspect.watch import Findings, Reader, WatchOptions, WatchState

    n = args.trials
    with tempfile.TemporaryDirectory() as tmp:
        small, big = Path(tmp) / "a.p", Path(tmp) / "b.p"
        make_study(small, n)
        make_study(big, n + 10)
        versions = [small.read_bytes(), big.read_bytes()]
        target = Path(tmp) / "trials.p"
        target.write_bytes(versions[0])

        def timed(fn):
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            return time.perf_counter() - wall, time.process_time() - cpu

        study = None

        def load() -> None:
            nonlocal study
            study = load_study(target)

        bare = timed(load)
        check = timed(lambda: run_checks(study, resolve_space(None, study)))
        study = None

        options = WatchOptions(interval=2.0)
        state = WatchState(target, options, Findings(options, lambda s: resolve_space(None, s)))
        reader = Reader(target, load_study)

        def one_refresh() -> None:
            study = reader.read()
            assert study is not None
            state.update(study)
            console = Console(file=StringIO(), width=80)
            console.print(render_view(state.view(), 80))

        def refresh() -> tuple[float, float]:
            return timed(one_refresh)

        first = refresh()
        times, rss = [], []
        for i in range(args.refreshes):
            with open(target, "wb") as f:  # fmin's way: truncate, then write
                f.write(versions[(i + 1) % 2])
            times.append(refresh())
            rss.append(rss_mb())
        print(f"{n} trials, {args.refreshes} refreshes of a file rewritten in place")
        print("(wall time depends on what else runs; CPU time is this process's own)")
        print(f"{'':34} {'wall s':>7} {'CPU s':>7} {'CPU x bare load':>16}")
        rows = [
            ("bare load_study", bare),
            ("one-shot check (load excluded)", check),
            ("watch: first refresh (all checks)", first),
        ]
        by_cpu = sorted(times, key=lambda t: t[1])
        rows += [("watch: refresh, median", by_cpu[len(by_cpu) // 2])]
        rows += [("watch: refresh, slowest", by_cpu[-1])]
        for name, (wall, cpu) in rows:
            print(f"{name:34} {wall:7.3f} {cpu:7.3f} {cpu / bare[1]:16.2f}")
        print(f"full check runs: {state.findings.full_runs} of {args.refreshes + 1} refreshes")
        k = max(1, len(rss) // 4)
        print(
            f"RSS after refreshes 1-{k}: {min(rss[:k]):.0f}-{max(rss[:k]):.0f} MB;"
            f" last {k}: {min(rss[-k:]):.0f}-{max(rss[-k:]):.0f} MB"
        )

        if args.long:
            long_run(Path(tmp), args.long)

        cmd = [sys.executable, "-m", "hopt_inspect", "watch", str(target), "--format", "jsonl"]
        proc = subprocess.Popen(
            [*cmd, "--interval", "0.5"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(4)  # start-up and the first read
        before = cpu_s(proc.pid)
        time.sleep(args.idle)
        idle = cpu_s(proc.pid) - before
        proc.terminate()
        proc.wait()
        print(
            f"idle (file unchanged, --interval 0.5): {idle:.2f} CPU s over {args.idle:.0f} s"
            f" ({idle / args.idle:.1%} of one core)"
        )


def long_run(tmp: Path, refreshes: int) -> None:
    import gc
    from io import StringIO

    from rich.console import Console

    from hopt_inspect.loading import load_study
    from hopt_inspect.render.live import LiveSink
    from hopt_inspect.resolve import resolve_space
    from hopt_inspect.watch import Findings, Reader, WatchOptions, WatchState, describe_changes

    versions = []
    for n in (2000, 2010):
        make_study(tmp / f"long{n}.p", n)
        versions.append((tmp / f"long{n}.p").read_bytes())
    target = tmp / "long.p"
    target.write_bytes(versions[0])
    options = WatchOptions(interval=0.0)
    state = WatchState(target, options, Findings(options, lambda s: resolve_space(None, s)))
    reader = Reader(target, load_study)

    class Discard(StringIO):
        def write(self, text: str) -> int:
            return len(text)

    sink = LiveSink(Console(file=Discard(), width=80, force_terminal=True))
    figures = []
    for i in range(refreshes + 1):
        with open(target, "wb") as f:
            f.write(versions[i % 2])
        events = state.update(reader.read())
        view = state.view()
        view.changes.extend(describe_changes(events))
        sink.update(view, events)
        if i % 50 == 0:
            gc.collect()
            figures.append(f"{i}: {rss_mb():.1f}")
    print(f"long run, 2000 trials, RSS (MB) after N refreshes: {' · '.join(figures)}")


if __name__ == "__main__":
    main()
