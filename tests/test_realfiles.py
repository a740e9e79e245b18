"""Study files made the way public repositories made them (fixtures/realfiles, see its README).

Each file is checked against what hyperopt itself reads from it (plain pickle + the Trials
API), and the tool's words against what the file holds.
"""

from __future__ import annotations

import json
import math
import pickle
import pickletools
from pathlib import Path

import pytest
from conftest import run_cli, run_fmin

from hopt_inspect.errors import InputError
from hopt_inspect.loading import SeveralStudiesError, load_study
from hopt_inspect.summary import summarize

HERE = Path(__file__).resolve().parent
REAL = HERE / "fixtures" / "realfiles"
INTEROP = HERE / "fixtures" / "interop"
LEGACY = HERE / "fixtures" / "legacy"


def real_load(path: Path):
    """What hyperopt users get: plain pickle (runs code; our own fixtures only)."""
    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


def expected(name: str) -> dict:
    """What hyperopt's Trials API said when the file was written (today's dill cannot read
    the files old dill wrote, and plain pickle needs dill installed for any of them)."""
    return json.loads((REAL / "expected.json").read_text())[name]


def losses(study) -> list[float | None]:
    return [t.loss for t in study.trials if t.state in ("new", "running", "done")]


def hyperopt_losses(trials) -> list[float | None]:
    return [None if x is None else float(x) for x in trials.losses()]


# --------------------------------------------------------------------------- 1: containers


def test_dict_of_studies_is_listed_in_a_bounded_one_line_error():
    with pytest.raises(SeveralStudiesError) as info:
        load_study(REAL / "dict_of_trials.p")
    message = str(info.value)
    assert "holds 12 studies: logreg_none (3 trials), logreg_l2 (4 trials)" in message
    assert "… and 4 more" in message and "--study KEY (e.g. --study logreg_none" in message
    assert "\n" not in message
    done = run_cli("check", REAL / "dict_of_trials.p")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "holds 12 studies" in done.stderr and "Traceback" not in done.stderr


def test_hundreds_of_studies_stay_one_short_line(tmp_path):
    trials = real_load(REAL / "dict_of_trials.p")["lgbm"]
    path = tmp_path / "many.p"
    path.write_bytes(pickle.dumps({f"model_{i:03d}": trials for i in range(300)}))
    with pytest.raises(SeveralStudiesError) as info:
        load_study(path)
    assert "holds 300 studies" in str(info.value) and "… and 292 more" in str(info.value)
    assert len(str(info.value)) < 600


def test_summary_lists_the_studies_of_a_dict_as_hyperopt_sees_them():
    real = real_load(REAL / "dict_of_trials.p")
    done = run_cli("summary", REAL / "dict_of_trials.p", "--json")
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    assert listing["schema"] == "hopt-inspect/studies/1"
    assert [s["key"] for s in listing["studies"]] == list(real)
    for entry in listing["studies"]:
        trials = real[entry["key"]]
        assert entry["n_trials"] == len(trials.trials)
        assert entry["best_loss"] == trials.best_trial["result"]["loss"]
        assert entry["best_tid"] == trials.best_trial["tid"]
    text = " ".join(run_cli("summary", REAL / "dict_of_trials.p").stdout.split())
    assert "xgb_wc" in text and "mlp" in text and "--study logreg_none" in text


@pytest.mark.parametrize(
    ("name", "key", "pick", "held"),
    [
        ("dict_of_trials.p", "xgb_wc", lambda o: o["xgb_wc"], "dict entry 'xgb_wc' holding"),
        ("nested_dict_of_trials.p", "cv/fold1", lambda o: o["cv"]["fold1"], "'cv/fold1'"),
        ("list_of_trials.p", "3", lambda o: o[3], "list item 3 holding Trials"),
    ],
)
def test_study_option_selects_by_key_path_or_index(name, key, pick, held):
    trials = pick(real_load(REAL / name))
    study = load_study(REAL / name, study_name=key)
    assert losses(study) == hyperopt_losses(trials)
    assert [t.tid for t in study.trials] == trials.tids
    assert held in study.source.container
    done = run_cli("summary", REAL / name, "--study", key)
    assert done.returncode == 0 and held in " ".join(done.stdout.split())


