"""Choice options keep their type through the space command and back; a config's space that
cannot be read statically says where it came from and what to do (issue #11 follow-ups)."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
from conftest import run_cli, run_fmin

from hopt_inspect.loading import load_study
from hopt_inspect.render.spacefmt import render_space
from hopt_inspect.resolve import space_from_hp, space_from_spec
from hopt_inspect.tpe import tpe_curves

SCRIPT = """
open({marker!r}, "w").write("this script ran")
from hyperopt import hp
import numpy as np
space = {{
    "n": hp.choice("n", [16, 32, 64]),
    "f": hp.choice("f", [0.5, 1.0, None, True, "16", "adam"]),
    "p": hp.pchoice("p", [(0.25, 8), (0.75, "x")]),
    "lr": hp.loguniform("lr", np.log(1e-4), 0),
}}
"""


def _space():
    from hyperopt import hp

    return {
        "n": hp.choice("n", [16, 32, 64]),
        "f": hp.choice("f", [0.5, 1.0, None, True, "16", "adam"]),
        "p": hp.pchoice("p", [(0.25, 8), (0.75, "x")]),
        "lr": hp.loguniform("lr", np.log(1e-4), 0),
    }


@pytest.fixture(scope="module")
def scripted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats")
    marker = folder / "RAN"
    script = folder / "tuner.py"
    script.write_text(SCRIPT.format(marker=str(marker)))
    trials = run_fmin(lambda p: float(np.log(p["lr"])) ** 2, _space(), 40, seed=2)
    study_path = folder / "hyperopt.p"
    study_path.write_bytes(pickle.dumps(trials))
    return folder, script, marker, load_study(study_path)


def test_option_values_keep_their_type_in_every_format(scripted):
    _, script, marker, _ = scripted
    space = space_from_spec(str(script))
    toml = render_space(space, "toml")
    assert '"choice([16, 32, 64])"' in toml
    assert "choice([0.5, 1.0, None, True, '16', 'adam'])" in toml
    assert "pchoice([(0.25, 8), (0.75, 'x')])" in toml
    assert "hp.choice('n', [16, 32, 64])" in render_space(space, "python")
    params = {p["label"]: p for p in json.loads(render_space(space, "json"))["params"]}
    assert params["n"]["options"] == [16, 32, 64]
    assert params["f"]["options"] == [0.5, 1.0, None, True, "16", "adam"]
    assert params["p"]["options"] == [8, "x"]
    assert not marker.exists()


def test_script_to_toml_and_back_is_the_same_space_and_curves(scripted, tmp_path):
    folder, script, marker, study = scripted
    spec = tmp_path / "space.toml"
    out = run_cli("space", "--space", str(script), "--format", "toml", "-o", spec, cwd=folder)
    assert out.returncode == 0, out.stderr
    from_script, back = space_from_spec(str(script)), space_from_spec(str(spec))
    truth = space_from_hp(_space(), source="truth")
    assert dict(back.params) == dict(from_script.params) == dict(truth.params)
    assert back["n"].option_values == (16, 32, 64)
    assert back["f"].option_values[4] == "16"  # the string stays a string
    for label in truth.labels:
        a, b = tpe_curves(study, truth, label), tpe_curves(study, back, label)
        for sa, sb in zip(a.snapshots, b.snapshots, strict=True):
            np.testing.assert_array_equal(sa.below_llik, sb.below_llik)
            np.testing.assert_array_equal(sa.above_llik, sb.above_llik)
    assert not marker.exists()


def test_optuna_export_uses_the_written_option_values(scripted):
    from hopt_inspect.export_optuna import _choices

    _, script, _, _ = scripted
    space = space_from_spec(str(script))
    assert _choices(space["n"]) == (16, 32, 64)
    assert _choices(space["f"]) == (0.5, 1.0, None, True, "16", "adam")


def test_config_space_error_names_the_config_and_what_to_do(tmp_path):
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "tuner.py").write_text(
        "import json\nfrom hyperopt import hp\ncfg = json.load(open('c.json'))\n"
        "space = {'x': hp.uniform('x', 0, cfg['hi'])}\n"
    )
    trials = run_fmin(lambda p: p["x"], {"x": __import__("hyperopt").hp.uniform("x", 0, 1)}, 5)
    (folder / "hyperopt.p").write_bytes(pickle.dumps(trials))
    config = folder / "pyproject.toml"
    config.write_text('[tool.hopt-inspect]\nspace = "tuner.py:space"\n')
    for command in ("summary", "space"):
        out = run_cli(command, cwd=folder)
        assert out.returncode == 2
        err = out.stderr.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err
        assert str(config) in err and 'space = "' in err and "[tool.hopt-inspect]" in err
        assert "line 3" in err and "never runs code" in err
        assert "--format toml" in err and "--run-space on the command line" in err
        assert not err.split("never runs code")[0].endswith("pass --run-space")
    # the same script on the command line keeps the --space wording
    out = run_cli("summary", "--space", "tuner.py:space", cwd=folder)
    assert out.returncode == 2 and "--space tuner.py:space: line 3" in out.stderr
    assert str(config) not in out.stderr


def test_toml_spec_is_valid_toml_for_any_label_and_option_text(tmp_path):
    """Emoji (outside the BMP), control characters, quotes and TOML syntax in labels and
    options: the spec parses with tomllib and reads back as the same space."""
    from hyperopt import hp

    from hopt_inspect.resolve import space_from_toml

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    hostile = ["😀", "\u202egnp.exe", "\x00nul\x7f\x9b", '"""', "'''", "a\nb\r\nc", "\\", "[/]"]
    space = space_from_hp(
        {
            "e": hp.choice("emoji😀", hostile),
            "k": hp.uniform('a = 1\n[evil]\n"b"', 0, 1),
            "p": hp.pchoice("p", [(0.5, "😀"), (0.5, "\x1b[2J")]),
        },
        source="test 😀\x1b[31m",
    )
    text = render_space(space, "toml")
    doc = tomllib.loads(text)
    assert set(doc["space"]) == {"emoji😀", 'a = 1\n[evil]\n"b"', "p"}
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    back = space_from_toml(path)
    assert back.params["emoji😀"].option_values == tuple(hostile)
    assert back.params["p"].option_values == ("😀", "\x1b[2J")
    assert back.params['a = 1\n[evil]\n"b"'].kind == "uniform"


