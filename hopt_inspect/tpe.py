"""TPE replay: what ``hyperopt.tpe.suggest`` computes, recomputed with hyperopt's own functions.

For a label and the first n trials (by tid): the history as ``suggest`` builds it, the
global below/above split (``ap_split_trials``), the Parzen mixtures
(``adaptive_parzen_normal``), and their log-likelihoods on a grid (``GMM1_lpdf`` /
``LGMM1_lpdf``). The numeric functions are hyperopt's; only the two lines of categorical
maths are written out (their helpers changed signature across versions). The settings and
the split size live here so every other module quotes TPE from one place.
See ../shared/HYPEROPT.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .space import Param, SearchSpace
from .study import Study, Trial

SCHEMA = "hopt-inspect/lpdf/1"


@dataclass(frozen=True)
class TPESettings:
    """``tpe.suggest``'s defaults (hyperopt 0.2.3 - 0.3.0)."""

    gamma: float = 0.25
    prior_weight: float = 1.0
    n_startup_jobs: int = 20
    n_ei_candidates: int = 24
    lf: int = 25  # tpe.DEFAULT_LF; not an argument of suggest since 0.2.3
    # where n_startup_jobs came from, for sentences: "default", "Optuna's default",
    # "--n-startup-jobs", or a config file's path (session.py decides)
    startup_source: str = field(default="default", compare=False)

    @property
    def startup_phrase(self) -> str:
        """ "by default" / "from --n-startup-jobs" / "from pyproject.toml"."""
        if self.startup_source == "default":
            return "by default"
        if self.startup_source == "Optuna's default":
            return "Optuna's default"
        return f"from {self.startup_source}"


OPTUNA_STARTUP = 10  # optuna.samplers.TPESampler's n_startup_trials


def settings_for(study: Study, n_startup_jobs: int | None = None) -> TPESettings:
    """Default settings for a study: hyperopt's, or Optuna's start-up for Optuna studies."""
    source = "given"
    if n_startup_jobs is None:
        optuna = study.source.format == "optuna-sqlite"
        n_startup_jobs = OPTUNA_STARTUP if optuna else 20
        source = "Optuna's default" if optuna else "default"
    return TPESettings(n_startup_jobs=n_startup_jobs, startup_source=source)


def n_below(n_history: int, gamma: float = 0.25, cap: int = 25) -> int:
    """Size of TPE's "good" group: ``ap_split_trials``' ``min(ceil(gamma * sqrt(N)), 25)``."""
    return min(math.ceil(gamma * math.sqrt(n_history)), cap)


@dataclass(frozen=True)
class Mixture:
    """One Parzen mixture, in the space TPE fits it (log space for log kinds)."""

    weights: list[float]
    mus: list[float]
    sigmas: list[float]
    prior_index: int  # which component is the prior
    sigma_min: float  # the clip bounds adaptive_parzen_normal put on kernel widths
    sigma_max: float


@dataclass(frozen=True)
class Snapshot:
    """TPE's view of one label after the first ``n_trials`` trials (by tid)."""

    n_trials: int
    n_history: int  # documents suggest() would use (valid states, from_tid groups)
    startup: bool  # fewer than n_startup_jobs: the next trial was drawn at random
    n_below: int  # this label's observations in the below ("good") group
    n_above: int
    split_n_below: int  # the global split: trials in the good group
    x: list[float]
    below_llik: list[float]
    above_llik: list[float]
    argmax_x: float | None
    next_value: float | None
    next_tid: int | None
    prior_share: float
    kernel_sigma_min: float | None  # continuous kinds: width bounds of the below kernels
    kernel_sigma_max: float | None
    below_peak_x: float | None  # mode of the below density (per log unit for log kinds)
    above_peak_x: float | None


@dataclass(frozen=True)
class LpdfResult:
    """What ``hopt-inspect lpdf`` reports for one parameter."""

    param: str
    kind: str
    distribution: str
    space_source: str
    inferred: bool
    settings: dict[str, float]
    snapshots: list[Snapshot]
    samples: list[tuple[int, float, float | None]] = field(default_factory=list)
    options: list[str] | None = None
    q: float | None = None  # the lattice step of q kinds (x may be a thinned lattice)
    schema: str = SCHEMA


