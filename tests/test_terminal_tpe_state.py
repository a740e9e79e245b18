"""summary's "TPE's model now" table keeps one line per parameter at 80 columns."""

from __future__ import annotations

import dataclasses
import io

import pytest
from conftest import SAMPLES
from rich.console import Console

from hopt_inspect.loading import load_study
from hopt_inspect.render.terminal import render_summary
from hopt_inspect.summary import ParamState, summarize

LONG = "recall_memory_num_experiences_per_recall"


def _table(width: int, n_above: int) -> list[str]:
    s = summarize(load_study(SAMPLES / "heart.p"))
    states = [
        ParamState(LONG, "quniform", 25, n_above, 0.04, 130.0, 1850.0, 10.0),
        ParamState("future_discount_increment", "loguniform", 25, n_above, 0.04, 0.0077, 0.03, 0.1),
    ]
    s = dataclasses.replace(s, tpe_state=states)
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(render_summary(s, width=width))
    lines = console.export_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("TPE's model now"))
    return lines[start + 1 : start + 4]  # the header and the two rows


@pytest.mark.parametrize("width", [80, 100, 200])
@pytest.mark.parametrize("n_above", [49975, 199975])
def test_a_long_label_stays_on_its_row(width, n_above):
    header, long_row, short_row = _table(width, n_above)
    # the long label is shortened in the middle, both ends kept, on the same line as its
    # numbers (it used to fold at 80 columns, its last letter alone on the next line)
    assert long_row.split()[0].startswith("recall_mem") and "…" in long_row.split()[0]
    assert long_row.split()[0].endswith("recall")
    assert long_row.rstrip().endswith("10.0") and short_row.rstrip().endswith("0.1")
    assert short_row.split()[0].startswith("future_disc")
    assert max(len(line.rstrip()) for line in (header, long_row, short_row)) <= width
    # the number columns line up
    assert len(long_row.rstrip()) == len(short_row.rstrip())
