"""Summary of a Study: what happened, in plain numbers. No printing here."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .checks import CheckReport, Finding, NotRun, run_checks
from .efficiency import TpeVsRandom, tpe_vs_random
from .space import SearchSpace
from .study import FINISHED_STATES, STATE_NAMES, Study, Trial, Value
from .tpe import TPESettings, n_below, settings_for, snapshot

SCHEMA = "hopt-inspect/summary/1"


@dataclass(frozen=True)
class TrialRow:
    tid: int
    loss: float | None
    params: dict[str, Value]  # inactive labels omitted


@dataclass(frozen=True)
class Durations:
    """Per-trial wall time (refresh_time - book_time) and the study's span, in seconds."""

    n: int = 0  # finished trials (done or error) with both times
    total_s: float | None = None
    min_s: float | None = None
    median_s: float | None = None
    max_s: float | None = None
    first_book_time: datetime | None = None
    last_refresh_time: datetime | None = None
    span_s: float | None = None
    n_unfinished: int = 0  # new, running or cancelled: left out of the per-trial figures


@dataclass(frozen=True)
class FailureGroup:
    reason: str  # "error: ValueError: ..." or "status fail"
    tids: list[int]


@dataclass(frozen=True)
class ParamState:
    """TPE's model of one parameter after the whole study (what it would propose next)."""

    label: str
    distribution: str
    n_below: int
    n_above: int
    prior_share: float
    below_peak: Value
    above_peak: Value
    argmax: Value  # where below − above peaks (TPE's next draw leans there, need not land there)


@dataclass(frozen=True)
class Summary:
    """What ``hopt-inspect summary`` reports; its JSON is the fields below plus a schema."""

    source: dict[str, Any]
    n_trials: int
    counts: dict[str, dict[str, int]]
    best: TrialRow | None
    top: list[TrialRow]
    losses_sorted: list[float]
    quantiles: dict[str, float]
    best_so_far: list[tuple[int, float]]
    durations: Durations
    failures: list[FailureGroup]
    non_finite: list[int]
    duplicates: list[list[int]]
    placeholders: list[dict[str, Any]]
    labels: list[str]
    n_tpe_history: int
    notes: list[str] = field(default_factory=list)
    space_source: str | None = None
    best_display: dict[str, str] = field(default_factory=dict)  # choice options by value
    top_display: list[dict[str, str]] = field(default_factory=list)
    tpe_state: list[ParamState] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # `check` with its defaults
    tpe_vs_random: TpeVsRandom | None = None  # "Is TPE working?" (efficiency.py)
    checks_not_run: list[NotRun] = field(default_factory=list)
    sampler: dict[str, Any] = field(default_factory=dict)  # what the trials say ran
    schema: str = SCHEMA


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _row(t: Trial) -> TrialRow:
    return TrialRow(t.tid, t.loss, {k: v for k, v in t.params.items() if v is not None})


