"""compare A B: the test and its effect size, the verdict, spaces, regions, findings, the
command across sources, and its figure."""

from __future__ import annotations

import json
import os
import random

import pytest
from conftest import ROOT, SAMPLES, run_cli

from hopt_inspect.compare import (
    ALPHA,
    compare,
    finding_diff,
    loss_test,
    region_shifts,
    space_changes,
)
from hopt_inspect.space import Param, SearchSpace
from hopt_inspect.study import Source, Study, Trial
from hopt_inspect.tpe import TPESettings

INTEROP = ROOT / "tests" / "fixtures" / "interop"
HEART_SPACE = f"{SAMPLES / 'tuner.py'}:heart_space"


def make_study(losses, xs=None, name="s.p", failed=()):
    trials = []
    for i, loss in enumerate(losses):
        x = xs[i] if xs is not None else (i % 10) / 10
        if i in failed:
            trials.append(Trial(i, "error", None, None, {"x": x}))
        else:
            trials.append(Trial(i, "done", "ok", loss, {"x": x}))
    return Study(tuple(trials), ("x",), Source(name, "pickle", "Trials"))


def space(low=0.0, high=1.0, inferred=False, **more):
    params = {"x": Param("x", "uniform", low=low, high=high)}
    params.update(more)
    return SearchSpace(params, "test", inferred=inferred)


S0 = TPESettings(n_startup_jobs=0)


def test_loss_test_matches_a_count_of_pairs():
    rng = random.Random(1)
    a = [rng.gauss(0, 1) for _ in range(30)] + [0.5, 0.5]
    b = [rng.gauss(0.8, 1) for _ in range(25)] + [0.5]
    test = loss_test(a, b)
    pairs = [(x, y) for x in a for y in b]
    expected = sum(1.0 if y < x else 0.5 if y == x else 0.0 for x, y in pairs) / len(pairs)
    assert test.prob_b_lower == pytest.approx(expected, abs=1e-12)
    from scipy.stats import mannwhitneyu

    assert test.p_value == pytest.approx(mannwhitneyu(a, b).pvalue)
    assert test.prob_b_lower < 0.5 and test.p_value < 0.05  # b is worse here
    assert loss_test(a[:4], b) is None  # fewer than 5 on a side: no test


def test_verdict_names_the_better_study_with_its_evidence():
    rng = random.Random(2)
    a = make_study([rng.gauss(10, 1) for _ in range(60)], name="a.p")
    b = make_study([rng.gauss(8, 1) for _ in range(60)], name="b.p")
    result = compare(a, b, space(), space(), S0, S0, with_findings=False)
    assert result.verdict == "b_better"
    assert result.verdict_text.startswith("B is better: its median loss after start-up is lower")
    assert "p < 0.0001" in result.verdict_text
    rel = (result.b.best["loss"] - result.a.best["loss"]) / abs(result.a.best["loss"])
    assert f"its best is {abs(rel):.0%} lower" in result.verdict_text
    assert result.losses.prob_b_lower > 0.8
    # the same, the other way round
    flipped = compare(b, a, space(), space(), S0, S0, with_findings=False)
    assert flipped.verdict == "a_better" and flipped.verdict_text.startswith("A is better")


def test_no_clear_difference_when_the_losses_are_alike():
    rng = random.Random(3)
    losses = [rng.gauss(0, 1) for _ in range(50)]
    a = make_study(losses)
    b = make_study(list(reversed(losses)))
    result = compare(a, b, space(), space(), S0, S0, with_findings=False)
    assert result.verdict == "no_clear_difference"
    assert result.losses.p_value == pytest.approx(1.0)
    assert result.verdict_text.startswith("no clear difference")
    assert "is better" not in result.verdict_text


