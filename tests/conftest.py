"""Fixtures: real studies made by hyperopt's own fmin, written the way users write them."""

from __future__ import annotations

import math
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_trials"
LEGACY = Path(__file__).resolve().parent / "fixtures" / "legacy"


def run_fmin(objective, space, n, seed=0, algo=None, trials=None, **kwargs):
    from hyperopt import Trials, fmin, rand

    trials = Trials() if trials is None else trials
    fmin(
        objective,
        space,
        algo=algo or rand.suggest,
        max_evals=n,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
        **kwargs,
    )
    return trials


def mixed_space():
    from hyperopt import hp

    return {
        "x": hp.uniform("x", -2, 2),
        "lr": hp.loguniform("lr", math.log(1e-4), 0),
        "units": hp.quniform("units", 8, 64, 8),
        "act": hp.choice("act", ["relu", "tanh"]),
    }


def mixed_objective(p):
    if p["x"] < -1.6:
        return {"status": "fail"}
    if p["x"] > 1.8:
        raise ValueError("x too large")
    return {"loss": (p["x"] - 0.5) ** 2 + p["units"] / 640, "status": "ok", "acc": 1 - p["x"] / 4}


@pytest.fixture(scope="session")
def mixed_trials():
    """30 trials of TPE on a mixed space, with failures and one error trial."""
    from hyperopt import tpe

    return run_fmin(
        mixed_objective, mixed_space(), 30, seed=5, algo=tpe.suggest, catch_eval_exceptions=True
    )


@pytest.fixture
def write_pickle(tmp_path):
    def write(obj, name="trials.p", protocol=pickle.DEFAULT_PROTOCOL):
        path = tmp_path / name
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=protocol)
        return path

    return write


def cli_path() -> str:
    """The installed console script next to this interpreter (what a user runs)."""
    candidate = Path(sys.executable).parent / "hopt-inspect"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("hopt-inspect")
    if not found:
        pytest.fail("the hopt-inspect console script is not installed")
    return found


def run_cli(*args, cwd=None, env=None):
    return subprocess.run(
        [cli_path(), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def write_by_value_study(path: Path, protocol: int | None = None) -> Path:
    """4 trials whose results hold an object of a class defined in ``__main__``, written by
    cloudpickle (which pickles that class by value), in a child process."""
    dump = f"cloudpickle.dumps(t{'' if protocol is None else f', protocol={protocol}'})"
    script = (
        "import cloudpickle, numpy as np\n"
        "from hyperopt import Trials, fmin, hp, rand\n"
        "class Local:\n"
        "    def __init__(self, v): self.v = v\n"
        "t = Trials()\n"
        "fmin(lambda x: {'loss': x * x, 'status': 'ok', 'obj': Local(x)}, hp.uniform('x', -1, 1),"
        " algo=rand.suggest, max_evals=4, trials=t, show_progressbar=False,"
        " rstate=np.random.default_rng(0))\n"
        f"open({str(path)!r}, 'wb').write({dump})\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=path.parent)
    return path
