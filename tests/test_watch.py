"""`watch`: a real fmin writing trials_save_file while watch reads it, mid-write reads,
incremental state, the live view at 80 columns in a pseudo-terminal, Ctrl-C."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES, cli_path, run_cli

from hopt_inspect.loading import load_study
from hopt_inspect.watch import (
    FAST_CODES,
    Findings,
    Reader,
    WatchOptions,
    WatchState,
    describe_changes,
    live_findings,
)

FMIN_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from hyperopt import fmin, hp, rand

    count = [0]

    def objective(p):
        count[0] += 1
        time.sleep(0.01)
        if count[0] > 25:  # the objective starts failing part-way
            raise RuntimeError("CUDA out of memory")
        # a bulky result makes each rewrite of the file take several write() calls
        return {"loss": (p["x"] - 0.3) ** 2, "status": "ok", "curve": list(range(4000))}

    fmin(objective, {"x": hp.uniform("x", -2, 2)}, algo=rand.suggest, max_evals=40,
         trials_save_file=sys.argv[1], catch_eval_exceptions=True, show_progressbar=False)
    """
)


def _events(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_real_fmin_followed_trial_by_trial(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(FMIN_SCRIPT)
    target = tmp_path / "trials.p"
    watch = subprocess.Popen(
        [cli_path(), "watch", str(target), "--interval", "0.1", "--until-trials", "40"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    fmin = subprocess.run(
        [sys.executable, str(script), str(target)], capture_output=True, text=True, timeout=120
    )
    assert fmin.returncode == 0, fmin.stderr
    out, err = watch.communicate(timeout=60)
    assert watch.returncode == 0, err
    assert err == ""
    events = _events(out)  # not a TTY: JSON lines by default
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "finished"
    tids = [e["tid"] for e in events if e["event"] == "trial"]
    assert sorted(tids) == list(range(40)) and len(tids) == 40  # each trial exactly once
    # only waiting for the file to appear; a half-written file is retried, not reported
    assert all("no such file" in e["reason"] for e in events if e["event"] == "waiting")
    study = load_study(target)
    best = [e for e in events if e["event"] == "best"][-1]
    assert (best["tid"], best["loss"]) == (study.best().tid, study.best().loss)
    assert events[-1]["best"] == {"tid": study.best().tid, "loss": study.best().loss}
    failed = {e["tid"] for e in events if e["event"] == "trial" and e["state"] == "error"}
    assert failed == {t.tid for t in study.trials if t.state == "error"} and len(failed) == 15
    raised = {e["code"] for e in events if e["event"] == "finding" and e["action"] == "raised"}
    assert {"W001", "F001"} <= raised  # failures rising, then too many failures


def _half_then_whole(tmp_path: Path) -> tuple[Path, bytes]:
    data = (SAMPLES / "failures.p").read_bytes()
    path = tmp_path / "trials.p"
    path.write_bytes(data[: len(data) // 2])
    return path, data


def test_a_half_written_file_is_waited_for_not_an_error(tmp_path):
    path, data = _half_then_whole(tmp_path)
    reader = Reader(path, load_study, sleep=lambda s: None)
    assert reader.read() is None
    assert "incomplete" in reader.problem and reader.fatal is None
    assert reader.read() is None  # unchanged since: not read again
    assert not reader.changed()
    path.write_bytes(data)
    assert reader.changed()
    study = reader.read()
    assert study is not None and len(study.trials) == 62 and reader.problem is None


def test_a_read_that_meets_a_write_is_discarded_and_retried(tmp_path):
    path, data = _half_then_whole(tmp_path)
    path.write_bytes(data)
    calls = []

    def load(p):
        study = load_study(p)
        calls.append(len(study.trials))
        if len(calls) == 1:  # fmin rewrites the file while this read was going on
            time.sleep(0.01)
            path.write_bytes(data)
            os.utime(path, ns=(time.time_ns(), time.time_ns() + 1000))
        return study

    reader = Reader(path, load, sleep=lambda s: None)
    study = reader.read()
    assert study is not None and len(calls) == 2 and reader.retries == 1


def test_a_file_rewritten_through_every_retry_is_read_at_the_next_poll(tmp_path):
    path, data = _half_then_whole(tmp_path)
    path.write_bytes(data)
    calls = []

    def load(p):
        study = load_study(p)
        calls.append(1)
        if len(calls) <= 8:  # a writer busy through all of the first poll's attempts
            os.utime(path, ns=(time.time_ns(), time.time_ns() + len(calls)))
        return study

    reader = Reader(path, load, sleep=lambda s: None)
    assert reader.read() is None and len(calls) == 8
    study = reader.read()  # the writer has stopped: this poll reads it
    assert study is not None and len(study.trials) == 62


def test_a_file_that_is_no_study_is_fatal_only_when_it_is_not_being_written(tmp_path):
    path = tmp_path / "notes.p"
    path.write_text("just some notes\n")
    reader = Reader(path, load_study, sleep=lambda s: None)
    assert reader.read() is None and reader.fatal is None  # just written: may be a write
    old = time.time() - 60
    os.utime(path, (old, old))
    assert reader.read() is None and "not a pickle" in reader.fatal
    out = run_cli("watch", path, "--interval", "0.1")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "not a pickle" in out.stderr


def _prefixes(study, sizes):
    for n in sizes:
        yield replace(study, trials=study.trials[:n])


def test_state_reports_each_trial_once_and_findings_as_they_change():
    study = load_study(SAMPLES / "failures.p")
    options = WatchOptions(interval=0.0)
    findings = Findings(options, lambda s: _inferred(s))
    state = WatchState(Path("x"), options, findings)
    seen: list[int] = []
    live: set = set()
    bests = []
    for part in _prefixes(study, [0, 5, 5, 21, 40, 62]):
        events = state.update(part)
        for e in events:
            if e["event"] == "trial":
                seen.append(e["tid"])
            elif e["event"] == "best":
                bests.append(e["loss"])
            elif e["event"] == "finding":
                key = (e["code"], e["severity"])
                if e["action"] == "raised":
                    assert key not in live
                    live.add(key)
                else:
                    live.remove(key)
        view = state.view()
        assert {(f.code, f.severity) for f in view.findings} == live
    assert seen == [t.tid for t in study.trials]
    assert bests == sorted(bests, reverse=True) and bests[-1] == study.best().loss
    assert state.view().best.tid == study.best().tid
    assert {"F001", "T002", "W004"} <= {c for c, _ in live}
    # the file rewritten with a new, shorter study: said so, and its trials reported again
    events = state.update(replace(study, trials=study.trials[:3]))
    assert events[0]["event"] == "reset"
    assert [e["tid"] for e in events if e["event"] == "trial"] == [0, 1, 2]


def _inferred(study):
    from hopt_inspect.resolve import resolve_space

    return resolve_space(None, study)


def test_costly_checks_are_throttled_cheap_ones_are_not():
    study = load_study(SAMPLES / "failures.p")
    findings = Findings(WatchOptions(interval=2.0), _inferred)
    parts = list(_prefixes(study, [30, 40, 50, 62]))
    findings.update(parts[0], now=100.0)
    assert findings.full_runs == 1
    found = findings.update(parts[3], now=100.5)  # too soon for the costly checks
    assert findings.full_runs == 1
    assert any(f.code == "F001" for f in found)  # cheap: already up to date
    assert all(f.code in FAST_CODES for f in findings.fast)
    findings.update(parts[3], now=102.6)
    assert findings.full_runs == 2
    findings.update(parts[3], now=110.0)  # nothing new: no new run
    assert findings.full_runs == 2


def test_stuck_and_failing_signals():
    from datetime import timedelta

    from hopt_inspect.watch import utcnow

    study = load_study(SAMPLES / "heart.p")
    now = utcnow()
    trials = list(study.trials)
    trials[-1] = replace(trials[-1], state="running", book_time=now - timedelta(hours=2))
    for i in range(len(trials) - 15, len(trials) - 1):
        trials[i] = replace(trials[i], state="error", error="RuntimeError: boom")
    options = WatchOptions(interval=0.0)
    state = WatchState(Path("x"), options, Findings(options, _inferred))
    events = state.update(replace(study, trials=tuple(trials)))
    raised = {e["code"]: e for e in events if e["event"] == "finding"}
    assert "W002" in raised and "F003" not in raised  # running far too long, not "running"
    message = raised["W001"]["message"]
    assert message.startswith("14 of 14 trials failed from trial 85 on (0% before)")
    assert message.endswith("RuntimeError: boom")


def test_a_verdict_shows_once_decided_and_each_new_verdict_is_an_event():
    from hopt_inspect.checks import Finding

    def t004(verdict, severity="info"):
        evidence = {"verdict": verdict}
        return Finding("T004", "tpe-vs-random", severity, [], f"TPE: {verdict}", evidence)

    skipped = Finding("T003", "best-at-boundary", "info", [], "skipped", {"skipped": True})
    assert live_findings([t004("inconclusive"), skipped]) == []
    better, worse = live_findings([t004("better")]), live_findings([t004("worse", "warning")])
    assert better[0].verdict == "better" and better[0].key != worse[0].key
    assert live_findings([t004("better")])[0].key == better[0].key  # same verdict: no event


def test_json_lines_escape_every_control_character():
    from hopt_inspect.watch import JsonLinesSink

    buffer = io.StringIO()
    message = "a\x9b31m\u2028b\x1b[2J\x07±"
    JsonLinesSink(buffer).update(None, [{"event": "finding", "message": message}])
    text = buffer.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", text[:-1])
    assert json.loads(text)["message"] == message


def test_changes_line():
    events = [
        {"event": "trial", "tid": 7, "state": "done", "status": "ok"},
        {"event": "trial", "tid": 8, "state": "error", "status": None},
        {"event": "best", "tid": 7, "loss": 0.5, "previous_loss": 1.0},
        {"event": "finding", "code": "F001", "action": "raised"},
    ]
    assert describe_changes(events) == [
        "+2 trials (7–8), 1 failed",
        "new best 0.5 at trial 7 (was 1)",
        "F001 raised",
    ]


def test_live_view_fits_80_columns_and_escapes_file_text():
    from rich.console import Console

    from hopt_inspect.render.live import render_view

    study = load_study(SAMPLES / "failures.p")
    hostile = "\x1b[2J\x1b]0;owned\x07x"
    trials = tuple(
        replace(t, params={**t.params, hostile: 1.0}, error="\x1b[31mred" if t.error else None)
        for t in study.trials
    )
    study = replace(study, trials=trials, labels=(*study.labels, hostile))
    options = WatchOptions(interval=2.0, max_evals=100)
    state = WatchState(Path("runs/\x1b[2Jtrials.p"), options, Findings(options, _inferred))
    state.update(study)
    for width in (80, 200):
        buffer = io.StringIO()
        console = Console(file=buffer, width=width, no_color=True, highlight=False)
        console.print(render_view(state.view(), width))
        text = buffer.getvalue()
        assert "\x1b" not in text and "\x07" not in text
        assert max(len(line) for line in text.splitlines()) <= width
        assert "Trials" in text and "Best" in text and "Findings" in text and "F001" in text


def test_once_uses_checks_exit_code():
    out = run_cli("watch", SAMPLES / "failures.p", "--once", "--fail-on", "warning")
    assert out.returncode == 1, out.stderr
    events = _events(out.stdout)
    assert events[-1]["event"] == "stopped" and events[-1]["reason"] == "once"
    assert sum(e["event"] == "trial" for e in events) == 62
    out = run_cli("watch", SAMPLES / "failures.p", "--once", "--fail-on", "error")
    assert out.returncode == 0, out.stderr


def _w004(events):
    return [e["message"] for e in events if e["event"] == "finding" and e["code"] == "W004"]


def test_shared_tpe_options_and_config_reach_watch(tmp_path):
    """--n-startup-jobs, --algo and the config mean for watch what they mean elsewhere."""
    out = run_cli("watch", SAMPLES / "heart.p", "--once", "--format", "jsonl")
    assert any("start-up (20 trials)" in m for m in _w004(_events(out.stdout))), out.stdout[-800:]
    out = run_cli(
        "watch", SAMPLES / "heart.p", "--once", "--format", "jsonl", "--n-startup-jobs", "5"
    )
    assert any("start-up (5 trials)" in m for m in _w004(_events(out.stdout)))
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.hopt-inspect]\nn-startup-jobs = 7\n")
    out = run_cli("watch", SAMPLES / "heart.p", "--once", "--format", "jsonl", "--config", config)
    assert any("start-up (7 trials)" in m for m in _w004(_events(out.stdout)))
    out = run_cli("watch", SAMPLES / "heart.p", "--once", "--format", "jsonl", "--algo", "rand")
    assert out.returncode == 0 and not _w004(_events(out.stdout))


def test_optuna_storage_read_only(tmp_path):
    db = tmp_path / "optuna.db"
    shutil.copy(ROOT / "tests" / "fixtures" / "interop" / "optuna.db", db)
    before = db.read_bytes()
    out = run_cli("watch", f"sqlite:///{db}", "--study", "demo", "--once", "--format", "jsonl")
    assert out.returncode == 0, out.stderr
    trials = [e for e in _events(out.stdout) if e["event"] == "trial"]
    done = [t for t in load_study(db, study_name="demo").trials if t.state != "running"]
    assert len(trials) == len(done) > 0
    assert db.read_bytes() == before


def test_a_growing_optuna_storage(tmp_path):
    pytest.importorskip("optuna")
    db = tmp_path / "live.db"
    script = tmp_path / "opt.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import time, optuna
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            study = optuna.create_study(storage="sqlite:///{db}", study_name="s")
            def objective(trial):
                time.sleep(0.02)
                return (trial.suggest_float("x", -2, 2) - 0.3) ** 2
            study.optimize(objective, n_trials=15)
            """
        )
    )
    watch = subprocess.Popen(
        [cli_path(), "watch", f"sqlite:///{db}", "--interval", "0.1", "--until-trials", "15"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    out, err = watch.communicate(timeout=60)
    assert watch.returncode == 0 and err == "", err
    events = _events(out)
    assert sorted(e["tid"] for e in events if e["event"] == "trial") == list(range(15))
    assert events[-1]["best"]["loss"] == load_study(db).best().loss


def test_a_mongodb_export_refreshed_in_place(tmp_path):
    lines = (ROOT / "tests" / "fixtures" / "interop" / "mongo_jobs.json").read_text().splitlines()
    path = tmp_path / "jobs.json"
    path.write_text("\n".join(lines[:5]) + "\n")
    options = WatchOptions(interval=0.0)
    state = WatchState(path, options, Findings(options, _inferred))
    reader = Reader(path, load_study, sleep=lambda s: None)
    first = state.update(reader.read())
    path.write_text("\n".join(lines) + "\n")  # mongoexport run again
    second = state.update(reader.read())
    tids = [[e["tid"] for e in events if e["event"] == "trial"] for events in (first, second)]
    every = sorted(t.tid for t in load_study(path).trials if t.state != "running")
    assert len(tids[0]) == 5 and sorted(tids[0] + tids[1]) == every and len(every) == 15


def test_live_view_in_a_terminal_and_ctrl_c(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    path = tmp_path / "trials.p"
    data = (SAMPLES / "failures.p").read_bytes()
    path.write_bytes(data[:100])  # half-written when watch starts
    env = {**os.environ, "COLUMNS": "80", "LINES": "30", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    log = io.StringIO()
    child = pexpect.spawn(
        cli_path(),
        ["watch", str(path), "--interval", "0.2"],
        dimensions=(30, 80),
        env=env,
        encoding="utf-8",
        timeout=20,
    )
    child.logfile_read = log
    child.expect("hopt-inspect watch")  # a live view even before the first complete read
    path.write_bytes(data)  # fmin finished its write
    child.expect("Findings")
    child.expect("F001")
    child.sendintr()
    child.expect("stopped \\(Ctrl-C\\)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and child.signalstatus is None
    raw = log.getvalue()
    assert "Traceback" not in raw and "error" not in raw.lower().split("stopped")[-1]
    assert "\x1b[?25l" in raw and raw.rindex("\x1b[?25h") > raw.rindex("\x1b[?25l")  # cursor back
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw)
    assert max(len(line) for line in re.split(r"\r\n|\n|\r", plain)) <= 80
    assert "62 · 53 ok" in plain and "best 0.0006653 at trial 23" in plain