def test_one_study_inside_a_dict_is_found_without_study_option():
    real = real_load(REAL / "dict_one_study_inside.p")
    study = load_study(REAL / "dict_one_study_inside.p")  # 'trials' is None there
    assert losses(study) == hyperopt_losses(real["model"]["study"])
    assert "dict entry 'model/study' holding Trials" in study.source.container


@pytest.mark.parametrize(
    ("name", "key", "words"),
    [
        ("dict_of_trials.p", "nope", "no study there"),
        ("nested_dict_of_trials.p", "meta", "a dict with keys 'seed', 'n_folds' there"),
        ("list_of_trials.p", "9", "no study there"),
        ("many_dists.p", "1", "holds one study, not several; drop --study"),
        ("results_list.json", "x", "holds one study, not several"),
    ],
)
def test_study_option_errors_say_what_is_there(name, key, words):
    with pytest.raises(InputError, match=words):
        load_study(REAL / name, study_name=key)


# --------------------------------------------------------------------------- 2: unfinished


def test_unfinished_trials_have_no_duration():
    real = real_load(REAL / "interrupted.p")
    finished = [d for d in real._dynamic_trials if d["state"] in (2, 3)]
    unfinished = [d for d in real._dynamic_trials if d["state"] not in (2, 3)]
    assert unfinished and all(d["book_time"] == d["refresh_time"] for d in unfinished)
    s = summarize(load_study(REAL / "interrupted.p"))
    assert s.durations.n == len(finished) and s.durations.n_unfinished == len(unfinished)
    expected = sum((d["refresh_time"] - d["book_time"]).total_seconds() for d in finished)
    assert s.durations.total_s == pytest.approx(expected)
    out = " ".join(run_cli("summary", REAL / "interrupted.p").stdout.split())
    assert f"({len(finished)} finished)" in out and "1 trial never finished" in out


def test_a_study_where_no_trial_finished_says_so():
    s = summarize(load_study(REAL / "interrupted_at_start.p"))
    assert s.durations.n == 0 and s.durations.median_s is None and s.durations.n_unfinished == 3
    out = " ".join(run_cli("summary", REAL / "interrupted_at_start.p").stdout.split())
    assert "no trial finished; 3 trials never finished" in out and "median 0 ms" not in out


# --------------------------------------------------------------------------- 3: failure keys


def test_failure_reasons_are_read_from_the_keys_objectives_use():
    real = real_load(REAL / "fail_reasons.p")
    s = summarize(load_study(REAL / "fail_reasons.p"))
    by_reason = {g.reason: g.tids for g in s.failures}
    for doc in real.trials:
        r = doc["result"]
        if r["status"] != "fail":
            continue
        if "exception" in r:
            reason = r["exception"]
        elif "traceback" in r:
            reason = r["traceback"].strip().splitlines()[-1]
            assert reason == "MemoryError: CUDA out of memory"
        elif "error_msg" in r or "msg" in r:
            reason = r.get("error_msg") or r["msg"]
        else:  # an unknown key, the only text one: shown with its name
            reason = f"{r['note']} (result['note'])"
        assert doc["tid"] in by_reason[f"status fail: {reason}"]
    assert "status fail" not in by_reason  # none without a reason
    out = " ".join(run_cli("summary", REAL / "fail_reasons.p").stdout.split())
    assert f"+{len(s.failures) - 5} more reasons (--json lists all)" in out


# --------------------------------------------------------------------------- 4: writer hints


def _hints(path: Path, **kwargs) -> str:
    return " | ".join(load_study(path, **kwargs).source.writer_hints)


def test_plain_numbers_hint_names_pymongo_not_a_version():
    trials = real_load(REAL / "hyperopt0.2.5_pymongo_p3.p")
    assert type(trials.trials[0]["misc"]["vals"]["x"][0]) is float  # SONify ran (bson imported)
    hints = _hints(REAL / "hyperopt0.2.5_pymongo_p3.p")
    assert "pymongo's bson" in hints and "0.1.x" not in hints


def test_ray_checkpoint_is_not_called_an_fmin_save_file():
    hints = _hints(INTEROP / "ray_searcher_state_min.pkl")
    assert "Ray's bundled cloudpickle" in hints and "trials_save_file" not in hints


