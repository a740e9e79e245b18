"""Two studies side by side (``hopt-inspect compare A B``): did the change help?

Analysis only: spaces, settings, counts and failures, the best trial, the losses after each
study's start-up compared with a two-sided Mann-Whitney test and an effect size, where the
best trials sit on the shared labels, findings that appeared or cleared, and a one-line
verdict no stronger than its numbers. Nothing here prints or draws.

The verdict's threshold (``ALPHA``) is calibrated on real ``fmin`` studies by
``benchmarks/compare_calibration.py``: pairs run with the same settings and different seeds
(false alarms) and pairs where one side is clearly better (detections).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from .space import Param, SearchSpace
from .study import Study, Trial
from .tpe import TPESettings

SCHEMA = "hopt-inspect/compare/1"
ALPHA = 0.01  # two-sided Mann-Whitney p below which the verdict names a better study
MIN_TRIALS = 5  # per side, after start-up, for any verdict
TOP_SHARE = 0.10  # "the good region": the best 10% of ok trials, at least TOP_MIN
TOP_MIN = 5


@dataclass(frozen=True)
class Side:
    """One study as the comparison sees it."""

    name: str  # "A" or "B"
    path: str
    format: str
    container: str
    space_source: str
    space_inferred: bool
    settings: dict[str, Any]  # sampler (as far as the file tells), start-up and where it came from
    n_trials: int
    n_ok: int
    n_failed: int
    n_non_finite: int
    best: dict[str, Any] | None  # {"tid", "trial_number", "loss", "params": {label: shown}}
    n_after_startup: int
    median_after_startup: float | None
    best_so_far: list[tuple[int, float]]  # (trial number, best loss so far) where it improved
    losses: list[tuple[int, float]]  # (trial number, loss) of every ok trial with a finite loss
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SpaceChange:
    label: str
    change: str  # same, added, removed, kind, options, bounds (inferred spaces: labels only)
    a: str | None
    b: str | None


@dataclass(frozen=True)
class LossTest:
    """Losses after start-up (finite, status ok), A against B."""

    n_a: int
    n_b: int
    median_a: float
    median_b: float
    p_value: float  # two-sided Mann-Whitney
    prob_b_lower: float  # P(a trial of B has a lower loss than a trial of A), ties count half


@dataclass(frozen=True)
class RegionShift:
    """Where the best trials sit on one shared label, in each study."""

    label: str
    categorical: bool
    n_top_a: int
    n_top_b: int
    a: dict[str, Any]  # continuous: median, q25, q75; categorical: mode, share
    b: dict[str, Any]
    moved: bool  # interquartile ranges disjoint, or a different most common option
    shift_of_range: float | None  # median shift as a share of the label's range (own scale)


@dataclass(frozen=True)
class FindingDiff:
    code: str
    name: str
    params: list[str]
    severity: str
    message: str


@dataclass(frozen=True)
class Comparison:
    a: Side
    b: Side
    space: list[SpaceChange]
    losses: LossTest | None
    best_difference: dict[str, Any] | None  # b - a, relative to |a|
    regions: list[RegionShift]
    findings_appeared: list[FindingDiff]
    findings_cleared: list[FindingDiff]
    findings_kept: list[FindingDiff]
    verdict: str  # "a_better", "b_better", "no_clear_difference", "not_comparable"
    verdict_text: str
    evidence: list[str]
    alpha: float = ALPHA
    schema: str = SCHEMA


# ------------------------------------------------------------------------------------ pieces


def _number_of(study: Study) -> dict[int, int]:
    """tid → trial number (position in tid order): the common x axis of both studies."""
    return {t.tid: i for i, t in enumerate(study.trials)}


def _shown(space: SearchSpace, label: str, value: Any) -> Any:
    param = space.params.get(label)
    if (
        param is not None
        and param.is_categorical
        and not param.inferred
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
    ):
        return param.option_text(int(value) - param.randint_offset)
    return value


def _settings(
    study: Study,
    settings: TPESettings,
    given: bool,
    detected: dict[str, Any] | None = None,
    name: str = "A",
) -> dict[str, Any]:
    optuna = study.source.format == "optuna-sqlite"
    detected = detected or {}
    kind = detected.get("kind")
    if detected.get("source") == "--algo":  # said, not detected
        sampler = f"{'random search' if kind == 'random' else 'TPE'} (given: --algo)"
    elif optuna:  # the storage names no sampler; what the trials look like, as summary says
        sampler = "not recorded (Optuna storage)" + (
            f"; the trials look like {'random search' if kind == 'random' else 'TPE'}"
            if kind in ("random", "tpe")
            else ""
        )
    elif kind == "random":
        sampler = "not recorded; the trials look like random search"
    elif kind == "tpe":
        startup = "" if given else detected.get("startup_text")
        sampler = "not recorded; the trials look like TPE" + (f"; {startup}" if startup else "")
    else:
        sampler = "not recorded (hyperopt files do not say which algorithm ran)"
    if given and settings.startup_source not in (
        "default",
        "Optuna's default",
        "given",
        "--n-startup-jobs",
    ):
        where = f"given ({settings.startup_source})"
    elif given:
        where = "given"
    elif kind == "random":
        where = (
            f"random search has none: the first {settings.n_startup_jobs} are left out as for TPE"
        )
    else:
        where = "assumed: Optuna's TPESampler default" if optuna else "assumed: tpe.suggest default"
        seen = detected.get("n_startup")
        if kind == "tpe" and isinstance(seen, int) and seen != settings.n_startup_jobs:
            # the medians below skip the assumed start-up, not the one the trials show
            where += (
                f"; the trials show {seen}: pass --n-startup-jobs-{name.lower()} {seen}"
                " to cut there"
            )
    return {
        "sampler": sampler,
        "sampler_detected": kind if kind in ("tpe", "random") else None,
        "startup": settings.n_startup_jobs,
        "startup_source": where,
    }


def side(
    name: str,
    study: Study,
    space: SearchSpace,
    settings: TPESettings,
    startup_given: bool,
    detected: dict[str, Any] | None = None,
) -> Side:
    number = _number_of(study)
    ok = [t for t in study.trials if t.is_ok]
    best = study.best()
    steps: list[tuple[int, float]] = []
    for t in ok:
        if not steps or t.loss < steps[-1][1]:  # type: ignore[operator]
            steps.append((number[t.tid], float(t.loss)))  # type: ignore[arg-type]
    after = _after_startup(study, settings)
    notes = list(study.source.writer_hints) + list(study.source.warnings)
    return Side(
        name=name,
        path=study.source.path,
        format=study.source.format,
        container=study.source.container,
        space_source=space.source,
        space_inferred=space.inferred,
        settings=_settings(study, settings, startup_given, detected, name),
        n_trials=study.n_trials,
        n_ok=len(ok),
        n_failed=sum(1 for t in study.trials if t.is_failed),
        n_non_finite=sum(1 for t in study.trials if t.has_non_finite_loss),
        best=None
        if best is None
        else {
            "tid": best.tid,
            "trial_number": number[best.tid],
            "loss": best.loss,
            "params": {k: _shown(space, k, v) for k, v in best.params.items() if v is not None},
        },
        n_after_startup=len(after),
        median_after_startup=statistics.median(after) if after else None,
        best_so_far=steps,
        losses=[(number[t.tid], float(t.loss)) for t in ok],  # type: ignore[arg-type]
        notes=notes,
    )


def _after_startup(study: Study, settings: TPESettings) -> list[float]:
    """Finite ok losses of the trials after the first n_startup_jobs (by trial number)."""
    return [
        float(t.loss)  # type: ignore[arg-type]
        for t in study.trials[settings.n_startup_jobs :]
        if t.is_ok
    ]


def space_changes(a: SearchSpace, b: SearchSpace) -> list[SpaceChange]:
    out = []
    inferred = a.inferred or b.inferred
    for label in [*a.labels, *(x for x in b.labels if x not in a.params)]:
        pa, pb = a.params.get(label), b.params.get(label)
        if pa is None or pb is None:
            change = "added" if pa is None else "removed"
        elif inferred:  # observed ranges always differ a little: not a change of space
            change = "same"
        elif pa.kind != pb.kind:
            change = "kind"
        elif pa.options != pb.options:
            change = "options"
        elif pa.describe() != pb.describe():
            change = "bounds"
        else:
            change = "same"
        out.append(
            SpaceChange(label, change, pa.describe() if pa else None, pb.describe() if pb else None)
        )
    return out


def loss_test(a: list[float], b: list[float]) -> LossTest | None:
    if len(a) < MIN_TRIALS or len(b) < MIN_TRIALS:
        return None
    from .stats import mannwhitneyu

    result = mannwhitneyu(a, b, alternative="two-sided")
    # scipy's statistic is U of the first sample: pairs where a > b, ties counting half
    prob_b_lower = float(result.statistic) / (len(a) * len(b))
    p = float(result.pvalue)
    return LossTest(
        n_a=len(a),
        n_b=len(b),
        median_a=statistics.median(a),
        median_b=statistics.median(b),
        p_value=p if math.isfinite(p) else 1.0,
        prob_b_lower=prob_b_lower,
    )


def _top(study: Study) -> list[Trial]:
    ok = study.ok_by_loss  # by (loss, tid)
    k = max(TOP_MIN, math.ceil(TOP_SHARE * len(ok)))
    return ok[:k]


def _own_scale(param: Param, values: list[float]) -> list[float]:
    if param.is_log:
        return [math.log(v) for v in values if v > 0]
    return values


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) == 1:
        return values[0], values[0], values[0]
    q25, med, q75 = statistics.quantiles(values, n=4, method="inclusive")
    return q25, med, q75


def region_shifts(
    sa: Study, sb: Study, space_a: SearchSpace, space_b: SearchSpace
) -> list[RegionShift]:
    top_a, top_b = _top(sa), _top(sb)
    out = []
    for label in space_a.labels:
        pa, pb = space_a.params.get(label), space_b.params.get(label)
        if pb is None:
            continue
        va = [v for t in top_a if isinstance(v := t.params.get(label), (int, float))]
        vb = [v for t in top_b if isinstance(v := t.params.get(label), (int, float))]
        if len(va) < 2 or len(vb) < 2:
            continue
        if pa.is_categorical or pb.is_categorical:
            ma = statistics.mode(va)
            mb = statistics.mode(vb)
            shown_a, shown_b = _shown(space_a, label, ma), _shown(space_b, label, mb)
            # two declared spaces: the options as written (they may be reordered); an
            # inferred side shows the stored value, not an option's text ("0" against 0
            # read as moved): then the stored values, an index or randint's value each
            both_declared = not (pa.inferred or pb.inferred)
            out.append(
                RegionShift(
                    label,
                    True,
                    len(va),
                    len(vb),
                    {"mode": shown_a, "share": va.count(ma) / len(va)},
                    {"mode": shown_b, "share": vb.count(mb) / len(vb)},
                    moved=shown_a != shown_b if both_declared else ma != mb,
                    shift_of_range=None,
                )
            )
            continue
        # both sides in A's scale: two inferred spaces may disagree on the kind (uniform in
        # A, loguniform in B), and values in different scales cannot be compared
        oa, ob = _own_scale(pa, va), _own_scale(pa, vb)
        if len(oa) < 2 or len(ob) < 2:
            continue
        qa, qb = _quartiles(oa), _quartiles(ob)
        width = _range_width(pa, pb, oa + ob)
        back = math.exp if pa.is_log else float

        def described(q: tuple[float, float, float], back=back) -> dict[str, float]:
            return {"q25": back(q[0]), "median": back(q[1]), "q75": back(q[2])}

        out.append(
            RegionShift(
                label,
                False,
                len(oa),
                len(ob),
                described(qa),
                described(qb),
                moved=qa[2] < qb[0] or qb[2] < qa[0],
                shift_of_range=(qb[1] - qa[1]) / width if width else None,
            )
        )
    return out


def _range_width(pa: Param, pb: Param, seen: list[float]) -> float | None:
    """The wider of the two declared ranges in own scale, else the observed spread."""
    widths = []
    for p in (pa, pb):
        if p.is_log != pa.is_log:  # another scale than the values (which are in A's)
            continue
        if not p.inferred and p.low is not None and p.high is not None and p.mu is None:
            widths.append(p.high - p.low)  # log kinds keep low/high in log space
    if widths:
        return max(widths)
    spread = max(seen) - min(seen) if seen else 0.0
    return spread or None


def _finding_key(f: Any) -> tuple[Any, ...]:
    """What makes two findings "the same": the check, the parameters, the severity and,
    for a verdict (T004), the verdict: "no better than random search" in A and "better" in
    B is the change a comparison is for, not a finding in both."""
    verdict = (getattr(f, "evidence", None) or {}).get("verdict")
    return f.code, tuple(f.params), f.severity, verdict if isinstance(verdict, str) else None


def finding_diff(
    before: list[Any], after: list[Any]
) -> tuple[list[FindingDiff], list[FindingDiff], list[FindingDiff]]:
    def diff(f: Any) -> FindingDiff:
        return FindingDiff(f.code, f.name, list(f.params), f.severity, f.message)

    ka = {_finding_key(f): f for f in before}
    kb = {_finding_key(f): f for f in after}
    appeared = [diff(f) for k, f in kb.items() if k not in ka]
    cleared = [diff(f) for k, f in ka.items() if k not in kb]
    kept = [diff(f) for k, f in kb.items() if k in ka]
    return appeared, cleared, kept


def _checked(
    study: Study, space: SearchSpace, settings: TPESettings, algo: str | None = None
) -> tuple[list[Any], Any]:
    """The findings (those not skipped) and the sampler the checks detected (or ``algo``,
    --algo, said)."""
    from .checks import run_checks

    report = run_checks(study, space, settings=settings, algo=algo)
    return [f for f in report.findings if not f.evidence.get("skipped")], report.sampler


def _detected(
    study: Study, space: SearchSpace, settings: TPESettings, algo: str | None = None
) -> dict[str, Any]:
    from .checks import Context, Thresholds, _sampler_dict

    if not study.trials:
        return {}
    return _sampler_dict(Context(study, space, settings, Thresholds(), algo=algo))


def fmt_p(p: float) -> str:
    return f"p = {p:.2g}" if p >= 1e-4 else "p < 0.0001"


def _g(x: float) -> str:
    return f"{x:.4g}"


def verdict(
    test: LossTest | None, a: Side, b: Side, alpha: float = ALPHA
) -> tuple[str, str, list[str], dict[str, Any] | None]:
    """The verdict, its one line, the evidence lines, and the difference of the bests."""
    evidence: list[str] = []
    best_diff = None
    if a.best and b.best:
        la, lb = float(a.best["loss"]), float(b.best["loss"])
        rel = (lb - la) / abs(la) if la != 0 else None
        best_diff = {"a": la, "b": lb, "difference": lb - la, "relative": rel}
    if test is None:
        n_a, n_b = a.n_after_startup, b.n_after_startup
        return (
            "not_comparable",
            f"not enough trials to compare: {n_a} (A) and {n_b} (B) finite ok losses after"
            f" start-up; at least {MIN_TRIALS} each are needed",
            evidence,
            best_diff,
        )
    evidence.append(
        f"median loss after start-up: A {_g(test.median_a)} ({test.n_a} trials), B"
        f" {_g(test.median_b)} ({test.n_b} trials); two-sided Mann-Whitney {fmt_p(test.p_value)}"
    )
    evidence.append(
        f"a trial of B has a lower loss than a trial of A {test.prob_b_lower:.0%} of the time"
        " (50% = no difference)"
    )
    if best_diff is not None:
        evidence.append(_best_sentence(best_diff))
        reach = _reach(a, b)
        if reach:
            evidence.append(reach)
    if test.p_value >= alpha or test.median_a == test.median_b:
        why = (
            f"medians after start-up {_g(test.median_a)} (A) and {_g(test.median_b)} (B),"
            f" Mann-Whitney {fmt_p(test.p_value)}, not below {alpha:g}"
        )
        line = f"no clear difference: {why}"
        if best_diff is not None and best_diff["difference"] != 0:
            lower, other = ("B", "A") if best_diff["difference"] < 0 else ("A", "B")
            clause = _best_clause(best_diff, lower, other).replace("its best", f"{lower}'s best")
            line += f"; {clause}, but that is one trial each"
        return "no_clear_difference", line, evidence, best_diff
    winner, loser = ("B", "A") if test.median_b < test.median_a else ("A", "B")
    line = (
        f"{winner} is better: its median loss after start-up is lower"
        f" ({_g(min(test.median_a, test.median_b))} against"
        f" {_g(max(test.median_a, test.median_b))}, {fmt_p(test.p_value)})"
    )
    if best_diff is not None:
        line += "; " + _best_clause(best_diff, winner, loser)
    return ("b_better" if winner == "B" else "a_better"), line, evidence, best_diff


def first_reaching(s: Side, target: float) -> int | None:
    """The first trial number whose best so far is at or below ``target``."""
    return next((x for x, loss in s.best_so_far if loss <= target), None)


def _reach(a: Side, b: Side) -> str | None:
    """How soon each study reached the worse of the two final bests (one run each)."""
    if not a.best_so_far or not b.best_so_far:
        return None
    target = max(a.best_so_far[-1][1], b.best_so_far[-1][1])
    ra, rb = first_reaching(a, target), first_reaching(b, target)
    if ra is None or rb is None or ra == rb:
        return None
    first, n_first, n_other = ("A", ra, rb) if ra < rb else ("B", rb, ra)
    other = "B" if first == "A" else "A"
    return (
        f"{first} reached {_g(target)} (the worse of the two final bests) at trial {n_first},"
        f" {other} at trial {n_other} (one run each: no test)"
    )


def _best_sentence(d: dict[str, Any]) -> str:
    if d["difference"] == 0:
        return f"best loss: both {_g(d['a'])}"
    lower = "B" if d["difference"] < 0 else "A"
    text = f"best loss: A {_g(d['a'])}, B {_g(d['b'])}; {lower}'s is lower by"
    text += f" {_g(abs(d['difference']))}"
    if d["relative"] is not None and abs(d["relative"]) < 1:
        text += f" ({_pct(abs(d['relative']))} of |A's best|)"
    return text + " (one trial each: no test)"


def _pct(share: float) -> str:
    return f"{share:.0%}" if share < 0.995 else f"{share:.1%}"


def _best_clause(d: dict[str, Any], winner: str, loser: str) -> str:
    diff = d["difference"] if winner == "B" else -d["difference"]  # winner - loser
    if diff == 0:
        return "both found the same best"
    base = abs(d["a"] if winner == "B" else d["b"])  # the other study's best
    if base and abs(diff) / base < 1:  # a share of the other's best, while that reads sensibly
        amount = f"{_pct(abs(diff) / base)} lower"
    else:
        amount = f"lower by {_g(abs(diff))}"
    if diff < 0:
        return f"its best is {amount}"
    return f"but {loser}'s best is {amount}"


def compare(
    study_a: Study,
    study_b: Study,
    space_a: SearchSpace,
    space_b: SearchSpace,
    settings_a: TPESettings,
    settings_b: TPESettings,
    *,
    startup_given: tuple[bool, bool] = (False, False),
    with_findings: bool = True,
    alpha: float = ALPHA,
    algo: tuple[str | None, str | None] = (None, None),
) -> Comparison:
    if with_findings:
        (found_a, sampler_a), (found_b, sampler_b) = (
            _checked(study_a, space_a, settings_a, algo[0]),
            _checked(study_b, space_b, settings_b, algo[1]),
        )
    else:
        sampler_a, sampler_b = (
            _detected(study_a, space_a, settings_a, algo[0]),
            _detected(study_b, space_b, settings_b, algo[1]),
        )
    a = side("A", study_a, space_a, settings_a, startup_given[0], sampler_a)
    b = side("B", study_b, space_b, settings_b, startup_given[1], sampler_b)
    test = loss_test(_after_startup(study_a, settings_a), _after_startup(study_b, settings_b))
    code, line, evidence, best_diff = verdict(test, a, b, alpha)
    changes = space_changes(space_a, space_b)
    if not set(space_a.labels) & set(space_b.labels) and space_a.labels and space_b.labels:
        code = "not_comparable"
        line = (
            "not comparable: the studies share no parameter, so their losses are probably of"
            " different objectives (the numbers below are shown, not judged)"
        )
    elif any(c.change in ("added", "removed") for c in changes):
        evidence.append(
            "the spaces have different labels: if the objective changed too, its losses may"
            " not be comparable"
        )
    appeared: list[FindingDiff] = []
    cleared: list[FindingDiff] = []
    kept: list[FindingDiff] = []
    if with_findings:
        appeared, cleared, kept = finding_diff(found_a, found_b)
    return Comparison(
        a=a,
        b=b,
        space=changes,
        losses=test,
        best_difference=best_diff,
        regions=region_shifts(study_a, study_b, space_a, space_b),
        findings_appeared=appeared,
        findings_cleared=cleared,
        findings_kept=kept,
        verdict=code,
        verdict_text=line,
        evidence=evidence,
        alpha=alpha,
    )
