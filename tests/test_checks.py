"""check: findings on real fmin studies, the CLI gate, config, CI formats, calibration."""

from __future__ import annotations

import json
import math
import pickle
import sys
import xml.etree.ElementTree as ET
from functools import partial

import pytest
from conftest import SAMPLES, run_cli, run_fmin

from hopt_inspect.checks import REGISTRY, run_checks, selected
from hopt_inspect.config import load_config
from hopt_inspect.errors import InputError
from hopt_inspect.loading import load_study
from hopt_inspect.resolve import resolve_space, space_from_hp

sys.path.insert(0, str(SAMPLES))
sys.path.insert(0, str(SAMPLES.parent / "benchmarks"))

HEART_SPACE = f"{SAMPLES / 'tuner.py'}:heart_space"


def _report(name, space, **kwargs):
    study = load_study(SAMPLES / name)
    return run_checks(study, resolve_space(space, study), **kwargs)


def test_codes_are_unique_and_stable():
    codes = [c.code for c in REGISTRY]
    assert len(set(codes)) == len(codes) == 13
    assert {c.name for c in REGISTRY} == {
        "startup-only", "clumping", "edge-sampling", "best-at-boundary", "stagnation",
        "failures", "non-finite-loss", "duplicates", "unexplored-choice", "stuck-trials",
        "collapsed", "tpe-vs-random", "no-trials",
    }  # fmt: skip
    assert {c.family for c in REGISTRY} == {"sampling", "progress", "failures"}


def test_heart_best_is_at_the_corner_so_the_edges_are_the_losss_doing():
    report = _report("heart.p", HEART_SPACE)
    boundary = [f for f in report.findings if f.name == "best-at-boundary"]
    assert {f.params[0] for f in boundary} == {"learning_rate", "size_of_hidden_layer"}
    assert all(f.severity == "warning" and "lower bound -2" in f.message for f in boundary)
    edges = [f for f in report.findings if f.name == "edge-sampling"]
    assert edges and all(f.severity == "info" and "the loss drives it" in f.message for f in edges)
    assert report.failed  # warnings at the default fail-on


def test_failures_sample_findings():
    report = _report("failures.p", f"{SAMPLES / 'tuner.py'}:failures_space")
    names = {f.name for f in report.findings}
    assert {"failures", "non-finite-loss"} <= names
    nf = next(f for f in report.findings if f.name == "non-finite-loss")
    assert nf.evidence["nan_tids"] == [60] and nf.evidence["inf_tids"] == [61]
    fail = next(f for f in report.findings if f.name == "failures")
    assert fail.evidence["failed"] == 7 and "FloatingPointError" in fail.message
    # loss = (x - 1)^2 + dropout: dropout's optimum is its lower bound 0, so TPE's crowding
    # there is the loss's doing (half the best trials are there), not an artefact
    edge = next(f for f in report.findings if f.name == "edge-sampling")
    assert edge.params == ["dropout"] and edge.severity == "info"
    assert "the loss drives it" in edge.message


def test_startup_only_and_skips(tmp_path):
    from hyperopt import hp

    trials = run_fmin(lambda x: x**2, hp.uniform("x", -1, 1), 15, seed=2)
    path = tmp_path / "t.p"
    path.write_bytes(pickle.dumps(trials))
    study = load_study(path)
    report = run_checks(study, resolve_space(None, study))
    names = {f.name: f for f in report.findings}
    assert (
        names["startup-only"].severity == "warning"
        and "all 15 trials" in names["startup-only"].message
    )
    # --algo rand: startup-only cannot apply; it is "not run", never a finding or a failure
    report = run_checks(study, resolve_space(None, study), algo="rand", select=["T001"])
    assert report.findings == [] and not report.failed
    assert [(s.code, s.name) for s in report.not_run] == [("T001", "startup-only")]
    assert report.checks[0].status == "not run"


def test_skips_are_listed_in_every_format(tmp_path):
    from hopt_inspect.render.ci import github_annotations, junit_xml
    from hopt_inspect.render.jsonout import dumps
    from hopt_inspect.render.terminal import render_check

    report = _report("heart.p", HEART_SPACE, algo="rand")
    assert [s.code for s in report.not_run] == ["T001"]
    assert "hopt-inspect check: not run: T001 startup-only" in github_annotations(report)
    suite = ET.fromstring(junit_xml(report).split("\n", 1)[1])
    skipped = [c for c in suite.iter("testcase") if c.find("skipped") is not None]
    assert suite.get("skipped") == "1" and skipped[0].get("name").startswith("T001")
    assert json.loads(dumps(report))["not_run"][0]["reason"].startswith("--algo rand")
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(render_check(report))
    assert "not run: T001 startup-only (--algo rand" in console.export_text()