# --------------------------------------------------------------------------- history


def split(hist: Sequence[Trial], label: str, gamma: float) -> tuple[list[Any], list[Any]]:
    """Below and above values of ``label``: hyperopt's ``ap_split_trials`` on this history.

    As in ``suggest``, observations are keyed by the document's own tid and losses by its
    ``from_tid`` group; a label's values come only from trials where it was active.
    """
    from hyperopt import tpe as hyperopt_tpe

    o_idxs = [t.tid for t in hist if t.params.get(label) is not None]
    o_vals = [t.params[label] for t in hist if t.params.get(label) is not None]
    l_idxs = [t.tid if t.from_tid is None else t.from_tid for t in hist]
    l_vals = [t.tpe_loss for t in hist]
    below, above = hyperopt_tpe.ap_split_trials(o_idxs, o_vals, l_idxs, l_vals, gamma)
    return list(below), list(above)


def _split_cached(
    study: Study, n_trials: int, label: str, gamma: float
) -> tuple[list, list, list, list]:
    """``split`` for one label after the first ``n_trials``, sharing the work across labels.

    Returns the history, the below and above values, and all of the label's values in the
    history. The history and the loss order do not depend on the label: they are computed
    once per (n_trials, gamma) and kept on the study. The steps are ``ap_split_trials``'
    own, on the same arrays (so ``argsort`` breaks ties the same way); a history has one
    document per loss key (``tpe_history`` groups them), as ``ap_split_trials`` assumes.
    When every value is a number, a label's values are read from the study's float column
    (one numpy selection instead of a Python pass over the history per label).
    """
    import numpy as np

    cache = study.__dict__.setdefault("_tpe_split_cache", {})
    key = (n_trials, gamma)
    if key not in cache and (fast := _one_document_per_key(study)) is not None:
        # tpe_history(n) without a pass over the trials: each document its own loss key,
        # so the history is the first n kept documents (the same list, in tid order)
        kept, losses = fast
        pos = np.flatnonzero(kept[:n_trials])
        trials = study.trials
        hist = [trials[i] for i in pos.tolist()]
        l_vals = losses[pos]  # ap_split_trials' steps on the same losses, as below
        n_below_ = min(int(np.ceil(gamma * np.sqrt(len(l_vals)))), 25)  # gamma_cap=DEFAULT_LF
        l_order = np.argsort(l_vals)
        in_below = np.zeros(len(pos), dtype=bool)
        in_below[l_order[:n_below_]] = True  # one document per key: the rest is above
        cache[key] = (hist, None, None, (pos.astype(np.int64), in_below, ~in_below))
    if key not in cache:
        hist = study.tpe_history(n_trials)
        l_idxs = np.asarray([t.tid if t.from_tid is None else t.from_tid for t in hist])
        l_vals = np.asarray([t.tpe_loss for t in hist])
        n_below_ = min(int(np.ceil(gamma * np.sqrt(len(l_vals)))), 25)  # gamma_cap=DEFAULT_LF
        l_order = np.argsort(l_vals)
        below_keys = set(l_idxs[l_order[:n_below_]].tolist())
        above_keys = set(l_idxs[l_order[n_below_:]].tolist())
        arrays = None
        if study._matrix is not None:  # every value a number: the column path
            where = study.__dict__.setdefault(
                "_trial_position", {id(t): i for i, t in enumerate(study.trials)}
            )
            arrays = (
                np.fromiter((where[id(t)] for t in hist), dtype=np.int64, count=len(hist)),
                np.fromiter((t.tid in below_keys for t in hist), dtype=bool, count=len(hist)),
                np.fromiter((t.tid in above_keys for t in hist), dtype=bool, count=len(hist)),
            )
        if arrays is not None:  # the sets serve only the path without arrays (100 MB at 200k)
            below_keys = above_keys = None
        cache[key] = (hist, below_keys, above_keys, arrays)
    hist, below_keys, above_keys, arrays = cache[key]
    if arrays is not None:
        pos, in_below, in_above = arrays
        active = _active(study, label)[pos]
        values = study.column(label)[pos]
        return (
            hist,
            list(values[active & in_below]),
            list(values[active & in_above]),
            values[active].tolist(),
        )
    pairs = [(t.tid, v) for t in hist if (v := t.params.get(label)) is not None]
    below = np.asarray([v for i, v in pairs if i in below_keys])
    above = np.asarray([v for i, v in pairs if i in above_keys])
    return hist, list(below), list(above), [v for _, v in pairs]


