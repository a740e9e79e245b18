"""The console script as a user runs it: exit codes, one-line errors, JSON, 80 columns."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from conftest import SAMPLES, run_cli

from hopt_inspect import __version__
from hopt_inspect.loading import load_study


def test_version_and_help():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"hopt-inspect {__version__}"
    out = run_cli("--help")
    assert out.returncode == 0 and "summary" in out.stdout
    out = run_cli("summary", "--help")
    assert out.returncode == 0 and "--trust" in out.stdout and "RUNS CODE" in out.stdout
    # the help flag takes no value: typer 0.29 labelled it <bool>
    for args in (("--help",), ("summary", "--help"), ("check", "-h")):
        out = run_cli(*args)
        assert out.returncode == 0 and "<bool>" not in out.stdout, args


def test_python_dash_m():
    out = subprocess.run(
        [sys.executable, "-m", "hopt_inspect", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and __version__ in out.stdout


def test_summary_text_fits_80_columns_and_has_no_escapes():
    env = {**os.environ, "COLUMNS": "80"}
    for name in ("heart.p", "qlearn.p", "failures.p"):
        out = run_cli("summary", SAMPLES / name, env=env)
        assert out.returncode == 0, out.stderr
        assert "\x1b[" not in out.stdout  # not a TTY: no colour codes
        assert max(len(line) for line in out.stdout.splitlines()) <= 80
        best = load_study(SAMPLES / name).best()
        assert f"trial {best.tid}" in out.stdout


def test_summary_json_contract():
    out = run_cli("summary", SAMPLES / "failures.p", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)  # nothing else on stdout
    assert doc["schema"] == "hopt-inspect/summary/1"
    for key in (
        "source",
        "n_trials",
        "counts",
        "best",
        "losses_sorted",
        "best_so_far",
        "durations",
        "non_finite",
        "placeholders",
    ):
        assert key in doc
    study = load_study(SAMPLES / "failures.p")
    assert doc["n_trials"] == study.n_trials
    assert set(doc["best"]) == {"tid", "loss", "params"}
    assert doc["best"]["tid"] == study.best().tid
    assert doc["losses_sorted"] == sorted(doc["losses_sorted"])
    assert all(isinstance(pair, list) and len(pair) == 2 for pair in doc["best_so_far"])
    assert doc["counts"]["by_state"] == {"done": 58, "error": 4}
    assert doc["placeholders"] == [{"class": "custommod.EvalRecord", "count": 53}]


def test_default_file_is_hyperopt_p(tmp_path):
    shutil.copy(SAMPLES / "heart.p", tmp_path / "hyperopt.p")
    out = run_cli("summary", cwd=tmp_path)
    assert out.returncode == 0 and "hyperopt.p" in out.stdout
    out = run_cli("summary", cwd=tmp_path / "..")
    assert out.returncode == 2 and "hyperopt.p: no such file" in out.stderr


def _assert_one_line_error(out, text):
    assert out.returncode == 2
    assert out.stdout == ""
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert text in lines[0]


def test_bad_inputs_exit_2_with_one_line(tmp_path):
    empty = tmp_path / "empty.p"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.p"
    garbage.write_bytes(os.urandom(64).replace(b"\x80", b"\x81"))
    truncated = tmp_path / "trunc.p"
    truncated.write_bytes((SAMPLES / "heart.p").read_bytes()[:5000])
    _assert_one_line_error(run_cli("summary", tmp_path / "missing.p"), "no such file")
    _assert_one_line_error(run_cli("summary", empty), "empty")
    _assert_one_line_error(run_cli("summary", truncated), "incomplete")
    out = run_cli("summary", garbage)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    _assert_one_line_error(run_cli("summary", SAMPLES / "failures.p", "--strict"), "--strict")


def test_debug_shows_the_traceback(tmp_path):
    out = run_cli("summary", tmp_path / "missing.p", "--debug")
    assert out.returncode != 0 and "Traceback" in out.stderr


def test_usage_error_is_exit_2():
    out = run_cli("summary", "--top", "-3")
    assert out.returncode == 2


def test_reading_never_modifies_the_file(tmp_path):
    path = tmp_path / "t.p"
    shutil.copy(SAMPLES / "qlearn.p", path)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    assert run_cli("summary", path).returncode == 0
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.p"]


def test_bidirectional_overrides_from_a_file_are_escaped(tmp_path):
    """U+202E and the isolates reorder the rest of a terminal line ("Trojan Source"): a
    label holding them is shown escaped by summary, check and space."""
    import pickle

    from conftest import run_fmin
    from hyperopt import hp

    label = "lr\u202egnp.\u2066x"
    trials = run_fmin(lambda p: p[label], {label: hp.uniform(label, 0, 1)}, 25, seed=1)
    path = tmp_path / "bidi.p"
    path.write_bytes(pickle.dumps(trials))
    for command in ("summary", "check", "space"):
        out = run_cli(command, path)
        assert out.returncode in (0, 1), out.stderr
        assert "\u202e" not in out.stdout and "\u2066" not in out.stdout, command
        if command != "check":  # check names no label here (no per-parameter finding)
            assert "\\u202e" in out.stdout, command
