"""lpdf as a user runs it: JSON contract, PNG files, figures that draw the computed data."""

from __future__ import annotations

import json
import math
import os

import pytest
from conftest import SAMPLES, run_cli

from hopt_inspect.loading import load_study
from hopt_inspect.render.plots import lpdf_figure
from hopt_inspect.resolve import space_from_python, space_from_toml
from hopt_inspect.tpe import tpe_curves

HEART_SPACE = f"{SAMPLES / 'tuner.py'}:heart_space"
QLEARN_SPACE = f"{SAMPLES / 'tuner.py'}:qlearn_space"
QLEARN_TOML = str(SAMPLES.parent / "tests" / "fixtures" / "qlearn_space.toml")
SNAPSHOT_KEYS = {
    "n_trials",
    "n_below",
    "n_above",
    "x",
    "below_llik",
    "above_llik",
    "argmax_x",
    "next_value",
    "prior_share",
}


def test_json_contract(tmp_path):
    out = run_cli(
        "lpdf",
        SAMPLES / "heart.p",
        "--param",
        "learning_rate",
        "--space",
        HEART_SPACE,
        "--json",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["schema"] == "hopt-inspect/lpdf/1"
    assert doc["param"] == "learning_rate" and doc["kind"] == "uniform"
    assert doc["space_source"] == HEART_SPACE
    assert doc["settings"]["gamma"] == 0.25 and doc["settings"]["lf"] == 25
    assert [s["n_trials"] for s in doc["snapshots"]] == [20, 30, 40, 50, 60, 70, 80, 90, 100]
    for snap in doc["snapshots"]:
        assert set(snap) >= SNAPSHOT_KEYS
        assert len(snap["x"]) == len(snap["below_llik"]) == len(snap["above_llik"]) == 400
    assert list(tmp_path.iterdir()) == []  # --json writes no PNG unless -o is given


def test_categorical_x_is_the_option_index():
    out = run_cli(
        "lpdf",
        SAMPLES / "qlearn.p",
        "-p",
        "use_double_q_learning",
        "--space",
        QLEARN_TOML,
        "--json",
        "--at",
        "20,200",
    )
    doc = json.loads(out.stdout)
    assert [s["n_trials"] for s in doc["snapshots"]] == [20, 200]
    for snap in doc["snapshots"]:
        assert snap["x"] == [0, 1]
        assert math.isclose(sum(math.exp(v) for v in snap["below_llik"]), 1.0)
    assert doc["snapshots"][-1]["next_value"] is None


def test_at_uses_exactly_the_first_n_trials():
    study = load_study(SAMPLES / "qlearn.p")
    out = run_cli(
        "lpdf",
        SAMPLES / "qlearn.p",
        "-p",
        "num_epochs",
        "--space",
        QLEARN_SPACE,
        "--json",
        "--at",
        "37",
    )
    snap = json.loads(out.stdout)["snapshots"][0]
    assert snap["n_trials"] == 37
    assert snap["n_below"] + snap["n_above"] == 37
    assert snap["next_value"] == study.trials[37].params["num_epochs"]


def test_png_is_written_atomically(tmp_path):
    target = tmp_path / "sub" / "heart.png"
    env = {**os.environ, "COLUMNS": "80"}
    out = run_cli(
        "lpdf",
        SAMPLES / "heart.p",
        "-p",
        "learning_rate",
        "--space",
        HEART_SPACE,
        "-o",
        target,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in target.parent.iterdir()] == ["heart.png"]
    assert f"wrote {target}" in " ".join(out.stdout.split())
    assert max(len(line) for line in out.stdout.splitlines()) <= 80


def test_param_all_writes_one_png_each(tmp_path):
    out = run_cli(
        "lpdf", SAMPLES / "qlearn.p", "--param", "all", "--space", QLEARN_TOML, "-o", tmp_path
    )
    assert out.returncode == 0, out.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 10 and all(n.startswith("lpdf-") and n.endswith(".png") for n in names)


def test_default_output_name(tmp_path):
    out = run_cli("lpdf", SAMPLES / "heart.p", "-p", "learning_rate", "--at", "50", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "lpdf-learning_rate.png").exists()
    assert "INFERRED" in out.stdout  # no --space: the space was inferred and says so


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "nope"], "no such parameter; the study has learning_rate, size_of_hidden_layer"),
        (["-p", "learning_rate", "--at", "500"], "between 0 and 100"),
        (["-p", "learning_rate", "--at", "x"], "expected trial counts"),
        (["-p", "learning_rate", "--space", "missing.py:space"], "no such file"),
        (
            ["-p", "learning_rate", "--space", f"{SAMPLES / 'tuner.py'}:qlearn_space"],
            "no parameter",
        ),
    ],
)
def test_bad_lpdf_input(tmp_path, args, message):
    out = run_cli("lpdf", SAMPLES / "heart.p", *args, cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert message in out.stderr


def _line(ax, gid):
    return next(artist for artist in ax.get_children() if artist.get_gid() == gid)


def test_figure_draws_the_computed_curves():
    """One axes holds every snapshot as a band: the lines carry the computed values, and
    each row's transform maps its own y range into its band, top row first."""
    study = load_study(SAMPLES / "heart.p")
    sp = space_from_python(HEART_SPACE)
    result = tpe_curves(study, sp, "learning_rate", at=[30, 60, 100])
    fig = lpdf_figure(result, file_label="heart.p", n_trials=100)
    samples_ax, rows = fig.axes[0], fig.axes[1]
    assert len(fig.axes) == 2  # whatever the number of snapshots (the colour bar is an inset)
    assert len(samples_ax.collections[0].get_offsets()) == 100  # every trial is a point
    titles = [t.get_text() for t in rows.texts]
    bottoms = []
    for i, snap in enumerate(result.snapshots):
        below, above, diff = (_line(rows, f"{name}-{i}") for name in ("below", "above", "diff"))
        assert list(below.get_xdata()) == snap.x
        # Densities are drawn relative to a uniform over the range: log(4) for uniform(-2, 2).
        shift = math.log(4.0)
        assert list(below.get_ydata()) == pytest.approx([v + shift for v in snap.below_llik])
        assert list(above.get_ydata()) == pytest.approx([v + shift for v in snap.above_llik])
        expected_diff = [b - a for b, a in zip(snap.below_llik, snap.above_llik, strict=True)]
        assert list(diff.get_ydata()) == pytest.approx(expected_diff, abs=1e-12)
        assert _line(rows, f"argmax-{i}").get_xdata()[0] == snap.argmax_x
        assert titles[i].startswith(f"after {snap.n_trials} trials")
        # The row's scale: its drawn curves stay inside its band (clipped to its frame).
        to_rows = below.get_transform() - rows.transData
        y = to_rows.transform([(0.0, max(v + shift for v in snap.below_llik))])[0][1]
        assert len(result.snapshots) - 1 - i <= y <= len(result.snapshots) - i
        assert below.get_clip_box() is not None and below.get_clip_box() != rows.bbox
        bottoms.append(to_rows.transform([(0.0, 0.0)])[0][1])
    assert bottoms == sorted(bottoms, reverse=True)  # the first snapshot on top
    assert rows.get_xlim()[0] <= -2 and rows.get_xlim()[1] >= 2
    labels = [t.get_text() for t in rows.get_yticklabels()]
    assert "0" in labels and len(labels) >= 2 * len(result.snapshots)  # each row its scale


def test_figure_log_axis_and_option_names():
    study = load_study(SAMPLES / "qlearn.p")
    sp = space_from_python(QLEARN_SPACE)
    result = tpe_curves(study, sp, "learning_rate", at=[50])
    lr = lpdf_figure(result, file_label="q", n_trials=200)
    assert lr.axes[1].get_xscale() == "log"
    lr.canvas.draw()  # plain-text decade labels (matplotlib's own are mathtext, shown raw)
    labels = [t.get_text() for t in lr.axes[1].get_xticklabels() if t.get_text()]
    assert "10⁻⁵" in labels and "0.01" in labels and not any("$" in t for t in labels)
    # On a log axis the curves are drawn per unit of log x; their difference is unchanged.
    snap = result.snapshots[0]
    drawn_diff = _line(lr.axes[1], "diff-0").get_ydata()
    assert list(drawn_diff) == pytest.approx(
        [b - a for b, a in zip(snap.below_llik, snap.above_llik, strict=True)]
    )
    choice = lpdf_figure(
        tpe_curves(study, sp, "use_double_q_learning", at=[50]), file_label="q", n_trials=200
    )
    labels = [t.get_text() for t in choice.axes[1].get_xticklabels()]
    assert labels == ["True", "False"]


def test_toml_and_python_spaces_give_the_same_curves():
    study = load_study(SAMPLES / "qlearn.p")
    a = tpe_curves(study, space_from_python(QLEARN_SPACE), "learning_rate", at=[100])
    b = tpe_curves(
        study,
        space_from_toml(SAMPLES.parent / "tests/fixtures/qlearn_space.toml"),
        "learning_rate",
        at=[100],
    )
    assert a.snapshots[0].below_llik == pytest.approx(b.snapshots[0].below_llik, abs=1e-12)


def test_written_files_get_ordinary_permissions(tmp_path):
    import stat

    from hopt_inspect.render.files import atomic_write_text

    path = atomic_write_text(tmp_path / "a" / "out.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_text_from_the_file_is_escaped_in_the_png():
    """Control characters in a label, an option or the file name are drawn as \\xNN (the
    escape pass walks the figure without building every tick of every axis)."""
    import dataclasses
    import io

    from matplotlib.text import Text

    from hopt_inspect.render.escape import CONTROL
    from hopt_inspect.render.plots import save_figure

    study = load_study(SAMPLES / "qlearn.p")
    result = tpe_curves(study, space_from_python(QLEARN_SPACE), "use_double_q_learning", at=[50])
    result = dataclasses.replace(result, param="p\x07", options=["x\x1b[31m", "y"])
    fig = lpdf_figure(result, file_label="f\x1b.p", n_trials=200)
    save_figure(fig, io.BytesIO())
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert not any(CONTROL.search(t.replace("\n", "")) for t in texts)
    assert "x\\x1b[31m" in [t.get_text() for t in fig.axes[1].get_xticklabels()]
    assert any("p\\x07" in t for t in texts) and any("f\\x1b.p" in t for t in texts)
