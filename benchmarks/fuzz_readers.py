"""Case generators for the non-pickle readers of ``fuzz_loader.py``: JSON / JSON lines,
BSON, Optuna SQLite (random schemas, views, triggers, values) and TOML space specs.

Each reader has ``seeds()`` (computed once per worker) and ``case(seeds, seed, index,
folder) -> Path`` (deterministic in ``(seed, index)``), and ``run(path, summary)`` that
does what the CLI does with such a file. Allowed outcomes: a result, or ``InputError``.
"""

from __future__ import annotations

import json
import random
import sqlite3
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INTEROP = ROOT / "tests" / "fixtures" / "interop"
MARKER = "HOSTILE_MARKER"


def _byte_mutations(rng: random.Random, data: bytes, snippets: list[bytes], seeds: list[bytes]):
    data = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 4))):
        kind = rng.choice(("flip", "byte", "insert", "delete", "splice", "snippet", "dup"))
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
            other = rng.choice(seeds)
            data = data[:at] + other[rng.randrange(len(other)) :]
        elif kind == "snippet":
            data[at:at] = rng.choice(snippets)
        elif kind == "dup" and n:
            end = min(n, at + rng.randint(1, 200))
            data[at:at] = data[at:end] * rng.randint(2, 50)
    return bytes(data)


# --------------------------------------------------------------------------- JSON

JSON_SNIPPETS = [
    b'{"$date": NaN}',
    b'{"$date": 1e300}',
    b'{"$date": "9999-12-31T23:59:59+14:00"}',
    b'{"$numberLong": "99999999999999999999999"}',
    b'{"$numberDouble": "-Infinity"}',
    b'{"$oid": [1, 2]}',
    b"1e999",
    b"-1e308",
    b"1" + b"0" * 5000,
    b'"\\ud800"',
    b'"\\u001b]8;;https://x\\u0007[/x]::error::x"',
    b"[" * 3000,
    b'{"tid": 1.5}',
    b'{"tid": null}',
    b'"tid": "x", ',
    b'"state": 4, ',
    b'"exp_key": [], ',
    b'"book_time": "2026-01-01T00:00:00+05:00", ',
    b"NaN",
    b"\n",
]


class JsonReader:
    name = "json"
    suffix = ".json"

    def seeds(self) -> list[bytes]:
        out = [(INTEROP / f).read_bytes() for f in ("mongo_jobs.json", "mongo_jobs_relaxed.json")]
        docs = [json.loads(line) for line in out[1].splitlines() if line.strip()]
        out.append(json.dumps({"trials": docs[:6]}).encode())
        out.append("".join(json.dumps(d) + "\n" for d in docs[:6]).encode())  # JSON lines
        return out

    def case(self, seeds, seed: int, index: int, folder: Path) -> Path:
        rng = random.Random(f"json:{seed}:{index}")
        path = folder / f"case{self.suffix}"
        path.write_bytes(_byte_mutations(rng, rng.choice(seeds), JSON_SNIPPETS, seeds))
        return path


# --------------------------------------------------------------------------- BSON


class BsonReader:
    name = "bson"
    suffix = ".bson"

    def seeds(self) -> list[bytes]:
        return [(INTEROP / "mongo_jobs.bson").read_bytes()]

    def case(self, seeds, seed: int, index: int, folder: Path) -> Path:
        rng = random.Random(f"bson:{seed}:{index}")
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.choice((1, 2, 3))):
            if rng.random() < 0.5 and len(data) > 8:  # a length field: negative, 0, huge
                at = rng.randrange(len(data) - 4)
                value = rng.choice((-(2**31), -13, -8, -5, -1, 0, 1, 4, 5, 2**31 - 1))
                data[at : at + 4] = struct.pack("<i", value)
            else:
                data = bytearray(_byte_mutations(rng, bytes(data), [b"\x00" * 5], seeds))
        path = folder / f"case{self.suffix}"
        path.write_bytes(bytes(data))
        return path


# --------------------------------------------------------------------------- SQLite

