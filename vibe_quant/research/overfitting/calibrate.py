"""Calibration of the overfitting filters: false-positive rate and power on simulated sweeps.

A filter's verdict means something only when one knows how often it lets a fluke through and how
often it recognises real skill. This module simulates sweeps whose truth is known and measures,
for each filter at given thresholds, the pass rate of the sweep's best combination:

* **Simulated sweep**: a ``T × N`` matrix of daily returns. Column 0 has a true annualised Sharpe
  ``SR`` (0, 0.5, 1, 2, 3 by default); the other ``N − 1`` columns have true Sharpe 0. Returns are
  ``r = σ·(√ρ·F_t + √(1 − ρ)·E_tn) + μ_n`` with ``F`` (one common factor per day) and ``E``
  independent **Student-t with 5 degrees of freedom scaled to unit variance** (excess kurtosis 6,
  symmetric; a plain fat-tailed model, no skew), so every pair of columns has correlation ``ρ``
  (equicorrelation — neighbouring parameter sets of a real sweep are highly correlated; measure a
  real sweep's ρ with ``mean_pairwise_correlation``). ``σ = 2 %`` a day (≈ 38 % a year),
  ``μ_0 = σ·SR/√365``. The same noise draws are used for every SR (common random numbers), and
  each ρ has its own random stream derived from ``(seed, ρ)``, so a row does not depend on which
  other ρ were asked for.
* **Filters** (the selected combination is the best column by annualised Sharpe, as a user would
  pick it):

  - ``dsr``: deflated Sharpe ratio of the best column (``dsr.return_moments`` /
    ``dsr.deflated_sharpe_ratio``; N = number of columns; V = variance (ddof=1) of all columns'
    daily Sharpe ratios — as ``filters.run_filters``). Pass: DSR ≥ threshold.
  - ``pbo``: probability of backtest overfitting by CSCV with S blocks (a vectorised
    re-implementation of ``pbo.probability_of_backtest_overfitting``, equal to it on the same
    matrix — tested). Pass: PBO ≤ threshold (the sweep is flagged when PBO > threshold).
  - ``pkfold``: purged K-fold CV of the selection (``selection_cv.selection_cv``; K folds,
    embargo, horizon 0 — simulated days are independent). Pass: mean test-fold Sharpe of the
    selections > ``min_mean`` and their std < ``max_std``.
  - ``wfa``: walk-forward with re-optimisation on the matrix: calendar windows from
    ``walk_forward.generate_windows`` over a synthetic period starting 2023-01-01 UTC (row d =
    day d), in each window the best column by in-sample annualised Sharpe is traded
    out-of-sample; in-sample and out-of-sample returns are compounded daily returns; pooled WFE
    and profitable share exactly as ``walk_forward.summarise_walk_forward`` (tested). Pass:
    WFE ≥ ``min_wfe`` and profitable share > ``min_profitable``.

* **Thresholds**: ``current`` = the filters' defaults (:mod:`.thresholds`, where
  ``filters.FilterConfig`` reads its own defaults too; never copied here); ``seed`` = the seed
  design's values (``SEED_PRESET``), kept as a named preset.
* **Recommended thresholds** (``recommend_thresholds``): for each filter the loosest threshold
  whose false-positive rate (pass rate at SR = 0) is ≤ ``alpha`` (5 %) **at every ρ** simulated;
  for the two-parameter walk-forward rule a grid search that maximises the mean power at SR = 2
  over ρ. The FPR of a recommended threshold is estimated on the same simulations it was chosen
  on, so re-run with another seed before adopting it.
* **Precision**: a pass rate from ``n_sims`` simulations has standard error ``√(p(1 − p)/n)``;
  ``n_sims = 500`` (default) gives a 95 % interval of ±1.9 pp at p = 5 % (the FPR bound) and a
  standard error ≤ 2.2 pp anywhere.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from vibe_quant.core.errors import ConfigError, StatisticsInputError
from vibe_quant.core.jsonpolicy import jsonable
from vibe_quant.core.stats import DAYS_PER_YEAR
from vibe_quant.research.overfitting.calibration_defaults import (
    DEFAULT_DAYS,
    DEFAULT_RHOS,
    DEFAULT_SEED,
    DEFAULT_SHARPES,
    DEFAULT_SIMS,
    DEFAULT_STRATEGIES,
    FILTERS,
)
from vibe_quant.research.overfitting.dsr import deflated_sharpe_ratio, return_moments
from vibe_quant.research.overfitting.purged_kfold import purged_kfold_splits
from vibe_quant.research.overfitting.selection_cv import as_return_matrix, selection_cv
from vibe_quant.research.overfitting.thresholds import default_filter_values
from vibe_quant.research.overfitting.walk_forward import generate_windows

STUDENT_T_DOF = 5
DAILY_VOL = 0.02
ALPHA = 0.05
WFA_START = pd.Timestamp("2023-01-01", tz="UTC")

_SQRT_YEAR = math.sqrt(DAYS_PER_YEAR)


class CalibrationConfigError(ConfigError, ValueError):
    """A calibration argument is out of range (one line naming it); still a ``ValueError``."""


@dataclass(frozen=True)
class FilterThresholds:
    """Thresholds and settings of the four filters (units as in ``filters.FilterConfig``)."""

    dsr_threshold: float = 0.95
    pbo_blocks: int = 16
    pbo_threshold: float = 0.5
    pkfold_k: int = 5
    pkfold_embargo_pct: float = 0.01
    pkfold_min_mean: float = 0.5
    pkfold_max_std: float = 1.0
    wfa_in_months: int = 9
    wfa_out_months: int = 3
    wfa_step_months: int = 1
    wfa_anchored: bool = False
    wfa_min_wfe: float = 0.5
    wfa_min_profitable: float = 0.5

    @classmethod
    def current(cls) -> FilterThresholds:
        """The defaults of ``vibe_quant.research.filters.FilterConfig`` right now (both read
        :func:`.thresholds.default_filter_values`)."""
        defaults = default_filter_values()
        return cls(**{k: defaults[k] for k in cls.__dataclass_fields__ if k in defaults})

    def replace(self, **kw: Any) -> FilterThresholds:
        return FilterThresholds(**{**asdict(self), **kw})


SEED_PRESET = FilterThresholds()
"""The seed design's thresholds (DSR ≥ 0.95; PBO ≤ 0.5 with 16 blocks; purged K-fold with K = 5,
1 % embargo, mean > 0.5 and std < 1.0; walk-forward 9/3/1 months, WFE ≥ 0.5 and > 50 %
profitable windows)."""


# ----------------------------------------------------------------------------- simulation


def simulate_noise(
    rng: np.random.Generator, n_days: int, n_strategies: int, rho: float, dof: int = STUDENT_T_DOF
) -> np.ndarray:
    """Unit-variance equicorrelated Student-t noise, shape ``(T, N)`` (module doc).

    ``√ρ·F_t + √(1 − ρ)·E_tn``, F and E iid Student-t(dof) / √(dof/(dof − 2)).
    """
    if not 0.0 <= rho < 1.0:
        raise StatisticsInputError(f"rho must be in [0, 1), got {rho}")
    scale = math.sqrt(dof / (dof - 2.0))
    f = rng.standard_t(dof, size=(n_days, 1)) / scale
    e = rng.standard_t(dof, size=(n_days, n_strategies)) / scale
    return math.sqrt(rho) * f + math.sqrt(1.0 - rho) * e


def simulate_sweep(
    rng: np.random.Generator,
    n_days: int,
    n_strategies: int,
    rho: float,
    true_sharpe: float,
    *,
    daily_vol: float = DAILY_VOL,
    dof: int = STUDENT_T_DOF,
) -> np.ndarray:
    """One simulated sweep, ``T × N`` daily returns; column 0 has annualised true Sharpe
    ``true_sharpe``, the others 0 (module doc)."""
    m = daily_vol * simulate_noise(rng, n_days, n_strategies, rho, dof)
    m[:, 0] += daily_vol * true_sharpe / _SQRT_YEAR
    return m


def mean_pairwise_correlation(returns: ArrayLike) -> float:
    """Mean Pearson correlation over all pairs of distinct columns of a ``T × N`` matrix.

    Columns with zero variance (combinations that never traded) are left out. Use it to measure
    the ρ of a real sweep's daily-return matrix and pass it to ``calibrate(rhos=…)``.

    Raises:
        ValueError: bad matrix, or fewer than 2 columns with non-zero variance.
    """
    m = as_return_matrix(returns, min_rows=3, min_cols=2)
    m = m[:, m.std(axis=0) > 0]
    n = m.shape[1]
    if n < 2:
        raise StatisticsInputError(
            "need at least 2 columns with non-zero variance to measure correlation")
    c = np.corrcoef(m, rowvar=False)
    return float((c.sum() - np.trace(c)) / (n * (n - 1)))


# ----------------------------------------------------------------------------- statistics


def _daily_sharpes(m: np.ndarray) -> np.ndarray:
    mean = m.mean(axis=0)
    std = m.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > 0, mean / np.where(std > 0, std, 1.0), 0.0)


def dsr_statistic(m: np.ndarray) -> float:
    """DSR of the best column (by Sharpe) of ``m`` as the filter computes it (module doc)."""
    sr = _daily_sharpes(m)
    best = int(np.argmax(sr))
    mom = return_moments(m[:, best])
    return deflated_sharpe_ratio(
        mom.sr, mom.t, mom.skew, mom.kurt, m.shape[1], float(np.var(sr, ddof=1))
    )


class _CSCV:
    """Vectorised CSCV (Bailey, Borwein, López de Prado & Zhu 2015) for many matrices of one
    shape: the block-indicator matrix is built once and IS/OOS sums are matrix products."""

    def __init__(self, n_days: int, n_blocks: int) -> None:
        import itertools

        if n_blocks < 2 or n_blocks % 2 or n_days // n_blocks < 2:
            raise StatisticsInputError(f"bad CSCV setting: T={n_days}, S={n_blocks}")
        self.s = n_blocks
        self.b = n_days // n_blocks
        self.dropped = n_days - self.b * n_blocks
        combos = list(itertools.combinations(range(n_blocks), n_blocks // 2))
        assert set(combos[0]).isdisjoint(combos[-1])  # complement of i is C-1-i (used below)
        ind = np.zeros((len(combos), n_blocks))
        for i, c in enumerate(combos):
            ind[i, list(c)] = 1.0
        self.ind = ind
        self.n_half = self.b * n_blocks // 2

    def pbo(self, m: np.ndarray) -> float:
        """PBO of ``m`` (``T × N``); equal to ``pbo.probability_of_backtest_overfitting``."""
        return self.pbo_shifted(m, [0.0])[0]

    def pbo_shifted(self, m: np.ndarray, shifts: Sequence[float]) -> list[float]:
        """PBO of ``m`` with a constant ``shift`` added to column 0, for each shift.

        The other columns' Sharpe ratios, IS winners and OOS ranks are computed once; only
        column 0 is redone per shift (the calibration plants the edge in column 0).
        """
        x = m[self.dropped :]
        n = x.shape[1]
        blocks = x.reshape(self.s, self.b, n)
        s1 = blocks.sum(axis=1)
        s2 = (blocks * blocks).sum(axis=1)
        is1, is2 = self.ind @ s1, self.ind @ s2
        h = self.n_half
        # In itertools.combinations(range(S), S/2) order the complement of combination i is
        # combination C-1-i, so the OOS statistics are the IS ones read backwards.
        is_o = _sr_from_sums(is1, is2, h)[:, 1:]
        oos_o = is_o[::-1]
        rows = np.arange(is1.shape[0])
        w_o = np.argmax(is_o, axis=1)
        is_w = is_o[rows, w_o]
        oos_w = oos_o[rows, w_o]
        below_w = (oos_o < oos_w[:, None]).sum(axis=1)
        tied_w = (oos_o == oos_w[:, None]).sum(axis=1)  # includes the winner itself
        out = []
        for d in shifts:
            # column 0 shifted by d: Σ(x + d) = Σx + n·d;  Σ(x + d)² = Σx² + 2dΣx + n·d²
            i1 = is1[:, 0] + h * d
            i2 = is2[:, 0] + 2 * d * is1[:, 0] + h * d * d
            is0 = _sr_from_sums(i1, i2, h)
            oos0 = is0[::-1]
            below = below_w + (oos0 < oos_w)
            tied = tied_w + (oos0 == oos_w)
            win0 = np.flatnonzero(is0 >= is_w)  # argmax picks the lowest index on ties: col 0
            if win0.size:
                o = oos0[win0][:, None]
                below[win0] = (oos_o[win0] < o).sum(axis=1)
                tied[win0] = (oos_o[win0] == o).sum(axis=1) + 1
            ranks = below + (tied + 1) / 2.0
            out.append(float(np.count_nonzero(2.0 * ranks <= n + 1) / len(ranks)))
        return out


def _sr_from_sums(s1: np.ndarray, s2: np.ndarray, n: int | np.ndarray) -> np.ndarray:
    """Per-period Sharpe (ddof=1) from sums Σx and Σx² over ``n`` rows; zero-variance rule of
    ``sharpe`` (0 when the mean is 0, ±inf otherwise)."""
    mean = s1 / n
    var = mean * mean
    var *= n
    np.subtract(s2, var, out=var)
    np.maximum(var, 0.0, out=var)
    np.sqrt(var, out=var)
    var *= 1.0 / np.sqrt(np.asarray(n, dtype=float) - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        sr = np.divide(mean, var, out=mean)
    zero = var == 0.0
    if zero.any():
        sr[zero] = np.where(s1[zero] == 0.0, 0.0, np.copysign(np.inf, s1[zero]))
    return sr


@dataclass(frozen=True)
class WalkForwardRows:
    """Walk-forward windows as half-open row ranges ``[is_lo, is_hi)`` / ``[is_hi, oos_hi)``."""

    is_lo: np.ndarray
    is_hi: np.ndarray
    oos_hi: np.ndarray


def walk_forward_rows(n_days: int, thresholds: FilterThresholds) -> WalkForwardRows:
    """Calendar windows of ``generate_windows`` over ``n_days`` days from 2023-01-01 UTC, as rows.

    Raises:
        CalibrationConfigError (a ``ValueError``): the period is shorter than one in-sample +
            out-of-sample window.
    """
    end = WFA_START + pd.Timedelta(days=n_days)
    ws = generate_windows(
        WFA_START,
        end,
        in_sample=pd.DateOffset(months=thresholds.wfa_in_months),
        out_of_sample=pd.DateOffset(months=thresholds.wfa_out_months),
        step=pd.DateOffset(months=thresholds.wfa_step_months),
        anchored=thresholds.wfa_anchored,
    )
    if not ws:
        raise CalibrationConfigError(f"{n_days} days are shorter than one walk-forward window",
                                     n_days=n_days)

    def row(ts: pd.Timestamp) -> int:
        return int((ts - WFA_START) / pd.Timedelta(days=1))

    return WalkForwardRows(
        is_lo=np.array([row(w.is_start) for w in ws]),
        is_hi=np.array([row(w.is_end) for w in ws]),
        oos_hi=np.array([row(w.oos_end) for w in ws]),
    )


def walk_forward_statistics(m: np.ndarray, rows: WalkForwardRows) -> tuple[float, float]:
    """(pooled WFE, profitable share) of walk-forward re-optimisation on ``m`` (module doc).

    WFE is ``-inf`` when the pooled in-sample return is ≤ 0 (undefined → the filter fails).
    """
    t, _ = m.shape
    p1 = np.vstack([np.zeros(m.shape[1]), np.cumsum(m, axis=0)])
    p2 = np.vstack([np.zeros(m.shape[1]), np.cumsum(m * m, axis=0)])
    lg = np.vstack([np.zeros(m.shape[1]), np.cumsum(np.log1p(m), axis=0)])
    n_is = (rows.is_hi - rows.is_lo)[:, None]
    s1 = p1[rows.is_hi] - p1[rows.is_lo]
    s2 = p2[rows.is_hi] - p2[rows.is_lo]
    sr = _sr_from_sums(s1, s2, n_is)
    best = np.argmax(sr, axis=1)
    r_is = np.expm1(lg[rows.is_hi, best] - lg[rows.is_lo, best])
    r_oos = np.expm1(lg[rows.oos_hi, best] - lg[rows.is_hi, best])
    d_is = float((rows.is_hi - rows.is_lo).sum())
    d_oos = float((rows.oos_hi - rows.is_hi).sum())
    pooled_is = float(r_is.sum())
    wfe = (float(r_oos.sum()) * d_is) / (d_oos * pooled_is) if pooled_is > 0 else -math.inf
    return wfe, float(np.count_nonzero(r_oos > 0) / len(r_oos))


@dataclass
class _Stats:
    """Per-simulation statistics for one (ρ, SR) cell."""

    dsr: list[float] = field(default_factory=list)
    pbo: list[float] = field(default_factory=list)
    pk_mean: list[float] = field(default_factory=list)
    pk_std: list[float] = field(default_factory=list)
    wfe: list[float] = field(default_factory=list)
    wfa_share: list[float] = field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v, dtype=float) for k, v in asdict(self).items()}


def pass_mask(stats: dict[str, np.ndarray], name: str, th: FilterThresholds) -> np.ndarray:
    """Boolean pass vector of filter ``name`` over simulations, at thresholds ``th``."""
    if name == "dsr":
        return stats["dsr"] >= th.dsr_threshold
    if name == "pbo":
        return stats["pbo"] <= th.pbo_threshold
    if name == "pkfold":
        ok_std = (
            np.ones(len(stats["pk_std"]), bool)
            if th.pkfold_max_std == math.inf
            else stats["pk_std"] < th.pkfold_max_std
        )
        return (stats["pk_mean"] > th.pkfold_min_mean) & ok_std
    if name == "wfa":
        return (stats["wfe"] >= th.wfa_min_wfe) & (stats["wfa_share"] > th.wfa_min_profitable)
    raise StatisticsInputError(f"unknown filter {name!r}; choose from {', '.join(FILTERS)}")


def _chunk_stream(seed: int, rho: float, chunk: int) -> np.random.Generator:
    """Random stream of one chunk of ``SIMS_PER_CHUNK`` simulations at one ρ: depends only on
    (seed, ρ, chunk), so results do not depend on the other ρ asked for or the worker count."""
    return np.random.default_rng(
        np.random.SeedSequence([int(seed), round(rho * 1_000_000), int(chunk)])
    )


SIMS_PER_CHUNK = 50


def simulate_statistics(
    *,
    n_strategies: int,
    n_days: int,
    rho: float,
    true_sharpes: Sequence[float],
    n_sims: int,
    seed: int,
    thresholds: FilterThresholds,
    filters: Sequence[str] = FILTERS,
    workers: int = 1,
) -> dict[float, dict[str, np.ndarray]]:
    """Per true Sharpe, the per-simulation filter statistics at one ρ (see ``pass_mask``).

    Simulations run in chunks of ``SIMS_PER_CHUNK``, each with its own random stream, on
    ``workers`` processes; the result does not depend on ``workers``.
    """
    return _simulate_many(
        [rho], n_strategies, n_days, true_sharpes, n_sims, seed, thresholds, filters, workers
    )[float(rho)]


def _simulate_many(
    rhos: Sequence[float],
    n_strategies: int,
    n_days: int,
    true_sharpes: Sequence[float],
    n_sims: int,
    seed: int,
    thresholds: FilterThresholds,
    filters: Sequence[str],
    workers: int,
) -> dict[float, dict[float, dict[str, np.ndarray]]]:
    tasks = []
    for r in rhos:
        for c in range(math.ceil(n_sims / SIMS_PER_CHUNK)):
            size = min(SIMS_PER_CHUNK, n_sims - c * SIMS_PER_CHUNK)
            tasks.append(
                (
                    n_strategies,
                    n_days,
                    float(r),
                    tuple(true_sharpes),
                    size,
                    seed,
                    c,
                    thresholds,
                    tuple(filters),
                )
            )
    if workers > 1 and len(tasks) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from vibe_quant.core.process import die_with_parent

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                 initializer=die_with_parent) as pool:
            results = list(pool.map(_simulate_chunk, tasks))
    else:
        results = [_simulate_chunk(t) for t in tasks]
    out: dict[float, dict[float, dict[str, list[np.ndarray]]]] = {}
    for task, res in zip(tasks, results):
        cell = out.setdefault(task[2], {})
        for s, arrays in res.items():
            for k, v in arrays.items():
                cell.setdefault(s, {}).setdefault(k, []).append(v)
    return {
        r: {s: {k: np.concatenate(v) for k, v in d.items()} for s, d in cells.items()}
        for r, cells in out.items()
    }


def _simulate_chunk(task: tuple) -> dict[float, dict[str, np.ndarray]]:
    n_strategies, n_days, rho, true_sharpes, n_sims, seed, chunk, thresholds, filters = task
    rng = _chunk_stream(seed, rho, chunk)
    cscv = _CSCV(n_days, thresholds.pbo_blocks) if "pbo" in filters else None
    wf_rows = walk_forward_rows(n_days, thresholds) if "wfa" in filters else None
    folds = None
    if "pkfold" in filters:
        t0 = np.arange(n_days)
        folds = purged_kfold_splits(
            t0, t0, thresholds.pkfold_k, embargo_pct=thresholds.pkfold_embargo_pct
        )
    shifts = [DAILY_VOL * float(s) / _SQRT_YEAR for s in true_sharpes]
    out = {float(s): _Stats() for s in true_sharpes}
    for _ in range(n_sims):
        m = DAILY_VOL * simulate_noise(rng, n_days, n_strategies, rho)
        col0 = m[:, 0].copy()
        if cscv is not None:
            for s, v in zip(true_sharpes, cscv.pbo_shifted(m, shifts)):
                out[float(s)].pbo.append(v)
        for s, d in zip(true_sharpes, shifts):
            m[:, 0] = col0 + d
            st = out[float(s)]
            if "dsr" in filters:
                st.dsr.append(dsr_statistic(m))
            if folds is not None:
                cv = selection_cv(
                    m,
                    thresholds.pkfold_k,
                    folds=folds,
                    min_mean=thresholds.pkfold_min_mean,
                    max_std=thresholds.pkfold_max_std,
                )
                st.pk_mean.append(cv.mean_test_sharpe)
                st.pk_std.append(cv.std_test_sharpe)
            if wf_rows is not None:
                wfe, share = walk_forward_statistics(m, wf_rows)
                st.wfe.append(wfe)
                st.wfa_share.append(share)
    return {s: st.arrays() for s, st in out.items()}


# ----------------------------------------------------------------------------- thresholds


def _loosest_ge(null: list[np.ndarray], alpha: float) -> float:
    """Smallest c with max over samples of share(x ≥ c) ≤ alpha (c = next value above a tie)."""
    cands = np.unique(np.concatenate(null))
    cands = cands[np.isfinite(cands)]
    best = math.inf
    for c in cands[::-1]:
        if max(float(np.mean(x >= c)) for x in null) <= alpha:
            best = float(c)
        else:
            break
    return best


def _loosest_gt(null: list[np.ndarray], alpha: float) -> float:
    """Smallest c with max share(x > c) ≤ alpha."""
    cands = np.unique(np.concatenate(null))
    cands = cands[np.isfinite(cands)]
    for c in cands:
        if max(float(np.mean(x > c)) for x in null) <= alpha:
            return float(c)
    return math.inf


def _loosest_le(null: list[np.ndarray], alpha: float) -> float:
    """Largest c with max share(x ≤ c) ≤ alpha (−inf when even the smallest value fails)."""
    cands = np.unique(np.concatenate(null))
    best = -math.inf
    for c in cands:
        if max(float(np.mean(x <= c)) for x in null) <= alpha:
            best = float(c)
        else:
            break
    return best


def _feasible(name: str, th: dict[str, float]) -> bool:
    key = {
        "dsr": "dsr_threshold",
        "pbo": "pbo_threshold",
        "pkfold": "pkfold_min_mean",
        "wfa": "wfa_min_wfe",
    }[name]
    return math.isfinite(th[key])


def recommend_thresholds(
    stats: dict[float, dict[float, dict[str, np.ndarray]]],
    base: FilterThresholds,
    filters: Sequence[str] = FILTERS,
    alpha: float = ALPHA,
) -> dict[str, dict[str, float]]:
    """Per filter, the loosest threshold(s) with FPR ≤ ``alpha`` at every ρ (module doc).

    ``stats[rho][true_sharpe]`` as returned by ``simulate_statistics``; SR = 0 must be present.
    Returns ``{filter: {threshold field: value}}`` in ``FilterThresholds`` field names (the
    purged K-fold recommendation drops the std rule: ``pkfold_max_std = inf``).
    """
    null = {f: [stats[r][0.0] for r in stats] for f in filters}
    out: dict[str, dict[str, float]] = {}
    if "dsr" in filters:
        out["dsr"] = {"dsr_threshold": _loosest_ge([s["dsr"] for s in null["dsr"]], alpha)}
    if "pbo" in filters:
        out["pbo"] = {"pbo_threshold": _loosest_le([s["pbo"] for s in null["pbo"]], alpha)}
    if "pkfold" in filters:
        out["pkfold"] = {
            "pkfold_min_mean": _loosest_gt([s["pk_mean"] for s in null["pkfold"]], alpha),
            "pkfold_max_std": math.inf,
        }
    if "wfa" in filters:
        best: tuple[float, float, float] | None = None
        for a in (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0):
            for b in np.round(np.arange(0.5, 0.96, 0.05), 2):
                th = base.replace(wfa_min_wfe=a, wfa_min_profitable=float(b))
                fpr = max(float(pass_mask(s, "wfa", th).mean()) for s in null["wfa"])
                if fpr > alpha:
                    continue
                sr2 = [stats[r][2.0] for r in stats if 2.0 in stats[r]]
                power = float(np.mean([pass_mask(s, "wfa", th).mean() for s in sr2])) if sr2 else 0
                if best is None or power > best[0]:
                    best = (power, a, float(b))
        out["wfa"] = (
            {"wfa_min_wfe": best[1], "wfa_min_profitable": best[2]}
            if best
            else {"wfa_min_wfe": math.inf, "wfa_min_profitable": 1.0}
        )
    return out


# ----------------------------------------------------------------------------- driver


@dataclass(frozen=True)
class CalibrationResult:
    """Pass-rate table; ``to_dict()`` is the JSON document of ``vibe-quant filter calibrate``.

    ``table`` rows: ``{"filter", "preset", "rho", "pass_rate": {true Sharpe: share}}`` where the
    SR = 0 entry is the false-positive rate and the others the power; ``recommended`` maps each
    filter to its recommended thresholds and their worst FPR over ρ.
    """

    settings: dict[str, Any]
    presets: dict[str, dict[str, Any]]
    table: tuple[dict[str, Any], ...]
    recommended: dict[str, dict[str, Any]]
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        presets = {
            name: {k: ("off" if v == math.inf else v) for k, v in p.items()}
            for name, p in self.presets.items()
        }
        return jsonable({**asdict(self), "presets": presets})


def calibrate(
    *,
    n_strategies: int = DEFAULT_STRATEGIES,
    n_days: int = DEFAULT_DAYS,
    rhos: Sequence[float] = DEFAULT_RHOS,
    true_sharpes: Sequence[float] = DEFAULT_SHARPES,
    n_sims: int = DEFAULT_SIMS,
    seed: int = DEFAULT_SEED,
    filters: Sequence[str] = FILTERS,
    current: FilterThresholds | None = None,
    alpha: float = ALPHA,
    workers: int = 1,
) -> CalibrationResult:
    """Simulate sweeps and tabulate each filter's pass rate per true Sharpe and ρ.

    Args:
        n_strategies: N columns (combinations) per simulated sweep, ≥ 2.
        n_days: T daily returns per column; ≥ one walk-forward window (≈ 366 days at the
            default 9 + 3 months) when ``wfa`` is among ``filters``, ≥ 2·S for PBO.
        rhos: pairwise correlations ρ in [0, 1).
        true_sharpes: annualised true Sharpe ratios of column 0; 0.0 is always added.
        n_sims: simulated sweeps per (ρ, SR) cell, ≥ 20.
        seed: base seed (each ρ derives its own stream from it).
        filters: subset of ``FILTERS``.
        current: thresholds of the ``current`` preset; default ``FilterThresholds.current()``.
        alpha: FPR bound for ``recommended``.
        workers: processes to simulate on (the result does not depend on it).

    Returns:
        ``CalibrationResult`` with presets ``current``, ``seed`` and ``recommended``.

    Raises:
        CalibrationConfigError (a ``ValueError``): arguments out of range (one-line messages
            naming the argument).
    """
    t_start = time.perf_counter()
    if isinstance(n_strategies, bool) or int(n_strategies) != n_strategies or n_strategies < 2:
        raise CalibrationConfigError(
            f"trials (N, combinations per sweep) must be an integer >= 2, got {n_strategies}"
        )
    if int(n_days) != n_days or n_days < 32:
        raise CalibrationConfigError(f"days (T) must be an integer >= 32, got {n_days}")
    if int(n_sims) != n_sims or n_sims < 20:
        raise CalibrationConfigError(f"sims must be an integer >= 20, got {n_sims}")
    for r in rhos:
        if not 0.0 <= r < 1.0:
            raise CalibrationConfigError(f"rho must be in [0, 1), got {r}")
    bad = [f for f in filters if f not in FILTERS]
    if bad or not filters:
        raise CalibrationConfigError(
            f"unknown filter(s) {bad}; choose from {', '.join(FILTERS)}")
    cur = current if current is not None else FilterThresholds.current()
    sharpes = tuple(sorted({0.0, *(float(s) for s in true_sharpes)}))
    rho_list = tuple(sorted({float(r) for r in rhos}))
    if "wfa" in filters:
        walk_forward_rows(int(n_days), cur)  # fail early with a clear message
    stats = _simulate_many(
        rho_list,
        int(n_strategies),
        int(n_days),
        sharpes,
        int(n_sims),
        int(seed),
        cur,
        tuple(filters),
        int(workers),
    )
    rec = recommend_thresholds(stats, cur, filters, alpha)
    same = cur == SEED_PRESET
    presets = {"current": asdict(cur), "seed": asdict(SEED_PRESET)}
    rec_th = {f: cur.replace(**v) for f, v in rec.items() if _feasible(f, v)}
    table = []
    for f in filters:
        rows = [("current=seed" if same else "current", cur)]
        if not same:
            rows.append(("seed", SEED_PRESET))
        if f in rec_th:
            rows.append(("recommended", rec_th[f]))
        for preset, th in rows:
            for r in rho_list:
                rates = {str(s): float(pass_mask(stats[r][s], f, th).mean()) for s in sharpes}
                table.append({"filter": f, "preset": preset, "rho": r, "pass_rate": rates})
    recommended: dict[str, dict[str, Any]] = {}
    for f, v in rec.items():
        if f not in rec_th:
            recommended[f] = {
                "thresholds": None,
                "max_fpr": None,
                "note": f"no threshold searched keeps the FPR <= {alpha:g} at every rho",
            }
            continue
        recommended[f] = {
            "thresholds": {k: ("off" if x == math.inf else x) for k, x in v.items()},
            "max_fpr": max(float(pass_mask(stats[r][0.0], f, rec_th[f]).mean()) for r in rho_list),
        }
    p = 0.5
    settings = {
        "n_strategies": int(n_strategies),
        "n_days": int(n_days),
        "rhos": list(rho_list),
        "true_sharpes": list(sharpes),
        "n_sims": int(n_sims),
        "seed": int(seed),
        "filters": list(filters),
        "alpha": alpha,
        "distribution": (
            f"Student-t {STUDENT_T_DOF} dof scaled to unit variance (excess kurtosis "
            f"{6 / (STUDENT_T_DOF - 4):g}, skew 0), one common factor for equicorrelation rho"
        ),
        "daily_vol": DAILY_VOL,
        "selected": "best column by annualised Sharpe (sqrt(365), ddof=1)",
        "max_standard_error": math.sqrt(p * (1 - p) / n_sims),
        "wfa_period_start": WFA_START.isoformat(),
        "workers": int(workers),
    }
    return CalibrationResult(
        settings=settings,
        presets=presets,
        table=tuple(table),
        recommended=recommended,
        elapsed_s=time.perf_counter() - t_start,
    )
