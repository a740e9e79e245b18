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


class TookTooLong(Exception):
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
    assert "\n" not in message
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
