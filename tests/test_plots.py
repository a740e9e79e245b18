"""plot: each figure's data first (point counts, scales, labels, bounds), then the files."""

from __future__ import annotations

import math
import pickle
import sys

import pytest
from conftest import SAMPLES, run_cli, run_fmin

from hopt_inspect import plotinfo, plotkinds
from hopt_inspect.loading import load_study
from hopt_inspect.render import plots
from hopt_inspect.resolve import resolve_space, space_from_python

sys.path.insert(0, str(SAMPLES))
HEART = f"{SAMPLES / 'tuner.py'}:heart_space"
QLEARN = f"{SAMPLES / 'tuner.py'}:qlearn_space"


@pytest.fixture(scope="module")
def heart():
    study = load_study(SAMPLES / "heart.p")
    return study, space_from_python(HEART)


@pytest.fixture(scope="module")
def qlearn():
    study = load_study(SAMPLES / "qlearn.p")
    return study, space_from_python(QLEARN)


def test_history_info_and_figure(heart):
    study, _ = heart
    info = plotinfo.history_info(study)
    assert len(info.points) == 100 and info.startup == 20
    assert info.best_so_far[-1] == (study.best().tid, study.best().loss)
    fig = plots.history_figure(info)
    ax = fig.axes[0]
    assert len(ax.collections[0].get_offsets()) == 100
    assert ax.get_yscale() == "linear"
    assert "heart.p, 100 trials" in ax.get_title(loc="left")


def test_every_text_of_the_params_figure_is_inside_it(qlearn):
    """The colour bar's label sat right of its tick labels, beyond the figure's edge."""
    study, space = qlearn
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = plots.params_figure(plotinfo.params_info(study, space))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    width, _ = canvas.get_width_height()
    for text in fig.findobj(lambda o: hasattr(o, "get_text") and o.get_visible()):
        if not text.get_text():
            continue
        box = text.get_window_extent(renderer)
        assert box.x0 >= -1 and box.x1 <= width + 1, text.get_text()


def test_history_marks_failures_and_symlog():
    study = load_study(SAMPLES / "failures.p")
    info = plotinfo.history_info(study)
    assert len(info.failed) == 7 and dict(info.non_finite) == {60: "nan", 61: "inf"}
    fig = plots.history_figure(info)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "failed or error (no loss)" in labels and "NaN or inf loss" in labels
    assert plotinfo._spans_orders([0.001, 0.002, 0.001, 50.0])


def test_params_info_units_and_bounds(qlearn):
    study, space = qlearn
    info = plotinfo.params_info(study, space)
    by_label = {s.label: s for s in info.series}
    lr = by_label["learning_rate"]
    assert lr.log and lr.bounds == pytest.approx((1e-5, 1.0))
    assert len(lr.tids) == 200
    choice = by_label["use_double_q_learning"]
    assert choice.options == ["True", "False"] and set(choice.values) <= {0.0, 1.0}
    fig = plots.params_figure(info)
    lr_ax = next(a for a in fig.axes if a.get_title(loc="left").startswith("learning_rate"))
    assert lr_ax.get_yscale() == "log"
    ch_ax = next(a for a in fig.axes if a.get_title(loc="left").startswith("use_double"))
    assert [t.get_text() for t in ch_ax.get_yticklabels()] == ["True", "False"]


def test_scatter_with_objective_contours(heart):
    import tuner

    study, space = heart
    info = plotinfo.scatter_info(
        study, space, "learning_rate", "size_of_hidden_layer", objective=tuner.heart, grid=40
    )
    xs, ys, z = info.contour
    assert len(xs) == len(ys) == 40 and z[0][0] == pytest.approx(tuner.heart(xs[0], ys[0]))
    fig = plots.scatter_figure(info)
    ax = fig.axes[0]
    texts = {t.get_text() for t in ax.texts}
    assert {str(t.tid) for t in study.trials} <= texts  # every trial labelled by number
    assert ax.get_xlabel() == "learning_rate" and ax.get_ylabel() == "size_of_hidden_layer"
    best = ax.get_legend_handles_labels()[1]
    assert f"best trial ({study.best().tid})" in best


