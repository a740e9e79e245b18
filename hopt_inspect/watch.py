"""``watch``: follow a study while ``fmin`` (or Optuna, or a refreshed MongoDB export) runs.

Three parts, none of which imports rich (the live view is ``render/live.py``):

- ``Reader``: notices a change with ``os.stat`` alone and reads the file with the project's
  safe loader. ``fmin(trials_save_file=...)`` rewrites the file in place with a plain
  ``open(path, "wb")`` and a dump, so a read can meet an empty or half-written file, or one
  that changes while it is read: such reads are retried after a short wait and are never
  errors. A read counts only if the file's stat is the same before and after it. The file
  is never locked or written.
- ``WatchState``: what changed between two reads, kept incrementally: trials seen (each
  finished trial becomes exactly one ``trial`` event), the best so far, counts, the rate,
  and the live findings: ``check``'s (the cheap checks at every change, the costly ones at
  most every few seconds on big studies) and watch's own signals (``W`` codes).
- ``run_watch``: the loop; it hands a ``View`` and the new events to a sink (the JSON lines
  writer here, or the rich live view).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .errors import InputError
from .study import Study, Trial

if TYPE_CHECKING:
    from .session import Inputs

SCHEMA = "hopt-inspect/watch/1"
MIN_INTERVAL = 0.1  # seconds; the CLI's --interval may not go below this

# check codes cheap enough to run at every change, even at 10k trials (a few ms each);
# the others (S001's nearest neighbours, S005's value matrix, the inferred space) are
# throttled
FAST_CODES = ("F001", "F002", "T001", "T002")
# ``check`` flags every new or running trial (F003); while a study runs that is normal,
# so the live view replaces it with W002 (running far longer than the trials take)
LIVE_IGNORED = ("F003",)

WATCH_CODES = {
    "W001": "failures-rising",
    "W002": "stuck-running",
    "W003": "quiet",
    "W004": "startup-over",
}

W001_ALPHA = 1e-4  # see benchmarks/calibrate_watch.py

_WAITING_PROBLEMS = ("incomplete", "is empty", "no such file", "being written", "locked")


def utcnow() -> datetime:
    """Now, as hyperopt stores times: naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def now_for(study: Study) -> datetime:
    """Now on the study's clock: hyperopt stores naive UTC, Optuna naive local time."""
    return datetime.now() if study.source.format == "optuna-sqlite" else utcnow()


# --------------------------------------------------------------------------- reading