@pytest.mark.parametrize("bound", ["math.inf", "1e308 * 10", "float('nan')"])
def test_non_finite_bound_is_a_one_line_error_not_a_crash_of_the_formats(tmp_path, bound):
    """uniform(0, inf) was read, then every --format but text died with OverflowError."""
    from hopt_inspect.errors import InputError
    from hopt_inspect.resolve import space_from_toml
    from hopt_inspect.scriptspace import read_script_space

    script = tmp_path / "tuner.py"
    script.write_text(
        f'import math\nfrom hyperopt import hp\nspace = {{"x": hp.uniform("x", 0, {bound})}}\n'
    )
    with pytest.raises(InputError, match=r"line 3.*not finite"):
        read_script_space(script)
    spec = tmp_path / "s.toml"
    spec.write_text('[space]\nx = "uniform(0, 1e999)"\n')
    with pytest.raises(InputError, match="finite"):
        space_from_toml(spec)


@pytest.mark.parametrize(
    "helper",
    [
        "def f(n):\n    return f(n + 1)\n",  # recursion
        "L = [[0] * 1000] * 1000\ndef f(n):\n    return sum(L, [])\n",  # too large
    ],
)
def test_space_that_fails_in_a_helper_function_names_its_line(tmp_path, helper):
    """The space's failure lay in a function: the error said "found no fmin(...) call and no
    module-level name holding hp.* nodes" although `space` is one."""
    from hopt_inspect.errors import InputError
    from hopt_inspect.scriptspace import read_script_space

    script = tmp_path / "tuner.py"
    script.write_text(
        f'from hyperopt import hp\n{helper}space = {{"x": hp.uniform("x", 0, f(1))}}\n'
    )
    with pytest.raises(InputError, match=r"line \d+: cannot read .* --run-space") as err:
        read_script_space(script)
    assert "found no fmin" not in str(err.value)