def test_hist_against_prior(qlearn):
    study, space = qlearn
    info = plotinfo.hist_info(study, space)
    panel = next(p for p in info.panels if p.series.label == "future_discount_max")
    assert len(panel.startup_values) == 20 and len(panel.tpe_values) == 180
    assert panel.prior_density[0] == pytest.approx(1 / 0.49)
    choice = next(p for p in info.panels if p.series.label == "use_double_q_learning")
    assert choice.prior_density == [0.5, 0.5]
    plots.hist_figure(info)


def test_importance_finds_what_the_loss_depends_on(tmp_path):
    from hyperopt import hp

    space = {"a": hp.uniform("a", -3, 3), "b": hp.uniform("b", -3, 3), "c": hp.uniform("c", 0, 1)}
    trials = run_fmin(lambda p: (p["a"] - 1) ** 2 + 0.01 * p["c"], space, 150, seed=5)
    path = tmp_path / "t.p"
    path.write_bytes(pickle.dumps(trials))
    study = load_study(path)
    info = plotinfo.importance_info(study, resolve_space(None, study))
    ranked = dict(info.importances)
    assert info.importances[0][0] == "a" and ranked["a"] > 0.6
    assert sum(ranked.values()) == pytest.approx(1.0)
    assert plotinfo.most_important_pair(study, resolve_space(None, study))[0] == "a"


