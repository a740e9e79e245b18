"""The forked drawing children (render/forks.py): results in order, jobs inherited, errors."""

from __future__ import annotations

import multiprocessing
import os
import threading

import pytest

from hopt_inspect.render import forks

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork"
)


def test_results_in_job_order_from_children_that_inherit_the_job() -> None:
    lock = threading.Lock()  # cannot be pickled: a pool would fail to send this job
    advanced = []

    def jobs():
        for i in range(7):
            yield (i, lock)

    def draw(i: int, held: object) -> tuple[int, int]:
        assert held is not None
        return i * i, os.getpid()

    out = forks.run_forked(jobs(), draw, lambda: advanced.append(1), workers=2)
    assert [v for v, _ in out] == [i * i for i in range(7)]
    pids = {pid for _, pid in out}
    assert os.getpid() not in pids and len(pids) == 7  # one child a job
    assert len(advanced) == 7


def test_a_failed_figure_raises_its_error_and_leaves_no_child() -> None:
    def draw(i: int) -> int:
        if i == 3:
            raise ValueError(f"figure {i} failed")
        return i

    with pytest.raises(ValueError, match="figure 3 failed"):
        forks.run_forked(((i,) for i in range(6)), draw, lambda: None, workers=2)
    with pytest.raises(ChildProcessError):  # every child was reaped
        os.waitpid(-1, os.WNOHANG)


def test_an_error_in_the_parents_jobs_stops_the_children() -> None:
    def jobs():
        yield (1,)
        yield (2,)
        raise KeyError("while computing the next job")

    with pytest.raises(KeyError):
        forks.run_forked(jobs(), lambda i: i, lambda: None, workers=2)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_at_most_workers_children_draw_at_once() -> None:
    import time

    def draw(i: int) -> tuple[float, float]:
        start = time.monotonic()
        time.sleep(0.15)
        return start, time.monotonic()

    spans = forks.run_forked([(i,) for i in range(5)], draw, lambda: None, workers=2)
    for start, _ in spans:  # at any moment at most 2 spans overlap
        assert sum(s <= start < e for s, e in spans) <= 2


def test_without_a_temporary_folder_the_parent_draws(monkeypatch) -> None:
    def no_tmp(*args, **kwargs):
        raise OSError("read-only file system")

    monkeypatch.setattr(forks.tempfile, "TemporaryFile", no_tmp)
    out = forks.run_forked([(i,) for i in range(4)], lambda i: (i, os.getpid()), lambda: None, 2)
    assert out == [(i, os.getpid()) for i in range(4)]


def test_the_sessions_frozen_study_stays_frozen() -> None:
    """open_session freezes the loaded study out of the collector's way: drawing must not
    hand it back (a full collection would then scan 200,000 trials again)."""
    import gc

    gc.unfreeze()
    forks.run_forked([(i,) for i in range(3)], lambda i: i, lambda: None, 2)
    assert gc.get_freeze_count() == 0  # nothing frozen before: nothing left frozen
    kept = [object() for _ in range(10)]
    gc.freeze()
    before = gc.get_freeze_count()
    try:
        forks.run_forked([(i,) for i in range(3)], lambda i: i, lambda: None, 2)
        assert gc.get_freeze_count() >= before
    finally:
        gc.unfreeze()
    assert kept


def test_a_child_killed_by_the_system_is_a_one_line_error_not_a_bug() -> None:
    import signal

    from hopt_inspect.errors import InputError

    def draw(i: int) -> int:
        if i == 1:
            os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's out-of-memory killer does
        if i == 2:
            raise MemoryError
        return i

    with pytest.raises(InputError, match=r"ended without its figure \(signal 9"):
        forks.run_forked(iter([(0,), (1,)]), draw, lambda: None, workers=2)
    with pytest.raises(InputError, match="ran out of memory"):
        forks.run_forked(iter([(0,), (2,)]), draw, lambda: None, workers=2)
