"""report: one self-contained HTML file that parses, loads nothing from outside, and renders."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from conftest import SAMPLES, run_cli

HEART = f"{SAMPLES / 'tuner.py'}:heart_space"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def heart_report(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("report")
    out = run_cli("report", SAMPLES / "heart.p", "--space", HEART, "-o", out_dir)
    assert out.returncode == 0, out.stderr
    return out_dir / "index.html"


def test_report_is_self_contained(heart_report):
    page = heart_report.read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(page)
    parser.close()
    images = [attrs for tag, attrs in parser.tags if tag == "img"]
    # history, params, scatter, hist, importance + 2 lpdf + efficiency (the verdict's panel)
    assert len(images) == 5 + 2 + 1
    assert all(img["src"].startswith("data:image/png;base64,") for img in images)
    for tag, attrs in parser.tags:
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not value.startswith(("http:", "https:", "//")), (tag, value)
        assert tag not in ("script", "link", "iframe")
    text = " ".join(parser.text)
    assert "best-at-boundary" in text and "T003" in text  # the findings, with advice
    assert "Widen the range" in text
    assert "Is TPE working?" in text and "not enough evidence" in text  # the verdict's panel
    rows = [t for t, _ in parser.tags if t == "tr"]
    assert len(rows) >= 100  # the trials table (plus the best trial's parameters)


def test_report_bad_output(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    out = run_cli("report", SAMPLES / "heart.p", "-o", target)
    assert out.returncode == 2 and "not a folder" in out.stderr


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="Debian's chromium is not installed here")
def test_report_renders_in_headless_chromium(heart_report, tmp_path):
    from PIL import Image

    shot = tmp_path / "shot.png"
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
        "--window-size=1280,2000",
    ]  # fmt: skip
    run = subprocess.run(
        [_chromium(), *flags, f"--screenshot={shot}", heart_report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.exists(), run.stderr[-2000:]
    console_errors = [
        line for line in run.stderr.splitlines() if "CONSOLE" in line and "rror" in line
    ]
    assert console_errors == []
    image = Image.open(shot).convert("L")
    extrema = image.getextrema()
    assert extrema[0] < 100 and extrema[1] > 200  # not a blank page: dark text on white
    dom = subprocess.run(
        [_chromium(), *flags, "--dump-dom", heart_report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    # 5 study plots, the efficiency panel, and one TPE-curve figure per parameter (2)
    assert "hopt-inspect report" in dom and dom.count("<img") == 8


def test_the_efficiency_figure_has_the_verdict_beside_it():
    """The figure in the "Is TPE working?" panel is computed with the start-up the checks
    use (here given: 22 trials), as the panel's text is, not hyperopt's default 20."""
    from hopt_inspect.plotkinds import KINDS, PlotOptions
    from hopt_inspect.session import Inputs, open_session

    session = open_session(Inputs(file=SAMPLES / "heart.p", space=HEART, n_startup_jobs=22))
    figure = KINDS["efficiency"].info(session, PlotOptions())
    panel = session.summary(model=False).tpe_vs_random
    assert figure.result == panel
    assert figure.startup == panel.evidence["startup_trials"] == 22
