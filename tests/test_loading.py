"""The loader reads every kind of file users have, to the numbers hyperopt itself reports."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import pickle
import sys

import pytest
from conftest import LEGACY, SAMPLES, mixed_objective, mixed_space, run_fmin, write_by_value_study

from hopt_inspect.errors import InputError
from hopt_inspect.loading import load_study

LEGACY_FILES = sorted(LEGACY.glob("*.p"))


def _expected_for(path):
    tag = path.name.split("trials_save_file_")[-1].split("trials_")[-1]
    tag = tag.rsplit("_p", 1)[0] if "_p" in tag.rsplit("numpy", 1)[-1] else tag[: -len(".p")]
    return json.loads((LEGACY / f"expected_{tag}.json").read_text())


def test_legacy_fixtures_exist():
    assert len(LEGACY_FILES) >= 8


@pytest.mark.parametrize("path", LEGACY_FILES, ids=lambda p: p.name)
def test_legacy_files_load_to_hyperopts_numbers(path):
    """Files written by hyperopt 0.1.2, 0.2.7, 0.3.0 under numpy 1 and 2, protocols 0-5."""
    expected = _expected_for(path)
    study = load_study(path)
    assert study.n_trials == expected["n_dynamic_trials"]
    visible = study.visible_to_hyperopt()
    assert [t.tid for t in visible] == expected["tids"]
    assert [t.loss for t in visible] == expected["losses"]
    assert [t.status for t in visible] == expected["statuses"]
    best = study.best()
    assert (best.tid, best.loss) == (expected["best_trial"]["tid"], expected["best_trial"]["loss"])
    for label, values in expected["vals"].items():
        assert [t.params[label] for t in visible] == values
    errors = [t for t in study.trials if t.state == "error"]
    assert [t.tid for t in errors] == [e["tid"] for e in expected["error_trials"]]
    assert errors[0].error == "ValueError: deliberate failure at evaluation 10"
    assert study.placeholders == {}
    assert study.source.protocol == expected["files"][path.name]["protocol"]


def test_loading_never_imports_hyperopt(tmp_path):
    code = (
        "import sys; from hopt_inspect.loading import load_study;"
        f"s = load_study({str(SAMPLES / 'qlearn.p')!r});"
        "assert s.n_trials == 200;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('hyperopt', 'numpy')))"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _hyperopt_view(trials):
    return [t["result"].get("loss") for t in trials.trials], trials.best_trial["tid"]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_protocol(mixed_trials, write_pickle, protocol):
    path = write_pickle(mixed_trials, protocol=protocol)
    study = load_study(path)
    losses, best_tid = _hyperopt_view(mixed_trials)
    assert [t.loss for t in study.visible_to_hyperopt()] == losses
    assert study.best().tid == best_tid
    assert study.source.protocol == protocol


@pytest.mark.parametrize(
    ("opener", "name"), [(gzip.compress, "gzip"), (bz2.compress, "bz2"), (lzma.compress, "xz")]
)
def test_compression_is_sniffed_not_named(mixed_trials, tmp_path, opener, name):
    path = tmp_path / "trials.p"  # no .gz suffix: the content says what it is
    path.write_bytes(opener(pickle.dumps(mixed_trials)))
    study = load_study(path)
    assert study.source.compression == name
    assert study.n_trials == len(mixed_trials._dynamic_trials)


def test_trials_save_file_output(tmp_path):
    """fmin(trials_save_file=...) writes with cloudpickle after every evaluation."""
    import numpy as np
    from hyperopt import Trials, fmin, rand

    path = tmp_path / "save.p"
    trials = Trials()
    fmin(
        mixed_objective,
        mixed_space(),
        algo=rand.suggest,
        max_evals=8,
        trials=trials,
        rstate=np.random.default_rng(1),
        show_progressbar=False,
        trials_save_file=str(path),
        catch_eval_exceptions=True,
    )
    study = load_study(path)
    assert [t.loss for t in study.visible_to_hyperopt()] == trials.losses()
    assert study.source.protocol == 5


def test_dict_holding_trials_and_space(mixed_trials, write_pickle):
    path = write_pickle({"trials": mixed_trials, "space": None, "note": "x"})
    study = load_study(path)
    assert study.source.container.startswith("dict['trials']")
    assert study.n_trials == len(mixed_trials._dynamic_trials)


def test_bare_list_of_docs(mixed_trials, write_pickle):
    path = write_pickle(list(mixed_trials._dynamic_trials))
    study = load_study(path)
    assert study.source.container == "list of trial documents"
    assert [t.loss for t in study.visible_to_hyperopt()] == mixed_trials.losses()


def test_trials_from_docs_export(mixed_trials, write_pickle):
    from hyperopt.base import trials_from_docs

    exported = trials_from_docs(mixed_trials.trials)
    study = load_study(write_pickle(exported))
    assert study.n_trials == len(mixed_trials.trials)


def test_json_list_of_documents(mixed_trials, tmp_path):
    docs = []
    for doc in mixed_trials._dynamic_trials:
        d = json.loads(
            json.dumps(
                doc, default=lambda o: o.isoformat() if hasattr(o, "isoformat") else float(o)
            )
        )
        docs.append(d)
    path = tmp_path / "trials.json"
    path.write_text(json.dumps(docs))
    study = load_study(path)
    assert study.source.format == "json"
    assert [t.loss for t in study.visible_to_hyperopt()] == mixed_trials.losses()
    assert study.trials[0].book_time == mixed_trials._dynamic_trials[0]["book_time"]


def test_mongo_extended_json_lines(tmp_path):
    line = {
        "_id": {"$oid": "5f1d7c0c9b1e8a3c4d5e6f70"},
        "tid": {"$numberInt": "4"},
        "state": 2,
        "result": {"loss": {"$numberDouble": "NaN"}, "status": "ok"},
        "misc": {"tid": 4, "vals": {"x": [{"$numberDouble": "0.5"}]}, "idxs": {"x": [4]}},
        "book_time": {"$date": "2024-01-02T03:04:05.000Z"},
        "refresh_time": {"$date": {"$numberLong": "1704164646000"}},
    }
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps(line) + "\n" + json.dumps({**line, "tid": 5}) + "\n")
    study = load_study(path)
    assert [t.tid for t in study.trials] == [4, 5]
    assert study.trials[0].params == {"x": 0.5}
    assert study.trials[0].has_non_finite_loss
    assert study.trials[0].duration == 1.0


def test_placeholders_are_counted_and_inert(tmp_path):
    """failures.p holds custommod.EvalRecord objects; custommod is not importable here."""
    study = load_study(SAMPLES / "failures.p")
    n_ok = sum(1 for t in study.trials if t.status == "ok" and "model" in t.extra)
    assert study.placeholders == {"custommod.EvalRecord": n_ok}
    assert "custommod" not in sys.modules
    first = next(t for t in study.trials if "model" in t.extra)
    assert first.extra["model"] == "<custommod.EvalRecord>"
    assert isinstance(first.extra["history"], list)


def test_strict_refuses_placeholders():
    with pytest.raises(InputError, match=r"custommod\.EvalRecord.*--strict"):
        load_study(SAMPLES / "failures.p", strict=True)


def test_trust_uses_plain_pickle(monkeypatch):
    monkeypatch.syspath_prepend(str(SAMPLES))
    study = load_study(SAMPLES / "failures.p", trust=True)
    assert study.placeholders == {}
    assert study.source.trusted
    model = next(t.extra["model"] for t in study.trials if "model" in t.extra)
    assert model.startswith("<custommod.EvalRecord")


def test_numpy_array_in_result_is_rebuilt(write_pickle):
    import numpy as np

    trials = run_fmin(
        lambda x: {"loss": float(x), "status": "ok", "curve": np.arange(6.0).reshape(2, 3)},
        mixed_space()["x"],
        3,
    )
    study = load_study(write_pickle(trials))
    assert study.trials[0].extra["curve"] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    study5 = load_study(write_pickle(trials, name="p5.p", protocol=5))
    assert study5.trials[0].extra["curve"] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n0000", "PNG image"),
        (b"hello world, not a pickle", "not a pickle or JSON"),
        (pickle.dumps({"a": 1, "b": 2}), "holds a dict with keys 'a', 'b'"),
        (pickle.dumps(42), "holds a int object, not a hyperopt study"),
        (b"[1, 2, 3]", "JSON that is not a list of hyperopt trial documents"),
    ],
)
def test_bad_inputs_say_what_they_are(tmp_path, content, message):
    path = tmp_path / "bad.p"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        load_study(path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_truncated_file_says_it_may_be_written(mixed_trials, tmp_path):
    data = pickle.dumps(mixed_trials)
    for cut in (3, len(data) // 3, len(data) // 2, len(data) - 1):
        path = tmp_path / f"cut{cut}.p"
        path.write_bytes(data[:cut])
        with pytest.raises(InputError, match="incomplete"):
            load_study(path)
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(data)[:-20])
    with pytest.raises(InputError, match="incomplete"):
        load_study(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_study(tmp_path / "nope.p")


def test_trailing_bytes_are_reported(mixed_trials, tmp_path):
    path = tmp_path / "t.p"
    path.write_bytes(pickle.dumps(mixed_trials) + b"garbage")
    study = load_study(path)
    assert any("7 bytes follow" in w for w in study.source.warnings)


def test_cloudpickle_by_value_classes_load_as_placeholders(tmp_path):
    """A result holding an object of a class defined in __main__: cloudpickle pickles the
    class by value (a factory call, then NEWOBJ on its result)."""

    path = tmp_path / "byvalue.p"
    write_by_value_study(path)
    study = load_study(path)
    assert study.n_trials == 4 and all(t.loss is not None for t in study.trials)
    assert study.placeholders["Local (a class cloudpickled by value)"] == 4
    assert study.trials[0].extra["obj"] == "<Local (a class cloudpickled by value)>"


def test_tripwire_stops_unrestricted_unpickling_during_a_safe_load():
    from hopt_inspect.loading.safe_pickle import (
        UnsafePickleError,
        _guarded,
        _install_tripwire,
    )

    _install_tripwire()
    payload = pickle.dumps(__import__("collections").Counter("ab"))
    with pytest.raises(UnsafePickleError, match="unrestricted unpickling"), _guarded():
        pickle.loads(payload)
    assert pickle.loads(payload)["a"] == 1  # outside a safe load, pickle works as usual
