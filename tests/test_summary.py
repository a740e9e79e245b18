"""summary agrees with hyperopt's own Trials API on studies made by fmin."""

from __future__ import annotations

import contextlib
import math

import pytest
from conftest import SAMPLES, run_fmin
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hopt_inspect.loading import load_study
from hopt_inspect.summary import summarize

KINDS = ("uniform", "loguniform", "quniform", "choice", "randint", "normal")


def _space(kinds):
    from hyperopt import hp

    space = {}
    for i, kind in enumerate(kinds):
        label = f"p{i}_{kind}"
        space[label] = {
            "uniform": lambda lab: hp.uniform(lab, -3, 3),
            "loguniform": lambda lab: hp.loguniform(lab, -5, 0),
            "quniform": lambda lab: hp.quniform(lab, 0, 10, 2),
            "choice": lambda lab: hp.choice(lab, ["a", "b", "c"]),
            "randint": lambda lab: hp.randint(lab, 7),
            "normal": lambda lab: hp.normal(lab, 0, 1),
        }[kind](label)
    return space


def _objective(fail_every, nan_at, inf_at, raise_every):
    calls = {"n": 0}

    def objective(params):
        calls["n"] += 1
        n = calls["n"]
        if raise_every and n % raise_every == 0:
            raise RuntimeError(f"boom {n}")
        if fail_every and n % fail_every == 0:
            return {"status": "fail"}
        if n == nan_at:
            return {"loss": math.nan, "status": "ok"}
        if n == inf_at:
            return {"loss": math.inf, "status": "ok"}
        nums = [v for v in params.values() if isinstance(v, (int, float))]
        return {"loss": sum(float(v) ** 2 for v in nums) + n * 1e-3, "status": "ok"}

    return objective


def _same(a, b):
    if a is None or b is None:
        return a is b
    return (math.isnan(a) and math.isnan(b)) or a == b


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=4),
    n=st.integers(1, 30),
    fail_every=st.sampled_from([0, 3, 7]),
    raise_every=st.sampled_from([0, 5]),
    nan_at=st.integers(0, 30),
    inf_at=st.integers(0, 30),
    use_tpe=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_any_fmin_study_loads_to_hyperopts_numbers(
    tmp_path, kinds, n, fail_every, raise_every, nan_at, inf_at, use_tpe, seed
):
    from functools import partial

    from hyperopt import JOB_STATES, tpe

    algo = partial(tpe.suggest, n_startup_jobs=5) if use_tpe else None
    from hyperopt import Trials
    from hyperopt.exceptions import AllTrialsFailed

    trials = Trials()
    # fmin ends by computing the argmin, which raises when no loss is usable
    with contextlib.suppress(AllTrialsFailed):
        run_fmin(
            _objective(fail_every, nan_at, inf_at, raise_every),
            _space(kinds),
            n,
            seed=seed,
            algo=algo,
            catch_eval_exceptions=True,
            trials=trials,
        )
    import pickle

    path = tmp_path / f"t{seed}.p"
    path.write_bytes(pickle.dumps(trials))
    study = load_study(path)
    summary = summarize(study)

    visible = study.visible_to_hyperopt()
    assert all(_same(a, b) for a, b in zip([t.loss for t in visible], trials.losses(), strict=True))
    assert [t.status for t in visible] == trials.statuses()
    assert summary.n_trials == len(trials._dynamic_trials)
    names = {0: "new", 1: "running", 2: "done", 3: "error", 4: "cancel"}
    for code in JOB_STATES:
        expected = sum(1 for d in trials._dynamic_trials if d["state"] == code)
        assert summary.counts["by_state"].get(names[code], 0) == expected
    for label, values in trials.vals.items():
        assert [t.params[label] for t in visible if t.params[label] is not None] == values

    finite_ok = [
        r["loss"] for r in trials.results if r["status"] == "ok" and math.isfinite(r["loss"])
    ]
    assert summary.losses_sorted == sorted(finite_ok)
    if finite_ok:
        assert summary.best.tid == trials.best_trial["tid"]
        assert summary.best.loss == trials.best_trial["result"]["loss"]
    else:
        assert summary.best is None
    non_finite = [
        d["tid"] for d in trials._dynamic_trials if not math.isfinite(d["result"].get("loss", 0.0))
    ]
    assert summary.non_finite == non_finite


