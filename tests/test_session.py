"""The application layer: Inputs → Session (settings merged in one place), the plot-kind
registry, output targets checked before work, the shared command-line vocabulary."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import SAMPLES

from hopt_inspect import plotkinds
from hopt_inspect.errors import InputError
from hopt_inspect.loading import load_study
from hopt_inspect.outputs import check_file, check_folder, staged_folder
from hopt_inspect.render import plots
from hopt_inspect.session import Inputs, open_session, parse_size, plan, session_for

HEART = SAMPLES / "heart.p"


@pytest.fixture(scope="module")
def heart():
    return load_study(HEART)


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.hopt-inspect]\n" + body)
    return path


def test_defaults_are_hyperopts(heart):
    s = session_for(heart, Inputs(file=HEART, config=None))
    assert (s.settings.n_startup_jobs, s.settings.gamma, s.settings.prior_weight) == (20, 0.25, 1.0)
    assert s.fail_on == "warning" and s.select == () and s.ignore == ()


def test_config_then_option_precedence(tmp_path, heart):
    cfg = _config(tmp_path, 'n-startup-jobs = 5\ngamma = 0.5\nalgo = "rand"\nfail-on = "error"\n')
    s = session_for(heart, Inputs(file=HEART, config=cfg))
    assert (s.settings.n_startup_jobs, s.settings.gamma) == (5, 0.5)
    assert (s.algo, s.algo_source, s.fail_on) == ("rand", "config", "error")
    assert s.notes == [f"settings from {cfg}"]
    s = session_for(heart, Inputs(file=HEART, config=cfg, n_startup_jobs=7, algo="tpe"))
    assert (s.settings.n_startup_jobs, s.settings.gamma, s.algo) == (7, 0.5, "tpe")
    assert s.algo_source == "option"


def test_config_is_found_from_the_working_folder(tmp_path, heart, monkeypatch):
    _config(tmp_path, "n-startup-jobs = 3\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert session_for(heart, Inputs(file=HEART)).settings.n_startup_jobs == 3


def test_config_space_is_relative_to_the_config(tmp_path, heart):
    (tmp_path / "conf").mkdir()
    cfg = _config(tmp_path / "conf", 'space = "space.toml"\n')
    s = session_for(heart, Inputs(file=HEART, config=cfg))
    assert s.space_spec == str(tmp_path / "conf" / "space.toml")


def test_optuna_start_up_comes_from_the_file_unless_configured(tmp_path):
    db = Path(__file__).parent / "fixtures" / "interop" / "optuna.db"
    if not db.exists():
        pytest.skip("no Optuna fixture")
    study = load_study(db, study_name="demo")
    assert session_for(study, Inputs(file=db)).settings.n_startup_jobs == 10
    cfg = _config(tmp_path, "n-startup-jobs = 4\n")
    assert session_for(study, Inputs(file=db, config=cfg)).settings.n_startup_jobs == 4


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (Inputs(select=("Z9",)), "unknown check 'Z9'"),
        (Inputs(fail_on="fatal"), "--fail-on fatal"),
        (Inputs(algo="anneal"), "--algo anneal"),
        (Inputs(max_memory="lots"), "--max-memory lots"),
    ],
)
def test_plan_rejects_bad_options_before_loading(inputs, message, tmp_path):
    missing = Inputs(**{**inputs.__dict__, "file": tmp_path / "never-read.p"})
    with pytest.raises(InputError, match=message):
        open_session(missing)


def test_bad_config_values(tmp_path):
    for body, message in [
        ('algo = "anneal"\n', "algo must be"),
        ("gamma = 3\n", "gamma must be between"),
        ('n-startup-jobs = "x"\n', "must be a number"),
        ("colour = 1\n", "unknown key 'colour'"),
    ]:
        with pytest.raises(InputError, match=message):
            plan(Inputs(config=_config(tmp_path, body)))


def test_checks_run_once_per_session(heart):
    s = session_for(heart, Inputs(file=HEART))
    assert s.checks() is s.checks()
    assert s.checks().settings["algo"] == "tpe"


def test_known_space_infers_nothing_without_a_spec(heart):
    s = session_for(heart, Inputs(file=HEART))
    assert s.known_space is None
    assert "space" not in s.__dict__  # nothing resolved yet
    assert s.space.inferred


def test_parse_size():
    assert parse_size("2G") == 2 << 30 and parse_size("500m") == 500 << 20
    with pytest.raises(InputError, match="at least 16M"):
        parse_size("1M")


# ----------------------------------------------------------------- plot kinds


def test_every_plot_kind_has_a_draw_function_and_a_caption():
    for name, kind in plotkinds.KINDS.items():
        assert callable(getattr(plots, f"{name}_figure")), name
        assert kind.caption and kind.help


def test_parse_kinds():
    assert plotkinds.parse_kinds("all") == list(plotkinds.KINDS)
    assert plotkinds.parse_kinds("hist, history,hist") == ["hist", "history"]
    with pytest.raises(InputError, match="--kind nope"):
        plotkinds.parse_kinds("history,nope")


def test_scatter_does_not_apply_to_one_parameter(heart):
    from hopt_inspect.space import Param, SearchSpace

    s = session_for(heart, Inputs(file=HEART))
    one = SearchSpace(
        {"learning_rate": Param("learning_rate", "uniform", {"low": -2, "high": 2})}, "test"
    )
    s.__dict__["space"] = one
    opts = plotkinds.PlotOptions()
    assert [k for k, _ in plotkinds.infos(s, ["history", "scatter"], opts, strict=False)] == [
        "history"
    ]
    with pytest.raises(InputError, match="two parameters"):
        plotkinds.infos(s, ["scatter"], opts, strict=True)


# ----------------------------------------------------------------- output targets


def test_output_file_checks(tmp_path):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(InputError, match="is a folder"):
        check_file(tmp_path)
    with pytest.raises(InputError, match="is not a folder"):
        check_file(tmp_path / "a-file" / "out.png")
    with pytest.raises(InputError, match=r"\.png or \.svg"):
        check_file(tmp_path / "out.txt", suffixes=(".png", ".svg"))
    assert check_file(tmp_path / "new" / "deeper" / "out.png", suffixes=(".png",))
    with pytest.raises(InputError, match="exists and is not a folder"):
        check_folder(tmp_path / "a-file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(InputError, match="permission denied"):
            check_folder(folder / "plots")
    finally:
        folder.chmod(0o755)


def test_staged_folder_leaves_nothing_on_interrupt(tmp_path):
    target = tmp_path / "plots"
    with pytest.raises(KeyboardInterrupt), staged_folder(target) as stage:
        (stage / "history.png").write_bytes(b"x")
        raise KeyboardInterrupt
    assert not target.exists() and list(tmp_path.iterdir()) == []
    target.mkdir()
    (target / "old.png").write_bytes(b"old")
    with staged_folder(target) as stage:
        (stage / "history.png").write_bytes(b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plots"]
    assert sorted(p.name for p in target.iterdir()) == ["history.png", "old.png"]


# ----------------------------------------------------------------- shared vocabulary


def test_every_command_speaks_the_same_options():
    import typer.main

    from hopt_inspect.cli import app

    group = typer.main.get_command(app)
    shared = {"--space", "--trust", "--strict", "--max-memory", "--study", "--config", "--algo"}
    shared |= {"--n-startup-jobs", "--gamma", "--prior-weight", "--debug", "--format", "--json"}
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        opts = {o for p in cmd.params if p.param_type_name == "option" for o in p.opts}
        wanted = shared if name != "checks" else {"--format", "--json", "--debug"}
        assert wanted <= opts, (name, wanted - opts)


def test_json_and_format_must_agree(capsys):
    from typer.testing import CliRunner

    from hopt_inspect.cli import app

    result = CliRunner().invoke(app, ["export", str(HEART), "--json", "--format", "csv"])
    assert result.exit_code != 0
    assert "--json and --format csv disagree" in str(result.exception)