def test_tuple_and_dict_options_are_shown_and_written_as_values(tmp_path):
    """hp.choice over tuples (sklearn's hidden_layer_sizes) or plain dicts was shown as
    `<pos_args>` / `{beta, name}` everywhere, and --format python wrote those strings as the
    options: code that gives the objective something else than the script does."""
    from hyperopt import hp

    from hopt_inspect.resolve import space_from_toml
    from hopt_inspect.scriptspace import read_script_space

    script = tmp_path / "tuner.py"
    script.write_text(
        "from hyperopt import hp\n"
        'space = {"h": hp.choice("h", [(50,), (50, 50), [1, 2]]),\n'
        '         "s": hp.choice("s", [{"name": "adam", "b": 0.9}, {"name": "sgd", "m": None}]),\n'
        '         "c": hp.choice("c", [{"u": hp.uniform("u", 0, 1)}, 3])}\n'
    )
    imported = {
        "h": hp.choice("h", [(50,), (50, 50), [1, 2]]),
        "s": hp.choice("s", [{"name": "adam", "b": 0.9}, {"name": "sgd", "m": None}]),
        "c": hp.choice("c", [{"u": hp.uniform("u", 0, 1)}, 3]),
    }
    for space in (read_script_space(script), space_from_hp(imported, source="x")):
        h, s, c = space.params["h"], space.params["s"], space.params["c"]
        assert h.options == ("(50,)", "(50, 50)", "(1, 2)") or h.options == (
            "(50,)",
            "(50, 50)",
            "[1, 2]",
        )
        assert [tuple(v) for v in h.option_values] == [(50,), (50, 50), (1, 2)]
        assert [dict(v) for v in s.option_values] == [
            {"name": "adam", "b": 0.9},
            {"name": "sgd", "m": None},
        ]
        assert c.option_values[0] == c.options[0] == "{u}"  # an hp node inside: its text
        assert c.option_values[1] == 3
    space = read_script_space(script)
    code = render_space(space, "python")
    ns: dict = {}
    exec(compile(code, "space.py", "exec"), ns)
    from hyperopt.pyll import stochastic

    for label in ("h", "s"):
        options = ns["space"][label].pos_args[1:]
        assert [stochastic.sample(o) for o in options] == [
            stochastic.sample(o) for o in imported[label].pos_args[1:]
        ]
    spec = tmp_path / "s.toml"
    spec.write_text(render_space(space, "toml"), encoding="utf-8")
    back = space_from_toml(spec)
    assert back.params["h"].option_values == space.params["h"].option_values
    assert back.params["s"].option_values == space.params["s"].option_values
    doc = json.loads(render_space(space, "json"))
    by_label = {p["label"]: p for p in doc["params"]}
    assert by_label["s"]["options"][1] == {"name": "sgd", "m": None}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        # a bound from another module: was "parameter 'x': uniform arguments are not numbers"
        ("from settings import HIGH\nspace = {'x': hp.uniform('x', 0, HIGH)}", "settings.HIGH"),
        ("import settings\nspace = {'x': hp.uniform('x', 0, settings.HIGH)}", "settings.HIGH"),
        ("import settings\nspace = {'x': hp.pchoice('x', [(settings.P, 1)])}", "settings.P"),
        # was "(attribute get of os.environ())"
        ("import os\nspace = {'x': hp.uniform('x', 0, os.environ.get('H'))}", "os.environ.get"),
        # was "Cfg is not known without running the script (line 2: Cfg is a class)"
        ("class Cfg:\n    H = 1\nspace = {'x': hp.uniform('x', 0, Cfg.H)}", "Cfg is a class"),
        ("from hyperopt.hp import *\nspace = {'x': uniform('x', 0, 1)}", "import *"),
    ],
)
def test_static_errors_name_the_line_the_cause_and_the_way_out(tmp_path, body, says):
    from hopt_inspect.errors import InputError
    from hopt_inspect.scriptspace import read_script_space

    script = tmp_path / "tuner.py"
    script.write_text("from hyperopt import hp\n" + body + "\n")
    with pytest.raises(InputError) as err:
        read_script_space(script)
    message = str(err.value)
    assert says in message and "--run-space" in message and "line " in message, message
    assert "()" not in message.split("(", 1)[1].replace("get('H')", ""), message
    assert message.count("without running the script") == 1, message
    assert "_Fn" not in message and "<function" not in message, message


