"""What each picture shows, as plain data (Optuna's "info" step): the drawing is in render/.

Tests assert on these objects; `render/plots.py` only draws them. Per-trial data are numpy
arrays, not lists of Python numbers: at 200,000 trials a list of floats is 32 bytes a value
against 8, and a forked drawing child that reads a list writes to every float's reference
count, copying the pages it shares with the parent (``render/forks.py``); reading an array
writes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .space import Param, SearchSpace
from .study import Study
from .tpe import TPESettings


@dataclass(frozen=True)
class HistoryInfo:
    title: str
    n_trials: int
    points: Any  # (n, 2) float array: tid, loss of status-ok trials with finite loss
    best_so_far: list[tuple[int, float]]
    failed: list[int]  # error trials and status fail
    non_finite: list[tuple[int, str]]  # (tid, "nan" | "inf" | "-inf")
    startup: int
    symlog: bool  # losses span orders of magnitude
    startup_default: bool = True  # n_startup_jobs is hyperopt's default, not given


@dataclass(frozen=True)
class ParamSeries:
    """One parameter's values over the trials, in its own units (option index for choices)."""

    label: str
    kind: str
    distribution: str
    log: bool
    bounds: tuple[float, float] | None
    options: list[str] | None
    tids: Any  # int array (read-only, shared by the figures of a study)
    values: Any  # float array
    losses: Any  # float array, NaN where the trial has no finite ok loss
    inferred: bool


@dataclass(frozen=True)
class ParamsInfo:
    title: str
    startup: int
    series: list[ParamSeries]


@dataclass(frozen=True)
class ScatterInfo:
    title: str
    x: ParamSeries
    y: ParamSeries
    best_tid: int | None
    contour: tuple[list[float], list[float], list[list[float]]] | None = None  # xs, ys, z[y][x]


@dataclass(frozen=True)
class HistPanel:
    series: ParamSeries
    startup_values: Any  # float arrays
    tpe_values: Any
    prior_x: list[float]  # prior density on a grid (continuous) or per option (categorical)
    prior_density: list[float]
    lattice: bool = False  # q kinds with few values: prior_x are the values, density = mass


@dataclass(frozen=True)
class HistInfo:
    title: str
    panels: list[HistPanel]


@dataclass(frozen=True)
class ImportanceInfo:
    title: str
    method: str
    quantile: float
    n_top: int
    importances: list[tuple[str, float]]  # normalised to sum 1, largest first
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EfficiencyInfo:
    """Best-so-far against the band random search would reach, and the verdict."""

    title: str
    verdict: str
    lines: list[str]  # the evidence, in words (efficiency.sentences)
    points: Any  # (n, 2) float array: trial number (1-based), loss of finished trials
    startup: int  # trials drawn at random (TPE's start-up)
    startup_median: float | None
    startup_lowest: float | None  # below it, the band is the tail model's extrapolation
    best_so_far: list[tuple[int, float]]  # (trial number, loss) where the best improved
    band_n: list[int]  # trials so far
    band_low: list[float]  # random search's best-so-far: 5%, median, 95% (NaN: no value)
    band_mid: list[float]
    band_high: list[float]
    symlog: bool
    result: Any = None  # efficiency.TpeVsRandom


def _title(study: Study, what: str) -> str:
    name = study.source.path.rsplit("/", 1)[-1]
    return f"{what} · {name}, {study.n_trials} trial{'' if study.n_trials == 1 else 's'}"


def series(study: Study, param: Param) -> ParamSeries:
    tids, values, losses = _series_lists(study, param)
    return ParamSeries(
        label=param.label,
        kind=param.kind,
        distribution=param.describe(),
        log=param.is_log,
        bounds=None if param.is_categorical else param.natural_bounds(),
        options=[param.option_text(i) for i in range(param.n_options)]
        if param.is_categorical
        else None,
        tids=tids,
        values=values,
        losses=losses,
        inferred=param.inferred,
    )


