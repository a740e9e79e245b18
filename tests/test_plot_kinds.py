"""Every plot kind (and lpdf) on every space kind, with values on the edges of their support.

The studies are real ``fmin`` runs: ``points_to_evaluate`` puts the first trials exactly on
the bounds (and on 0, where q-rounded log kinds can land: ``qlognormal`` and
``qloguniform`` round small draws to 0), then random search fills the rest. Each figure is
built through the same functions the CLI uses; a crash on any of them fails the test.
"""

from __future__ import annotations

import io
import math
import pickle
import sys
from pathlib import Path

import pytest
from conftest import run_fmin

from hopt_inspect import plotinfo
from hopt_inspect.loading import load_study
from hopt_inspect.plotkinds import KINDS, PlotOptions
from hopt_inspect.render import plots
from hopt_inspect.resolve import space_from_hp
from hopt_inspect.session import Inputs, session_for
from hopt_inspect.tpe import tpe_curves

REALFILES = Path(__file__).resolve().parent / "fixtures" / "realfiles"
sys.path.insert(0, str(REALFILES))


def every_kind_space():
    """hyperopt's many_dists domain (every distribution) plus uniformint."""
    from hyperopt import hp
    from make_realfiles import many_dists_space

    return {**many_dists_space(), "u": hp.uniformint("u", 2, 9)}


# the support's edges of each label in every_kind_space (choice/randint: index or value)
LOW_EDGE = {
    "a": 0, "b": 0, "bb": 12, "c": 4.0, "d": math.exp(-2), "e": 0.0, "f": 0.0,
    "g": -1e6, "h": 1e-300, "i": -1e6, "j": 0.0, "k": 0, "u": 2,
}  # fmt: skip
HIGH_EDGE = {
    "a": 2, "b": 9, "bb": 24, "c": 7.0, "d": 1.0, "e": 9.0, "f": 20.0,
    "g": 1e6, "h": 1e6, "i": 1e6, "j": 1e6, "k": 1, "u": 9,
}  # fmt: skip


def _objective(p):
    return {"loss": float(sum(float(v) for v in p.values()) % 7.0), "status": "ok"}


def _study(tmp_path: Path, name: str, points: list[dict], n: int):
    from hyperopt import rand
    from hyperopt.fmin import generate_trials_to_calculate

    # what fmin(points_to_evaluate=...) does (the points, then n more), with a Trials we keep
    trials = generate_trials_to_calculate(points) if points else None
    trials = run_fmin(_objective, every_kind_space(), n, seed=3, algo=rand.suggest, trials=trials)
    path = tmp_path / f"{name}.p"
    path.write_bytes(pickle.dumps(trials))
    return load_study(path), path


STUDIES = {
    "edges": ([LOW_EDGE, HIGH_EDGE, LOW_EDGE], 30),
    "one trial": ([], 1),  # every range is a single value: lo == hi everywhere
}


@pytest.fixture(scope="module", params=list(STUDIES))
def edge_study(request, tmp_path_factory):
    points, n = STUDIES[request.param]
    study, path = _study(tmp_path_factory.mktemp("kinds"), request.param, points, n)
    return request.param, study, path


def _close(fig) -> None:
    plots.save_figure(fig, io.BytesIO())  # drawing it: errors of layout or scale surface here


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_plot_kind_on_every_space_kind(edge_study, kind):
    name, study, _ = edge_study
    space = space_from_hp(every_kind_space(), source="every_kind_space")
    assert set(space.labels) == set(LOW_EDGE)
    if name == "edges":  # the edges reached the file as hyperopt stored them
        j = study.column("j")
        assert 0.0 in set(j.tolist()) and 1e6 in set(j.tolist())
    else:
        assert study.n_trials == 1
    session = session_for(study, Inputs(file=study.source.path))
    session.__dict__["space"] = space  # as --space would give it
    info = KINDS[kind].info(session, PlotOptions(x="j", y="f"))  # what plot and report call
    fig = plots.build_figure(kind, info)
    _close(fig)
    if kind == "hist" and name == "edges":
        titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_visible()]
        j_title = next(t for t in titles if t.startswith("j ~"))
        assert "at 0, off the log axis" in j_title


def test_lpdf_on_every_space_kind(edge_study):
    _, study, path = edge_study
    space = space_from_hp(every_kind_space(), source="every_kind_space")
    n = len(study.trials)
    for label in space.labels:  # one snapshot (after every trial): one row per figure
        result = tpe_curves(study, space, label, at=[n], grid=60)
        _close(plots.build_figure("lpdf", result, path.name, n))


def test_many_dists_file_hist():
    """The real crash: hyperopt's own many_dists domain, qlognormal values rounded to 0
    ("Geometric sequence cannot include zero" in plot --kind hist and report)."""
    from hopt_inspect.resolve import space_from_python

    study = load_study(REALFILES / "many_dists.p")
    assert 0.0 in set(study.column("j").tolist())
    space = space_from_python(f"{REALFILES / 'many_dists_space.py'}:space")
    fig = plots.build_figure("hist", plotinfo.hist_info(study, space))
    _close(fig)
    n_zero = int((study.column("j") == 0).sum())
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert f"j ~ qlognormal(0, 2, 1) · {n_zero} at 0, off the log axis" in titles
