"""The static script reader: every hp spelling, fmin discovery, errors; nothing ever runs.

Each script starts by creating a marker file: if any read ever executed it, the marker
would appear. The spaces read statically must equal what hyperopt itself builds (through
``resolve.space_from_hp`` on the same space built here).
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import pytest
from hyperopt import hp
from hyperopt.pyll import scope

from hopt_inspect.errors import InputError
from hopt_inspect.resolve import space_from_hp
from hopt_inspect.scriptspace import read_script_space

MARK = 'open({marker!r}, "w").write("this script ran")\n'

SCRIPTS = {
    # module-level fmin, keyword space=, pickles over the user's file
    "plain": (
        """
import pickle
from hyperopt import fmin, hp, tpe, Trials
import numpy as np

def objective(p):
    return p["x"] ** 2

space = {
    "x": hp.uniform("x", -5, 5),
    "lr": hp.loguniform("lr", np.log(1e-5), np.log(1e-1)),
    "units": hp.quniform("units", 16, 512, 16),
    "act": hp.choice("act", ["relu", "tanh"]),
}
trials = Trials()
best = fmin(objective, space=space, algo=tpe.suggest, max_evals=100, trials=trials)
pickle.dump(trials, open("hyperopt.p", "wb"))
""",
        lambda: {
            "x": hp.uniform("x", -5, 5),
            "lr": hp.loguniform("lr", math.log(1e-5), math.log(1e-1)),
            "units": hp.quniform("units", 16, 512, 16),
            "act": hp.choice("act", ["relu", "tanh"]),
        },
    ),
    # import hyperopt.hp as H; hyperopt.fmin(fn, SPACE) positional
    "alias_module": (
        """
import math
import hyperopt
import hyperopt.hp as H
LOW = -10
sp = [H.loguniform("c", LOW, -2), H.normal("n", 0, 2.5), H.qnormal("qn", 10, 3, 1)]
hyperopt.fmin(lambda p: 0, sp, algo=hyperopt.rand.suggest, max_evals=10)
""",
        lambda: [hp.loguniform("c", -10, -2), hp.normal("n", 0, 2.5), hp.qnormal("qn", 10, 3, 1)],
    ),
    # from hyperopt.hp import ...; fmin renamed; inside main() behind a __main__ guard
    "functions": (
        """
from hyperopt.hp import uniform, choice, lognormal, qlognormal, randint
from hyperopt import fmin as minimize, tpe

def main(n_evals=50):
    depth = range(2, 12, 2)
    space = {
        "depth": choice("depth", [d for d in depth]),
        "gamma": lognormal("gamma", 0, 1),
        "mcw": qlognormal("mcw", 1, 0.5, 1),
        "seed": randint("seed", 3, 11),
        "sub": uniform("sub", 0.5, 1.0),
    }
    return minimize(fn=print, space=space, algo=tpe.suggest, max_evals=n_evals)

if __name__ == "__main__":
    main()
""",
        lambda: {
            "depth": hp.choice("depth", list(range(2, 12, 2))),
            "gamma": hp.lognormal("gamma", 0, 1),
            "mcw": hp.qlognormal("mcw", 1, 0.5, 1),
            "seed": hp.randint("seed", 3, 11),
            "sub": hp.uniform("sub", 0.5, 1.0),
        },
    ),
    # import hyperopt; hyperopt.hp.choice; conditional space; scope.int; dict(); pchoice
    "conditional": (
        """
import hyperopt
from hyperopt import hp as anything
from hyperopt.pyll import scope

svm = dict(kind="svm", C=anything.loguniform("C", -3, 3), kernel=anything.pchoice(
    "kernel", [(0.7, "rbf"), (0.3, "linear")]))
forest = {
    "kind": "forest",
    "n_estimators": scope.int(anything.quniform("n_estimators", 50, 500, 50)),
    "max_depth": anything.uniformint("max_depth", 2, 16),
}
space = hyperopt.hp.choice("model", [svm, forest])
if __name__ == "__main__":
    trials = hyperopt.Trials()
    hyperopt.fmin(print, space, hyperopt.tpe.suggest, 200, trials=trials)
""",
        lambda: hp.choice(
            "model",
            [
                {
                    "kind": "svm",
                    "C": hp.loguniform("C", -3, 3),
                    "kernel": hp.pchoice("kernel", [(0.7, "rbf"), (0.3, "linear")]),
                },
                {
                    "kind": "forest",
                    "n_estimators": scope.int(hp.quniform("n_estimators", 50, 500, 50)),
                    "max_depth": hp.uniformint("max_depth", 2, 16),
                },
            ],
        ),
    ),
    # comprehension with f-string labels, space built by a function, np.power, ** merge
    "builder": (
        """