def _series_lists(study: Study, param: Param) -> tuple[Any, Any, Any]:
    """(tids, values, losses) where the label is active, built once per study and label, as
    read-only arrays (losses NaN where the trial is not ok).

    ``plot --kind all`` and ``report`` need the same series in three figures.
    """
    offset = param.randint_offset
    key = (param.label, param.is_categorical, offset)
    cache = study.__dict__.setdefault("_plot_series", {})
    if key not in cache:
        import numpy as np

        column = study.column(param.label)  # NaN where the label is inactive
        at = np.flatnonzero(~np.isnan(column))
        values = column[at] - offset if param.is_categorical else column[at]
        arrays = (study.tids[at], np.asarray(values, dtype=float), study.ok_losses[at])
        for array in arrays:
            array.flags.writeable = False
        cache[key] = arrays
    return cache[key]


def history_info(study: Study, settings: TPESettings | None = None) -> HistoryInfo:
    import numpy as np

    settings = settings or TPESettings()
    ok = np.flatnonzero(~np.isnan(study.ok_losses))  # the columns: no walk over the trials
    tids, ok_losses = study.tids[ok], study.ok_losses[ok]
    points = np.column_stack((tids, ok_losses)).astype(float).reshape(-1, 2)
    before = np.concatenate([[math.inf], np.minimum.accumulate(ok_losses)[:-1]])
    improved = ok_losses < before  # a new best so far
    best = list(zip(tids[improved].tolist(), ok_losses[improved].tolist(), strict=True))
    non_finite = [
        (t.tid, "nan" if math.isnan(t.loss) else ("inf" if t.loss > 0 else "-inf"))
        for t in study.trials
        if t.has_non_finite_loss
    ]
    return HistoryInfo(
        title=_title(study, "Loss per trial"),
        n_trials=study.n_trials,
        points=points,
        best_so_far=best,
        failed=[t.tid for t in study.trials if t.is_failed],
        non_finite=non_finite,
        startup=min(settings.n_startup_jobs, study.n_trials),
        startup_default=settings.startup_source in ("default", "Optuna's default"),
        symlog=_spans_orders(ok_losses),
    )


def _spans_orders(losses: Any) -> bool:
    """Symlog when the spread of losses dwarfs the typical loss by 100x or more."""
    import numpy as np

    v = np.asarray(losses, dtype=float)
    if len(v) < 3:
        return False
    typical = float(np.partition(np.abs(v), len(v) // 2)[len(v) // 2]) or 1e-12
    return (float(v.max()) - float(v.min())) / typical > 100  # Python floats: inf, no warning


def params_info(
    study: Study, space: SearchSpace, settings: TPESettings | None = None
) -> ParamsInfo:
    settings = settings or TPESettings()
    return ParamsInfo(
        title=_title(study, "Sampled values over time"),
        startup=min(settings.n_startup_jobs, study.n_trials),
        series=[series(study, p) for p in space.params.values()],
    )


def scatter_info(
    study: Study,
    space: SearchSpace,
    x: str,
    y: str,
    objective: Any = None,
    grid: int = 120,
) -> ScatterInfo:
    """Two parameters against each other; with a 2-D objective, its loss contours."""
    best = study.best()
    contour = None
    px, py = space[x], space[y]
    if objective is not None and not px.is_categorical and not py.is_categorical:
        contour = _contour(px, py, objective, grid)
    return ScatterInfo(
        title=_title(study, f"{y} against {x}"),
        x=series(study, px),
        y=series(study, py),
        best_tid=best.tid if best else None,
        contour=contour,
    )


def _axis_grid(param: Param, n: int) -> list[float]:
    lo, hi = param.natural_bounds() or (0.0, 1.0)
    if param.is_log:
        a, b = math.log(lo), math.log(hi)
        return [math.exp(a + (b - a) * i / (n - 1)) for i in range(n)]
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def _contour(px: Param, py: Param, objective: Any, n: int) -> tuple[list, list, list]:
    xs, ys = _axis_grid(px, n), _axis_grid(py, n)
    z = []
    for yv in ys:
        row = []
        for xv in xs:
            try:
                value = objective(xv, yv)
                if isinstance(value, dict):
                    value = value.get("loss")
                row.append(float(value))
            except Exception:
                row.append(math.nan)
        z.append(row)
    return xs, ys, z


def hist_info(study: Study, space: SearchSpace, settings: TPESettings | None = None) -> HistInfo:
    from .checks import scale

    settings = settings or TPESettings()
    panels = []
    import numpy as np

    startup_tids = study.tids[: settings.n_startup_jobs]
    for param in space.params.values():
        s = series(study, param)
        in_startup = np.isin(s.tids, startup_tids)
        first, rest = s.values[in_startup], s.values[~in_startup]
        lattice = False
        if param.is_categorical:
            prior_x = [float(i) for i in range(param.n_options)]
            prior = scale.category_probs(param)
        elif param.q is not None and (lattice_mass := _lattice_mass(param)) is not None:
            prior_x, prior = lattice_mass
            lattice = True
        else:
            prior_x, prior = _prior_density(param)
        panels.append(HistPanel(s, first, rest, prior_x, prior, lattice))
    return HistInfo(title=_title(study, "Sampled values against the prior"), panels=panels)


def _lattice_mass(param: Param, limit: int = 60) -> tuple[list[float], list[float]] | None:
    """Prior mass of each value of a q lattice (random search's draws), if it is small."""
    import numpy as np

    from .checks import scale

    values, counts = np.unique(scale.prior_draws(param, 40_000, seed=5), return_counts=True)
    if len(values) > limit:
        return None
    return [float(v) for v in values], [float(c) / counts.sum() for c in counts]


def _prior_density(param: Param) -> tuple[list[float], list[float]]:
    """The prior's density per unit of the axis (log axis: per unit of log x)."""
    import numpy as np

    def norm_pdf(x: Any, mu: float, sigma: float) -> Any:  # scipy.stats costs 1.5 s to import
        return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))

    if param.is_bounded:
        lo, hi = param.natural_bounds()  # type: ignore[misc]
        xs = _axis_grid(param, 2)
        width = (math.log(hi) - math.log(lo)) if param.is_log else (hi - lo)
        return xs, [1.0 / width] * 2
    if param.family == "normal" and not param.is_log:
        x = np.linspace(param.mu - 4 * param.sigma, param.mu + 4 * param.sigma, 200)
        return list(map(float, x)), list(map(float, norm_pdf(x, param.mu, param.sigma)))
    lx = np.linspace(param.mu - 4 * param.sigma, param.mu + 4 * param.sigma, 200)
    return list(map(float, np.exp(lx))), list(map(float, norm_pdf(lx, param.mu, param.sigma)))