def _one_document_per_key(study: Study) -> tuple[Any, Any] | None:
    """(kept, losses) over the study's trials when every document is its own loss key (no
    ``from_tid``, distinct tids: fmin's studies) and every value is a number; else None.

    ``kept``: the documents ``tpe_history`` keeps (visible to hyperopt, and a loss that is
    not NaN: a NaN-only group is dropped there); ``losses``: ``tpe_loss`` of each.
    """
    import numpy as np

    cache = study.__dict__
    if "_one_document_per_key" not in cache:
        found = None
        trials = study.trials
        if study._matrix is not None and all(t.from_tid is None for t in trials):
            tids = study.tids
            if len(tids) < 2 or bool(np.all(tids[1:] > tids[:-1])):  # sorted: distinct
                visible = {id(t) for t in study.visible_to_hyperopt()}
                losses = np.fromiter((t.tpe_loss for t in trials), dtype=float, count=len(trials))
                kept = np.fromiter(
                    (id(t) in visible for t in trials), dtype=bool, count=len(trials)
                )
                found = (kept & ~np.isnan(losses), losses)
        cache["_one_document_per_key"] = found
    return cache["_one_document_per_key"]


def _samples(study: Study, label: str, offset: int) -> list[tuple[int, float, float | None]]:
    """(tid, value, loss) of the trials where ``label`` is active, in trial order."""
    if study._matrix is None:
        return [
            (t.tid, float(t.params[label]) - offset, t.loss)
            for t in study.trials
            if t.params.get(label) is not None
        ]
    import numpy as np

    at = np.flatnonzero(_active(study, label))
    trials = study.trials
    tids, values = study.tids[at].tolist(), (study.column(label)[at] - offset).tolist()
    return list(zip(tids, values, [trials[i].loss for i in at.tolist()], strict=True))


def _active(study: Study, label: str) -> Any:
    """Where the label has a value, as a boolean array in trial order (once per label)."""
    import numpy as np

    cache = study.__dict__.setdefault("_active", {})
    if label not in cache:
        cache[label] = np.fromiter(
            (t.params.get(label) is not None for t in study.trials),
            dtype=bool,
            count=len(study.trials),
        )
    return cache[label]


# --------------------------------------------------------------------------- continuous


def _fit_space_obs(param: Param, obs: Sequence[float]) -> Any:
    """Observations as the ap_*_sampler of this kind hands them to adaptive_parzen_normal."""
    import numpy as np

    values = np.asarray(obs, dtype=float)
    if param.is_log and param.is_quantised and param.is_bounded:  # qloguniform
        # ap_qloguniform_sampler: log(maximum(obs, maximum(EPS, exp(low))))
        return np.log(np.maximum(values, np.maximum(_eps(), np.exp(param.low))))
    if param.is_log and param.is_quantised:  # qlognormal
        return np.log(np.maximum(values, _eps()))  # ap_qlognormal_sampler
    if param.is_log:
        return np.log(values)
    return values


def _eps() -> float:
    from hyperopt.tpe import EPS  # the same EPS the samplers use

    return float(EPS)


def _prior(param: Param) -> tuple[float, float]:
    """(prior_mu, prior_sigma) exactly as the ap_*_sampler of this kind computes them."""
    if param.is_bounded:
        return 0.5 * (param.high + param.low), 1.0 * (param.high - param.low)
    return param.mu, param.sigma