def test_empty_study_is_an_error(tmp_path):
    from hyperopt import Trials

    path = tmp_path / "empty.p"
    path.write_bytes(pickle.dumps(Trials()))
    study = load_study(path)
    report = run_checks(study, resolve_space(None, study))
    assert [(f.code, f.severity) for f in report.findings] == [("F004", "error")]
    assert report.failed and len(report.not_run) == len(REGISTRY) - 1


def test_stuck_trials_and_unexplored_choice(tmp_path):
    from hyperopt import JOB_STATE_RUNNING, hp, tpe

    space = {"c": hp.choice("c", ["a", "b", "c", "d"]), "x": hp.uniform("x", 0, 1)}
    # Option "d" is never good: TPE stops proposing it after the start-up.
    trials = run_fmin(
        lambda p: {"a": 0.0, "b": 0.1, "c": 0.2, "d": 5.0}[p["c"]] + p["x"],
        space,
        120,
        seed=1,
        algo=partial(tpe.suggest, n_startup_jobs=20),
    )
    trials._dynamic_trials[-1]["state"] = JOB_STATE_RUNNING  # a worker died mid-trial
    path = tmp_path / "t.p"
    path.write_bytes(pickle.dumps(trials))
    study = load_study(path)
    report = run_checks(study, space_from_hp(space, source="test"))
    by_name = {f.name: f for f in report.findings}
    assert by_name["stuck-trials"].evidence["tids"] == [119]
    if "unexplored-choice" in by_name:  # depends on TPE's draws; when it fires it is right
        f = by_name["unexplored-choice"]
        assert f.params == ["c"] and f.severity in ("info", "warning")


def test_duplicates_against_random_expectation(tmp_path):
    from hyperopt import hp

    space = {"a": hp.choice("a", [0, 1]), "b": hp.choice("b", [0, 1])}
    trials = run_fmin(lambda p: 1.0, space, 30, seed=4)
    path = tmp_path / "t.p"
    path.write_bytes(pickle.dumps(trials))
    study = load_study(path)
    report = run_checks(study, space_from_hp(space, source="test"))
    dup = next(f for f in report.findings if f.name == "duplicates")
    # 30 random draws from 4 configurations: duplicates are expected, so info, not warning.
    assert dup.severity == "info"
    assert dup.evidence["expected_random"] == pytest.approx(30 * 29 / 2 / 4)


def test_selection_by_code_prefix_and_name():
    assert [c.code for c in selected(["S"])] == ["S001", "S002", "S003", "S004", "S005"]
    assert [c.code for c in selected(["T003", "failures"])] == ["T003", "F001"]
    assert "S002" not in [c.code for c in selected(ignore=["edge-sampling"])]


def test_fail_on_controls_failed():
    assert _report("heart.p", HEART_SPACE, fail_on="warning").failed
    assert not _report("heart.p", HEART_SPACE, fail_on="error").failed


def test_cli_exit_codes_and_formats(tmp_path):
    out = run_cli("check", SAMPLES / "heart.p", "--space", HEART_SPACE)
    assert out.returncode == 1 and "T003" in out.stdout
    out = run_cli("check", SAMPLES / "heart.p", "--space", HEART_SPACE, "--fail-on", "error")
    assert out.returncode == 0
    out = run_cli(
        "check", SAMPLES / "heart.p", "--space", HEART_SPACE, "--ignore", "T003,S002,T004"
    )
    assert out.returncode == 0 and "no findings" in out.stdout
    out = run_cli("check", SAMPLES / "heart.p", "--space", HEART_SPACE, "--json")
    doc = json.loads(out.stdout)
    assert doc["schema"] == "hopt-inspect/check/1"
    assert set(doc["findings"][0]) == {
        "code", "name", "severity", "params", "message", "evidence", "advice",
    }  # fmt: skip
    assert doc["counts"] == {"info": 2, "warning": 2, "error": 0}  # S002, T004 tpe-vs-random
    out = run_cli("check", SAMPLES / "heart.p", "--space", HEART_SPACE, "--format", "github")
    lines = out.stdout.splitlines()
    assert lines[0].startswith("::warning file=") and "title=T003 best-at-boundary" in lines[0]
    junit = tmp_path / "r" / "junit.xml"
    out = run_cli("check", SAMPLES / "heart.p", "--space", HEART_SPACE, "--format", "junit",
                  "-o", junit)  # fmt: skip
    assert out.returncode == 1 and out.stdout == ""
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "13" and suite.get("failures") == "1"
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == ["T003 best-at-boundary: the best region presses against a bound"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--select", "Z9"], "unknown check 'Z9'"),
        (["--fail-on", "fatal"], "use info, warning or error"),
        (["--format", "xml"], "use text, json, github or junit"),
    ],
)
def test_cli_bad_options(args, message):
    out = run_cli("check", SAMPLES / "heart.p", *args)
    assert out.returncode == 2 and message in out.stderr and len(out.stderr.splitlines()) == 1