def test_plot_cli_writes_every_kind(tmp_path):
    out = run_cli(
        "plot", SAMPLES / "heart.p", "--space", HEART, "--objective",
        f"{SAMPLES / 'tuner.py'}:heart", "-o", tmp_path / "p",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    names = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert names == sorted(f"{k}.png" for k in plotkinds.KINDS)
    for name in names:
        assert (tmp_path / "p" / name).read_bytes()[:4] == b"\x89PNG"


def test_plot_cli_inferred_and_bad_input(tmp_path):
    out = run_cli("plot", SAMPLES / "failures.p", "--kind", "history,hist", "-o", tmp_path)
    assert out.returncode == 0 and "INFERRED" in out.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hist.png", "history.png"]
    out = run_cli("plot", SAMPLES / "heart.p", "--kind", "pie")
    assert out.returncode == 2 and "--kind pie" in out.stderr
    out = run_cli("plot", SAMPLES / "heart.p", "--kind", "scatter", "--x", "nope", "-o", tmp_path)
    assert out.returncode == 2 and "no such parameter" in out.stderr


def _synthetic_series(label, values, losses, **kw):
    return plotinfo.ParamSeries(
        label=label, kind=kw.get("kind", "uniform"), distribution="uniform(0, 1)",
        log=False, bounds=(0.0, 1.0), options=kw.get("options"),
        tids=list(range(len(values))), values=values, losses=losses, inferred=False,
    )  # fmt: skip


def test_many_points_are_binned_and_labels_bounded():
    """Past plots.DENSE points: hexagons / option bands (not one marker per trial), a note
    that says so, and trial numbers on a bounded set: the 10 best and the latest improvements."""
    import numpy as np
    from matplotlib.collections import PolyCollection, QuadMesh

    n = plots.DENSE + 1000
    rng = np.random.default_rng(1)
    x, y = rng.uniform(size=n).tolist(), rng.uniform(size=n).tolist()
    losses = [*(rng.normal(size=n - 1).tolist()), None]
    sx, sy = _synthetic_series("x", x, losses), _synthetic_series("y", y, losses)
    scatter = plots.scatter_figure(plotinfo.ScatterInfo("t", sx, sy, best_tid=0))
    ax = scatter.axes[0]
    assert any(isinstance(c, PolyCollection) for c in ax.collections)  # hexbin
    assert max(len(c.get_offsets()) for c in ax.collections) < n
    improvements = [t for t, v in enumerate(np.minimum.accumulate(losses[:-1]))
                    if t == 0 or v < np.minimum.accumulate(losses[:-1])[t - 1]]  # fmt: skip
    expected = set(np.argsort(losses[:-1])[: plots.LABEL_BEST]) | set(improvements[-25:])
    numbers = {int(t.get_text()) for t in ax.texts}
    assert int(np.nanargmin(np.asarray(losses, dtype=float))) in numbers  # the best, always
    assert numbers <= {int(t) for t in expected} and len(numbers) >= 5  # overlaps left out
    assert "binned" in scatter.axes[1].get_ylabel()
    few = plots._labelled_tids(list(range(100)), [float(i) for i in range(100)])
    assert few == list(range(100))  # a small study keeps every number
    choice = _synthetic_series("c", rng.integers(0, 3, n).astype(float).tolist(), losses,
                               kind="choice", options=["a", "b", "c"])  # fmt: skip
    params = plots.params_figure(plotinfo.ParamsInfo("p", 20, [sx, choice]))
    assert any(isinstance(c, QuadMesh) for c in params.axes[1].collections)
    assert "binned" in params.texts[0].get_text()


def test_efficiency_band_cut_at_zero_for_a_loss_never_negative(qlearn):
    """qlearn's losses are all >= 0, and the tail model (which knows no floor) puts random
    search's 5% below 0: drawn cut at 0, and the legend says so."""
    from matplotlib.collections import PolyCollection

    study, _ = qlearn
    info = plotinfo.efficiency_info(study)
    assert min(v for _, v in info.points) >= 0 and min(info.band_low) < 0
    fig = plots.efficiency_figure(info)
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert any("cut at 0" in label for label in labels)
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    lowest = min(min(p.vertices[:, 1]) for c in bands for p in c.get_paths())
    assert lowest == 0.0
    assert ax.get_ylim()[0] > min(info.band_low)  # the cut band does not stretch the axis


def test_losses_near_the_float_limit_draw_without_overflow(tmp_path):
    """±1e308 losses: symlog axes with finite limits set by us (matplotlib's own margins
    overflowed and warned), all the points inside them."""
    import io
    import warnings

    from hyperopt import hp

    def objective(p):
        x = p["x"]
        return 1e308 if x > 0.8 else -1e308 if x < -0.8 else x * x

    trials = run_fmin(objective, {"x": hp.uniform("x", -1, 1)}, 60, seed=3)
    path = tmp_path / "huge.p"
    path.write_bytes(pickle.dumps(trials))
    study = load_study(path)
    history = plotinfo.history_info(study)
    assert history.symlog
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plots.history_figure(history)
        plots.save_figure(fig, io.BytesIO())
    low, high = fig.axes[0].get_ylim()
    assert low < -1e307 and high > 1e307 and math.isfinite(low) and math.isfinite(high)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert not any("$" in label for label in labels)  # plain text, not raw mathtext


def test_mean_hexbin_equals_hexbins_own_reduction():
    """The fast mean per hexagon (counts by hexbin, sums by bincount) is hexbin's own
    C/np.mean result, cell for cell, on linear and log axes."""
    import numpy as np
    from matplotlib.figure import Figure

    rng = np.random.default_rng(0)
    for logx, logy in [(False, False), (True, False), (False, True)]:
        x = np.exp(rng.uniform(-5, 0, 5000)) if logx else rng.uniform(0, 10, 5000)
        y = np.exp(rng.uniform(-5, 0, 5000)) if logy else rng.normal(size=5000)
        c = rng.uniform(size=5000)
        fast = plots._mean_hexbin(Figure().subplots(), x, y, c, gridsize=(40, 20), logx=logx,
                                  logy=logy, zorder=1)  # fmt: skip
        tx, ty = (np.log10(x) if logx else x), (np.log10(y) if logy else y)
        slow = Figure().subplots().hexbin(
            x, y, C=c, reduce_C_function=np.mean, gridsize=(40, 20),
            extent=[tx.min(), tx.max(), ty.min(), ty.max()],
            xscale="log" if logx else "linear", yscale="log" if logy else "linear",
        )  # fmt: skip
        assert np.allclose(fast.get_offsets(), slow.get_offsets())
        assert np.allclose(fast.get_array(), slow.get_array())


def test_efficiency_thins_a_dense_cloud_and_says_so(qlearn):
    """Past DENSE trials the loss cloud is a sample as dense per decade of the log axis as
    at its start (the best-so-far line still has every improvement); the legend says so."""
    import dataclasses

    import numpy as np

    study, _ = qlearn
    info = plotinfo.efficiency_info(study)
    rng = np.random.default_rng(3)
    n = 4 * plots.DENSE
    points = [(i + 1, float(v)) for i, v in enumerate(rng.uniform(1, 20, n))]
    fig = plots.efficiency_figure(dataclasses.replace(info, points=points))
    ax = fig.axes[0]
    drawn = sum(len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets")
                and len(c.get_offsets()) > 10)  # fmt: skip
    assert 0.8 * plots.DENSE < drawn < 1.2 * plots.DENSE
    labels = ax.get_legend_handles_labels()[1]
    assert any(f"of {n:,}, thinned evenly along the axis" in label for label in labels)
    kept = plots._thinned(np.arange(1, n + 1))
    early = np.arange(1, 101)
    assert set(early - 1) <= set(kept.tolist())  # the first trials: every one
    per_octave = np.histogram(kept + 1, bins=[4000, 8000, 16000])[0]  # past c: even
    assert abs(per_octave[0] - per_octave[1]) < 0.15 * per_octave.mean()
    assert ax.get_xscale() == "log"
    fig.canvas.draw()
    assert not any("$" in t.get_text() for t in ax.get_xticklabels())


def test_log_axis_ticks_are_numbers_not_raw_mathtext():
    """With mathtext off (hostile labels), a log axis drew its ticks as the literal text
    `$\\mathdefault{10^{-4}}$` (every lpdf figure of a log parameter)."""
    import io

    from hopt_inspect.render.plots import _figure, save_figure

    fig = _figure(4, 3)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([1e-5, 1e-3, 1e-1], [1, 2, 3])
    ax.set_xscale("log")
    ax.set_yscale("symlog")
    save_figure(fig, io.BytesIO())
    labels = [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    labels = [t for t in labels if t]
    assert labels and not any("$" in t or "mathdefault" in t for t in labels), labels


def test_scatter_pair_is_two_parameters_some_trials_share(tmp_path):
    """In a conditional space the two most important parameters may never be set together
    (an svm's C, a forest's max_feat): the scatter then showed empty axes."""
    import numpy as np
    from hyperopt import hp

    from hopt_inspect.plotinfo import most_important_pair
    from hopt_inspect.resolve import space_from_hp

    space = hp.choice(
        "model",
        [
            {"type": "svm", "C": hp.loguniform("C", -5, 5)},
            {
                "type": "rf",
                "max_feat": hp.uniform("max_feat", 0.1, 1),
                "n_trees": hp.quniform("n_trees", 10, 500, 10),
            },
        ],
    )

    def objective(p):  # C matters most, then max_feat
        if p["type"] == "svm":
            return (math.log(p["C"]) - 2) ** 2 / 10
        return 0.5 + (p["max_feat"] - 0.3) ** 2 + p["n_trees"] * 1e-6

    trials = run_fmin(objective, space, 120, seed=3)
    path = tmp_path / "cond.p"
    path.write_bytes(pickle.dumps(trials))
    study = load_study(path)
    a, b = most_important_pair(study, space_from_hp(space, source="test"))
    both = ~np.isnan(study.column(a)) & ~np.isnan(study.column(b))
    assert int(both.sum()) >= 10
    assert {a, b} == {"max_feat", "n_trees"}
