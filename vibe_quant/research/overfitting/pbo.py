"""Probability of Backtest Overfitting (PBO) by combinatorially symmetric cross-validation (CSCV).

Source: Bailey, D. H., Borwein, J., López de Prado, M. & Zhu, Q. J., "The Probability of
Backtest Overfitting" (working paper 2015, SSRN 2326253; Journal of Computational Finance 20(4),
2017) — the CSCV procedure (its steps 1–6 below carry the paper's step numbers) and the PBO
definition φ = ∫_{−∞}^{0} f(λ) dλ; also López de Prado (2018), AFML ch. 11 (CSCV section).

Procedure as implemented (each step is the paper's step of the same number):

1. ``M`` is a ``T × N`` matrix of per-period returns: row = period (e.g. a UTC day), column =
   one strategy configuration (a sweep combination).
2. The rows are cut into ``S`` contiguous blocks of equal size ``B = T // S``. If ``T`` is not a
   multiple of ``S`` the **oldest** ``T mod S`` rows are dropped (reported as ``rows_dropped``).
3. Every combination ``c`` of ``S/2`` blocks (``C(S, S/2)`` of them, in
   ``itertools.combinations(range(S), S // 2)`` order) forms the in-sample set J; the other
   ``S/2`` blocks form the out-of-sample set J̄ (both ``T/2`` rows, order irrelevant).
4. Performance of every column on J and on J̄ is its Sharpe ratio there, per period
   ``mean / std(ddof=1)`` (ranking is invariant to annualisation). A column with zero variance
   on a set gets 0.0 if its mean there is 0 (e.g. a configuration that never traded) and ±inf
   otherwise (see ``vibe_quant.core.stats``).
5. The in-sample winner ``n*`` is the column with the highest in-sample Sharpe; **ties in-sample
   are broken by the lowest column index** (``numpy.argmax``). Its out-of-sample rank
   ``r̄`` ∈ [1, N] is taken in ascending order (1 = worst OOS, N = best); **ties out-of-sample
   get the average rank** of the tied group (``scipy.stats.rankdata(method="average")``), so
   e.g. a winner tied with one other column for worst gets 1.5. Relative rank
   ``ω̄ = r̄ / (N + 1)`` ∈ (0, 1) and logit ``λ = ln(ω̄ / (1 − ω̄))``.
6. ``PBO = #{c : λ_c ≤ 0} / C(S, S/2)``.

Boundary convention: **λ = 0 counts as overfit** (``≤``). λ = 0 means the in-sample winner sits
exactly at the out-of-sample median (``r̄ = (N + 1)/2``, possible only for odd N or via tied
average ranks); performing no better than the median configuration is not evidence that
selection added anything, so it is counted against the strategy (the conservative choice). The
comparison is done exactly on ranks (``2·r̄ ≤ N + 1``), not on the floating-point logit.

The sweep is flagged as overfit when ``PBO > 0.5`` (``PBO_THRESHOLD``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from vibe_quant.core.errors import StatisticsInputError

PBO_THRESHOLD = 0.5
"""Flag the sweep as overfit when PBO exceeds this."""

DEFAULT_BLOCKS = 16

_CHUNK = 256  # combinations per vectorised step (memory ~ _CHUNK × S/2 × N floats)


@dataclass(frozen=True)
class PBOResult:
    """CSCV outcome. Arrays have one entry per combination, in ``combinations`` order."""

    pbo: float
    """Share of combinations with λ ≤ 0."""
    logits: np.ndarray
    """λ_c, shape ``(C,)``, float64 (λ = 0 exactly when r̄ = (N+1)/2)."""
    oos_ranks: np.ndarray
    """r̄_c, shape ``(C,)``: OOS rank of the IS winner, 1 = worst … N = best, ties averaged."""
    is_winners: np.ndarray
    """n*_c, shape ``(C,)``, int: column index of the in-sample winner."""
    combinations: tuple[tuple[int, ...], ...]
    """The in-sample block indices of each combination."""
    n_blocks: int
    block_size: int
    rows_dropped: int
    threshold: float
    overfit: bool
    """``pbo > threshold`` (the sweep is flagged)."""


def _block_stats(m: np.ndarray, n_blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-block column means and within-block sums of squared deviations (M2), each (S, N).

    Both depend only on the block's own data, so two columns with identical data on a block set
    get bit-identical Sharpe ratios there (exact ties stay ties).
    """
    t, n = m.shape
    blocks = m.reshape(n_blocks, t // n_blocks, n)
    means = blocks.mean(axis=1)
    m2 = ((blocks - means[:, None, :]) ** 2).sum(axis=1)
    return means, m2


def _set_sharpe(idx: np.ndarray, means: np.ndarray, m2: np.ndarray, b: int) -> np.ndarray:
    """Per-period Sharpe (ddof=1) of every column on the union of the blocks in each row of idx.

    ``idx`` is (K, S/2) block indices; result (K, N). Pooled (Chan et al.) variance without
    cancellation: SS_J = Σ_b M2_b + Σ_b B·(mean_b − mean_J)², mean_J = mean of the block means.
    """
    k = idx.shape[1]
    bm = means[idx]  # (K, k, N)
    mean = bm.sum(axis=1) / k
    ss = m2[idx].sum(axis=1) + b * ((bm - mean[:, None, :]) ** 2).sum(axis=1)
    std = np.sqrt(ss / (k * b - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        sr = mean / std
    zero = std == 0.0
    sr[zero & (mean > 0.0)] = np.inf
    sr[zero & (mean < 0.0)] = -np.inf
    sr[zero & (mean == 0.0)] = 0.0
    return sr


def probability_of_backtest_overfitting(
    returns: ArrayLike, n_blocks: int = DEFAULT_BLOCKS, threshold: float = PBO_THRESHOLD
) -> PBOResult:
    """PBO by CSCV (Bailey, Borwein, López de Prado & Zhu 2015) — see the module docstring.

    Args:
        returns: ``T × N`` matrix of per-period simple returns (rows = periods in time order,
            e.g. UTC days; columns = the N configurations of the sweep, N ≥ 2). Must be finite:
            fill periods without a position with 0.0.
        n_blocks: S, even, ≥ 2, and ``T // S >= 2`` (each half needs ≥ 2 rows per column for a
            standard deviation). Default 16 → C(16, 8) = 12 870 combinations.
        threshold: overfit flag threshold on PBO (default 0.5, flag when ``pbo > threshold``).

    Returns:
        ``PBOResult`` (PBO, logits, OOS ranks, IS winners, combinations, flag).

    Raises:
        ValueError: not 2-d, N < 2, NaN/inf present, S odd or < 2, T < 2·S.
    """
    m = np.asarray(returns, dtype=float)
    if m.ndim != 2:
        raise StatisticsInputError(f"returns must be a 2-d T x N matrix, got shape {m.shape}")
    t, n = m.shape
    if n < 2:
        raise StatisticsInputError(f"PBO needs at least 2 configurations (columns), got {n}")
    if isinstance(n_blocks, bool) or int(n_blocks) != n_blocks or n_blocks < 2 or n_blocks % 2:
        raise StatisticsInputError(f"n_blocks must be an even integer >= 2, got {n_blocks}")
    n_blocks = int(n_blocks)
    if t // n_blocks < 2:
        raise StatisticsInputError(f"need T >= 2 * n_blocks rows, got T={t}, n_blocks={n_blocks}")
    if not np.all(np.isfinite(m)):
        raise StatisticsInputError(
            "returns contain NaN or inf; fill periods without a position with 0.0")
    b = t // n_blocks
    dropped = t - b * n_blocks
    m = m[dropped:]

    means, m2 = _block_stats(m, n_blocks)
    combos = tuple(itertools.combinations(range(n_blocks), n_blocks // 2))
    all_blocks = set(range(n_blocks))
    is_idx = np.array(combos, dtype=np.int64).reshape(len(combos), n_blocks // 2)
    oos_idx = np.array([sorted(all_blocks.difference(c)) for c in combos], dtype=np.int64)
    n_c = len(combos)
    ranks = np.empty(n_c)
    winners = np.empty(n_c, dtype=np.int64)
    for lo in range(0, n_c, _CHUNK):
        hi = min(lo + _CHUNK, n_c)
        is_sr = _set_sharpe(is_idx[lo:hi], means, m2, b)
        oos_sr = _set_sharpe(oos_idx[lo:hi], means, m2, b)
        w = np.argmax(is_sr, axis=1)  # first (lowest index) maximum
        w_oos = oos_sr[np.arange(hi - lo), w][:, None]
        below = (oos_sr < w_oos).sum(axis=1)
        tied = (oos_sr == w_oos).sum(axis=1)  # includes the winner itself
        ranks[lo:hi] = below + (tied + 1) / 2.0  # average rank of the tied group
        winners[lo:hi] = w
    omega = ranks / (n + 1)
    logits = np.log(omega / (1.0 - omega))
    logits[2.0 * ranks == n + 1] = 0.0  # exact median: λ = 0 by definition
    overfit_count = int(np.count_nonzero(2.0 * ranks <= n + 1))
    pbo = overfit_count / n_c
    return PBOResult(
        pbo=pbo,
        logits=logits,
        oos_ranks=ranks,
        is_winners=winners,
        combinations=combos,
        n_blocks=n_blocks,
        block_size=b,
        rows_dropped=dropped,
        threshold=float(threshold),
        overfit=pbo > threshold,
    )


def n_combinations(n_blocks: int) -> int:
    """C(S, S/2): number of CSCV combinations for S blocks."""
    return math.comb(n_blocks, n_blocks // 2)