_TABLES = {
    "studies": ["study_id INTEGER PRIMARY KEY", "study_name VARCHAR(512)"],
    "study_directions": [
        "study_direction_id INTEGER PRIMARY KEY",
        "direction VARCHAR(8)",
        "study_id INTEGER",
        "objective INTEGER",
    ],
    "trials": [
        "trial_id INTEGER PRIMARY KEY",
        "number INTEGER",
        "study_id INTEGER",
        "state VARCHAR(8)",
        "datetime_start DATETIME",
        "datetime_complete DATETIME",
    ],
    "trial_params": [
        "param_id INTEGER PRIMARY KEY",
        "trial_id INTEGER",
        "param_name VARCHAR(512)",
        "param_value FLOAT",
        "distribution_json TEXT",
    ],
    "trial_values": [
        "trial_value_id INTEGER PRIMARY KEY",
        "trial_id INTEGER",
        "objective INTEGER",
        "value FLOAT",
        "value_type VARCHAR(7)",
    ],
}
_DISTS = [
    '{"name": "FloatDistribution", "attributes": {"low": 0.0, "high": 1.0, "log": false}}',
    '{"name": "FloatDistribution", "attributes": {"low": 1e-5, "high": 1.0, "log": true}}',
    '{"name": "IntDistribution", "attributes": {"low": 1, "high": 64, "step": 1, "log": true}}',
    '{"name": "CategoricalDistribution", "attributes": {"choices": ["a", 1, null]}}',
    '{"name": "FloatDistribution", "attributes": {"low": 1, "high": 0}}',
    '{"name": "UniformDistribution", "attributes": {"low": -1e308, "high": 1e308}}',
    '{"name": "IntDistribution", "attributes": {"low": 0, "high": 5, "step": 0}}',
    "not json",
    "[" * 2000,
    "null",
]
_WEIRD = [None, 0, -1, 1.5, 2**63 - 1, -(2**63), 1e308, float("inf"), "", "x", b"\x00\xff",
          "COMPLETE", "FAIL", "PRUNED", "RUNNING", "WAITING", "MAXIMIZE", "MINIMIZE",
          "2026-01-01 00:00:00", "2026-01-01T00:00:00+05:00", "9999-99-99",
          "[/x]\x1b]8;;"]  # fmt: skip
_VIEWS = [
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT {cols} FROM c",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT {cols} FROM c"
    " WHERE x < 0",
    "SELECT {cols} FROM (SELECT 1 AS x UNION ALL SELECT 2) a, (SELECT 1 UNION ALL SELECT 2) b",
    "SELECT {cols} FROM (SELECT 1 AS x) WHERE 0",
]