def test_start_up_is_left_out_of_the_test():
    # B's first 20 trials are terrible (its random start-up); after that it equals A
    a = make_study([1.0 + i / 100 for i in range(60)])
    b = make_study([100.0] * 20 + [1.0 + i / 100 for i in range(20, 60)])
    s20 = TPESettings(n_startup_jobs=20)
    result = compare(a, b, space(), space(), s20, s20, with_findings=False)
    assert result.losses.n_a == result.losses.n_b == 40
    assert result.verdict == "no_clear_difference"
    everything = compare(a, b, space(), space(), S0, S0, with_findings=False)
    assert everything.losses.n_b == 60 and everything.losses.p_value < result.losses.p_value


def test_studies_without_a_shared_parameter_are_not_judged():
    rng = random.Random(5)
    a = make_study([rng.gauss(10, 1) for _ in range(40)])
    b = make_study([rng.gauss(0, 1) for _ in range(40)])
    other = SearchSpace({"y": Param("y", "uniform", low=0, high=1)}, "t")
    b = Study(
        tuple(Trial(t.tid, t.state, t.status, t.loss, {"y": t.params["x"]}) for t in b.trials),
        ("y",),
        b.source,
    )
    result = compare(a, b, space(), other, S0, S0, with_findings=False)
    assert result.verdict == "not_comparable" and "share no parameter" in result.verdict_text
    assert result.losses.p_value < 1e-6  # the numbers are still there


