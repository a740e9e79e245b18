"""The committed hostile files (see make_hostile.py): the CLI refuses or loads each one as
its manifest says, in one clean line, and no payload ever runs.

Every file is run through ``hopt-inspect summary`` in a child process whose cwd is a fresh
folder (payloads ``touch HOSTILE_MARKER`` relative to it), under an address-space and a
CPU-time limit. The children run in a thread pool, all at once, before the first assert.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from hopt_inspect.errors import InputError
from hopt_inspect.loading import load_study

FILES = Path(__file__).resolve().parent / "files"
MANIFEST = json.loads((FILES / "MANIFEST.json").read_text())
MARKER = MANIFEST["marker"]
ENTRIES = MANIFEST["files"]

MAX_AS = 4 << 30
MAX_CPU_SECONDS = 60
TIMEOUT = 120


def _limits() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MAX_AS, MAX_AS))
    resource.setrlimit(resource.RLIMIT_CPU, (MAX_CPU_SECONDS, MAX_CPU_SECONDS))


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "hopt-inspect"
    return [str(script)] if script.exists() else [sys.executable, "-m", "hopt_inspect"]


@dataclass
class Run:
    returncode: int | None
    stdout: str
    stderr: str
    marker_appeared: bool


def _run(path: Path, cwd: Path, *extra: str) -> Run:
    env = {k: v for k, v in os.environ.items() if k != "HOPT_INSPECT_DEBUG"}
    env["COLUMNS"] = "100"
    try:
        out = subprocess.run(
            [*_cli(), "summary", str(path), *extra],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            timeout=TIMEOUT,
            preexec_fn=_limits,
        )
        result = Run(out.returncode, out.stdout, out.stderr, False)
    except subprocess.TimeoutExpired as exc:
        result = Run(None, str(exc.stdout or ""), f"timeout after {TIMEOUT} s", False)
    result.marker_appeared = (cwd / MARKER).exists()
    return result


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[tuple[str, bool], Run]:
    """Every CLI run, in parallel: (file, json?) → outcome. JSON runs for loads only."""
    jobs = []
    for entry in ENTRIES:
        jobs.append((entry["file"], False))
        if entry["expect"]["exit"] == 0:
            jobs.append((entry["file"], True))
    # the slow ones first, so they overlap with the many quick ones
    jobs.sort(key=lambda job: -(FILES / job[0]).stat().st_size)

    # the folders are made here, not in the threads: pytest's first mktemp creates the
    # session's base folder, and threads racing to do that made two of them (pytest 9.2)
    cwds = [tmp_path_factory.mktemp("cwd") for _ in jobs]

    def one(job: tuple[tuple[str, bool], Path]) -> Run:
        (name, as_json), cwd = job
        return _run(FILES / name, cwd, *(["--json"] if as_json else []))

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip(jobs, pool.map(one, zip(jobs, cwds, strict=True)), strict=True))


def _params():
    for entry in ENTRIES:
        marks = ()
        if "known_bug" in entry:
            marks = pytest.mark.xfail(reason=entry["known_bug"], strict=False)
        yield pytest.param(entry, id=entry["file"], marks=marks)


def test_manifest_is_complete():
    names = {p.name for p in FILES.iterdir()} - {"MANIFEST.json"}
    assert names == {e["file"] for e in ENTRIES}
    assert len(ENTRIES) >= 40
    assert sum(p.stat().st_size for p in FILES.iterdir()) < 2_000_000


@pytest.mark.parametrize("entry", list(_params()))
def test_hostile_file(entry, runs):
    expect = entry["expect"]
    run = runs[(entry["file"], False)]
    assert not run.marker_appeared, "THE PAYLOAD RAN"
    assert "Traceback" not in run.stderr + run.stdout
    assert run.returncode == expect["exit"], (run.returncode, run.stderr[-500:])
    lines = run.stderr.splitlines()
    if expect["exit"] == 2:
        assert len(lines) == 1 and run.stderr.endswith("\n"), repr(run.stderr[-500:])
        assert lines[0].startswith("hopt-inspect: error: "), lines[0]
        assert expect["message_contains"] in lines[0], lines[0]
        return
    assert len(lines) <= 1, repr(run.stderr[-500:])
    as_json = runs[(entry["file"], True)]
    assert not as_json.marker_appeared, "THE PAYLOAD RAN"
    assert as_json.returncode == 0, as_json.stderr[-500:]
    summary = json.loads(as_json.stdout)
    placeholders = {p["class"]: p["count"] for p in summary["placeholders"]}
    assert placeholders == expect["placeholders"]
    assert summary["n_trials"] == expect["n_trials"]


def test_truncated_at_every_offset(tmp_path, monkeypatch):
    """The valid study cut at every byte: InputError, or a load (never anything else)."""
    monkeypatch.chdir(tmp_path)
    data = (FILES / MANIFEST["valid"]).read_bytes()
    assert load_study(FILES / MANIFEST["valid"]).n_trials == 5
    path = tmp_path / "cut.p"
    outcomes = {"InputError": 0, "loaded": 0}
    for cut in range(len(data)):
        path.write_bytes(data[:cut])
        try:
            load_study(path)
        except InputError as exc:
            assert "\n" not in str(exc)
            outcomes["InputError"] += 1
        else:
            outcomes["loaded"] += 1
    assert not (tmp_path / MARKER).exists()
    # only the complete file ends in STOP: every proper prefix is incomplete
    assert outcomes == {"InputError": len(data), "loaded": 0}
