"""The ten attack classes of issue #14, run through the CLI as an attacker would.

    python benchmarks/attack_round2.py

Each attack builds its file(s) in a fresh folder (generators of
``tests/hostile/make_hostile.py``), runs one ``hopt-inspect`` command on it, and prints
the exit code, the wall time, the first line of stderr and whether any file in the folder
changed. Expected: exit 0/1 with escaped output, or exit 2 with one ``error:`` line; never
an internal error, never a changed input, each within seconds.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "hostile"), str(ROOT / "tests"), str(ROOT)]

import make_hostile as mh  # noqa: E402

CLI = [sys.executable, "-m", "hopt_inspect"]
TIMEOUT = 120


def _state(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "out" not in p.parts
    }


def _run(label: str, folder: Path, args: list, check=None) -> bool:
    before = _state(folder)
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(ROOT)}
    began = time.monotonic()
    try:
        out = subprocess.run(
            [*CLI, *map(str, args)], capture_output=True, text=True, cwd=folder, env=env,
            timeout=TIMEOUT,
        )  # fmt: skip
        code, stdout, stderr = out.returncode, out.stdout, out.stderr
    except subprocess.TimeoutExpired:
        code, stdout, stderr = None, "", f"TIMEOUT after {TIMEOUT} s"
    seconds = time.monotonic() - began
    changed = _state(folder) != before
    lines = [x for x in stderr.splitlines() if "Warning" not in x and x.strip()]
    message = lines[0] if lines else ""
    ok = (
        code in (0, 1, 2)
        and "internal error" not in stderr
        and "Traceback" not in stderr
        and not changed
        and (code != 2 or (len(lines) == 1 and message.startswith("hopt-inspect: error:")))
        and (check is None or check(stdout))
    )
    shown = re.sub(r"/tmp/[^ :]*/", "", message)[:110]
    print(f"{'ok  ' if ok else 'FAIL'} {label:38s} exit {code}  {seconds:5.1f} s  {shown}")
    return ok


def _clean(stdout: str) -> bool:
    """No terminal escape, no markup artefact, no workflow command line."""
    if re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", stdout):
        return False
    return not any(line.lstrip().startswith(("::", "##[")) for line in stdout.splitlines())


def _annotations(stdout: str) -> bool:
    """Our own annotation lines only, one per finding, with no terminal escape in them."""
    if re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", stdout):
        return False
    lines = stdout.splitlines()
    return all(
        x.startswith(("::warning file=", "::error file=", "::notice file=")) for x in lines[:-1]
    )


def main() -> int:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)

        def folder(name: str) -> Path:
            f = base / name
            f.mkdir()
            return f

        f = folder("1-bson")
        (f / "hang.bson").write_bytes(mh.bson_negative_binary())
        (f / "grow.bson").write_bytes(mh.bson_negative_binary_in_array())
        results.append(_run("1 BSON negative length", f, ["summary", "hang.bson"]))
        results.append(_run("1 BSON negative length in array", f, ["summary", "grow.bson"]))

        f = folder("2-sqlite")
        mh.optuna_storage(f / "decoy.db", name="decoy")
        mh.optuna_storage(f / "real.db#", name="real")
        mh.optuna_storage(f / "other.db?mode=rwc&x=", name="mine")
        results.append(_run("2 SQLite 'real.db#' (decoy.db beside)", f, ["summary", "real.db#"],
                            check=lambda out: "'real'" in out))  # fmt: skip
        results.append(_run("2 SQLite '?mode=rwc' in the name", f,
                            ["summary", "other.db?mode=rwc&x="]))  # fmt: skip
        g = folder("2-wal")
        _path, writer = mh.optuna_with_leftover_wal(g)
        results.append(_run("2 SQLite leftover victim.db-wal", g, ["summary", "victim.db"],
                            check=lambda out: "3 trials" in out))  # fmt: skip
        writer.close()
        h = folder("2-views")
        mh.optuna_storage(h / "loop.db", sql=mh.ENDLESS_STUDIES)
        mh.optuna_storage(h / "cross.db", n_trials=300, sql=mh.CROSS_PARAMS)
        results.append(_run("2 SQLite endless recursive-CTE view", h, ["summary", "loop.db"]))
        results.append(_run("2 SQLite N x K cross product", h, ["summary", "cross.db"]))

        f = folder("3-text")
        (f / "text.p").write_bytes(pickle.dumps(mh.hostile_text_trials()))
        for cmd in (["summary"], ["check"]):
            results.append(_run(f"3/4 markup + wrap: {cmd[0]}", f, [*cmd, "text.p"], _clean))
        env_cols = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = "200"
        results.append(_run("3/4 markup + wrap: summary (200 cols)", f, ["summary", "text.p"],
                            _clean))  # fmt: skip
        if env_cols is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = env_cols

        f = folder("5-config")
        (f / "evil.py").write_text(
            "import pathlib\npathlib.Path('RAN').write_text('x')\nspace={}\n"
        )
        (f / "pyproject.toml").write_text(f'[tool.hopt-inspect]\nspace = "{f / "evil.py"}:space"\n')
        (f / "sub").mkdir()
        (f / "sub" / "text.p").write_bytes((base / "3-text" / "text.p").read_bytes())
        results.append(_run("5 config space = evil.py:space", f, ["check", "sub/text.p"]))
        results.append(not (f / "RAN").exists())

        f = folder("6-amplify")
        (f / "misc.p").write_bytes(mh.shared_misc())
        (f / "shared.p").write_bytes(mh.shared_result_value())
        (f / "laughs.p").write_bytes(mh.laughs_in_result_and_attachment())
        (f / "labels200.p").write_bytes(gzip.decompress(mh.shared_misc(300, 200)))
        results.append(_run("6 shared misc, 8000 labels (41 KB)", f, ["summary", "misc.p"]))
        results.append(_run("6 shared 20k-node result x 4000", f, ["summary", "shared.p"]))
        results.append(_run("6 frozenset billion laughs (4 KB)", f, ["summary", "laughs.p"]))
        results.append(_run("6 billion laughs: export csv", f, ["export", "laughs.p"]))
        results.append(_run("6 200 labels: report", f, ["report", "labels200.p", "-o", "out"]))

        f = folder("7-cpu")
        (f / "puny.p").write_bytes(mh.bytes_with_codec("punycode"))
        results.append(_run("7 bytes(s, 'punycode'), 88 K chars", f, ["summary", "puny.p"]))
        (f / "ws.json").write_bytes(b"[" + b" " * 60_000 + b"x")
        results.append(_run("7 60 KB of whitespace in an error", f, ["summary", "ws.json"]))

        f = folder("8-outputs")
        (f / "text.p").write_bytes((base / "3-text" / "text.p").read_bytes())
        results.append(_run("8 export csv to stdout", f, ["export", "text.p"], _clean))
        results.append(_run("8 export jsonl to stdout", f,
                            ["export", "text.p", "--format", "jsonl"], _clean))  # fmt: skip
        results.append(_run("8 check --format github", f,
                            ["check", "text.p", "--format", "github"], _annotations))  # fmt: skip
        junit = ["check", "text.p", "--format", "junit", "-o", "out/j.xml"]
        results.append(_run("8 check --format junit", f, junit))

        f = folder("9-numbers")
        view = mh.experiment_view_trials()
        (f / "view.p").write_bytes(pickle.dumps(view))
        results.append(_run("9 pickled trials.view(exp_key='b')", f, ["summary", "view.p"],
                            check=lambda out: "8 trials" in out))  # fmt: skip
        for name, data in mh.trials_build_variants().items():
            (f / f"{name}.p").write_bytes(data)
            results.append(_run(f"9 BUILD {name}", f, ["summary", f"{name}.p"]))
        (f / "od.p").write_bytes(mh.ordered_dict_shadowing_result())
        results.append(_run("9 OrderedDict shadowing keys/get", f, ["summary", "od.p"]))
        (f / "tids.p").write_bytes(mh.float_and_huge_tids())
        results.append(_run("9 float and 5000-digit tids/values", f, ["summary", "tids.p"]))
        (f / "cancel.p").write_bytes(mh.cancelled_best())
        results.append(_run("9 CANCEL doc with the lowest loss", f, ["summary", "cancel.p"],
                            check=lambda out: "-100" not in out))  # fmt: skip

        f = folder("10-smaller")
        (f / "text.p").write_bytes((base / "3-text" / "text.p").read_bytes())
        math = ["lpdf", "text.p", "--param", mh.HOSTILE_LABELS[7], "-o", "out/m.png"]
        results.append(_run("10 mathtext label: lpdf", f, math))
        results.append(_run("10 lpdf --param all (a/b, a:b, 300 chars)", f,
                            ["lpdf", "text.p", "--param", "all", "-o", "out/all"]))  # fmt: skip
        (f / "edge.json").write_bytes(mh.json_edge_values())
        results.append(_run("10 +-1e308, $date NaN, mixed tz", f, ["summary", "edge.json"]))
        (f / "dt64.p").write_bytes(mh.datetime64_results())
        results.append(_run("10 --max-memory 48M", f, ["summary", "dt64.p", "--max-memory", "48M"]))
    failed = results.count(False)
    print(f"{len(results) - failed} of {len(results)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