def _counts(study: Study) -> dict[str, dict[str, int]]:
    by_state = Counter(t.state for t in study.trials)
    by_status = Counter(t.status if t.status is not None else "none" for t in study.trials)
    order = list(STATE_NAMES.values())
    states = sorted(by_state, key=lambda s: order.index(s) if s in order else len(order))
    return {
        "by_state": {s: by_state[s] for s in states},
        "by_status": dict(sorted(by_status.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def _quantiles(losses: list[float]) -> dict[str, float]:
    if not losses:
        return {}
    if len(losses) == 1:
        q25 = median = q75 = losses[0]
    else:
        q25, median, q75 = statistics.quantiles(losses, n=4, method="inclusive")
    return {"min": losses[0], "q25": q25, "median": median, "q75": q75, "max": losses[-1]}


def _best_so_far(ok_in_tid_order: list[Trial]) -> list[tuple[int, float]]:
    steps: list[tuple[int, float]] = []
    for t in ok_in_tid_order:
        if not steps or t.loss < steps[-1][1]:  # type: ignore[operator]
            steps.append((t.tid, t.loss))  # type: ignore[arg-type]
    return steps


def _durations(study: Study) -> Durations:
    spans: list[float] = []  # Trial.duration of each trial that has one, in one pass
    books: list[datetime] = []
    refreshes: list[datetime] = []
    unfinished = 0
    for t in study.trials:
        book, refresh = t.book_time, t.refresh_time
        if book is not None:
            books.append(book)
        if refresh is not None:
            refreshes.append(refresh)
        if t.state not in FINISHED_STATES:
            unfinished += 1
        elif book is not None and refresh is not None and refresh >= book:
            # (a refresh before its booking is a skewed clock or a made-up file: no span)
            spans.append((refresh - book).total_seconds())
    if not spans and not books:
        return Durations(n_unfinished=unfinished)
    first = min(books) if books else None
    last = max(refreshes) if refreshes else None
    return Durations(
        n=len(spans),
        total_s=sum(spans) if spans else None,
        min_s=min(spans) if spans else None,
        median_s=statistics.median(spans) if spans else None,
        max_s=max(spans) if spans else None,
        first_book_time=first,
        last_refresh_time=last,
        span_s=(last - first).total_seconds() if first and last and last >= first else None,
        n_unfinished=unfinished,
    )


def _failures(study: Study) -> list[FailureGroup]:
    groups: dict[str, list[int]] = defaultdict(list)
    for t in study.trials:
        if t.state == "error":
            groups[f"error: {t.error or 'no message'}"].append(t.tid)
        elif t.status == "fail":
            reason = t.failure_reason
            groups["status fail" + (f": {reason}" if reason else "")].append(t.tid)
    return [FailureGroup(r, tids) for r, tids in sorted(groups.items(), key=lambda kv: -len(kv[1]))]


def _notes(
    study: Study, n_history: int, settings: TPESettings, sampler: dict[str, Any]
) -> list[str]:
    notes: list[str] = []
    startup = settings.n_startup_jobs
    kind = sampler.get("kind", "unknown")
    evidence = sampler.get("evidence", "")
    given = sampler.get("source", "detected") != "detected"
    if n_history == 0:
        notes.append("no trial is visible to TPE yet (none new, running or done)")
    elif kind == "random":
        notes.append(
            f"{evidence}"
            + ("" if given else "; TPE findings do not apply (pass --algo tpe if TPE ran)")
        )
    elif n_history <= startup and kind != "tpe":
        notes.append(
            ("the only trial falls" if n_history == 1 else f"all {n_history} trials fall")
            + " within TPE's random start-up"
            f" (n_startup_jobs={startup} {settings.startup_phrase}): if TPE ran, it has"
            " not modelled anything yet; run more evaluations or pass"
            " partial(tpe.suggest, n_startup_jobs=...)"
        )
    else:
        if given:
            notes.append(f"sampler as given: {evidence}")
        elif kind == "tpe":
            notes.append(
                f"these trials look like TPE and {sampler.get('startup_text')}: from trial"
                f" {sampler.get('n_startup')} on, proposals land nearer the best earlier trials"
                f" than random draws would (z = {sampler.get('z', 0):.1f}); the file does not"
                " record the algorithm or its settings"
            )
        else:
            notes.append(
                f"cannot tell TPE from random search: {evidence}. If TPE ran with its defaults,"
                f" the first {startup} trials were its random start-up"
            )
        nb = n_below(n_history, settings.gamma)
        notes.append(
            f"with {n_history} trials TPE's 'good' group holds only {plural(nb, 'trial')}"
            f" (ceil({settings.gamma} * sqrt({n_history}))); the rest model the 'bad' density"
        )
    stuck = sum(1 for t in study.trials if t.state in ("new", "running"))
    if stuck:
        notes.append(
            f"{plural(stuck, 'trial')} still new or running: the run was stopped or a worker"
            " crashed, and TPE counts them with loss inf"
        )
    nan_dropped = sum(
        1 for t in study.visible_to_hyperopt() if t.loss is not None and math.isnan(t.loss)
    )
    if nan_dropped:
        notes.append(
            f"{plural(nan_dropped, 'trial')} with a NaN loss: tpe.suggest leaves such trials out of"
            " its history altogether (its 'loss <= best' test is false for NaN)"
        )
    for name, count in sorted(study.placeholders.items()):
        notes.append(
            f"{plural(count, 'object')} of {name} not loaded (kept as inert placeholders;"
            " --trust loads them by running code from the file)"
        )
    notes.extend(study.source.warnings)
    return notes


def _display(space: SearchSpace, params: dict[str, Value]) -> dict[str, str]:
    out = {}
    for label, value in params.items():
        param = space.params.get(label)
        if (
            param is not None
            and param.is_categorical
            and param.options is not None  # inferred choices know no option texts: no "1 (1)"
            and isinstance(value, (int, float))
        ):
            out[label] = param.option_text(int(value) - param.randint_offset)
    return out


def _tpe_state(study: Study, space: SearchSpace, settings: TPESettings) -> list[ParamState]:
    states = []
    for label, param in space.params.items():
        snap = snapshot(study, param, len(study.trials), settings, grid=200)

        def shown(x: float | None, param=param) -> Value:
            if x is None or not param.is_categorical:
                return x
            return param.option_text(int(x))

        states.append(
            ParamState(
                label=label,
                distribution=param.describe(),
                n_below=snap.n_below,
                n_above=snap.n_above,
                prior_share=snap.prior_share,
                below_peak=shown(snap.below_peak_x),
                above_peak=shown(snap.above_peak_x),
                argmax=shown(snap.argmax_x),
            )
        )
    return states


def summarize(
    study: Study,
    *,
    top: int = 10,
    settings: TPESettings | None = None,
    space: SearchSpace | None = None,
    checks: CheckReport | None = None,
    algo: str | None = None,
    n_startup_jobs: int | None = None,
    model: bool = True,
) -> Summary:
    """Everything ``hopt-inspect summary`` shows about ``study``.

    ``checks``: the study's check report when the caller has it (a session runs the checks
    once, with the config's select/ignore); otherwise they run here with their defaults.

    With a ``space``, choice values are also shown by option, and TPE's model of each
    parameter at the end of the study is included (unless ``model`` is false: a TPE fit per
    parameter on every trial, which ``report`` does not show). The sampler the checks detected (or
    ``algo``/``n_startup_jobs`` when given) feeds the TPE-against-random-search verdict.
    """
    settings = settings or settings_for(study, n_startup_jobs)
    report = (
        checks
        if checks is not None
        else _check_report(study, space, settings, algo, n_startup_jobs)
    )
    ok_by_tid = [t for t in study.trials if t.is_ok]
    ok = study.ok_by_loss  # sorted by (loss, tid)
    best = ok[0] if ok else None  # = study.best(): smallest finite loss, ties to the lowest tid
    n_history = len(study.tpe_history())
    return Summary(
        source=source_dict(study),
        n_trials=study.n_trials,
        counts=_counts(study),
        best=_row(best) if best else None,
        top=[_row(t) for t in ok[: max(top, 0)]],
        losses_sorted=[t.loss for t in ok],  # type: ignore[misc]
        quantiles=_quantiles([t.loss for t in ok]),  # type: ignore[misc]
        best_so_far=_best_so_far(ok_by_tid),
        durations=_durations(study),
        failures=_failures(study),
        non_finite=[t.tid for t in study.trials if t.has_non_finite_loss],
        duplicates=study.duplicate_groups(),
        placeholders=[{"class": k, "count": v} for k, v in sorted(study.placeholders.items())],
        labels=list(study.labels),
        n_tpe_history=n_history,
        notes=_notes(study, n_history, settings, report.sampler),
        space_source=space.source if space else None,
        best_display=_display(space, best.params) if space and best else {},
        top_display=[_display(space, t.params) for t in ok[: max(top, 0)]] if space else [],
        tpe_state=_tpe_state(study, space, settings) if model and space and study.trials else [],
        findings=report.findings,
        checks_not_run=report.not_run,
        sampler=report.sampler,
        tpe_vs_random=_verdict(study, settings, report.sampler) if study.trials else None,
    )


def _verdict(study: Study, settings: TPESettings, sampler: dict[str, Any]) -> TpeVsRandom:
    """TPE against random search, with the start-up and sampler the checks detected."""
    kind = sampler.get("kind")
    return tpe_vs_random(
        study,
        settings,
        n_startup=sampler.get("n_startup") if kind == "tpe" else None,
        sampler_kind="random" if kind == "random" else None,
    )


def _check_report(
    study: Study,
    space: SearchSpace | None,
    settings: TPESettings,
    algo: str | None,
    n_startup_jobs: int | None,
) -> CheckReport:
    if space is None:
        from .resolve import infer_space_for

        space = infer_space_for(study, n_startup_jobs)
    return run_checks(study, space, settings=settings, algo=algo, n_startup_jobs=n_startup_jobs)


def source_dict(study: Study) -> dict[str, Any]:
    s = study.source
    return {
        "path": s.path,
        "format": s.format,
        "container": s.container,
        "protocol": s.protocol,
        "compression": s.compression,
        "size_bytes": s.size_bytes,
        "trials_class": s.trials_class,
        "writer_hints": list(s.writer_hints),
        "warnings": list(s.warnings),
        "trusted": s.trusted,
        "attachments": list(study.attachments),
    }


STUDIES_SCHEMA = "hopt-inspect/studies/1"


@dataclass(frozen=True)
class StudyEntry:
    """One study of a file that holds several: its key and headline numbers."""

    key: str  # what --study takes
    n_trials: int
    counts: dict[str, dict[str, int]]
    best_tid: int | None
    best_loss: float | None


@dataclass(frozen=True)
class StudyList:
    """What ``summary`` shows for a file of several studies (a dict or list of Trials)."""

    path: str
    container: str
    studies: list[StudyEntry]
    schema: str = STUDIES_SCHEMA


def list_studies(path: str, container: str, studies: list[tuple[str, Study]]) -> StudyList:
    entries = []
    for key, study in studies:
        best = study.best()
        entries.append(
            StudyEntry(
                key=key,
                n_trials=study.n_trials,
                counts=_counts(study),
                best_tid=best.tid if best else None,
                best_loss=best.loss if best else None,
            )
        )
    return StudyList(path=path, container=container, studies=entries)