@pytest.mark.parametrize(
    "name",
    ["py2_hyperopt0.1.2_p0.p", "py2_hyperopt0.1.2_numpy_p0.p", "py2_hyperopt0.1.2_dill0.2.9_p0.p"],
)
def test_python2_pickles_show_protocol_0_and_python_2(name):
    study = load_study(REAL / name)
    assert study.source.protocol == 0
    assert "written by Python 2" in _hints(REAL / name)
    assert losses(study) == expected(name)["losses"]
    assert [t.tid for t in study.trials] == expected(name)["tids"]
    assert not study.placeholders


def test_a_python3_protocol_0_pickle_is_not_called_python_2():
    """Python 3 writes __builtin__ / copy_reg names at protocol 0 too: not proof of Python 2."""
    path = LEGACY / "trials_hyperopt0.1.2_numpy1.26.4_p0.p"
    assert load_study(path).source.protocol == 0
    assert "Python 2" not in _hints(path)


def test_protocol_5_trials_lists_the_writers_it_fits():
    hints = _hints(LEGACY / "trials_save_file_hyperopt0.3.0_numpy2.4.6.p")
    assert "protocol 5: cloudpickle's default" in hints and "protocol=5" in hints


# --------------------------------------------------------------------------- 5: dill


@pytest.mark.parametrize(
    "name", ["dill0.2.7.1_hyperopt0.2.5.p", "dill0.4.1_p3.p", "py2_hyperopt0.1.2_dill0.2.9_p0.p"]
)
def test_dill_pickles_load_fully_through_the_allow_list(name):
    data = (REAL / name).read_bytes()
    names = {arg for op, arg, _ in _ops(data) if op.name == "GLOBAL"}
    assert names & {"dill.dill _load_type", "dill._dill _load_type"}  # made the dill way
    study = load_study(REAL / name, strict=True)  # nothing outside the allow-list
    assert not study.placeholders
    assert "dill wrote parts of it" in " ".join(study.source.writer_hints)
    assert losses(study) == expected(name)["losses"]
    assert [t.tid for t in study.trials] == expected(name)["tids"]


def _ops(data: bytes):
    try:
        yield from pickletools.genops(data)
    except Exception:  # Python 2 byte strings stop pickletools; the names come first anyway
        return


def _dill_type_pickle(type_name: str) -> bytes:
    """dill's spelling of a builtin type at protocol 2: _load_type(name)()."""
    name = type_name.encode()
    return (
        b"\x80\x02cdill._dill\n_load_type\nX" + len(name).to_bytes(4, "little") + name + b"\x85R)R."
    )


def test_dill_types_outside_the_data_table_stay_placeholders(tmp_path):
    from hopt_inspect.loading.safe_pickle import BlockedGlobalError, safe_loads

    assert safe_loads(_dill_type_pickle("set")).obj == set()
    loaded = safe_loads(_dill_type_pickle("CodeType"))
    assert "dill._dill._load_type('CodeType')" in loaded.placeholder_counts
    with pytest.raises(BlockedGlobalError):
        safe_loads(_dill_type_pickle("FunctionType"), strict=True)


# --------------------------------------------------------------------------- 6: other objects


def test_a_pickled_dataframe_is_named_as_such():
    with pytest.raises(InputError) as info:
        load_study(REAL / "results_dataframe.p")
    message = str(info.value)
    assert "holds a pandas DataFrame, not a hyperopt study" in message
    assert "dtype" not in message and "orient='records'" in message


def test_results_list_json_reads_as_a_study():
    real = json.loads((REAL / "results_list.json").read_text())
    study = load_study(REAL / "results_list.json")
    assert [t.loss for t in study.trials] == [r["loss"] for r in real]
    assert [t.tid for t in study.trials] == list(range(len(real)))
    assert study.trials[0].params["lr"] == real[0]["params"]["opt"]["lr"]
    assert "act" not in study.labels  # choices stored as text, not hyperopt's index
    assert "no tids or times" in study.source.container
    assert any("'act' hold text" in w for w in study.source.warnings)