import numpy
from hyperopt import fmin, hp, STATUS_OK

BASE = {"dropout": hp.uniform("dropout", 0.0, 0.5)}

def get_space(n_layers=3):
    layers = {f"units_{i}": hp.qloguniform(f"units_{i}", numpy.log(8), numpy.log(512), 8)
              for i in range(n_layers)}
    return {**BASE, **layers, "lr": hp.loguniform("lr", numpy.log(numpy.power(10.0, -4)), 0)}

best = fmin(lambda p: {"loss": 0, "status": STATUS_OK}, get_space(), max_evals=5)
""",
        lambda: {
            "dropout": hp.uniform("dropout", 0.0, 0.5),
            **{
                f"units_{i}": hp.qloguniform(f"units_{i}", math.log(8), math.log(512), 8)
                for i in range(3)
            },
            "lr": hp.loguniform("lr", math.log(1e-4), 0),
        },
    ),
    # from hyperopt import pyll; pyll.scope.int; choice over range(); keyword arguments
    "pyll_module": (
        """
from hyperopt import hp, pyll
BOUNDS = (0.0, 0.25)
space = {
    "trees": pyll.scope.int(hp.quniform(label="trees", low=10, high=100, q=10)),
    "leaf": hp.choice("leaf", range(1, 6)),
    "drop": hp.uniform("drop", *BOUNDS),
}
""",
        lambda: {
            "trees": scope.int(hp.quniform("trees", 10, 100, 10)),
            "leaf": hp.choice("leaf", range(1, 6)),
            "drop": hp.uniform("drop", 0.0, 0.25),
        },
    ),
}


def _write(tmp_path: Path, name: str, body: str) -> tuple[Path, Path]:
    marker = tmp_path / f"{name}.RAN"
    script = tmp_path / f"{name}.py"
    script.write_text(MARK.format(marker=str(marker)) + body)
    return script, marker


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_static_read_equals_hyperopts_space_and_runs_nothing(tmp_path, name):
    body, expected = SCRIPTS[name]
    script, marker = _write(tmp_path, name, body)
    start = time.perf_counter()
    got = read_script_space(script)
    elapsed = time.perf_counter() - start
    want = space_from_hp(expected(), source="expected")
    assert dict(got.params) == dict(want.params)
    assert got.origin == "script" and not got.inferred
    assert not marker.exists()
    assert elapsed < 1.0  # the real figure (<50 ms) is measured by the benchmark


def test_named_variable_and_several_candidates(tmp_path):
    script, marker = _write(
        tmp_path,
        "two",
        """
from hyperopt import hp
small = {"x": hp.uniform("x", 0, 1)}
large = {"x": hp.uniform("x", 0, 10), "y": hp.normal("y", 0, 1)}
""",
    )
    assert read_script_space(script, "large")["x"].high == 10
    with pytest.raises(InputError, match=r"several module-level names.*small, large"):
        read_script_space(script)
    with pytest.raises(InputError, match="no module-level name 'medium'"):
        read_script_space(script, "medium")
    assert not marker.exists()


def test_unreadable_expression_names_line_and_opt_in(tmp_path):
    script, marker = _write(
        tmp_path,
        "cfg",
        """
import json
from hyperopt import fmin, hp
cfg = json.load(open("config.json"))
space = {"lr": hp.loguniform("lr", cfg["low"], 0)}
fmin(print, space)
""",
    )
    with pytest.raises(InputError) as info:
        read_script_space(script)
    message = str(info.value)
    assert "line 5" in message and "json.load" in message and "--run-space" in message
    assert "\n" not in message
    assert not marker.exists()


def test_an_environment_value_is_named_without_our_internals(tmp_path):
    script, marker = _write(
        tmp_path,
        "env",
        """
import os
from hyperopt import hp
space = {"x": hp.uniform("x", float(os.environ["LOW"]), 2)}
""",
    )
    with pytest.raises(InputError) as info:
        read_script_space(script)
    message = str(info.value)
    assert "os.environ" in message and "a value only the running script has" in message
    assert "_Fn" not in message and "subscriptable" not in message
    assert not marker.exists()


def test_no_space_found(tmp_path):
    script, _ = _write(tmp_path, "empty", "x = 1\n")
    with pytest.raises(InputError, match="no fmin"):
        read_script_space(script)


def test_syntax_error_is_one_line(tmp_path):
    script = tmp_path / "bad.py"
    script.write_text("space = {\n")
    with pytest.raises(InputError, match="line 1 is not valid Python"):
        read_script_space(script)


def test_huge_range_is_refused_not_run(tmp_path):
    script, _ = _write(
        tmp_path,
        "huge",
        "from hyperopt import hp\nspace = hp.choice('a', list(range(10**12)))\n",
    )
    with pytest.raises(InputError, match="--run-space"):
        read_script_space(script)


# --------------------------------------------------------------------------- the CLI

TUNER = """
import pickle
from hyperopt import Trials, fmin, hp, tpe