def test_text_format_survives_lone_surrogates(tmp_path):
    """A script's "\\ud800" label or option (a lone surrogate) crashed `space` with
    UnicodeEncodeError (exit 3) when printed; it is shown escaped."""
    from hopt_inspect.scriptspace import read_script_space

    script = tmp_path / "tuner.py"
    script.write_text(
        'from hyperopt import hp\nspace = {"x": hp.choice("\\ud800l", ["\\udfffo", 2])}\n'
    )
    assert "\ud800" in read_script_space(script).labels[0]  # a real lone surrogate
    for fmt in ("text", "toml", "python", "json"):
        render_space(read_script_space(script), fmt).encode("utf-8")
    text = render_space(read_script_space(script), "text")
    assert "\\ud800l" in text and "\\udfffo" in text


def test_dict_option_with_a_non_finite_key_is_text_in_every_format(tmp_path):
    from hopt_inspect.scriptspace import read_script_space

    script = tmp_path / "tuner.py"
    script.write_text(
        "import math\nfrom hyperopt import hp\n"
        'space = {"x": hp.choice("x", [{math.inf: 1}, {1.5: 2}])}\n'
    )
    space = read_script_space(script)
    assert space.params["x"].option_values == ("{inf}", {1.5: 2})
    for fmt in ("text", "toml", "python", "json"):
        render_space(space, fmt)


def test_imported_dict_options_with_non_string_keys_keep_their_value():
    """pyll stores {1.5: 2} as dict(pos_args(pos_args(1.5, 2))): was shown as '{}'."""
    from hyperopt import hp

    from hopt_inspect.hpgraph import Node, option_value

    space = space_from_hp({"x": hp.choice("x", [{1.5: 2}, {"a": 1}])}, source="t")
    assert space.params["x"].option_values == ({1.5: 2}, {"a": 1})
    unhashable = Node("dict", [Node("pos_args", [Node("dict", [], [("a", 1)]), 2])])
    assert option_value(unhashable) == "{}"


def test_static_reading_is_linear_in_the_script_length(tmp_path, monkeypatch):
    """The module-level names were recomputed for every name bound (n² work: a 2,000-line
    script took 2.3 s, 0.19 s now). Counted, not timed: target names looked up per line."""
    import hopt_inspect.scriptspace as ss

    n = 400
    body = ["from hyperopt import hp", "x0 = 1"]
    body += [f"x{i} = x{i - 1} + {i}" for i in range(1, n)]
    body.append(f"space = {{'a': hp.uniform('a', 0, x{n - 1})}}")
    script = tmp_path / "long.py"
    script.write_text("\n".join(body) + "\n")
    calls = [0]
    real = ss._names_in_target

    def counting(target):
        calls[0] += 1
        return real(target)

    monkeypatch.setattr(ss, "_names_in_target", counting)
    space = ss.read_script_space(script)
    assert space.params["a"].high == sum(range(n)) + 1  # x0 = 1
    assert calls[0] < 20 * n, calls[0]