class SqliteReader:
    name = "sqlite"
    suffix = ".db"
    _open: list[sqlite3.Connection] = []  # noqa: RUF012

    def seeds(self) -> list[bytes]:
        return [(INTEROP / "optuna.db").read_bytes()]

    def case(self, seeds, seed: int, index: int, folder: Path) -> Path:
        rng = random.Random(f"sqlite:{seed}:{index}")
        try:
            return self._case(rng, seeds, folder)
        except sqlite3.Error:  # a schema the generator could not finish: what it left
            for con in self._open:
                con.close()  # before the load: a connection closed later deletes its journal
            return next(p for p in folder.iterdir() if not p.name.endswith(("-wal", "-shm")))
        finally:
            self._open.clear()

    def _case(self, rng: random.Random, seeds, folder: Path) -> Path:
        path = folder / rng.choice(("case.db", "case.db#", "c?mode=rwc&x=.db", "c%41.db"))
        if rng.random() < 0.2:  # bytes of a real storage, mutated
            path.write_bytes(_byte_mutations(rng, seeds[0], [b"\x00" * 8], seeds))
            return path
        con = sqlite3.connect(path)
        self._open.append(con)
        n_trials = rng.choice((0, 1, 3, 20))
        for table, cols in _TABLES.items():
            cols = [c for c in cols if rng.random() > 0.05]
            if rng.random() < 0.1:  # a view instead of a table
                names = ", ".join(f"x AS {c.split()[0]}" for c in cols) or "1 AS a"
                view = rng.choice(_VIEWS).format(cols=names)
                con.execute(f"CREATE VIEW {table} AS {view}")
                continue
            if rng.random() < 0.03:
                continue  # missing table
            con.execute(f"CREATE TABLE {table} ({', '.join(cols) or 'a'})")
            names = [c.split()[0] for c in cols]
            rows = n_trials * rng.choice((1, 1, 2, 5)) if table != "studies" else 1
            for i in range(rows if names else 0):
                values = []
                for name in names:
                    if rng.random() < 0.15:
                        values.append(rng.choice(_WEIRD))
                    elif name == "distribution_json":
                        values.append(rng.choice(_DISTS))
                    elif name == "param_name":
                        values.append(rng.choice(("x", "y", "[/x]", "a::b", f"p{i}")))
                    elif name in ("state",):
                        values.append(rng.choice(("COMPLETE", "FAIL", "PRUNED", "RUNNING")))
                    elif name == "direction":
                        values.append(rng.choice(("MINIMIZE", "MAXIMIZE")))
                    elif name in ("study_name",):
                        values.append(rng.choice(("demo", "d2", "[/x]")))
                    elif name in ("datetime_start", "datetime_complete"):
                        values.append(f"2026-01-01 00:00:{i % 60:02d}")
                    elif name in ("value", "param_value"):
                        values.append(rng.uniform(-5, 5))
                    elif name in ("study_id", "objective"):
                        values.append(rng.choice((1, 1, 1, 0)))
                    elif name == "value_type":
                        values.append(rng.choice(("FINITE", "INF_POS", "INF_NEG")))
                    else:
                        values.append(i if rng.random() < 0.9 else i // 2)
                marks = ", ".join("?" for _ in names)
                con.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", values)
        if rng.random() < 0.2:  # a trigger that would write if anything wrote
            con.execute(
                "CREATE TRIGGER IF NOT EXISTS t AFTER INSERT ON trials BEGIN"
                " INSERT INTO trials (trial_id) VALUES (NULL); END"
            )
        con.commit()
        if rng.random() < 0.2:
            con.execute("PRAGMA journal_mode=WAL")
        con.close()
        return path


# --------------------------------------------------------------------------- TOML

_KINDS = ["uniform", "quniform", "loguniform", "qloguniform", "normal", "qnormal",
          "lognormal", "qlognormal", "randint", "uniformint", "choice", "pchoice"]  # fmt: skip
_ARGS = ["0", "1", "-1", "1e308", "-1e308", "1e-320", "nan", "inf", "log(1e-5)", "exp(700)",
         "exp(1000)", "log(0)", "log(-1)", "sqrt(-1)", "2**1000", "10**10**10", "9**9**9",
         "1/0", "0.5", "[1, 2]", "['a', 'b']", "[(0.5, 'a'), (0.5, 'b')]", "[]", "()", "'x'",
         "__import__('os').system('touch " + MARKER + "')", "x", "(1).__class__", "[" * 200,
         "1" * 5000, "-" * 1000 + "1", "lambda: 1", "open('/etc/passwd')"]  # fmt: skip


class TomlReader:
    name = "toml"
    suffix = ".toml"

    def seeds(self) -> list[bytes]:
        return [(ROOT / "tests" / "fixtures" / "qlearn_space.toml").read_bytes()]

    def case(self, seeds, seed: int, index: int, folder: Path) -> Path:
        rng = random.Random(f"toml:{seed}:{index}")
        path = folder / f"case{self.suffix}"
        if rng.random() < 0.2:
            path.write_bytes(_byte_mutations(rng, seeds[0], [b'"', b"[", b"\\"], seeds))
            return path
        lines = ["[space]"]
        for i in range(rng.randint(0, 6)):
            args = ", ".join(rng.choice(_ARGS) for _ in range(rng.randint(0, 4)))
            text = f"{rng.choice(_KINDS)}({args})"
            if rng.random() < 0.1:
                text = rng.choice(_ARGS)
            label = rng.choice((f"p{i}", f"'[/x]{i}'", f'"a::b{i}"', f'"{"L" * 300}{i}"'))
            lines.append(f"{label} = {json.dumps(text)}")
        path.write_text("\n".join(lines) + "\n")
        return path


READERS = {r.name: r for r in (JsonReader(), BsonReader(), SqliteReader(), TomlReader())}


def run(reader_name: str, path: Path, summary: bool) -> None:
    """What the CLI does with such a file (raises InputError for a bad one)."""
    if reader_name == "toml":
        from hopt_inspect.resolve import space_from_toml

        space_from_toml(path)
        return
    from hopt_inspect.loading import load_study

    study = load_study(path)
    if summary:
        from hopt_inspect.summary import summarize

        summarize(study)