def importance_info(study: Study, space: SearchSpace, quantile: float = 0.1) -> ImportanceInfo:
    """PED-ANOVA (Watanabe, Bansal & Hutter, IJCAI 2023), as Optuna's default evaluator.

    For each parameter: the Pearson divergence between the density of the top ``quantile``
    of trials and the density of all trials, both Parzen (Gaussian KDE) estimates on 50
    points of the range in the parameter's own scale (categoricals: smoothed frequencies).
    A parameter whose good trials look like all trials has importance 0.
    """
    cache = study.__dict__.setdefault("_importance", {})
    if quantile in cache and cache[quantile][0] is space:  # plot/report ask twice
        return cache[quantile][1]
    info = _importance_info(study, space, quantile)
    cache[quantile] = (space, info)
    return info


def _importance_info(study: Study, space: SearchSpace, quantile: float) -> ImportanceInfo:
    import numpy as np

    from .checks import scale

    loss, tids = study.ok_losses, study.tids  # columns in trial order: no walk per trial
    ok = np.flatnonzero(~np.isnan(loss))
    order = ok[np.lexsort((tids[ok], loss[ok]))]  # by loss, then tid
    n_top = max(2, math.ceil(quantile * len(order)))
    notes = []
    if len(order) < 20:
        notes.append(f"only {len(order)} finished trials: importances are rough")
    scores = []
    for param in space.params.values():
        column = study.column(param.label)[order]
        all_v = column[~np.isnan(column)]
        top_v = column[:n_top][~np.isnan(column[:n_top])]
        if len(top_v) < 2 or len(all_v) < 4:
            scores.append((param.label, 0.0))
            continue
        if param.is_categorical:
            k = param.n_options
            off = param.randint_offset
            p_all = np.bincount(np.asarray(all_v, int) - off, minlength=k) + 1.0
            p_top = np.bincount(np.asarray(top_v, int) - off, minlength=k) + 1.0
        else:
            lo, hi = scale.coord_range(param)
            grid = np.linspace(lo, hi, 50)
            p_all = _kde(scale.coords(param, all_v), grid, hi - lo)
            p_top = _kde(scale.coords(param, top_v), grid, hi - lo)
        p_all, p_top = p_all / p_all.sum(), p_top / p_top.sum()
        scores.append((param.label, float(np.sum(p_all * (p_top / p_all - 1.0) ** 2))))
    total = sum(v for _, v in scores) or 1.0
    ranked = sorted(((label, v / total) for label, v in scores), key=lambda lv: -lv[1])
    return ImportanceInfo(
        title=_title(study, "Parameter importance (PED-ANOVA)"),
        method="PED-ANOVA: Pearson divergence of the top-10% density from all trials'",
        quantile=quantile,
        n_top=n_top,
        importances=ranked,
        notes=notes,
    )