def test_too_few_trials_is_not_comparable():
    a, b = make_study([1.0, 2.0, 3.0]), make_study([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    result = compare(a, b, space(), space(), S0, S0, with_findings=False)
    assert result.verdict == "not_comparable" and result.losses is None
    assert "not enough trials" in result.verdict_text


def test_space_changes():
    a = space(0, 1, y=Param("y", "choice", options=("a", "b")), z=Param("z", "uniform", 0, 1))
    b = space(0, 2, y=Param("y", "randint", low=3), w=Param("w", "loguniform", low=-5, high=0))
    changes = {c.label: c.change for c in space_changes(a, b)}
    assert changes == {"x": "bounds", "y": "kind", "z": "removed", "w": "added"}
    assert {c.label: c.change for c in space_changes(a, a)} == dict.fromkeys(a.labels, "same")
    # inferred spaces: observed ranges always differ, so only labels count
    inferred = space(0.1, 0.9, inferred=True)
    assert [c.change for c in space_changes(inferred, space(0, 1))] == ["same"]


def test_region_shift_of_the_best_trials():
    rng = random.Random(4)
    # A's best trials sit near x = 0.2, B's near x = 0.8
    xa = [rng.random() for _ in range(100)]
    xb = [rng.random() for _ in range(100)]
    a = make_study([(x - 0.2) ** 2 for x in xa], xs=xa)
    b = make_study([(x - 0.8) ** 2 for x in xb], xs=xb)
    (shift,) = region_shifts(a, b, space(), space())
    assert shift.moved and shift.n_top_a == shift.n_top_b == 10
    assert shift.a["median"] == pytest.approx(0.2, abs=0.05)
    assert shift.b["median"] == pytest.approx(0.8, abs=0.05)
    assert shift.shift_of_range == pytest.approx(0.6, abs=0.08)
    (same,) = region_shifts(a, a, space(), space())
    assert not same.moved and same.shift_of_range == 0


def test_findings_that_appeared_and_cleared():
    from hopt_inspect.checks import Finding

    f1 = Finding("T002", "stagnation", "warning", [], "m1")
    f2 = Finding("T003", "best-at-boundary", "warning", ["x"], "m2")
    f3 = Finding("T003", "best-at-boundary", "warning", ["y"], "m3")
    appeared, cleared, kept = finding_diff([f1, f2], [f2, f3])
    assert [(f.code, f.params) for f in appeared] == [("T003", ["y"])]
    assert [(f.code, f.params) for f in cleared] == [("T002", [])]
    assert [(f.code, f.params) for f in kept] == [("T003", ["x"])]


def test_failures_are_counted_not_tested():
    a = make_study([float(i) for i in range(40)], failed={3, 4, 5})
    result = compare(a, a, space(), space(), S0, S0, with_findings=False)
    assert result.a.n_failed == 3 and result.a.n_ok == 37 and result.losses.n_a == 37


def test_cli_heart_against_heart_startup1(tmp_path):
    out = run_cli(
        "compare", SAMPLES / "heart.p", SAMPLES / "heart_startup1.p", "-o", tmp_path / "cmp",
        "--space-a", HEART_SPACE, "--space-b", HEART_SPACE, "--n-startup-jobs-b", "1",
        env={**os.environ, "COLUMNS": "80"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    first = out.stdout.splitlines()[0]
    assert first.startswith("no clear difference: medians after start-up")
    text = " ".join(out.stdout.split())
    assert "B's best is 9% lower, but that is one trial each" in text
    assert "B reached -326.3 (the worse of the two final bests) at trial 17, A at trial 76" in text
    assert "start-up 1 (given)" in text and "start-up 20 (assumed: tpe.suggest default)" in text
    assert "same labels and distributions (2)" in text
    assert "Findings that appeared in B" in text and "T002" in text
    png = tmp_path / "cmp" / "compare.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert f"wrote {png}" in text
    assert max(len(line) for line in out.stdout.splitlines()) <= 80


def test_cli_json_across_sources():
    """A pickle against an Optuna storage and a Ray Tune checkpoint."""
    db = f"sqlite:///{INTEROP / 'optuna.db'}"
    out = run_cli("compare", SAMPLES / "failures.p", db, "--format", "json")
    assert out.returncode == 2 and "pick one with --study-b NAME" in out.stderr
    out = run_cli(
        "compare", SAMPLES / "failures.p", db, "--study-b", "demo", "--format", "json"
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["schema"] == "hopt-inspect/compare/1" and doc["alpha"] == ALPHA
    assert doc["a"]["format"] == "pickle" and doc["b"]["format"] == "optuna-sqlite"
    assert doc["b"]["settings"]["startup"] == 10  # Optuna's default start-up
    assert doc["a"]["n_failed"] == 7
    assert doc["verdict"] in ("a_better", "b_better", "no_clear_difference", "not_comparable")
    assert {c["change"] for c in doc["space"]} >= {"added", "removed"}
    ray = run_cli(
        "compare", INTEROP / "ray_searcher_state_min.pkl", SAMPLES / "heart.p", "--format", "json"
    )
    assert ray.returncode == 0, ray.stderr
    assert "Ray Tune" in json.loads(ray.stdout)["a"]["container"]


def test_cli_same_study_twice_is_no_difference():
    out = run_cli("compare", SAMPLES / "heart.p", SAMPLES / "heart.p", "--format", "json")
    doc = json.loads(out.stdout)
    assert doc["verdict"] == "no_clear_difference"
    assert doc["losses"]["p_value"] == pytest.approx(1.0)
    assert doc["losses"]["prob_b_lower"] == pytest.approx(0.5)
    assert doc["findings_appeared"] == doc["findings_cleared"] == []


def test_cli_errors(tmp_path):
    out = run_cli("compare", SAMPLES / "heart.p", SAMPLES / "heart.p", "--format", "csv")
    assert out.returncode == 2 and "--format csv: use text or json" in out.stderr
    file = tmp_path / "f"
    file.write_text("x")
    out = run_cli("compare", SAMPLES / "heart.p", SAMPLES / "heart.p", "-o", file)
    assert out.returncode == 2 and "is not a folder" in out.stderr
    out = run_cli("compare", SAMPLES / "heart.p", tmp_path / "missing.p")
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_text_from_files_is_shown_literally():
    """Labels and options are data: no rich markup, no terminal control sequences."""
    import io

    from rich.console import Console

    from hopt_inspect.render.compare import render_compare

    label = "[bold red]lr\x1b[31m"
    trials = tuple(Trial(i, "done", "ok", float(i), {label: i % 2}) for i in range(30))
    study = Study(trials, (label,), Source("[x].p", "pickle", "Trials"))
    sp = SearchSpace({label: Param(label, "choice", options=("[a]", "b"))}, "t")
    other = SearchSpace({label: Param(label, "choice", options=("[a]", "c"))}, "t")
    result = compare(study, study, sp, other, S0, S0, with_findings=False)
    buffer = io.StringIO()
    Console(file=buffer, width=200, no_color=True).print(render_compare(result))
    text = buffer.getvalue()
    assert "[bold red]lr\\x1b[31m" in text and "\x1b" not in text
    assert "choice([[a], b])" in text and "choice([[a], c])" in text
    assert "options" in text  # a choice whose options changed
    assert "[x].p" in text


def test_a_verdict_that_changed_is_not_a_finding_in_both():
    from hopt_inspect.checks.base import Finding
    from hopt_inspect.compare import finding_diff

    def t004(verdict):
        return Finding(
            severity="info",
            params=[],
            message=f"{verdict} than random search",
            evidence={"verdict": verdict},
            advice="",
            code="T004",
            name="tpe-vs-random",
        )

    appeared, cleared, kept = finding_diff([t004("no-better")], [t004("better")])
    assert [d.message for d in appeared] == ["better than random search"]
    assert [d.message for d in cleared] == ["no-better than random search"]
    assert kept == []
    appeared, cleared, kept = finding_diff([t004("better")], [t004("better")])
    assert (appeared, cleared, len(kept)) == ([], [], 1)


def test_each_side_says_which_sampler_its_trials_look_like(tmp_path):
    """hyperopt files do not record the algorithm: compare names what the trials look like
    (as summary and check do) instead of assuming TPE for both."""
    import pickle

    import numpy as np
    from conftest import run_fmin
    from hyperopt import hp, rand, tpe

    space_ = {"x": hp.uniform("x", -5, 5), "y": hp.uniform("y", -5, 5)}

    def objective(p):
        return (p["x"] - 1) ** 2 + (p["y"] + 2) ** 2

    paths = []
    for name, algo in (("rand", rand.suggest), ("tpe", tpe.suggest)):
        trials = run_fmin(objective, space_, 120, seed=3, algo=algo)
        paths.append(tmp_path / f"{name}.p")
        paths[-1].write_bytes(pickle.dumps(trials))
    script = tmp_path / "tune.py"
    script.write_text(
        "from hyperopt import hp\n"
        "space = {'x': hp.uniform('x', -5, 5), 'y': hp.uniform('y', -5, 5)}\n"
    )
    spec = f"{script}:space"
    out = run_cli("compare", *paths, "--space-a", spec, "--space-b", spec, "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    a, b = doc["a"]["settings"], doc["b"]["settings"]
    assert (a["sampler_detected"], b["sampler_detected"]) == ("random", "tpe")
    assert "look like random search" in a["sampler"] and "look like TPE" in b["sampler"]
    assert a["startup_source"].startswith("random search has none")
    assert np.isfinite(doc["a"]["median_after_startup"])


def test_a_choice_is_not_moved_when_an_inferred_side_has_the_same_mode():
    # hyperopt pickle (inferred space: the stored index) against the same trials in an
    # Optuna storage (declared CategoricalDistribution([0, 1]): the option's text "0") was
    # tagged "moved" with the same mode, 52% of the best trials, on both sides
    rng = random.Random(7)
    xs = [rng.random() for _ in range(200)]
    flags = [rng.randint(0, 1) for _ in range(200)]

    def study():
        trials = tuple(
            Trial(i, "done", "ok", (x - 0.3) ** 2 + 0.1 * f, {"x": x, "flag": f})
            for i, (x, f) in enumerate(zip(xs, flags, strict=True))
        )
        return Study(trials, ("x", "flag"), Source("s.p", "pickle", "Trials"))

    inferred = Param("flag", "choice", options=("0", "1"), inferred=True)
    declared = Param("flag", "choice", options=("0", "1"))
    renamed = Param("flag", "choice", options=("off", "on"))
    a, b = study(), study()
    for pa, pb, moved in [
        (inferred, declared, False),
        (declared, inferred, False),
        (declared, declared, False),
        (inferred, renamed, False),  # same stored index: the inferred side has no text
        (declared, renamed, True),  # both declared: "0" is not "off"
    ]:
        shifts = region_shifts(a, b, space(flag=pa), space(flag=pb))
        (flag,) = [s for s in shifts if s.label == "flag"]
        assert flag.moved is moved, (pa, pb)


def test_an_optuna_side_says_what_its_trials_look_like(tmp_path):
    """An Optuna storage records no sampler either: its side says what the trials look like
    (summary said "random search" while compare said only "not recorded", and its figure
    already marked the start-up as random search's)."""
    import pickle

    from conftest import run_fmin
    from hyperopt import hp

    space_ = {"x": hp.uniform("x", -5, 5), "y": hp.uniform("y", -5, 5)}
    trials = run_fmin(lambda p: (p["x"] - 1) ** 2 + (p["y"] + 2) ** 2, space_, 120, seed=5)
    path = tmp_path / "rand.p"
    path.write_bytes(pickle.dumps(trials))
    storage = f"sqlite:///{tmp_path / 'rand.db'}"
    made = run_cli("export", path, "--format", "optuna", "--storage", storage)
    assert made.returncode == 0, made.stderr
    out = run_cli("compare", path, storage, "--json")
    assert out.returncode == 0, out.stderr
    b = json.loads(out.stdout)["b"]["settings"]
    assert b["sampler_detected"] == "random"
    assert b["sampler"] == "not recorded (Optuna storage); the trials look like random search"
    assert b["startup_source"].startswith("random search has none")


def test_algo_is_not_ignored(tmp_path):
    """compare --algo (listed in its --help) was accepted and ignored: each side still said
    what its trials looked like. It now applies to both sides, as check's does."""
    import pickle

    from conftest import run_fmin
    from hyperopt import hp, tpe

    space_ = {"x": hp.uniform("x", -5, 5), "y": hp.uniform("y", -5, 5)}
    trials = run_fmin(
        lambda p: (p["x"] - 1) ** 2 + (p["y"] + 2) ** 2, space_, 120, seed=3, algo=tpe.suggest
    )
    path = tmp_path / "tpe.p"
    path.write_bytes(pickle.dumps(trials))
    detected = json.loads(run_cli("compare", path, path, "--json").stdout)["a"]["settings"]
    assert detected["sampler_detected"] != "random" and "given" not in detected["sampler"]
    out = run_cli("compare", path, path, "--json", "--algo", "rand")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    for side in ("a", "b"):
        s = doc[side]["settings"]
        assert s["sampler_detected"] == "random" and s["sampler"] == "random search (given: --algo)"


def test_an_assumed_startup_that_the_trials_contradict_says_how_to_cut_there(tmp_path):
    """A ran with n_startup_jobs=50; compare cuts at the assumed 20 and says so."""
    import pickle

    from conftest import run_fmin
    from hyperopt import hp, tpe
    from hyperopt.fmin import partial

    space_ = {"x": hp.uniform("x", -5, 5), "y": hp.uniform("y", -5, 5)}

    def objective(p):
        return (p["x"] - 1) ** 2 + (p["y"] + 2) ** 2

    path = tmp_path / "su50.p"
    trials = run_fmin(objective, space_, 200, seed=2, algo=partial(tpe.suggest, n_startup_jobs=50))
    path.write_bytes(pickle.dumps(trials))
    script = tmp_path / "tune.py"
    script.write_text(
        "from hyperopt import hp\n"
        "space = {'x': hp.uniform('x', -5, 5), 'y': hp.uniform('y', -5, 5)}\n"
    )
    spec = f"{script}:space"
    out = run_cli("compare", path, path, "--space-a", spec, "--space-b", spec, "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    seen = doc["a"]["settings"]["startup_source"]
    assert doc["a"]["settings"]["startup"] == 20
    assert "the trials show" in seen and "--n-startup-jobs-a" in seen
    assert "--n-startup-jobs-b" in doc["b"]["settings"]["startup_source"]