def _prior_index(obs: Sequence[float], prior_mu: float) -> int:
    # Where adaptive_parzen_normal inserts the prior among the sorted observations.
    import numpy as np

    if len(obs) == 0:
        return 0
    if len(obs) == 1:
        return 0 if prior_mu < obs[0] else 1
    return int(np.searchsorted(np.sort(obs), prior_mu))


def fit_mixture(param: Param, obs: Sequence[float], settings: TPESettings) -> Mixture:
    """``adaptive_parzen_normal`` on the observations of a continuous label."""
    import numpy as np
    from hyperopt import tpe as hyperopt_tpe

    fit_obs = _fit_space_obs(param, obs)
    prior_mu, prior_sigma = _prior(param)
    weights, mus, sigmas = hyperopt_tpe.adaptive_parzen_normal(
        fit_obs, settings.prior_weight, prior_mu, prior_sigma, LF=settings.lf
    )
    n_components = len(fit_obs) + 1
    return Mixture(  # tolist(): the same Python floats as float() of each, in one call
        weights=np.asarray(weights, dtype=float).tolist(),
        mus=np.asarray(mus, dtype=float).tolist(),
        sigmas=np.asarray(sigmas, dtype=float).tolist(),
        prior_index=_prior_index(fit_obs, prior_mu),
        sigma_min=prior_sigma / min(100.0, 1.0 + n_components),
        sigma_max=prior_sigma,
    )


def mixture_lpdf(param: Param, mixture: Mixture, x: Sequence[float]) -> list[float]:
    """The log-density TPE scores candidates with: ``GMM1_lpdf`` or ``LGMM1_lpdf``.

    Arguments follow ``build_posterior``: bounds only for the bounded kinds, ``q`` for the
    quantised ones. ``LGMM1_lpdf`` with ``q=None`` does not divide by the truncation mass,
    so loguniform densities do not integrate to one: hyperopt's quirk, copied on purpose.
    """
    import numpy as np
    from hyperopt import tpe as hyperopt_tpe

    samples = np.asarray(x, dtype=float)
    w, mu, sigma = (np.asarray(v) for v in (mixture.weights, mixture.mus, mixture.sigmas))
    low, high = (param.low, param.high) if param.is_bounded else (None, None)
    q = param.q if param.is_quantised else None
    fn = hyperopt_tpe.LGMM1_lpdf if param.is_log else hyperopt_tpe.GMM1_lpdf
    # log(0) and log of a rounding-negative mass far from every kernel: hyperopt gives
    # -inf / NaN there too; no warning for it.
    with np.errstate(divide="ignore", invalid="ignore"):
        if len(mu) * len(samples) <= BLOCKED_Q_THRESHOLD:
            if q is not None and samples.size and len(mu) > 1:  # hyperopt's loop, bit for bit
                values = quantised_lpdf_exact(param.is_log, samples, w, mu, sigma, low, high, q)
            else:
                values = fn(samples, w, mu, sigma, low=low, high=high, q=q)
        elif q is not None:
            w, mu, sigma = merge_equal_components(w, mu, sigma)
            values = quantised_lpdf_blocked(param.is_log, samples, w, mu, sigma, low, high, q)
        else:
            w, mu, sigma = merge_equal_components(w, mu, sigma)
            values = gaussian_lpdf_chunked(param.is_log, samples, w, mu, sigma, low, high)
    return np.asarray(values, dtype=float).ravel().tolist()


BLOCKED_Q_THRESHOLD = 200_000  # components x grid points
_BLOCK = 256
_CHUNK_CELLS = 1 << 20  # grid points x components per temporary array (8 MB)


