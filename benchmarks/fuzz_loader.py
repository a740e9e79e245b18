"""Mutation fuzzing of the safe loader: every case must load or raise InputError.

    python benchmarks/fuzz_loader.py [--cases N] [--seed S] [--jobs J] [--save DIR]

Seeds are the committed Trials pickles (tests/fixtures/legacy/*.p, sample_trials/*.p).
Each case applies 1-4 mutations (byte flips, random bytes, insertions, deletions, splices
of two seeds, opcode substitutions, inserted hostile snippets) and calls ``load_study`` on
it in a worker process (with ``--summary``, also ``summarize``, as the CLI does). Case
``i`` depends only on ``(seed, i)``, so any case can be replayed.
Allowed outcomes: a Study, or ``hopt_inspect.errors.InputError`` (one line).
Anything else is a failure and is printed (and saved with ``--save``): another exception,
a multi-line message, a hang over 5 s, the marker file created by a payload, or a memory
blow-up (the worker runs under a 4 GiB address-space limit).
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import os
import pickletools
import queue
import random
import resource
import shutil
import signal
import struct
import sys
import tempfile
import time
import traceback
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED_GLOBS = ("tests/fixtures/legacy/*.p", "sample_trials/*.p")
MARKER = "HOSTILE_MARKER"
HANG_SECONDS = 5.0
WORKER_MEMORY = 4 << 30

OPCODES = [op.code.encode("latin1") for op in pickletools.opcodes]
# Snippets that attack the loader when spliced in: calls that would touch the marker,
# huge lengths and memo indexes, forged numpy, stack tricks.
SNIPPETS = [
    b"cos\nsystem\n(Vtouch " + MARKER.encode() + b"\ntR",
    b"\x8c\x02os\x8c\x06system\x93\x8c\x14touch " + MARKER.encode() + b"\x85R",
    b"cposix\nsystem\n\x8c\x14touch " + MARKER.encode() + b"\x85\x81",
    b"(Vtouch " + MARKER.encode() + b"\nios\nsystem\n",
    b"cbuiltins\ngetattr.__self__.eval\n(V__import__('os').system('touch "
    + MARKER.encode()
    + b"')\ntR",
    b"r\xff\xff\xff\x7f",
    b"j\xff\xff\xff\x7f",
    b"\x8e" + struct.pack("<Q", 2**62),
    b"\x8d" + struct.pack("<Q", 2**40),
    b"\x96" + struct.pack("<Q", 3 << 30),
    b"\x95" + struct.pack("<Q", 2**62),
    b"cnumpy\ndtype\n(VO8\nI00\nI01\ntR",
    b"cnumpy.core.multiarray\nscalar\n(cnumpy\ndtype\n(Vf8\nI00\nI01\ntRNtR",
    b"ccopyreg\n_reconstructor\n(cos\nsystem\ncbuiltins\nobject\nNtR",
    b"\x82\x01",
    b"Q",
    b"b",
    b"0" * 3,
    b"(" * 50,
    b"]" + b"\x85" * 2000,
]


MUTATIONS = ("flip", "byte", "insert", "delete", "splice", "opcode", "snippet", "truncate")
WEIGHTS = (4, 4, 2, 2, 1, 3, 3, 1)


def load_seeds() -> list[bytes]:
    seeds = []
    for pattern in SEED_GLOBS:
        seeds += [p.read_bytes() for p in sorted(ROOT.glob(pattern))]
    if not seeds:
        raise SystemExit("no seed files found")
    return seeds


def opcode_offsets(data: bytes) -> list[int]:
    offsets = []
    try:
        for _op, _arg, pos in pickletools.genops(data):
            offsets.append(pos)
    except Exception:
        pass
    return offsets


def mutate(seeds: list[bytes], offsets: list[list[int]], seed: int, index: int) -> bytes:
    """Case ``index``: a deterministic mutation of one seed."""
    rng = random.Random(f"{seed}:{index}")
    which = rng.randrange(len(seeds))
    data = bytearray(seeds[which])
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        kind = rng.choices(MUTATIONS, weights=WEIGHTS)[0]
        n = len(data)
        at = rng.randrange(n) if n else 0
        if kind == "flip" and n:
            data[at] ^= 1 << rng.randrange(8)
        elif kind == "byte" and n:
            data[at] = rng.randrange(256)
        elif kind == "insert":
            data[at:at] = rng.randbytes(rng.randint(1, 16))
        elif kind == "delete" and n:
            del data[at : at + rng.randint(1, 64)]
        elif kind == "splice":
            other = seeds[rng.randrange(len(seeds))]
            cut = rng.randrange(len(other))
            data = data[:at] + other[cut:]
        elif kind == "opcode":
            spots = offsets[which]
            if spots:
                pos = rng.choice(spots)
                if pos < n:
                    data[pos : pos + 1] = rng.choice(OPCODES)
        elif kind == "snippet":
            spots = offsets[which] or [at]
            pos = min(rng.choice(spots), n)
            data[pos:pos] = rng.choice(SNIPPETS)
        elif kind == "truncate" and n:
            del data[at:]
    return bytes(data)


def outcome_before(detail: str) -> str:
    return detail or "then loaded"


class Hang(BaseException):
    pass


def _alarm(_signum, _frame):
    raise Hang


def worker(seed: int, cases: int, summary: bool, counter, lock, beats, slot: int, results) -> None:
    """Pull case indices from ``counter``; report (index, outcome, detail) per case."""
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    from hopt_inspect.errors import InputError
    from hopt_inspect.loading import load_study
    from hopt_inspect.summary import summarize

    seeds = load_seeds()
    offsets = [opcode_offsets(s) for s in seeds]
    workdir = Path(tempfile.mkdtemp(prefix="fuzz-"))
    os.chdir(workdir)  # payloads touch a relative path: here
    path = workdir / "case.p"
    signal.signal(signal.SIGALRM, _alarm)
    while True:
        with lock:
            index = counter.value
            if index >= cases:
                break
            counter.value += 1
        beats[2 * slot] = index
        beats[2 * slot + 1] = time.monotonic()
        path.write_bytes(mutate(seeds, offsets, seed, index))
        outcome, detail = "loaded", ""
        printed = io.StringIO()
        signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
        try:
            with redirect_stdout(printed), redirect_stderr(printed):
                study = load_study(path)
                if summary:
                    summarize(study)
        except InputError as exc:
            message = str(exc)
            outcome = "InputError" if "\n" not in message else "FAIL multi-line message"
            detail = message.split(": ", 1)[-1][:60]
        except Hang:
            outcome, detail = "FAIL hang", f"over {HANG_SECONDS} s"
        except MemoryError:
            outcome, detail = "FAIL MemoryError", traceback.format_exc(limit=-3)
        except BaseException as exc:
            outcome = f"FAIL {type(exc).__name__}"
            detail = traceback.format_exc(limit=-4)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if printed.getvalue() and not outcome.startswith("FAIL"):
            outcome = "FAIL printed output"
            detail = f"load_study printed {printed.getvalue()[:200]!r} ({outcome_before(detail)})"
        if Path(MARKER).exists():
            outcome, detail = "FAIL marker created", "a payload ran"
            Path(MARKER).unlink()
        results.put((index, outcome, detail))
    beats[2 * slot + 1] = 0.0
    os.chdir(tempfile.gettempdir())
    shutil.rmtree(workdir, ignore_errors=True)
    results.put(None)


def fuzz(
    cases: int,
    seed: int,
    jobs: int = 2,
    save: Path | None = None,
    quiet: bool = False,
    summary: bool = False,
) -> dict:
    ctx = mp.get_context("fork")
    counter = ctx.Value("q", 0, lock=False)
    lock = ctx.Lock()
    beats = ctx.Array("d", [0.0] * (2 * jobs), lock=False)
    results = ctx.Queue()
    procs: dict[int, mp.Process] = {}

    def start(slot: int) -> None:
        args = (seed, cases, summary, counter, lock, beats, slot, results)
        procs[slot] = ctx.Process(target=worker, args=args, daemon=True)
        procs[slot].start()

    outcomes: Counter[str] = Counter()
    details: Counter[tuple[str, str]] = Counter()
    failures: list[tuple[int, str, str]] = []
    done_workers = 0
    began = time.monotonic()
    for slot in range(jobs):
        start(slot)

    def record(index: int, outcome: str, detail: str) -> None:
        outcomes[outcome] += 1
        details[(outcome, detail.splitlines()[0] if detail else "")] += 1
        if outcome.startswith("FAIL"):
            failures.append((index, outcome, detail))
            if not quiet:
                print(f"case {index} (seed {seed}): {outcome}\n{detail}", flush=True)

    while done_workers < jobs:
        try:
            item = results.get(timeout=0.5)
        except queue.Empty:
            item = False
        if item is None:
            done_workers += 1
            continue
        if item:
            record(*item)
            continue
        now = time.monotonic()
        for slot, proc in list(procs.items()):
            started = beats[2 * slot + 1]
            died = not proc.is_alive() and started != 0.0
            if died or (started and now - started > 2 * HANG_SECONDS):
                index = int(beats[2 * slot])
                proc.kill()
                proc.join()
                why = f"worker died (exit {proc.exitcode})" if died else "stuck in C code"
                record(index, "FAIL hang" if not died else "FAIL crash", why)
                beats[2 * slot + 1] = 0.0
                start(slot)
    elapsed = time.monotonic() - began
    for proc in procs.values():
        proc.join(timeout=5)
    if save and failures:
        save.mkdir(parents=True, exist_ok=True)
        seeds = load_seeds()
        offsets = [opcode_offsets(s) for s in seeds]
        for index, _outcome, _detail in failures:
            (save / f"case_{seed}_{index}.p").write_bytes(mutate(seeds, offsets, seed, index))
    return {
        "cases": sum(outcomes.values()),
        "outcomes": dict(outcomes),
        "details": details,
        "failures": failures,
        "seconds": elapsed,
        "rate": sum(outcomes.values()) / elapsed if elapsed else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--save", type=Path, help="write failing cases into this folder")
    parser.add_argument(
        "--summary", action="store_true", help="also summarize each loaded study (as the CLI)"
    )
    parser.add_argument("--top", type=int, default=12, help="most common messages to show")
    args = parser.parse_args(argv)
    stats = fuzz(args.cases, args.seed, args.jobs, args.save, summary=args.summary)
    print(
        f"{stats['cases']} cases in {stats['seconds']:.1f} s"
        f" ({stats['rate']:.0f} cases/s, seed {args.seed}, {args.jobs} workers)"
    )
    for outcome, count in sorted(stats["outcomes"].items(), key=lambda kv: -kv[1]):
        print(f"  {count:7d}  {outcome}")
    print("most common outcomes in detail:")
    for (outcome, detail), count in stats["details"].most_common(args.top):
        print(f"  {count:7d}  {outcome}: {detail}")
    failed = len(stats["failures"])
    print(f"{failed} failure{'' if failed == 1 else 's'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