def _kde(values: Any, grid: Any, width: float) -> Any:
    """Gaussian KDE with Scott's bandwidth (at least 1% of the range), on the grid."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    bw = max(1.06 * (v.std() or width / 10) * len(v) ** (-1 / 5), width / 100)
    total = np.zeros(len(grid))
    for start in range(0, len(v), 20_000):  # a grid x 20k block at a time: bounded memory
        z = (grid[:, None] - v[None, start : start + 20_000]) / bw
        total += np.exp(-0.5 * z * z).sum(axis=1)
    return total + 1e-12


def most_important_pair(study: Study, space: SearchSpace) -> tuple[str, str]:
    """The two parameters with the highest PED-ANOVA importance (continuous first)."""
    import numpy as np

    labels = [label for label, _ in importance_info(study, space).importances]
    continuous = [lab for lab in labels if not space[lab].is_categorical]
    ordered = continuous + [lab for lab in labels if lab not in continuous]
    if len(ordered) < 2:
        raise ValueError("a scatter plot needs two parameters")
    # in a conditional space the two most important may never be set together (an svm's C
    # and a forest's max_features): the first pair, in that order, that some trials share
    # (two continuous ones first: a choice that selects the branch is constant against a
    # parameter of that branch)
    top = ordered[:12]
    active = {lab: ~np.isnan(study.column(lab)) for lab in top}
    need = max(1, min(10, len(study.trials)))
    pairs = [(a, b) for i, a in enumerate(top) for b in top[i + 1 :]]
    pairs.sort(key=lambda ab: sum(space[lab].is_categorical for lab in ab))  # stable
    for a, b in pairs:
        if int((active[a] & active[b]).sum()) >= need:
            return a, b
    return ordered[0], ordered[1]


def efficiency_info(
    study: Study,
    settings: TPESettings | None = None,
    *,
    n_startup: int | None = None,
    sampler_kind: str | None = None,
) -> EfficiencyInfo:
    """The study's best so far against random search's, from its own start-up draws."""
    import numpy as np

    from . import efficiency

    analysis = efficiency.analyse(study, settings, n_startup=n_startup, sampler_kind=sampler_kind)
    result = analysis.result
    ok = np.flatnonzero(~np.isnan(study.ok_losses))  # trial positions, from the column
    ok_losses = study.ok_losses[ok]
    points = np.column_stack((ok + 1, ok_losses)).astype(float).reshape(-1, 2)
    before = np.concatenate([[math.inf], np.minimum.accumulate(ok_losses)[:-1]])
    improved = ok_losses < before  # a new best so far
    best = list(zip((ok[improved] + 1).tolist(), ok_losses[improved].tolist(), strict=True))
    total = len(study.trials)
    if total <= 400:
        ns = np.arange(1, total + 1)
    else:
        ns = np.unique(np.round(np.geomspace(1, total, 300)).astype(int))
    low = mid = high = [math.nan] * len(ns)
    if analysis.model is not None:
        low, mid, high = (
            list(map(float, b)) for b in efficiency.random_search_band(analysis.model, ns)
        )
    return EfficiencyInfo(
        title=_title(study, f"TPE against random search: {efficiency.headline(result)}"),
        verdict=result.verdict,
        lines=[efficiency.share_sentence(result)]
        + [x for x in [efficiency.best_sentence(result)] if x],
        points=points,
        startup=analysis.startup,
        startup_median=analysis.startup_median,
        startup_lowest=float(analysis.model.draws[0]) if analysis.model is not None else None,
        best_so_far=best,
        band_n=[int(n) for n in ns],
        band_low=low,
        band_mid=mid,
        band_high=high,
        symlog=_spans_orders(ok_losses),
        result=result,
    )