space = {"learning_rate": hp.uniform("learning_rate", -2, 2),
         "size_of_hidden_layer": hp.uniform("size_of_hidden_layer", -2, 2)}
trials = Trials()
fmin(lambda p: 0.0, space, algo=tpe.suggest, max_evals=3, trials=trials)
pickle.dump(trials, open("hyperopt.p", "wb"))
"""


def _folder_with_tuner(tmp_path):
    from conftest import SAMPLES

    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "hyperopt.p").write_bytes((SAMPLES / "heart.p").read_bytes())
    script, marker = _write(folder, "tuner", TUNER)
    return folder, script, marker


def test_space_option_on_a_module_level_fmin_script_runs_nothing(tmp_path):
    from conftest import run_cli

    folder, script, marker = _folder_with_tuner(tmp_path)
    before = (folder / "hyperopt.p").read_bytes()
    start = time.perf_counter()
    out = run_cli("lpdf", "--param", "learning_rate", "--space", script.name, cwd=folder)
    assert out.returncode == 0, out.stderr
    assert time.perf_counter() - start < 60
    assert not marker.exists()
    assert (folder / "hyperopt.p").read_bytes() == before  # the user's pickle untouched
    assert "INFERRED" not in out.stdout


def test_config_space_is_read_statically_and_cannot_enable_running(tmp_path):
    from conftest import run_cli

    folder, script, marker = _folder_with_tuner(tmp_path)
    (folder / "pyproject.toml").write_text(f'[tool.hopt-inspect]\nspace = "{script.name}:space"\n')
    out = run_cli("check", cwd=folder)
    assert out.returncode in (0, 1), out.stderr
    assert not marker.exists()
    out = run_cli("check", "--run-space", cwd=folder)
    assert out.returncode == 2 and "--run-space needs --space" in out.stderr
    assert not marker.exists()


def test_run_space_imports_only_when_asked_and_warns(tmp_path):
    from conftest import run_cli

    folder, script, marker = _folder_with_tuner(tmp_path)
    (folder / "tuner.py").write_text(script.read_text().split("trials = Trials()")[0])
    # without :NAME: refused before anything is said to run, and nothing runs
    out = run_cli("space", "--space", "tuner.py", "--run-space", cwd=folder)
    assert out.returncode == 2 and "needs the variable" in out.stderr
    assert "module-level code runs" not in out.stderr and not marker.exists()
    out = run_cli("space", "--space", "tuner.py:space", "--run-space", cwd=folder)
    assert out.returncode == 0, out.stderr
    assert "module-level code runs" in out.stderr
    assert marker.exists()  # this time the script was imported, as asked


def test_space_command_formats_round_trip(tmp_path):
    from conftest import SAMPLES, run_cli

    from hopt_inspect.loading import load_study
    from hopt_inspect.resolve import resolve_space

    study = load_study(SAMPLES / "qlearn.p")
    inferred = resolve_space(None, study)
    toml = tmp_path / "space.toml"
    out = run_cli("space", SAMPLES / "qlearn.p", "--format", "toml", "-o", toml)
    assert out.returncode == 0, out.stderr
    back = resolve_space(str(toml), study)
    for label, param in inferred.params.items():
        other = back[label]
        assert (other.kind, other.low, other.high, other.q) == (
            param.kind,
            param.low,
            param.high,
            param.q,
        )
    python = tmp_path / "space.py"
    out = run_cli("space", SAMPLES / "qlearn.p", "--format", "python", "-o", python)
    assert out.returncode == 0, out.stderr
    again = resolve_space(str(python), study)
    assert {k: (p.kind, p.low, p.high, p.q) for k, p in again.params.items()} == {
        k: (p.kind, p.low, p.high, p.q) for k, p in inferred.params.items()
    }
    out = run_cli("space", SAMPLES / "qlearn.p", "--format", "json")
    doc = json.loads(out.stdout)
    assert doc["origin"] == "inferred" and len(doc["params"]) == len(inferred.params)
    out = run_cli("space", SAMPLES / "qlearn.p", env={**os.environ, "COLUMNS": "80"})
    assert all(len(line) <= 80 for line in out.stdout.splitlines())


@pytest.mark.parametrize(
    "body",
    [
        "space = hp.uniform('x', 0, 10 ** 10 ** 10)",
        "space = hp.choice('x', [0] * 10 ** 9)",
        "space = hp.choice('x', [a for a in range(99999) for b in range(99999)])",
        "def f(n):\n    return f(n)\nspace = hp.uniform('x', 0, f(1))",
        "space = hp.uniform('x', 0, " + "-" * 100_000 + "1)",
        "space = eval('hp.uniform(\"x\", 0, 1)')",
        "space = hp.uniform('x', 0, __import__('os').getpid())",
    ],
)
def test_hostile_scripts_are_refused_in_one_line(tmp_path, body):
    script, marker = _write(tmp_path, "hostile", "from hyperopt import hp\n" + body + "\n")
    with pytest.raises(InputError) as info:
        read_script_space(script)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_two_parameters_with_one_label_are_refused_as_hyperopt_does(tmp_path):
    script, marker = _write(
        tmp_path,
        "dup",
        """