def test_config_from_pyproject(tmp_path):
    (tmp_path / "heart.toml").write_text(  # a config names TOML specs only (never code)
        '[space]\nlearning_rate = "uniform(-2, 2)"\nsize_of_hidden_layer = "uniform(-2, 2)"\n'
    )
    (tmp_path / "pyproject.toml").write_text(
        "[tool.hopt-inspect]\n"
        'ignore = ["T003"]\n'
        'fail-on = "warning"\n'
        'space = "heart.toml"\n'
        "[tool.hopt-inspect.thresholds]\n"
        "margin = 0.02\n"
    )
    config = load_config(start=tmp_path)
    assert config.ignore == ("T003",) and config.thresholds.margin == 0.02
    out = run_cli("check", SAMPLES / "heart.p", "--json", cwd=tmp_path)
    doc = json.loads(out.stdout)
    assert str(tmp_path / "heart.toml") in doc["space_source"]
    assert all(f["code"] != "T003" for f in doc["findings"])
    assert doc["settings"]["thresholds"]["margin"] == 0.02


def test_bad_config_is_named(tmp_path):
    bad = tmp_path / "cfg.toml"
    bad.write_text("[tool.hopt-inspect]\nfail_on = 'x'\n")
    with pytest.raises(InputError, match="unknown key 'fail_on'"):
        load_config(bad)
    bad.write_text("[tool.hopt-inspect.thresholds]\nmargn = 0.1\n")
    with pytest.raises(InputError, match="unknown threshold 'margn'"):
        load_config(bad)


def test_summary_lists_findings_one_line_each():
    out = run_cli("summary", SAMPLES / "failures.p")
    assert "Findings" in out.stdout
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith(("F001", "F002"))]
    assert len(lines) == 2 and all(len(ln) <= 80 for ln in lines)


def test_inferred_bounds_are_said(tmp_path):
    from hyperopt import hp

    trials = run_fmin(lambda x: math.sin(x), hp.uniform("x", 0, 10), 60, seed=1)
    path = tmp_path / "t.p"
    path.write_bytes(pickle.dumps(trials))
    study = load_study(path)
    report = run_checks(study, resolve_space(None, study))
    assert report.space_source == "inferred from the observed values"


@pytest.mark.parametrize("n", [1, 7, 100, 5000])
@pytest.mark.parametrize("p", [1e-3, 0.05, 0.5, 0.97])
def test_binomial_and_poisson_tails_match_scipy(n, p):
    from scipy.stats import binom, poisson

    from hopt_inspect.checks.base import binomial_sf, poisson_sf

    for k in sorted({0, 1, 2, int(n * p), int(n * p) + 3, n // 2, n}):
        expected = binom.sf(k - 1, n, p) if k > 0 else 1.0
        assert binomial_sf(k, n, p) == pytest.approx(expected, rel=1e-9, abs=1e-300)
        mean = n * p
        expected = poisson.sf(k - 1, mean) if k > 0 else 1.0
        assert poisson_sf(k, mean) == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_cli_n_startup_jobs_overrides_the_detected_start_up():
    out = run_cli("check", SAMPLES / "heart.p", "--n-startup-jobs", "5", "--json")
    sampler = json.loads(out.stdout)["sampler"]
    assert sampler["source"] == "--n-startup-jobs" and sampler["startup_used"] == 5
    out = run_cli("check", SAMPLES / "heart.p", "--json")
    sampler = json.loads(out.stdout)["sampler"]
    assert sampler["source"] == "detected" and sampler["kind"] == "tpe"