def test_heart_sample_summary():
    study = load_study(SAMPLES / "heart.p")
    s = summarize(study, top=5)
    assert s.n_trials == 100
    assert s.counts == {"by_state": {"done": 100}, "by_status": {"ok": 100}}
    assert len(s.top) == 5 and len(s.losses_sorted) == 100
    assert s.losses_sorted == sorted(s.losses_sorted)
    assert s.best.loss == s.losses_sorted[0] == s.best_so_far[-1][1]
    # The blog's heart is minimised at the corners of the box, not at (0, 0).
    assert all(abs(v) > 1.8 for v in s.best.params.values())
    # The trials say which sampler ran (the file does not): TPE, start-up near its default 20.
    assert s.sampler["kind"] == "tpe" and 15 <= s.sampler["n_startup"] <= 25
    assert any("look like TPE and the start-up looks like" in note for note in s.notes)


def test_best_so_far_steps_strictly_down():
    s = summarize(load_study(SAMPLES / "qlearn.p"))
    losses = [loss for _, loss in s.best_so_far]
    tids = [tid for tid, _ in s.best_so_far]
    assert losses == sorted(losses, reverse=True) and len(set(losses)) == len(losses)
    assert tids == sorted(tids)


def test_failures_sample_summary():
    s = summarize(load_study(SAMPLES / "failures.p"))
    reasons = {g.reason: len(g.tids) for g in s.failures}
    assert reasons["error: FloatingPointError: rmsprop diverged (loss exploded)"] >= 1
    assert any(r.startswith("status fail: out of memory") for r in reasons)
    assert len(s.non_finite) == 2
    assert s.placeholders[0]["class"] == "custommod.EvalRecord"
    assert any("NaN loss" in note for note in s.notes)


def test_duplicates_and_startup_only(write_pickle):
    from hyperopt import hp

    space = hp.choice("c", [0, 1])
    trials = run_fmin(lambda c: float(c), space, 6, seed=3)
    s = summarize(load_study(write_pickle(trials)))
    tids_by_c = {}
    for t in trials.trials:
        tids_by_c.setdefault(t["misc"]["vals"]["c"][0], []).append(t["tid"])
    assert sorted(s.duplicates) == sorted(v for v in tids_by_c.values() if len(v) > 1)
    assert any("all 6 trials fall within TPE's random start-up" in n for n in s.notes)


@pytest.mark.parametrize("top", [0, 3])
def test_top_k(top):
    s = summarize(load_study(SAMPLES / "heart.p"), top=top)
    assert len(s.top) == top


def test_duplicate_groups_big_study_path_equals_the_simple_one(write_pickle):
    """Over 1000 trials duplicates are found with numpy; both ways must agree."""
    import numpy as np
    from hyperopt import JOB_STATE_DONE, Trials

    rng = np.random.default_rng(0)
    trials = Trials()
    n = 1500
    tids = trials.new_trial_ids(n)
    a = rng.integers(0, 6, n)
    b = np.round(rng.uniform(0, 1, n), 1)
    miscs = [
        {
            "tid": tid,
            "cmd": None,
            "workdir": None,
            "idxs": {"a": [tid], "b": [tid] if a[i] else []},
            "vals": {"a": [a[i]], "b": [b[i]] if a[i] else []},  # b inactive when a == 0
        }
        for i, tid in enumerate(tids)
    ]
    results = [{"loss": float(i), "status": "ok"} for i in range(n)]
    docs = trials.new_trial_docs(tids, [None] * n, results, miscs)
    for doc in docs:
        doc["state"] = JOB_STATE_DONE
    trials.insert_trial_docs(docs)
    trials.refresh()
    study = load_study(write_pickle(trials))
    fast = sorted(sorted(g) for g in study._find_duplicates_numpy(study._matrix))
    groups: dict = {}
    for t in study.trials:
        groups.setdefault(tuple(map(t.params.get, study.labels)), []).append(t.tid)
    slow = sorted(sorted(g) for g in groups.values() if len(g) > 1)
    assert fast == slow and len(fast) == 1 + 5 * 11  # a=0 (b inactive) + 5 x 11 values of b


def test_a_long_finding_is_cut_after_a_clause_never_inside_a_number():
    from hopt_inspect.render.terminal import _brief

    text = "x" * 200 + " beat the median 73.91; random search would need about 20 trials"
    text += " (90% interval 5 to 325); more words follow here and there" * 3
    short = _brief(text, 300)
    assert len(short) <= 302 and short.endswith(" …")
    assert "5 to 3 …" not in short and "5 to 3…" not in short
    assert short[:-2].endswith((".", ";", ":", ",")) or short[:-2].split()[-1].isalpha()
    assert _brief("short", 300) == "short"