def test_dataframe_records_and_pickled_results_read_as_a_study(tmp_path):
    pd = pytest.importorskip("pandas")
    real = json.loads((REAL / "results_list.json").read_text())
    pd.DataFrame(real).to_json(tmp_path / "df.json", orient="records")  # what the error says
    df_losses = [t.loss for t in load_study(tmp_path / "df.json").trials]
    assert df_losses == pytest.approx([r["loss"] for r in real], abs=1e-10)  # 10 decimals
    (tmp_path / "results.p").write_bytes(pickle.dumps(real))
    study = load_study(tmp_path / "results.p")
    assert [t.loss for t in study.trials] == [r["loss"] for r in real]


# --------------------------------------------------------------------------- 8: wording


def _objective_with_inf(p):
    return {"loss": math.inf if p["x"] > 1.5 else (p["x"] - 0.5) ** 2, "status": "ok"}


def test_plurals_and_signed_infinities(tmp_path):
    from hyperopt import hp

    one = run_fmin(lambda p: (p["x"] - 0.5) ** 2, {"x": hp.uniform("x", -2, 2)}, 1)
    (tmp_path / "one.p").write_bytes(pickle.dumps(one))
    out = " ".join(run_cli("summary", tmp_path / "one.p").stdout.split())
    assert "1 trial: 1 done" in out and "1 improvement:" in out and "1 finite ok loss " in out
    assert "1 trials" not in out and "1 improvements" not in out
    trials = run_fmin(_objective_with_inf, {"x": hp.uniform("x", -2, 2)}, 40, seed=2)
    (tmp_path / "inf.p").write_bytes(pickle.dumps(trials))
    inf_tids = [d["tid"] for d in trials.trials if d["result"]["loss"] == math.inf]
    check = run_cli("check", tmp_path / "inf.p", "--json")
    f002 = next(f for f in json.loads(check.stdout)["findings"] if f["code"] == "F002")
    assert f"+inf in tids {inf_tids[0]}" in f002["message"] and "±" not in f002["message"]


def test_inferred_choices_are_not_shown_twice(tmp_path):
    from hopt_inspect.space import infer_space

    study = load_study(LEGACY / "trials_hyperopt0.3.0_numpy2.4.6_p5.p")
    s = summarize(study, space=infer_space(study.observed_values()))
    assert s.best_display == {}  # no "1 (1)": inferred choices know no option texts


def test_lpdf_title_fits_for_long_file_names():
    from hyperopt import hp

    from hopt_inspect.render import plots
    from hopt_inspect.resolve import space_from_hp
    from hopt_inspect.tpe import tpe_curves

    study = load_study(LEGACY / "trials_hyperopt0.3.0_numpy2.4.6_p5.p")  # x ~ uniform(-2, 2)
    space = space_from_hp({"x": hp.uniform("x", -2, 2)}, source="/" + "deep/" * 30 + "tuner.py:sp")
    result = tpe_curves(study, space, "x", at=[25], grid=40)
    long_name = "hyperopt_trials_" + "very_long_experiment_name_" * 6 + "final.p"
    fig = plots.build_figure("lpdf", result, long_name, 25)
    title = fig._suptitle.get_text()
    assert all(len(line) <= 105 for line in title.splitlines())
    assert "hyperopt_trials_very" in title and "final.p" in title and "…" in title


def test_a_refresh_before_its_booking_is_no_duration(tmp_path):
    """A skewed clock (or a made-up file): no negative span in the durations."""
    import pickle
    from datetime import timedelta

    real = real_load(REAL / "interrupted.p")
    docs = [d for d in real._dynamic_trials if d["state"] == 2]
    assert len(docs) >= 2
    docs[0]["refresh_time"] = docs[0]["book_time"] - timedelta(days=3650)
    path = tmp_path / "skewed.p"
    path.write_bytes(pickle.dumps(real))
    s = summarize(load_study(path))
    assert s.durations.n == len(docs) - 1 and s.durations.min_s >= 0
    out = " ".join(run_cli("summary", path).stdout.split())
    per_trial = out.split("per trial:", 1)[1].split("finished)", 1)[0]
    assert "-" not in per_trial and f"({len(docs) - 1} finished)" in out