def stamp(path: Path) -> tuple[Any, ...] | None:
    """What ``os.stat`` says about the file (and an SQLite write-ahead log beside it)."""
    parts: list[Any] = []
    for p in (path, Path(f"{path}-wal")):
        try:
            st = os.stat(p)
        except OSError:
            if not parts:
                return None
            parts.append(None)
            continue
        parts.append((st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(parts)


class Reader:
    """Reads a study when its file has changed; retries reads that meet a write."""

    def __init__(
        self,
        path: Path,
        load: Callable[[Path], Study],
        *,
        attempts: int = 8,
        first_wait: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = path
        self.load = load
        self.attempts = attempts
        self.first_wait = first_wait
        self.sleep = sleep
        self.last_stamp: tuple[Any, ...] | None = None  # of the last good read
        self.failed_stamp: tuple[Any, ...] | None = None  # a stable file that did not read
        self.problem: str | None = None  # why the latest read gave nothing (not an error)
        self.problem_since: float | None = None  # monotonic: since when reads give nothing
        self.fatal: str | None = None  # a stable file that is no study at all
        self.reads = 0
        self.retries = 0

    def lasting_problem(self, grace: float) -> str | None:
        """The problem, once reads have given nothing for ``grace`` seconds (a missing
        file at once): a file caught mid-write is read at the next change, unreported."""
        if self.problem is None or self.problem_since is None:
            return None
        if "no such file" in self.problem or time.monotonic() - self.problem_since >= grace:
            return self.problem
        return None

    def changed(self) -> bool:
        """True if the file differs from the last read (stat only, no reading)."""
        s = stamp(self.path)
        return s is not None and s != self.last_stamp and s != self.failed_stamp

    def read(self) -> Study | None:
        """The study if the file changed since the last read and reads whole, else None."""
        before = stamp(self.path)
        if before is None:
            self.problem = "no such file yet: waiting for it to appear"
            self.problem_since = self.problem_since or time.monotonic()
            return None
        if before in (self.last_stamp, self.failed_stamp):
            return None
        wait = self.first_wait
        error = "the file kept changing while it was read"
        for attempt in range(self.attempts):
            study = None
            try:
                study = self.load(self.path)
            except InputError as exc:
                error = str(exc)
            self.reads += 1
            after = stamp(self.path)
            if study is not None and after == before:
                self.last_stamp, self.failed_stamp = before, None
                self.problem = self.fatal = self.problem_since = None
                return study
            if after is None:
                return self._gone()
            if after == before and attempt >= 2:
                # the file is not changing: reading it again would fail the same way, so
                # wait for the next change
                self.failed_stamp = before
                break
            if attempt + 1 == self.attempts:
                break  # still being written: the next poll tries again
            self.retries += 1
            self.sleep(wait)
            wait = min(wait * 2, 0.4)
            before = stamp(self.path)
            if before is None:
                return self._gone()
        self.problem = _problem_text(self.path, error)
        if self.problem_since is None:
            self.problem_since = time.monotonic()
        quiet_for = time.time() - before[0][1] / 1e9
        if not any(w in error for w in _WAITING_PROBLEMS) and quiet_for > 3:
            self.fatal = error  # not being written, and not a study: the caller decides
        return None

    def _gone(self) -> None:
        self.problem = "the file disappeared: waiting for it to come back"
        self.problem_since = self.problem_since or time.monotonic()
        return None


def _problem_text(path: Path, error: str) -> str:
    prefix = f"{path}: "
    return error[len(prefix) :] if error.startswith(prefix) else error


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class LiveFinding:
    """A finding as the live view and the JSON lines show it."""

    code: str
    name: str
    severity: str
    params: tuple[str, ...]
    message: str
    verdict: str = ""  # a finding with a verdict (T004's): a new verdict is a new finding

    @property
    def key(self) -> tuple[str, tuple[str, ...], str, str]:
        return (self.code, self.params, self.severity, self.verdict)


def live_findings(findings: Sequence[Any]) -> list[LiveFinding]:
    """``check``'s findings as the live view shows them: skipped checks left out, and a
    verdict (TPE against random search, T004) only once it is decided."""
    out = []
    for f in findings:
        verdict = f.evidence.get("verdict")
        if f.evidence.get("skipped") or verdict == "inconclusive":
            continue
        verdict = verdict if isinstance(verdict, str) else ""
        out.append(LiveFinding(f.code, f.name, f.severity, tuple(f.params), f.message, verdict))
    return out


@dataclass(frozen=True)
class View:
    """Everything the live view shows; plain data."""

    path: str
    format: str
    refreshed: datetime  # wall clock, UTC
    interval: float
    n_trials: int
    n_ok: int
    n_running: int
    n_failed: int
    n_other: int
    rate_per_min: float | None
    eta_s: float | None
    max_evals: int | None
    best: Trial | None
    best_since_trials: int | None
    best_since_s: float | None
    spark: list[float]
    spark_span: tuple[int, int] | None  # first and last tid the sparkline covers
    top: list[Trial]
    labels: tuple[str, ...]
    findings: list[LiveFinding]
    changes: list[str]
    problem: str | None
    finished: bool
    checks_age_s: float | None  # how old the throttled findings are
    watched_s: float


class Sink(Protocol):
    def update(self, view: View | None, events: list[dict[str, Any]]) -> None: ...

    def close(self, view: View | None, events: list[dict[str, Any]], line: str) -> None: ...


@dataclass
class WatchOptions:
    interval: float = 2.0
    once: bool = False
    max_evals: int | None = None
    until_trials: int | None = None
    fail_on: str | None = None
    select: Sequence[str] = ()
    ignore: Sequence[str] = ()
    thresholds: Any = None
    n_startup_jobs: int | None = None
    top: int = 5
    spark_width: int = 48
    recent: int = 20  # W001: the last trials compared with the rest


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _number(value: float | None) -> Any:
    if value is None or math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _short(text: str | None, limit: int = 300) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _params(t: Trial) -> dict[str, Any]:
    return {k: _number(v) if isinstance(v, float) else v for k, v in t.params.items()}


FINISHED_STATES = ("done", "error", "cancel")


class Findings:
    """``check``'s findings, kept up to date cheaply.

    The checks in ``FAST_CODES`` run at every change; the rest (and the inferred space)
    run again only when ``min_gap`` seconds have passed, where ``min_gap`` grows with what
    the last full run cost (at most ~5% of the time goes to them).
    """

    def __init__(
        self,
        options: WatchOptions,
        space_for: Callable[[Study], Any],
        session_of: Callable[[Study], Any] | None = None,
    ) -> None:
        self.options = options
        self.space_for = space_for
        # the command's Session for a read of the study (session.session_for): TPE settings,
        # --algo, thresholds merged as every other command merges them
        self.session_of = session_of
        self.space: Any = None
        self.slow: list[Any] = []  # findings of the throttled checks, from their last run
        self.fast: list[Any] = []
        self.last_full: float | None = None  # monotonic time of the last full run
        self.full_cost = 0.0
        self.full_runs = 0
        self.n_at_full = -1

    def settings(self, study: Study) -> Any:
        if self.session_of is not None:
            return self.session_of(study).settings
        from .tpe import settings_for

        return settings_for(study, self.options.n_startup_jobs)

    def _run(self, study: Study, select: Sequence[str], ignore: Sequence[str]) -> Any:
        from .checks import run_checks

        thresholds, given = self.options.thresholds, {}
        if self.session_of is not None:
            session = self.session_of(study)
            thresholds = session.thresholds
            given = {
                "algo": session.algo if session.algo_source != "default" else None,
                "n_startup_jobs": session.given_startup,
            }
        return run_checks(
            study,
            self.space,
            select=select,
            ignore=ignore,
            fail_on=self.options.fail_on or "warning",
            thresholds=thresholds,
            settings=self.settings(study),
            **given,
        )

    def update(self, study: Study, now: float, *, force: bool = False) -> list[Any]:
        o = self.options
        gap = max(o.interval, 20 * self.full_cost)
        due = force or self.last_full is None or now - self.last_full >= gap
        if due and len(study.trials) != self.n_at_full:
            started = time.perf_counter()
            self.space = self.space_for(study)
            report = self._run(study, o.select, (*o.ignore, *LIVE_IGNORED))
            self.full_cost = time.perf_counter() - started
            self.last_full, self.n_at_full = now, len(study.trials)
            self.full_runs += 1
            self.slow = [f for f in report.findings if f.code not in FAST_CODES]
            self.fast = [f for f in report.findings if f.code in FAST_CODES]
        elif self.space is not None:
            from .checks import selected

            chosen = {c.code for c in selected(o.select, o.ignore)}
            select = [c for c in FAST_CODES if c in chosen]
            if select:
                self.fast = self._run(study, select, ()).findings
        return [*self.fast, *self.slow]

    def full_report(self, study: Study) -> Any:
        """What ``check`` itself would report now (for --fail-on's exit code)."""
        self.space = self.space_for(study)
        return self._run(study, self.options.select, self.options.ignore)


class WatchState:
    """What the watcher knows, updated from each new read of the study."""

    def __init__(self, path: Path, options: WatchOptions, findings: Findings) -> None:
        self.path = path
        self.options = options
        self.findings = findings
        self.started = time.monotonic()
        self.emitted: set[int] = set()  # tids of finished trials already reported
        self.n_seen = 0
        self.best: tuple[int, float] | None = None
        self.best_seen_at: float | None = None  # monotonic, when the best was first seen
        self.live: dict[tuple[Any, ...], LiveFinding] = {}
        self.study: Study | None = None
        self.arrivals: deque[tuple[float, int]] = deque(maxlen=64)  # (monotonic, n finished)
        self.last_change: float | None = None
        self.startup_over_at: int | None = None
        self._check_findings: list[LiveFinding] = []
        self._study_signals: list[LiveFinding] = []
        self._running: list[Trial] = []
        self._stuck_after = 0.0
        self._quiet_after: float | None = None
        self._view: View | None = None  # the study's part of the view, until the next read
        self.reads = 0  # reads of the file that gave a study
        self.retried = 0  # reads that met a write (or a half-written file) and were retried

    # ---------------------------------------------------------------- events

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        return {"event": kind, "at": utcnow().isoformat(timespec="seconds"), **fields}

    def start_event(self) -> dict[str, Any]:
        o = self.options
        return self._event(
            "start",
            schema=SCHEMA,
            source=str(self.path),
            interval=o.interval,
            max_evals=o.max_evals,
            until_trials=o.until_trials,
        )

    def update(self, study: Study, *, force_checks: bool = False) -> list[dict[str, Any]]:
        """Take a new read of the study; the events it brings."""
        now = time.monotonic()
        events: list[dict[str, Any]] = []
        if self.study is None:
            events.append(
                self._event("study", source=study.source.path, format=study.source.format)
            )
        elif len(study.trials) < self.n_seen:  # a new study was written over the old one
            events.append(self._event("reset", n_trials=len(study.trials), previous=self.n_seen))
            self.emitted.clear()
            self.best = None
            self.live.clear()
            self.startup_over_at = None
        self.study = study
        self.n_seen = len(study.trials)
        self.last_change = now
        self._view = None
        new = [t for t in study.trials if t.state in FINISHED_STATES and t.tid not in self.emitted]
        for t in new:
            self.emitted.add(t.tid)
            events.append(
                self._event(
                    "trial",
                    tid=t.tid,
                    state=t.state,
                    status=t.status,
                    loss=_number(t.loss),
                    error=_short(t.error),
                    duration_s=t.duration,
                    refresh_time=_iso(t.refresh_time),
                    params=_params(t),
                )
            )
        self.arrivals.append((now, len(self.emitted)))
        best = study.best()
        if best is not None and (self.best is None or (best.tid, best.loss) != self.best):
            previous = self.best[1] if self.best else None
            if previous is None or best.loss < previous:  # type: ignore[operator]
                events.append(
                    self._event(
                        "best",
                        tid=best.tid,
                        loss=best.loss,
                        previous_loss=previous,
                        params=_params(best),
                    )
                )
            self.best = (best.tid, best.loss)  # type: ignore[assignment]
            self.best_seen_at = now
        events += self._refresh_findings(study, now, force=force_checks)
        return events

    def tick(self) -> list[dict[str, Any]]:
        """No new read: only the time-based signals (quiet, stuck) may change."""
        if self.study is None:
            return []
        return self._refresh_findings(self.study, time.monotonic(), checks=False)

    def _refresh_findings(
        self, study: Study, now: float, *, force: bool = False, checks: bool = True
    ) -> list[dict[str, Any]]:
        if checks:
            self._check_findings = live_findings(self.findings.update(study, now, force=force))
        current = [*self._check_findings, *self._signals(study, now, changed=checks)]
        keyed = {f.key: f for f in current}
        events = []
        for key, f in keyed.items():
            if key not in self.live:
                events.append(self._finding_event("raised", f))
        for key, f in self.live.items():
            if key not in keyed:
                events.append(self._finding_event("cleared", f))
        self.live = keyed
        return events

    def _finding_event(self, action: str, f: LiveFinding) -> dict[str, Any]:
        return self._event(
            "finding",
            action=action,
            code=f.code,
            name=f.name,
            severity=f.severity,
            params=list(f.params),
            message=f.message,
            **({"verdict": f.verdict} if f.verdict else {}),
        )

    # ---------------------------------------------------------------- watch's own signals

    def _signals(self, study: Study, now: float, *, changed: bool) -> list[LiveFinding]:
        """W001 and W004 from the study (on a change); W002 and W003 from the clock."""
        if changed:
            self._study_signals = self._from_study(study)
            self._running = [
                t for t in study.trials if t.state in ("new", "running") and t.book_time
            ]
            self._stuck_after = self._stuck_limit(study) if self._running else 0.0
            self._quiet_after = self._quiet_limit(study)
        out = list(self._study_signals)
        if self._running:
            wall = now_for(study)
            limit = self._stuck_after
            stuck = [t for t in self._running if (wall - t.book_time).total_seconds() > limit]  # type: ignore[operator]
            if stuck:
                tids = ", ".join(str(t.tid) for t in stuck[:6])
                out.append(
                    LiveFinding(
                        "W002",
                        WATCH_CODES["W002"],
                        "warning",
                        (),
                        f"{len(stuck)} trials running for more than {limit:.0f} s (tids {tids}):"
                        " a worker may have died",
                    )
                )
        quiet = self._quiet_after
        if (
            quiet is not None
            and self.last_change is not None
            and now - self.last_change > quiet
            and not self.is_finished()
        ):
            out.append(
                LiveFinding(
                    "W003",
                    WATCH_CODES["W003"],
                    "info",
                    (),
                    f"no new trial for {_duration(now - self.last_change)} (one every"
                    f" ~{_duration(quiet / 10)} before): has the run stopped?",
                )
            )
        return out

    def _from_study(self, study: Study) -> list[LiveFinding]:
        out: list[LiveFinding] = []
        trials = study.trials
        finished = [t for t in trials[-2000:] if t.state in FINISHED_STATES]
        recent = finished[-self.options.recent :]
        if finished:
            # the onset: the earliest failed trial after which at least half have failed
            failed_after, onset = 0, len(finished) - 1
            for i in range(len(finished) - 1, -1, -1):
                failed_after += finished[i].is_failed
                if finished[i].is_failed and failed_after * 2 >= len(finished) - i:
                    onset = i
            after = finished[onset:]
            n_failed_after = sum(1 for t in after if t.is_failed)
            before = len(trials) - len(after)
            failed_before = sum(1 for t in trials if t.is_failed) - n_failed_after
            rate_before = failed_before / before if before else 0.0
            # how unlikely so many failures since the onset are at the earlier rate (add-one
            # smoothed), times the number of places an onset could have been picked
            from .checks.base import binomial_sf

            chance = binomial_sf(n_failed_after, len(after), (failed_before + 1) / (before + 2))
            if n_failed_after >= 5 and before >= 20 and chance * len(finished) < W001_ALPHA:
                reason = next((t.error for t in reversed(recent) if t.error), None) or (
                    "status fail"
                )
                out.append(
                    LiveFinding(
                        "W001",
                        WATCH_CODES["W001"],
                        "error" if all(t.is_failed for t in recent[-10:]) else "warning",
                        (),
                        f"{n_failed_after} of {len(after)} trials failed from trial"
                        f" {after[0].tid} on ({rate_before:.0%} before): {_short(reason, 160)}",
                    )
                )
        startup = self.findings.settings(study).n_startup_jobs
        session = self.findings.session_of(study) if self.findings.session_of else None
        if session is not None and session.algo == "rand":  # --algo rand (or the config's)
            return out
        if self.startup_over_at is None and len(trials) > startup:
            self.startup_over_at = trials[startup].tid
        if self.startup_over_at is not None:
            out.append(
                LiveFinding(
                    "W004",
                    WATCH_CODES["W004"],
                    "info",
                    (),
                    f"the random start-up ({startup} trials) is over: from trial"
                    f" {self.startup_over_at} on, TPE proposes from its model (if algo is"
                    " tpe.suggest)",
                )
            )
        return out

    def _stuck_limit(self, study: Study) -> float:
        durations = [d for t in study.trials[-200:] if (d := t.duration) is not None and d >= 0]
        median = sorted(durations)[len(durations) // 2] if durations else 0.0
        return max(60.0, 10 * median)

    def _quiet_limit(self, study: Study) -> float | None:
        """Ten times the usual gap between finished trials (at least 60 s), if known."""
        times = [t.refresh_time for t in study.trials[-50:] if t.refresh_time is not None]
        if len(times) < 5:
            return None
        times.sort()
        gaps = sorted((b - a).total_seconds() for a, b in itertools.pairwise(times))
        return max(60.0, 10 * gaps[len(gaps) // 2])

    # ---------------------------------------------------------------- summaries

    def n_finished(self) -> int:
        return len(self.emitted)

    def is_finished(self) -> bool:
        o = self.options
        n = self.n_finished()
        return (o.max_evals is not None and n >= o.max_evals) or (
            o.until_trials is not None and n >= o.until_trials
        )

    def rate_per_min(self) -> float | None:
        """Finished trials per minute, from the trials' own times (else from arrivals)."""
        study = self.study
        if study is not None:
            times = sorted(t.refresh_time for t in study.trials[-30:] if t.refresh_time)
            if len(times) >= 3 and times[-1] > times[0]:
                return (len(times) - 1) / (times[-1] - times[0]).total_seconds() * 60
        if len(self.arrivals) >= 2:
            (t0, n0), (t1, n1) = self.arrivals[0], self.arrivals[-1]
            if t1 > t0 and n1 > n0:
                return (n1 - n0) / (t1 - t0) * 60
        return None

    def view(self, problem: str | None = None) -> View | None:
        """The view now; the study's part is computed once per read, the rest per call."""
        study = self.study
        if study is None:
            return None
        if self._view is None:
            self._view = self._study_view(study)
        v = self._view
        since_s = None
        if v.best is not None:
            if v.best.refresh_time is not None:
                since_s = max(0.0, (now_for(study) - v.best.refresh_time).total_seconds())
            elif self.best_seen_at is not None:
                since_s = time.monotonic() - self.best_seen_at
        findings = sorted(
            self.live.values(),
            key=lambda f: (-("info", "warning", "error").index(f.severity), f.code),
        )
        age = None
        if self.findings.last_full is not None:
            age = time.monotonic() - self.findings.last_full
        return replace(
            v,
            refreshed=utcnow(),
            best_since_s=since_s,
            findings=findings,
            changes=[],
            problem=problem,
            finished=self.is_finished(),
            checks_age_s=age,
            watched_s=time.monotonic() - self.started,
        )

    def _study_view(self, study: Study) -> View:
        import numpy as np

        o = self.options
        trials = study.trials
        n_running = sum(1 for t in trials if t.state in ("new", "running"))
        n_failed = sum(1 for t in trials if t.is_failed)
        n_ok = sum(1 for t in trials if t.is_ok)
        rate = self.rate_per_min()
        eta = None
        if o.max_evals is not None and rate:
            eta = max(0, o.max_evals - self.n_finished()) / rate * 60
        best = study.best()
        since_trials = None
        if best is not None:
            since_trials = sum(1 for t in trials if t.tid > best.tid)
        losses = study.ok_losses
        spark: list[float] = []
        span = None
        if len(losses) and best is not None:
            so_far = np.fmin.accumulate(losses)
            width = min(o.spark_width, len(so_far))
            ends = np.linspace(0, len(so_far) - 1, width).round().astype(int)
            spark = [float(x) for x in so_far[ends]]
            span = (trials[0].tid, trials[-1].tid)
        top: list[Trial] = []
        if best is not None and o.top:
            order = np.argsort(np.where(np.isnan(losses), np.inf, losses), kind="stable")
            top = [trials[i] for i in order[: o.top] if trials[i].is_ok]
        return View(
            path=str(self.path),
            format=study.source.format,
            refreshed=utcnow(),
            interval=o.interval,
            n_trials=len(trials),
            n_ok=n_ok,
            n_running=n_running,
            n_failed=n_failed,
            n_other=len(trials) - n_ok - n_running - n_failed,
            rate_per_min=rate,
            eta_s=eta,
            max_evals=o.max_evals,
            best=best,
            best_since_trials=since_trials,
            best_since_s=None,
            spark=spark,
            spark_span=span,
            top=top,
            labels=study.labels,
            findings=[],
            changes=[],
            problem=None,
            finished=False,
            checks_age_s=None,
            watched_s=0.0,
        )

    def summary_line(self, reason: str) -> str:
        """One line for the end of a watch."""
        watched = _duration(time.monotonic() - self.started)
        if self.study is None:
            return f"watch {reason} after {watched}: {self.path} was never readable"
        parts = [f"{len(self.study.trials)} trials"]
        if self.best is not None:
            parts.append(f"best {self.best[1]:.4g} at trial {self.best[0]}")
        counts: dict[str, int] = {}
        for f in self.live.values():
            counts[f.severity] = counts.get(f.severity, 0) + 1
        parts.append(
            ", ".join(f"{n} {s}{'s' if n != 1 and s != 'info' else ''}" for s, n in counts.items())
            or "no findings"
        )
        return f"watch {reason} after {watched}: " + " · ".join(parts)

    def end_event(self, kind: str, reason: str) -> dict[str, Any]:
        study = self.study
        best = study.best() if study is not None else None
        return self._event(
            kind,
            reason=reason,
            n_trials=len(study.trials) if study is not None else 0,
            n_finished=self.n_finished(),
            best=None if best is None else {"tid": best.tid, "loss": best.loss},
            findings=sorted({f.code for f in self.live.values()}),
            reads=self.reads,
            retried=self.retried,
        )


def describe_changes(events: list[dict[str, Any]]) -> list[str]:
    """'+3 trials (40–42), 1 failed', 'new best …', 'F001 raised' from a refresh's events."""
    out: list[str] = []
    trials = [e for e in events if e["event"] == "trial"]
    if trials:
        tids = [e["tid"] for e in trials]
        span = str(tids[0]) if len(tids) == 1 else f"{tids[0]}–{tids[-1]}"
        failed = sum(1 for e in trials if e["state"] == "error" or e["status"] == "fail")
        out.append(
            f"+{len(trials)} trial{'s' if len(trials) != 1 else ''} ({span})"
            + (f", {failed} failed" if failed else "")
        )
    for e in events:
        if e["event"] == "best":
            was = "" if e["previous_loss"] is None else f" (was {e['previous_loss']:.4g})"
            out.append(f"new best {e['loss']:.4g} at trial {e['tid']}{was}")
        elif e["event"] == "finding":
            out.append(f"{e['code']} {e['action']}")
        elif e["event"] == "reset":
            out.append("the file now holds a new study")
    return out


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = round(seconds) // 60
    if minutes < 120:
        return f"{minutes}m {round(seconds) % 60:02d}s"
    return f"{minutes // 60}h {minutes % 60:02d}m"


# --------------------------------------------------------------------------- JSON lines


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float):
        return _number(obj)
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


_RAW_CONTROLS = re.compile("[\x7f-\x9f\u2028\u2029]")


class JsonLinesSink:
    """One JSON object per event, flushed at each refresh."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout

    def _write(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        text = "".join(
            json.dumps(_json_safe(e), ensure_ascii=False, allow_nan=False) + "\n" for e in events
        )
        # JSON leaves DEL, the C1 controls (a lone \x9b is a terminal's CSI) and the Unicode
        # line separators raw; CI logs show these lines, so they are escaped too
        text = _RAW_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
        self.stream.write(text)
        self.stream.flush()

    def update(self, view: View | None, events: list[dict[str, Any]]) -> None:
        self._write(events)

    def close(self, view: View | None, events: list[dict[str, Any]], line: str) -> None:
        self._write(events)


# --------------------------------------------------------------------------- the loop


def run_watch(
    path: Path,
    load: Callable[[Path], Study],
    space_for: Callable[[Study], Any],
    options: WatchOptions,
    sink: Sink,
    session_of: Callable[[Study], Any] | None = None,
) -> int:
    """Follow ``path`` until --once, --until-trials, --max-evals or Ctrl-C; the exit code."""
    reader = Reader(path, load)
    findings = Findings(options, space_for, session_of)
    state = WatchState(path, options, findings)
    events: list[dict[str, Any]] = [state.start_event()]
    waiting_said: str | None = None
    grace = max(5.0, 2 * options.interval)  # how long a file may stay unreadable unreported
    try:
        while True:
            study = reader.read()
            state.reads, state.retried = reader.reads, reader.retries
            if study is not None:
                events += state.update(study, force_checks=options.once)
            else:
                if reader.fatal and state.study is None:
                    raise InputError(f"{path}: {_problem_text(path, reader.fatal)}")
                if options.once and state.study is None:
                    why = reader.problem or "could not be read"
                    if why.startswith("no such file"):
                        why = "no such file (pass the file fmin's trials_save_file writes)"
                    raise InputError(f"{path}: {why}")
                events += state.tick()
            problem = reader.lasting_problem(grace)
            if problem and problem != waiting_said:
                events.append(state._event("waiting", reason=problem))
            waiting_said = problem
            done = state.study is not None and (options.once or state.is_finished())
            view = state.view(problem)
            if view is not None:
                view.changes.extend(describe_changes(events))
            if done:
                code = 0
                if options.fail_on is not None:
                    report = findings.full_report(state.study)  # type: ignore[arg-type]
                    code = 1 if report.failed else 0
                reason = "once" if options.once else (
                    "max-evals" if options.max_evals is not None and state.n_finished()
                    >= options.max_evals else "until-trials"
                )  # fmt: skip
                kind = "stopped" if options.once else "finished"
                events.append(state.end_event(kind, reason))
                sink.close(view, events, state.summary_line(f"ended ({reason})"))
                return code
            sink.update(view, events)
            events = []
            _sleep_until_change(reader, options.interval)
    except KeyboardInterrupt:
        events.append(state.end_event("stopped", "interrupted"))
        view = state.view()
        sink.close(view, events, state.summary_line("stopped (Ctrl-C)"))
        return 0


def _sleep_until_change(reader: Reader, interval: float) -> None:
    """Wait one interval (never less): the next look at the file is one ``os.stat``."""
    time.sleep(max(interval, MIN_INTERVAL))


# --------------------------------------------------------------------------- the command


def watch_command(
    file: Path,
    inputs: Inputs,
    *,
    interval: float = 2.0,
    once: bool = False,
    output_format: str | None = None,
    max_evals: int | None = None,
    until_trials: int | None = None,
    fail_on: str | None = None,
    top: int = 5,
) -> int:
    """``hopt-inspect watch``: options checked, loader and session wired, the loop run.

    Each read of the study gets a ``Session`` (``session.session_for``), so the shared
    options (``--space``/``--run-space``, ``--algo``, ``--n-startup-jobs``, ``--gamma``,
    ``--prior-weight``, the config) mean what they mean for every other command.
    """
    from .checks import SEVERITIES
    from .session import load_inputs, plan, session_for

    fmt = output_format or ("live" if sys.stdout.isatty() else "jsonl")
    if fmt not in ("live", "jsonl"):
        raise InputError(f"--format {fmt}: use live or jsonl")
    if interval < MIN_INTERVAL:
        raise InputError(f"--interval {interval:g}: at least {MIN_INTERVAL:g} s")
    if fail_on is not None and fail_on not in SEVERITIES:
        raise InputError(f"--fail-on {fail_on}: use info, warning or error")
    planned = plan(inputs)  # options and config checked before the first look at the file
    cfg = planned.config
    sessions: list[Any] = []  # the session of the latest read
    resolved: list[Any] = []  # a given space (option or config), resolved once

    def session_of(study: Study) -> Any:
        if not sessions or sessions[0].study is not study:
            sessions[:] = [session_for(study, inputs, planned)]
        return sessions[0]

    def space_for(study: Study) -> Any:
        session = session_of(study)
        if session.space_spec is None:  # stored or inferred: follows the study as it grows
            return session.space
        if not resolved:  # a .py spec with --run-space runs the user's file once, not per read
            resolved.append(session.space)
        return resolved[0]

    def load(path: Path) -> Study:
        return load_inputs(inputs, path)

    options = WatchOptions(
        interval=interval,
        once=once,
        max_evals=max_evals,
        until_trials=until_trials,
        fail_on=fail_on,
        select=planned.select,
        ignore=planned.ignore,
        thresholds=cfg.thresholds,
        n_startup_jobs=inputs.n_startup_jobs
        if inputs.n_startup_jobs is not None
        else cfg.n_startup_jobs,
        top=top,
    )
    if fmt == "jsonl":
        sink: Sink = JsonLinesSink()
    else:
        import signal

        from .render.live import LiveSink

        sink = LiveSink()
        # `kill` (SIGTERM) ends the view like Ctrl-C: the terminal is given back, cursor shown
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return run_watch(file, load, space_for, options, sink, session_of)
    except BrokenPipeError:  # `watch ... | head`: the reader has gone; so do we
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - no flush error at exit
        return 0