def merge_equal_components(w: Any, mu: Any, sigma: Any) -> tuple[Any, Any, Any]:
    """Components with the same centre and width, as one component with their summed weight.

    A q lattice of 91 values observed 200,000 times fits 200,000 kernels, nearly all of
    them copies: ``sum_j w_j f(x; mu, sigma)`` equals ``(sum_j w_j) f(x; mu, sigma)``
    up to the order of the additions (relative 1e-15). Unchanged when nothing repeats.
    """
    import numpy as np

    mu, sigma = np.asarray(mu), np.asarray(sigma)
    if len(mu) == 0:
        return w, mu, sigma
    # np.unique(pairs, axis=0) without its slow sort of row records: a numeric lexsort
    # (by centre, then width), the same groups and the same sorted order
    order = np.lexsort((sigma, mu))
    m, s = mu[order], sigma[order]
    first = np.empty(len(m), dtype=bool)
    first[0] = True
    np.not_equal(m[1:], m[:-1], out=first[1:])
    first[1:] |= s[1:] != s[:-1]
    n_unique = int(np.count_nonzero(first))
    if n_unique > 0.8 * len(mu):
        return w, mu, sigma
    inverse = np.empty(len(mu), dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    summed = np.bincount(inverse, weights=w, minlength=n_unique)
    return summed, m[first], s[first]


def gaussian_lpdf_chunked(
    log_kind: bool, samples: Any, w: Any, mu: Any, sigma: Any, low: Any, high: Any
) -> Any:
    """The continuous branch of ``GMM1_lpdf`` / ``LGMM1_lpdf``, a few grid points at a time.

    hyperopt builds (grid x components) arrays for every intermediate step: with 200,000
    components and 400 grid points that is 640 MB each and 3.8 GB at the peak. Per grid
    point the result is the same log-sum-exp over components, written with the constant
    parts taken out of the (grid x components) loop: ``LGMM1_lpdf``'s ``-log(sigma x
    sqrt(2 pi))`` as ``-log(sigma) - log(x) - log(sqrt(2 pi))``, ``GMM1_lpdf``'s
    ``log(weights / Z / p_accept)`` once per component. Equal to hyperopt's up to the order
    of floating-point operations (tests compare to 1e-12). Components whose terms lie more
    than ``PRUNE_NATS`` below a grid point's largest term are skipped for that point: with
    200,000 kernels of width range/100, most are far from any given point.
    """
    import numpy as np
    from hyperopt.tpe import EPS, normal_cdf

    samples = np.asarray(samples, dtype=float).ravel()
    if log_kind:
        # lognormal_lpdf(x, mu, sigma) + log(w): sigma floored at EPS everywhere.
        sig = np.maximum(sigma, EPS)
        const = np.log(w) - np.log(sig) - np.log(np.sqrt(2 * np.pi))
        where = np.log(samples)
        shift = -where
    else:
        if low is None and high is None:
            p_accept = 1
        else:
            p_accept = np.sum(w * (normal_cdf(high, mu, sigma) - normal_cdf(low, mu, sigma)))
        sig = np.maximum(sigma, EPS)
        const = np.log(w / np.sqrt(2 * np.pi * sigma**2) / p_accept)
        where = samples
        shift = np.zeros_like(samples)
    inv = 1.0 / sig
    out = np.empty(samples.shape)
    order = np.argsort(where, kind="stable")  # grid chunks of neighbouring points
    rows = max(1, min(8, _CHUNK_CELLS // max(1, len(mu))))
    for start in range(0, len(samples), rows):
        part = order[start : start + rows]
        lo, hi = where[part].min(), where[part].max()
        # Each component's largest term over these rows, and a lower bound of every row's
        # maximum (the terms of the component with the largest bound): components more
        # than e^60 below it cannot change the sum (n e^-60 is far below rounding).
        gap = np.maximum(np.maximum(mu - hi, lo - mu), 0.0) * inv
        bound = const - 0.5 * gap * gap
        best = int(np.argmax(bound))
        zb = (where[part] - mu[best]) * inv[best]
        floor = float(np.min(const[best] - 0.5 * zb * zb))
        keep = np.flatnonzero(bound >= floor - PRUNE_NATS) if np.isfinite(floor) else slice(None)
        z = (where[part, None] - mu[keep]) * inv[keep]
        z *= z
        terms = const[keep] - 0.5 * z
        top = terms.max(axis=1)
        terms -= top[:, None]
        np.exp(terms, out=terms)
        out[part] = np.log(terms.sum(axis=1)) + top + shift[part]
    return out


PRUNE_NATS = 60.0  # log-sum-exp terms this far below a row's largest are left out


def quantised_lpdf_blocked(
    log_kind: bool, samples: Any, w: Any, mu: Any, sigma: Any, low: Any, high: Any, q: float
) -> Any:
    """The ``q`` branch of ``GMM1_lpdf`` / ``LGMM1_lpdf``, line for line, on blocks.

    hyperopt loops over mixture components in Python; with 10,000 observations that is
    ~0.2 s per curve. This evaluates the same expressions with hyperopt's own
    ``normal_cdf`` / ``lognormal_cdf`` on (grid x block) arrays and sums each block; only
    the order of the additions differs (tests compare it with hyperopt's to 1e-12).
    """
    import numpy as np

    cdf, p_accept, lbound, ubound = _q_setup(log_kind, samples, w, mu, sigma, low, high, q)
    prob = np.zeros(samples.shape, dtype="float64")
    for start in range(0, len(w), _BLOCK):
        part = slice(start, start + _BLOCK)
        inc = w[part] * cdf(ubound[:, None], mu[part], sigma[part])
        inc -= w[part] * cdf(lbound[:, None], mu[part], sigma[part])
        prob += inc.sum(axis=1)
    return np.log(prob) - np.log(p_accept)


def _q_setup(
    log_kind: bool, samples: Any, w: Any, mu: Any, sigma: Any, low: Any, high: Any, q: float
) -> tuple[Any, Any, Any, Any]:
    """What hyperopt's q branch computes before its loop: the CDF, the truncation mass and
    each grid point's bin [lbound, ubound], with hyperopt's own expressions."""
    import numpy as np
    from hyperopt.tpe import lognormal_cdf, normal_cdf

    if low is None and high is None:
        p_accept = 1
    else:
        p_accept = np.sum(w * (normal_cdf(high, mu, sigma) - normal_cdf(low, mu, sigma)))
    if log_kind:
        ubound = samples + q / 2 if high is None else np.minimum(samples + q / 2, np.exp(high))
        lbound = samples - q / 2 if low is None else np.maximum(samples - q / 2, np.exp(low))
        return lognormal_cdf, p_accept, np.maximum(0, lbound), ubound
    ubound = samples + q / 2 if high is None else np.minimum(samples + q / 2, high)
    lbound = samples - q / 2 if low is None else np.maximum(samples - q / 2, low)
    return normal_cdf, p_accept, lbound, ubound


def quantised_lpdf_exact(
    log_kind: bool, samples: Any, w: Any, mu: Any, sigma: Any, low: Any, high: Any, q: float
) -> Any:
    """The ``q`` branch of ``GMM1_lpdf`` / ``LGMM1_lpdf``, bit for bit, without its loop.

    hyperopt adds one component at a time (``prob += w * cdf(ub) - w * cdf(lb)``), two
    ``normal_cdf`` calls per component: 10,000 components cost 0.2 s a curve. Here the same
    element operations run on (grid x block) arrays with hyperopt's own ``normal_cdf`` /
    ``lognormal_cdf``, and a running sum (``cumsum``, strictly left to right, starting from
    the carried total) adds the components in hyperopt's order: the same floats, not just
    close ones (tests compare bits).
    """
    import numpy as np

    cdf, p_accept, lbound, ubound = _q_setup(log_kind, samples, w, mu, sigma, low, high, q)
    prob = np.zeros(samples.shape, dtype="float64")
    block = max(1, _CHUNK_CELLS // max(1, len(samples)))
    for start in range(0, len(w), block):
        part = slice(start, start + block)
        inc = w[part] * cdf(ubound[:, None], mu[part], sigma[part])
        inc -= w[part] * cdf(lbound[:, None], mu[part], sigma[part])
        running = np.concatenate([prob[:, None], inc], axis=1)
        prob = np.cumsum(running, axis=1)[:, -1].copy()
    return np.log(prob) - np.log(p_accept)


# --------------------------------------------------------------------------- categorical


def category_probabilities(param: Param, obs: Sequence[int], settings: TPESettings) -> list[float]:
    """``ap_randint_sampler`` / ``ap_categorical_sampler``: LF-weighted counts + prior.

    randint and choice add ``prior_weight`` per option; pchoice adds
    ``K * prior_weight * p`` (``tpe_cat_pseudocounts``). Values of ``randint(low, high)``
    are counted from ``low``.
    """
    import numpy as np
    from hyperopt import tpe as hyperopt_tpe

    k = param.n_options
    weights = hyperopt_tpe.linear_forgetting_weights(len(obs), settings.lf)
    index = np.asarray(obs, dtype=int) - param.randint_offset
    counts = np.bincount(index, weights, minlength=k) if len(index) else np.zeros(k)
    if param.p is not None:  # pchoice: its odds weight the prior
        p = np.asarray(param.p, dtype=float)
        pseudo = counts + p.size * (settings.prior_weight * p)
    else:
        pseudo = counts + settings.prior_weight
    return [float(v) for v in pseudo / np.sum(pseudo)]


def _categorical_prior_share(param: Param, obs: Sequence[int], settings: TPESettings) -> float:
    from hyperopt import tpe as hyperopt_tpe

    k = param.n_options
    observed_mass = float(sum(hyperopt_tpe.linear_forgetting_weights(len(obs), settings.lf)))
    prior_mass = k * settings.prior_weight
    return prior_mass / (prior_mass + observed_mass)


# --------------------------------------------------------------------------- grids


def grid_for(param: Param, size: int, observed: Sequence[float] = ()) -> list[float]:
    """Where to evaluate the curves, in the parameter's own units.

    Linear for uniform kinds, log-spaced for log kinds, the q lattice for q kinds (thinned
    evenly, or log-evenly, to at most ``size`` lattice points), every option index for
    categoricals; unbounded kinds cover mu ± 4 sigma and every observation.
    """
    import numpy as np

    if param.is_categorical:
        return [float(i) for i in range(param.n_options)]
    if param.family == "normal":
        lo, hi = param.mu - 4 * param.sigma, param.mu + 4 * param.sigma
        if observed:
            obs = np.asarray(observed, dtype=float)
            if param.is_log:
                obs = np.log(np.maximum(obs[obs > 0], 1e-300)) if np.any(obs > 0) else obs[:0]
            if obs.size:
                lo, hi = min(lo, float(obs.min())), max(hi, float(obs.max()))
    else:
        lo, hi = param.low, param.high
    if param.q is None:
        points = np.linspace(lo, hi, size)
        return [float(v) for v in (np.exp(points) if param.is_log else points)]
    # q kinds: hyperopt draws round(value / q) * q, so the lattice spans these multiples.
    lo_n, hi_n = (math.exp(lo), math.exp(hi)) if param.is_log else (lo, hi)
    k_lo, k_hi = round(lo_n / param.q), round(hi_n / param.q)
    count = k_hi - k_lo + 1
    if count <= size:
        ks = np.arange(k_lo, k_hi + 1)
    elif param.is_log:  # floats: a tiny q makes k beyond int64 (numpy's object dtype)
        ks = np.unique(np.round(np.geomspace(float(max(k_lo, 1)), float(k_hi), size)))
        ks = np.concatenate([[k_lo], ks]) if k_lo < ks[0] else ks
    else:
        ks = np.unique(np.round(np.linspace(float(k_lo), float(k_hi), size)))
    return [float(k * param.q) for k in ks]


# --------------------------------------------------------------------------- snapshots


def snapshot(
    study: Study, param: Param, n_trials: int, settings: TPESettings, grid: int = 400
) -> Snapshot:
    """TPE's below/above log-likelihoods of ``param`` after the first ``n_trials`` trials."""
    hist, below, above, observed = _split_cached(study, n_trials, param.label, settings.gamma)
    x = grid_for(param, grid, observed)
    sigma_min = sigma_max = None
    if param.is_categorical:
        p_below = category_probabilities(param, below, settings)
        p_above = category_probabilities(param, above, settings)
        below_llik = [math.log(p) for p in p_below[: len(x)]]
        above_llik = [math.log(p) for p in p_above[: len(x)]]
        prior_share = _categorical_prior_share(param, below, settings)
    else:
        mix_below = fit_mixture(param, below, settings)
        mix_above = fit_mixture(param, above, settings)
        below_llik = mixture_lpdf(param, mix_below, x)
        above_llik = mixture_lpdf(param, mix_above, x)
        prior_share = mix_below.weights[mix_below.prior_index]
        sigma_min, sigma_max = mix_below.sigma_min, mix_below.sigma_max  # log units for log kinds
    diff = [b - a for b, a in zip(below_llik, above_llik, strict=True)]
    argmax = _argmax(diff)
    next_trial = study.trials[n_trials] if n_trials < len(study.trials) else None
    next_value = None if next_trial is None else next_trial.params.get(param.label)
    if next_value is not None and param.is_categorical:
        next_value = float(next_value) - param.randint_offset
    return Snapshot(
        n_trials=n_trials,
        n_history=len(hist),
        startup=len(hist) < settings.n_startup_jobs,
        n_below=len(below),
        n_above=len(above),
        split_n_below=n_below(len(hist), settings.gamma) if hist else 0,
        x=x,
        below_llik=below_llik,
        above_llik=above_llik,
        argmax_x=None if argmax is None else x[argmax],
        next_value=None if next_value is None else float(next_value),
        next_tid=None if next_trial is None else next_trial.tid,
        prior_share=float(prior_share),
        kernel_sigma_min=sigma_min,
        kernel_sigma_max=sigma_max,
        below_peak_x=_peak(x, below_llik, per_log_unit=param.is_log),
        above_peak_x=_peak(x, above_llik, per_log_unit=param.is_log),
    )


def _argmax(values: Sequence[float]) -> int | None:
    best = None
    for i, v in enumerate(values):
        if v == v and (best is None or v > values[best]):  # NaN never wins, as np.argmax
            best = i
    return best


def _peak(x: Sequence[float], llik: Sequence[float], per_log_unit: bool = False) -> float | None:
    """The mode of a density on the grid; per unit of log x for log kinds.

    LGMM1_lpdf is a density per unit of x, which grows like 1/x towards the lower bound;
    its mode per unit of log x is where the mass actually concentrates on a log axis.
    """
    if per_log_unit:
        llik = [v + math.log(xv) if xv > 0 else -math.inf for v, xv in zip(llik, x, strict=True)]
    i = _argmax(llik)
    return None if i is None else x[i]


def default_snapshots(n_trials: int, settings: TPESettings) -> list[int]:
    """Every ~N/10 trials from the end of start-up, plus the final one."""
    if n_trials <= 0:
        return [0]
    start = settings.n_startup_jobs if n_trials > settings.n_startup_jobs else 1
    step = max(1, round(n_trials / 10))
    points = list(range(start, n_trials, step))
    if not points or points[-1] != n_trials:
        points.append(n_trials)
    return points


def tpe_curves(
    study: Study,
    space: SearchSpace,
    label: str,
    *,
    at: Sequence[int] | None = None,
    settings: TPESettings | None = None,
    grid: int = 400,
) -> LpdfResult:
    """Snapshots of TPE's below/above curves for one label (the ``lpdf`` command)."""
    settings = settings or TPESettings()
    param = space[label]
    points = list(at) if at else default_snapshots(len(study.trials), settings)
    offset = param.randint_offset  # categoricals: samples as option indices, like x
    samples = _samples(study, label, offset)
    return LpdfResult(
        param=label,
        kind=param.kind,
        distribution=param.describe(),
        space_source=space.source,
        inferred=param.inferred or space.inferred,
        settings={
            "gamma": settings.gamma,
            "prior_weight": settings.prior_weight,
            "n_startup_jobs": settings.n_startup_jobs,
            "lf": settings.lf,
            "grid": grid,
        },
        snapshots=[snapshot(study, param, n, settings, grid) for n in points],
        samples=samples,
        options=[param.option_text(i) for i in range(param.n_options)]
        if param.is_categorical
        else None,
        q=param.q,
    )
