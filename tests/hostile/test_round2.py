"""Hostile input, round 2 (issue #14): one regression test per class of attack.

The files come from the round-2 generators of ``make_hostile.py`` and are written into
a temporary folder; every case must end in ``InputError`` (one line) or a correct,
escaped output within seconds, and nothing the tool reads may change.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path

import pytest

from hopt_inspect.errors import InputError
from hopt_inspect.loading import load_study

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_hostile as mh


class TookTooLong(BaseException):  # not an Exception: no handler may turn it into a message
    pass


@contextlib.contextmanager
def within(seconds: float):
    """Fail (instead of hanging the suite) when the block runs longer than ``seconds``."""

    def alarm(_signum, _frame):
        raise TookTooLong(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def refused(path: Path, seconds: float = 5, **kwargs) -> str:
    """The one-line InputError that loading ``path`` must raise, quickly."""
    with within(seconds), pytest.raises(InputError) as info:
        load_study(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "still running after" not in message
    return message


# --------------------------------------------------------------------------- 1. BSON


@pytest.mark.parametrize("i", range(len(mh.bson_bogus_lengths())))
def test_bson_bogus_lengths_end_in_one_line(tmp_path, i):
    path = tmp_path / "jobs.bson"
    path.write_bytes(mh.bson_bogus_lengths()[i])
    try:
        with within(5):
            load_study(path)
    except InputError as exc:
        assert "\n" not in str(exc)


def test_bson_negative_binary_length_is_refused(tmp_path):
    for data in (mh.bson_negative_binary(), mh.bson_negative_binary_in_array()):
        path = tmp_path / "jobs.bson"
        path.write_bytes(data)
        assert len(data) <= 30
        refused(path)


# --------------------------------------------------------------------------- 2. SQLite


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_optuna_path_is_not_pasted_into_a_uri(tmp_path):
    """'decoy.db#' used to open 'decoy.db'; 'x.db?mode=rwc&y=' used to create 'x.db'."""
    mh.optuna_storage(tmp_path / "decoy.db", name="decoy")
    mh.optuna_storage(tmp_path / "real.db#", name="real")
    mh.optuna_storage(tmp_path / "other.db?mode=rwc&x=", name="mine")
    before = _snapshot(tmp_path)
    study = load_study(tmp_path / "real.db#")
    assert "'real'" in study.source.container
    study = load_study(tmp_path / "other.db?mode=rwc&x=")
    assert "'mine'" in study.source.container
    assert _snapshot(tmp_path) == before  # nothing created, nothing changed


def test_optuna_leftover_wal_is_read_but_never_touched(tmp_path):
    path, writer = mh.optuna_with_leftover_wal(tmp_path)
    try:
        assert (tmp_path / "victim.db-wal").stat().st_size > 0
        before = _snapshot(tmp_path)
        study = load_study(path)
        assert _snapshot(tmp_path) == before  # no checkpoint, the WAL is still there
        assert study.n_trials == 3  # the trial that only the WAL holds is read too
    finally:
        writer.close()


def test_optuna_wal_mode_file_creates_no_side_files(tmp_path):
    path, writer = mh.optuna_with_leftover_wal(tmp_path)
    writer.close()  # a clean close checkpoints and removes the WAL: a WAL-mode file alone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim.db"]
    before = _snapshot(tmp_path)
    assert load_study(path).n_trials == 3
    assert _snapshot(tmp_path) == before


def test_optuna_endless_view_stops_in_seconds(tmp_path, monkeypatch):
    from hopt_inspect.loading import optuna_db

    monkeypatch.setattr(optuna_db, "QUERY_SECONDS", 1.0)
    path = mh.optuna_storage(tmp_path / "loop.db", sql=mh.ENDLESS_STUDIES)
    assert "took over 1 s" in refused(path, seconds=10)


def test_optuna_cross_product_is_refused(tmp_path):
    path = mh.optuna_storage(tmp_path / "cross.db", n_trials=300, sql=mh.CROSS_PARAMS)
    assert "more than 1,000 parameter names" in refused(path, seconds=10)


@pytest.mark.parametrize("i", range(len(mh.optuna_bad_distributions())))
def test_optuna_bad_distribution_json(tmp_path, i):
    path = mh.optuna_storage(tmp_path / "bad.db", n_trials=1)
    import sqlite3

    con = sqlite3.connect(path)
    con.execute(
        "UPDATE trial_params SET distribution_json = ?", (mh.optuna_bad_distributions()[i],)
    )
    con.commit()
    con.close()
    assert "distribution_json" in refused(path)


# --------------------------------------------------------------------------- 3-5, 8. text


@pytest.fixture(scope="module")
def text_study(tmp_path_factory):
    """A real fmin study with hostile labels and failure messages, pickled."""
    import pickle

    path = tmp_path_factory.mktemp("text") / "trials.p"
    path.write_bytes(pickle.dumps(mh.hostile_text_trials()))
    return path


def _cli(*args, color=False, columns=80):
    import os

    from conftest import run_cli

    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["COLUMNS"] = str(columns)
    if color:
        env["FORCE_COLOR"] = "1"
        env["TERM"] = "xterm-256color"
    out = run_cli(*args, env=env)
    assert out.returncode in (0, 1), out.stderr[-800:]
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr, out.stderr
    return out.stdout


def _no_terminal_escapes(text: str, colors_allowed: bool = False) -> None:
    import re

    if colors_allowed:  # rich's own SGR colour codes, nothing else
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    bad = re.findall(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)
    assert not bad, sorted(set(bad))


def _no_workflow_command(text: str) -> None:
    for line in text.splitlines():
        assert not line.lstrip().startswith(("::", "##[")), line


@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("command", ["summary", "check"])
def test_text_outputs_are_literal_and_escaped(text_study, command, columns):
    """Markup in labels and messages: no MarkupError, no OSC 8 link, no concealed text,
    no escape sequence from the file, no workflow command wherever wrapping lands."""
    out = _cli(command, text_study, color=True, columns=columns)
    assert "\x1b]8" not in out  # an OSC 8 hyperlink
    assert "\x1b[8m" not in out  # [conceal]
    _no_terminal_escapes(out, colors_allowed=True)
    _no_workflow_command(out)
    plain = _cli(command, text_study, columns=columns)
    _no_terminal_escapes(plain)
    _no_workflow_command(plain)
    if command == "summary":
        assert "[/x]" in plain and "[conceal]secret[/conceal]" in plain
    else:
        assert "\\x1b]8;;https://evil" in plain  # shown, escaped


def test_check_github_and_junit_outputs(text_study, tmp_path):
    import xml.etree.ElementTree as ET

    out = _cli("check", text_study, "--format", "github")
    _no_terminal_escapes(out)
    for line in out.splitlines()[:-1]:
        assert line.startswith(("::warning file=", "::error file=", "::notice file="))
    junit = tmp_path / "junit.xml"
    _cli("check", text_study, "--format", "junit", "-o", junit)
    ET.fromstring(junit.read_bytes())  # well-formed
    _no_terminal_escapes(junit.read_text().replace("\n", " "))


def test_export_escapes_controls_and_defuses_formulas(text_study):
    import csv
    import io
    import json

    out = _cli("export", text_study, "--format", "csv")
    _no_terminal_escapes(out)
    _no_workflow_command(out)
    rows = list(csv.reader(io.StringIO(out)))
    header, body = rows[0], rows[1:]
    cells = header + [c for row in body for c in row]
    for cell in cells:
        if cell[:1] in ("=", "+", "-", "@"):
            float(cell)  # only plain numbers may start so
    assert '\'=HYPERLINK("http://evil")' in header
    loss = header.index("loss")
    assert all(row[loss] == "" or float(row[loss]) >= 0 for row in body)  # numbers stay
    jsonl = _cli("export", text_study, "--format", "jsonl")
    _no_terminal_escapes(jsonl)
    docs = [json.loads(line) for line in jsonl.splitlines()]
    assert any("\x9b" in str(d.get("error")) for d in docs)  # kept, as an escape


# --------------------------------------------------------------------------- config


def test_config_space_never_runs_code(tmp_path, text_study):
    """A pyproject.toml in a parent folder naming evil.py:space used to import it; now the
    script is only read (statically), and its module-level code never runs."""
    import os

    from conftest import run_cli

    (tmp_path / "evil.py").write_text(
        "import pathlib\npathlib.Path('CONFIG_RAN').write_text('x')\nspace = {}\n"
    )
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.hopt-inspect]\nspace = "{tmp_path / "evil.py"}:space"\n'
    )
    work = tmp_path / "deep" / "folder"
    work.mkdir(parents=True)
    env = {**os.environ, "COLUMNS": "100"}
    for command in ("check", "report"):
        out = run_cli(command, text_study, *(["-o", work / "r"] if command == "report" else []),
                      cwd=work, env=env)  # fmt: skip
        assert out.returncode == 2, out.stderr  # read, not run: `space = {}` holds no hp nodes
        assert "evil.py" in out.stderr and len(out.stderr.splitlines()) == 1
    assert not list(tmp_path.rglob("CONFIG_RAN"))


def test_config_pickle_space_is_never_trusted(tmp_path, text_study):
    """--trust is for the trials file: a pickle a config names is still read as data, by
    every command that reads the config (watch resolves its space on its own path)."""
    import os
    import pickle

    from conftest import run_cli

    marker = tmp_path / "CONFIG_PICKLE_RAN"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(Evil()))
    (tmp_path / "pyproject.toml").write_text('[tool.hopt-inspect]\nspace = "evil.pkl"\n')
    work = tmp_path / "sub"
    work.mkdir()
    for args in (("summary",), ("watch", "--once", "--format", "jsonl")):
        out = run_cli(*args, text_study, "--trust", cwd=work)
        assert out.returncode == 2 and "holds no hp space" in out.stderr, out.stderr
    out = run_cli("space", "--trust", cwd=work)  # no trials file: the space alone
    assert out.returncode == 2 and "holds no hp space" in out.stderr, out.stderr
    assert not marker.exists()


def test_markup_in_study_keys_is_text(tmp_path):
    """The listing of a file of several studies prints dict keys as written."""
    import pickle

    from conftest import SAMPLES, run_cli

    trials = pickle.loads((SAMPLES / "heart.p").read_bytes())
    path = tmp_path / "multi.p"
    path.write_bytes(pickle.dumps({"[/x]": trials, "[link=https://e.x]lr[/link]": trials}))
    out = run_cli("summary", path)
    assert out.returncode == 0, out.stderr
    assert "[/x]" in out.stdout and "[link=https://e.x]lr[/link]" in out.stdout


def test_config_file_used_is_named(tmp_path, text_study):
    import os

    from conftest import run_cli

    (tmp_path / "pyproject.toml").write_text('[tool.hopt-inspect]\nignore = ["F"]\n')
    out = run_cli("check", text_study, cwd=tmp_path, env={**os.environ, "COLUMNS": "200"})
    assert f"config: {tmp_path / 'pyproject.toml'}" in out.stdout


# --------------------------------------------------------------------------- 6. CPU


@pytest.mark.parametrize("module", ["builtins", "_codecs"])
@pytest.mark.parametrize("codec", ["punycode", "idna", "utf-7", "base64", "rot13"])
def test_bytes_shim_refuses_other_codecs(tmp_path, codec, module):
    path = tmp_path / "codec.p"
    path.write_bytes(mh.bytes_with_codec(codec, module=module))
    assert "codec" in refused(path, seconds=3)


def test_bytes_shim_still_reads_latin1(tmp_path):
    from hopt_inspect.loading.safe_pickle import safe_loads

    assert safe_loads(mh.bytes_with_codec("latin-1", 0)).obj == b""
    assert len(safe_loads(mh.bytes_with_codec("UTF-8", 10)).obj) == 30


def test_one_line_is_linear():
    from hopt_inspect.errors import InputError, one_line

    with within(1):
        assert one_line("a" + " " * 60_000 + "b").startswith("a ")
        assert one_line(" \n" * 60_000) == " "
        assert one_line("x \n\n  y\r\nz") == "x y z"
        assert len(str(InputError("m" * 100_000))) <= 2000


# --------------------------------------------------------------------------- 9. numbers


def test_pickled_view_is_what_hyperopt_trials_holds(tmp_path):
    import pickle

    view = mh.experiment_view_trials()
    path = tmp_path / "view.p"
    path.write_bytes(pickle.dumps(view))
    study = load_study(path)
    expected = pickle.loads(path.read_bytes())
    expected.refresh()  # what a user gets from trials.trials after loading it
    assert [t.tid for t in study.trials] == [d["tid"] for d in expected.trials]
    assert any("view of experiment 'b'" in h for h in study.source.writer_hints)
    assert min(t.loss for t in study.trials) >= 10  # experiment a's losses are below 1


@pytest.mark.parametrize("variant", ["dict_then_slots", "none_then_slots", "two_builds"])
def test_build_variants_match_pickle(tmp_path, variant):
    import pickle

    data = mh.trials_build_variants()[variant]
    path = tmp_path / "build.p"
    path.write_bytes(data)
    real = pickle.loads(data)  # safe here: only hyperopt.base.Trials and plain data
    study = load_study(path)
    assert [t.tid for t in study.trials] == [d["tid"] for d in real._dynamic_trials]


def test_ordered_dict_attributes_do_not_shadow_the_result(tmp_path):
    path = tmp_path / "od.p"
    path.write_bytes(mh.ordered_dict_shadowing_result())
    first = load_study(path).trials[0]
    assert (first.status, first.loss) == ("ok", 0.125)


def test_float_and_huge_tids_and_values(tmp_path):
    from hopt_inspect.summary import summarize

    path = tmp_path / "tids.p"
    path.write_bytes(mh.float_and_huge_tids())
    study = load_study(path)
    assert [t.tid for t in study.trials] == [0, 3, 4]  # 1.7 is not truncated to 1
    assert study.trials[1].loss is None  # 10**5000 is no float
    summarize(study)
    out = _cli("summary", path)
    assert "not a whole number" in out or "malformed" in out
    for fmt in ("csv", "jsonl", "json"):
        assert "integer of 16610 bits" in _cli("export", path, "--format", fmt)


def test_cancelled_trial_is_not_the_best(tmp_path):
    from hopt_inspect.summary import summarize

    path = tmp_path / "cancel.p"
    path.write_bytes(mh.cancelled_best())
    summary = summarize(load_study(path))
    assert summary.best.tid != 2 and -100.0 not in summary.losses_sorted


def test_build_on_a_loader_method_is_refused():
    from hopt_inspect.loading.safe_pickle import UnsafePickleError, _LoadRegistry, safe_loads

    before = dict(vars(_LoadRegistry.reconstruct))
    with pytest.raises(UnsafePickleError):
        safe_loads(b"\x80\x02cnumpy.core.multiarray\n_reconstruct\n}U\x01aK\x01sb.")
    assert dict(vars(_LoadRegistry.reconstruct)) == before


# --------------------------------------------------------------------------- 7. amplification


def test_shared_misc_with_many_labels_is_refused(tmp_path):
    path = tmp_path / "misc.p.gz"
    path.write_bytes(mh.shared_misc())
    assert path.stat().st_size < 110_000
    assert "8,000 parameters; at most 1,000" in refused(path)
    path.write_bytes(mh.shared_misc(4100, 999))
    assert "more than 4,000,000 parameter values" in refused(path, seconds=20)


def test_shared_result_value_is_converted_once(tmp_path):
    from hopt_inspect.render.tables import to_csv
    from hopt_inspect.study import study_table
    from hopt_inspect.summary import summarize

    path = tmp_path / "shared.p"
    path.write_bytes(mh.shared_result_value())
    with within(15):
        study = load_study(path)
        summarize(study)
        to_csv(*study_table(study))
    assert study.n_trials == 4000
    assert study.trials[0].extra["big"] is study.trials[-1].extra["big"]  # one copy


def test_billion_laughs_in_sets_and_keys(tmp_path):
    from hopt_inspect.render.tables import to_csv
    from hopt_inspect.study import study_table
    from hopt_inspect.summary import summarize

    path = tmp_path / "laughs.p"
    path.write_bytes(mh.laughs_in_result_and_attachment())
    assert path.stat().st_size < 5000
    with within(10):
        study = load_study(path)
        summarize(study)
        to_csv(*study_table(study))
        out = _cli("summary", path)
    assert study.n_trials == 5 and "trials" in out
    import pickle

    path.write_bytes(pickle.dumps({mh.billion_laughs(): 1}))  # the error names its keys
    assert "keys '<key>'" in refused(path, seconds=5)


def test_report_figures_and_columns_are_capped():
    from hopt_inspect.render.report import MAX_REPORT_PARAMS, shown_parameters
    from hopt_inspect.space import Param, SearchSpace

    space = SearchSpace(
        {f"p{i}": Param(f"p{i}", "uniform", low=0.0, high=1.0) for i in range(200)}, "test"
    )
    shown, note = shown_parameters(space)
    assert len(shown.labels) == MAX_REPORT_PARAMS and "16 of 200 parameters" in note
    assert shown_parameters(SearchSpace(dict(list(space.params.items())[:3]), "t"))[1] is None


# --------------------------------------------------------------------------- 10. smaller


def test_json_edge_values_make_no_internal_error(tmp_path):
    path = tmp_path / "edge.json"
    path.write_bytes(mh.json_edge_values())
    study = load_study(path)
    assert [t.tid for t in study.trials] == [0, 1, 2, 3, 4]
    assert study.trials[2].book_time is None  # {"$date": NaN}
    assert study.trials[1].params["x"] is None  # 1e308: no analysis can hold it
    for args in (["summary"], ["summary", "--json"], ["check"], ["export", "--format", "csv"]):
        _cli(*args, path)


def test_mathtext_label_and_png_names(text_study, tmp_path):
    from hopt_inspect.render.files import png_names

    label = mh.HOSTILE_LABELS[7]
    assert label.startswith("$")
    _cli("lpdf", text_study, "--param", label, "-o", tmp_path / "one.png")
    assert (tmp_path / "one.png").stat().st_size > 1000
    names = png_names(list(mh.HOSTILE_LABELS))
    assert len(set(names)) == len(names)
    assert all(len(n.encode()) <= 120 and "/" not in n and ":" not in n for n in names)
    assert png_names(["learning_rate"]) == ["lpdf-learning_rate.png"]  # unchanged when safe
    from conftest import run_cli

    out = run_cli("lpdf", text_study, "--param", mh.HOSTILE_LABELS[5], "-o", tmp_path / "e.png")
    assert out.returncode == 0 and "\x1b" not in out.stderr + out.stdout, out.stderr[-300:]


def test_atomic_write_drops_setuid_of_a_symlink_target(tmp_path):
    import os
    import stat

    from hopt_inspect.render.files import atomic_write_text

    target = tmp_path / "target"
    target.write_text("x")
    os.chmod(target, 0o4755)
    link = tmp_path / "out.txt"
    link.symlink_to(target)
    atomic_write_text(link, "new")
    mode = link.lstat().st_mode
    assert not link.is_symlink() and not mode & (stat.S_ISUID | stat.S_ISGID)
    assert target.read_text() == "x" and stat.S_IMODE(mode) == 0o755


@pytest.mark.parametrize("cap", ["48M", "96M"])
def test_small_max_memory_does_not_kill_numpy(tmp_path, cap):
    from conftest import run_cli

    path = tmp_path / "dt64.p"
    path.write_bytes(mh.datetime64_results())
    out = run_cli("summary", path, "--max-memory", cap)
    assert out.returncode in (0, 2) and "OpenBLAS" not in out.stderr, out.stderr[-300:]
    if out.returncode == 2:
        assert out.stderr.startswith("hopt-inspect: error:") and "internal" not in out.stderr