def test_pchoice_is_described_with_its_odds():
    """`space` showed 'pchoice([gbdt, dart, goss])': the probabilities were nowhere."""
    from hyperopt import hp

    space = space_from_hp(
        {"b": hp.pchoice("b", [(0.5, "gbdt"), (0.3, "dart"), (0.2, "goss")])}, source="t"
    )
    assert space.params["b"].describe() == "pchoice([(0.5, gbdt), (0.3, dart), (0.2, goss)])"
    assert "(0.3, dart)" in render_space(space, "text")
    many = space_from_hp(
        {"m": hp.pchoice("m", [(0.05, f"option{i}") for i in range(20)])}, source="t"
    )
    assert many.params["m"].describe().startswith("pchoice(p=[0.05, 0.05")


def test_space_output_never_overwrites_an_input(scripted):
    """`space --space tuner.py --format python -o tuner.py` replaced the user's script, and
    `space hyperopt.p -o hyperopt.p` the study."""
    folder, script, _marker, _study = scripted
    before = {p: p.read_bytes() for p in (script, folder / "hyperopt.p")}
    for args in (
        ("--space", script, "--format", "python", "-o", script),
        ("--space", f"{script}:space", "--format", "toml", "-o", script),
        (folder / "hyperopt.p", "--space", script, "--format", "toml", "-o", folder / "hyperopt.p"),
    ):
        out = run_cli("space", *args, cwd=folder)
        assert out.returncode == 2, out.stderr
        assert "never overwrites" in out.stderr and "Traceback" not in out.stderr
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.parametrize("text", ["randint(0)", "randint(-5)", "randint(5, 3)", "choice([])"])
def test_toml_categorical_without_options_is_refused(tmp_path, text):
    """randint(0) / choice([]) were accepted, and lpdf then drew curves for a label whose
    trials hold 10..100 under a space with no option at all (exit 0)."""
    from hopt_inspect.errors import InputError
    from hopt_inspect.resolve import space_from_toml

    spec = tmp_path / "s.toml"
    spec.write_text(f'[space]\nx = "{text}"\n')
    with pytest.raises(InputError, match="no options"):
        space_from_toml(spec)


@pytest.mark.parametrize("spec", ["quniform(0, 100, 1e-300)", "qloguniform(-5, 2, 1e-300)"])
def test_grid_of_a_tiny_q_is_no_crash(spec):
    """k = 100 / 1e-300 is beyond int64: numpy's object dtype made lpdf, summary and check
    die with UFuncTypeError (exit 3)."""
    from hopt_inspect.resolve import parse_distribution
    from hopt_inspect.tpe import grid_for

    grid = grid_for(parse_distribution("x", spec), 50, [1.0, 2.0])
    assert 2 <= len(grid) <= 51 and all(math.isfinite(v) for v in grid)


def test_a_script_choice_without_options_is_refused_against_the_trials(tmp_path):
    """hp.choice('epochs', []) in a script: lpdf drew curves for trials holding 10..100."""
    script = tmp_path / "tuner.py"
    script.write_text("from hyperopt import hp\nspace = {'a': hp.choice('a', [])}\n")
    trials = run_fmin(lambda p: 0.0, {"a": __import__("hyperopt").hp.choice("a", [1, 2])}, 5)
    (tmp_path / "hyperopt.p").write_bytes(pickle.dumps(trials))
    out = run_cli("lpdf", "--param", "a", "--space", script, "--json", cwd=tmp_path)
    assert out.returncode == 2 and "no options" in out.stderr, out.stderr


@pytest.mark.parametrize("command", [("check",), ("export", "--format", "csv")])
def test_check_and_export_never_overwrite_the_study(tmp_path, command):
    """`check hyperopt.p -o hyperopt.p` / `export hyperopt.p -o hyperopt.p` replaced the
    study with the report."""
    from hyperopt import hp

    trials = run_fmin(lambda p: p["x"], {"x": hp.uniform("x", 0, 1)}, 5)
    study = tmp_path / "hyperopt.p"
    study.write_bytes(pickle.dumps(trials))
    before = study.read_bytes()
    out = run_cli(*command, study, "-o", study, cwd=tmp_path)
    assert out.returncode == 2 and "never overwrites" in out.stderr, out.stderr
    assert study.read_bytes() == before
