"""Fidelity fuzzing of the rewritten stream (loading/leanstream.py) on real pickler output.

    python benchmarks/fuzz_leanstream.py [--cases N] [--seed S]

Each case is a list of random values a study's documents hold (numpy scalars of several
dtypes, naive and tz-aware datetimes with microseconds chosen to look like payload
headers, dates, ints, floats, short bytes, strings with C/U/control characters, nested
lists, dicts and tuples, some objects referenced twice), pickled by CPython at protocols
2-5. Whenever ``lean_bytes`` changes the bytes, ``pickle.loads`` of both must give the
same ``repr``. Lists are never referenced twice at the top level: a shared one-value list
is the known, accepted difference (tests/test_leanstream_attacks.py, xfail).
Prints the number of rewritten streams and of differences (0 expected); exit 1 if any.
"""

from __future__ import annotations

import argparse
import pickle
import random
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hopt_inspect.loading.leanstream import lean_bytes

TZS = [timezone.utc, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5), "EST"), None]
SCALARS = [np.int64, np.int32, np.float32, np.float16, np.int16, np.bool_, np.int8, np.uint8]


def value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(12)
    if kind == 0:
        micro = rng.choice([0x4302, 0x5502, 0x4308, 0x5504, rng.randrange(10**6)])
        return datetime(
            2026, rng.randrange(1, 13), rng.randrange(1, 28), rng.randrange(24),
            rng.randrange(60), rng.randrange(60), micro, tzinfo=rng.choice(TZS),
        )  # fmt: skip
    if kind == 1:
        return np.float64(rng.random())
    if kind == 2:
        return rng.choice(SCALARS)(rng.randrange(100))
    if kind == 3:
        return rng.getrandbits(rng.choice([8, 16, 31, 40]))
    if kind == 4:
        return rng.random()
    if kind == 5:
        return bytes(rng.getrandbits(8) for _ in range(rng.choice([1, 2, 4, 8, 10, 16])))
    if kind == 6:
        return "".join(rng.choice("abC\x08\x02U") for _ in range(rng.randrange(12)))
    if kind == 7 and depth < 3:
        return [value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 8 and depth < 3:
        return {f"k{rng.randrange(300)}": value(rng, depth + 1) for _ in range(rng.randrange(5))}
    if kind == 9 and depth < 3:
        return tuple(value(rng, depth + 1) for _ in range(rng.randrange(1, 4)))
    if kind == 10:
        return date(2026, 1, rng.randrange(1, 28))
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rewritten = differences = 0
    for case in range(args.cases):
        rng = random.Random(f"{args.seed}-{case}")
        obj = [value(rng) for _ in range(rng.randrange(20, 200))]
        obj += [x for x in (rng.choice(obj) for _ in range(10)) if not isinstance(x, list)]
        for protocol in (2, 3, 4, 5):
            data = pickle.dumps(obj, protocol=protocol)
            lean = lean_bytes(data)
            if lean == data:
                continue
            rewritten += 1
            try:
                same = repr(pickle.loads(lean)) == repr(pickle.loads(data))
            except Exception:  # any failure is a difference
                same = False
            if not same:
                differences += 1
                print(f"difference: --seed {args.seed}, case {case}, protocol {protocol}")
    print(f"{args.cases} cases, {rewritten} rewritten streams, {differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