from hyperopt import hp
shared = hp.uniform("s", 0, 1)
space = {"a": hp.uniform("x", 0, 1), "b": hp.uniform("x", 0, 2), "c": shared, "d": shared}
""",
    )
    with pytest.raises(InputError) as info:
        read_script_space(script, "space")
    assert "share the label 'x'" in str(info.value) and "DuplicateLabel" in str(info.value)
    assert not marker.exists()
    one, _ = _write(
        tmp_path,
        "shared",
        """
from hyperopt import hp
shared = hp.uniform("s", 0, 1)
space = {"c": shared, "d": [shared, shared]}
""",
    )
    assert read_script_space(one, "space")["s"].high == 1  # one node used twice: one parameter


def test_a_script_too_big_to_be_a_tuning_script_is_refused_before_parsing(tmp_path):
    script = tmp_path / "big.py"
    script.write_text("x = 1\n" * 600_000)  # 3.6 MB
    with pytest.raises(InputError) as info:
        read_script_space(script)
    assert "at most 2 MiB" in str(info.value) and "TOML spec" in str(info.value)


def test_toml_spec_carries_the_conditions_of_a_conditional_space(tmp_path):
    """A conditional space through `space --format toml` and back: the same conditions
    (per-branch expectations such as S005's need them), and bad [conditions] refused."""
    from hopt_inspect.render.spacefmt import to_toml
    from hopt_inspect.resolve import space_from_toml

    script, _ = _write(
        tmp_path,
        "cond",
        """
from hyperopt import hp
space = hp.choice("model", [
    {"k": hp.randint("k", 30), "w": hp.choice("w", ["u", "d"])},
    {"c": hp.loguniform("c", -3, 3), "deep": hp.choice("deep", [
        {"n": hp.quniform("n", 1, 9, 1)}, {"n2": hp.uniform("n2", 0, 1)}])},
])
""",
    )
    space = read_script_space(script, "space")
    spec = tmp_path / "s.toml"
    spec.write_text(to_toml(space))
    back = space_from_toml(spec)
    assert {k: p.conditional for k, p in back.params.items()} == {
        k: p.conditional for k, p in space.params.items()
    }
    assert back.params["n"].conditional == ((("model", 1), ("deep", 0)),)
    for bad in (
        '"k" = [[["nope", 0]]]',
        '"k" = [[["model", 5]]]',
        '"k" = [[["c", 0]]]',
        '"k" = [["model", 0]]',
        '"nope" = [[["model", 0]]]',
        '"k" = [[["model", true]]]',
    ):
        spec.write_text(to_toml(space).split("[conditions]")[0] + "[conditions]\n" + bad + "\n")
        with pytest.raises(InputError, match="conditions"):
            space_from_toml(spec)


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ('space = {"x": hp.uniform(3, 0, 1)}', "the label is not a string"),
        ('space = {"x": hp.uniformm("x", 0, 1)}', "hp.uniformm is not an hp distribution"),
    ],
)
def test_a_mistake_running_would_not_fix_does_not_point_at_run_space(tmp_path, line, why):
    script, marker = _write(tmp_path, "bad", "from hyperopt import hp\n" + line + "\n")
    with pytest.raises(InputError) as info:
        read_script_space(script, "space")
    message = str(info.value)
    assert why in message and "fix the script" in message and "--run-space" not in message
    assert not marker.exists()


def test_imported_hp_objects_with_one_label_twice_are_refused_too():
    """The same rule for a space imported with --run-space or unpickled (resolve's walk
    over hyperopt's own objects shares hpgraph.gather_uses)."""
    shared = hp.uniform("s", 0, 1)
    assert space_from_hp({"c": shared, "d": [shared]}, source="t")["s"].high == 1
    with pytest.raises(InputError, match="share the label 'x'"):
        space_from_hp({"a": hp.uniform("x", 0, 1), "b": hp.uniform("x", 0, 2)}, source="t")
