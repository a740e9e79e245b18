"""Draw figures in forked children that inherit their job: nothing is pickled on the way in.

A figure's data at 200,000 trials is tens of MB of arrays; sending it to a pool's worker
pickles it in the parent, copies it through a pipe and unpickles it in the worker (250-380 MB
per worker for ``report``, and seconds of CPU). A child forked once the job is computed
already has it: it draws, writes its result to an unlinked temporary file, and exits. Only
the result (PNG bytes or a path) crosses back, through that file.

A child is forked as soon as its job is made, and waits for one of ``workers`` tokens in a
pipe before it draws: the children hand the cores to each other while the parent computes
the next job (the parent only forks and reaps between jobs).
"""

from __future__ import annotations

import os
import pickle
import signal
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

from ..errors import InputError

_POLL_S = 0.005


class _Child:
    def __init__(self, index: int, pid: int, out: BinaryIO) -> None:
        self.index, self.pid, self.out = index, pid, out


def run_forked(
    jobs: Iterable[tuple[Any, ...]],
    draw: Callable[..., Any],
    advance: Callable[[], Any],
    workers: int,
    prepare: Callable[[], Any] | None = None,
    max_alive: int | None = None,
) -> list[Any]:
    """``draw(*job)`` for each job, at most ``workers`` children at a time, results in order.

    ``jobs`` may be a generator: children draw while the parent computes the next job. A
    failed figure raises its exception here (the first one, after the running children are
    stopped); Ctrl-C stops every child. ``prepare`` runs in the parent before the first fork
    (imports the children would otherwise each repeat). At most ``max_alive`` children
    (default ``2 * workers + 2``) are forked at once; further jobs wait in the parent.
    """
    import gc

    frozen_before = gc.get_freeze_count()  # the session froze the loaded study: kept so
    results: dict[int, Any] = {}
    pending: deque[tuple[int, tuple[Any, ...]]] = deque()
    running: list[_Child] = []  # forked: drawing, or waiting for a token
    prepared = False
    count = 0
    tokens = os.pipe()  # one byte per core a child may draw on
    os.write(tokens[1], b"x" * workers)
    alive = max_alive or 2 * workers + 2  # forked at once, each holding the parent's pages

    def start() -> None:
        nonlocal prepared
        while pending and len(running) < alive:
            if not prepared:
                if prepare is not None:
                    prepare()
                prepared = True
            index, job = pending.popleft()
            try:
                out = tempfile.TemporaryFile(prefix="hopt-inspect-fig-")  # noqa: SIM115 (closed by _result)
            except OSError:  # no writable temporary folder: draw it here
                results[index] = draw(*job)
                advance()
                continue
            # the parent's objects out of the collector's way: a collection in the parent
            # would write to every object's header and copy the page each child still shares
            gc.freeze()
            pid = os.fork()
            if pid == 0:  # the child: draw, write, exit without running the parent's cleanup
                _child(out, draw, job, tokens)
            running.append(_Child(index, pid, out))

    def reap(block: bool) -> None:
        while running:
            for child in list(running):
                pid, status = os.waitpid(child.pid, os.WNOHANG)
                if pid == 0:
                    continue
                running.remove(child)
                if not os.WIFEXITED(status):  # killed: it may hold a token, put one back
                    os.write(tokens[1], b"x")
                results[child.index] = _result(child, status)
                advance()
            if not block or not running:
                return
            if len(running) < alive and pending:
                return
            time.sleep(_POLL_S)

    try:
        for job in jobs:
            pending.append((count, job))
            count += 1
            reap(block=False)
            start()
        while pending or running:
            start()
            reap(block=True)
    except BaseException:
        for child in running:  # Ctrl-C or a failed figure: stop the others now
            try:
                os.kill(child.pid, signal.SIGTERM)
                os.waitpid(child.pid, 0)
            except OSError:
                pass
            child.out.close()
        raise
    finally:
        if not frozen_before:
            gc.unfreeze()
        os.close(tokens[0])
        os.close(tokens[1])
    return [results[i] for i in range(count)]


def _child(
    out: BinaryIO, draw: Callable[..., Any], job: tuple[Any, ...], tokens: tuple[int, int]
) -> None:
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us on Ctrl-C
        os.read(tokens[0], 1)  # wait for a free core
        try:
            payload = pickle.dumps((True, draw(*job)), protocol=pickle.HIGHEST_PROTOCOL)
            code = 0
        except BaseException as exc:
            try:
                payload = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:
                payload = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        view = memoryview(payload)
        fd = out.fileno()
        while view:
            view = view[os.write(fd, view) :]
        os.write(tokens[1], b"x")  # the core to the next child
    finally:
        os._exit(code)


def _result(child: _Child, status: int) -> Any:
    with child.out as out:
        out.seek(0)
        data = out.read()
    if not data:  # killed before writing (out of memory, a signal)
        raise InputError(
            f"a drawing process ended without its figure ({_status(status)}; the system"
            " kills processes this way when memory runs out): free memory, or draw fewer"
            " figures at once (one --param, a larger --every); nothing was written"
        )
    ok, value = pickle.loads(data)  # written by our own child, just now
    if not ok:
        if isinstance(value, MemoryError):
            raise InputError(
                "a drawing process ran out of memory: free memory, or draw fewer figures"
                " at once (one --param, a larger --every); nothing was written"
            ) from value
        raise value
    return value


def _status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
