"""Ranking of sweep results: hard filters and the Pareto front.

Pure functions over per-combination metric arrays (one entry per sweep row). Units:

* ``sharpe``: annualised Sharpe ratio (any consistent unit — only its order matters here).
* ``max_drawdown``: maximum peak-to-trough drawdown as a **positive fraction** of peak equity
  (0.25 = 25 %); negative values are rejected as a sign-convention error. Values above 1 are
  allowed (a leveraged account can lose more than its peak equity).
* ``profit_factor``: gross profit ÷ gross loss of closed trades; ``+inf`` when there were no
  losing trades; NaN when undefined (no trades).
* ``n_trades``: number of closed trades.

These are the definitions of ``vibe_quant.backtest.metrics`` (``sharpe``, ``max_drawdown``,
``profit_factor``, ``trades``); ``rank_sweep`` reads those column names.

Hard filters (issue 5): a row passes when ``n_trades >= min_trades`` (default 50),
``max_drawdown <= max_drawdown_limit`` (default 0.30) and ``profit_factor >= min_profit_factor``
(default 1.0). NaN in any filtered metric fails that filter; ``+inf`` profit factor passes.

Pareto front (non-dominated set) over the objectives, all maximised:
``(sharpe, 1 − max_drawdown, profit_factor)``. Row a dominates row b when a ≥ b on every
objective and a > b on at least one. A row is on the front when no eligible row dominates it.

* Eligible rows: those passing the hard filters (``rank_sweep``; ``pareto_front`` takes an
  explicit ``eligible`` mask) and with no NaN objective. Ineligible rows get ``is_pareto =
  False`` and do not dominate anybody.
* ``±inf`` are ordinary ordered values (``+inf`` profit factor beats every finite one; two
  ``+inf`` are equal).
* Exact duplicates do not dominate each other: all copies are on the front.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from vibe_quant.research.screening.grid import SweepConfigError

MIN_TRADES = 50
MAX_DRAWDOWN_LIMIT = 0.30
MIN_PROFIT_FACTOR = 1.0

RANK_COLUMNS = ("trades", "max_drawdown", "profit_factor", "sharpe")
"""Columns ``rank_sweep`` needs (names as in ``vibe_quant.backtest.metrics``)."""


def _vec(values: ArrayLike, name: str, n: int | None = None) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise SweepConfigError(f"{name} must be 1-d, got shape {arr.shape}")
    if n is not None and arr.size != n:
        raise SweepConfigError(f"{name} has {arr.size} rows, expected {n}")
    return arr


def _check_drawdown(mdd: np.ndarray) -> None:
    if np.any(mdd < 0):  # NaN compares False, +inf allowed here (fails the limit anyway)
        raise SweepConfigError(
            "max_drawdown must be a positive fraction (0.25 = 25 %), got negatives")


def hard_filter_mask(
    n_trades: ArrayLike,
    max_drawdown: ArrayLike,
    profit_factor: ArrayLike,
    *,
    min_trades: int = MIN_TRADES,
    max_drawdown_limit: float = MAX_DRAWDOWN_LIMIT,
    min_profit_factor: float = MIN_PROFIT_FACTOR,
) -> np.ndarray:
    """Boolean mask, shape ``(n,)``: which rows pass every hard filter (see module doc).

    ``n_trades >= min_trades and max_drawdown <= max_drawdown_limit and
    profit_factor >= min_profit_factor``; NaN fails.

    Raises:
        SweepConfigError (a ValueError): inputs not 1-d or of different lengths; negative drawdowns.
    """
    trades = _vec(n_trades, "n_trades")
    n = trades.size
    mdd = _vec(max_drawdown, "max_drawdown", n)
    pf = _vec(profit_factor, "profit_factor", n)
    _check_drawdown(mdd)
    return (trades >= min_trades) & (mdd <= max_drawdown_limit) & (pf >= min_profit_factor)


def pareto_front(
    sharpe: ArrayLike,
    max_drawdown: ArrayLike,
    profit_factor: ArrayLike,
    eligible: ArrayLike | None = None,
) -> np.ndarray:
    """``is_pareto`` flag per row: non-dominated over (sharpe, 1 − max_drawdown, profit_factor).

    Args:
        sharpe, max_drawdown, profit_factor: shape ``(n,)`` each (units in module doc).
        eligible: optional boolean mask ``(n,)``; only eligible rows can be on the front or
            dominate other rows. Rows with a NaN objective are never eligible.

    Returns:
        Boolean array ``(n,)``. O(n²) comparisons, O(n) memory.

    Raises:
        SweepConfigError (a ValueError): shape mismatch; negative drawdowns.
    """
    sr = _vec(sharpe, "sharpe")
    n = sr.size
    mdd = _vec(max_drawdown, "max_drawdown", n)
    pf = _vec(profit_factor, "profit_factor", n)
    _check_drawdown(mdd)
    objectives = np.column_stack([sr, 1.0 - mdd, pf])  # (n, 3), all maximised
    ok = ~np.isnan(objectives).any(axis=1)
    if eligible is not None:
        elig = np.asarray(eligible, dtype=bool)
        if elig.shape != (n,):
            raise SweepConfigError(f"eligible must have shape ({n},), got {elig.shape}")
        ok &= elig
    pts = objectives[ok]
    on_front = np.ones(len(pts), dtype=bool)
    for i in range(len(pts)):
        ge = (pts >= pts[i]).all(axis=1)
        gt = (pts > pts[i]).any(axis=1)
        if np.any(ge & gt):
            on_front[i] = False
    result = np.zeros(n, dtype=bool)
    result[np.flatnonzero(ok)[on_front]] = True
    return result


def rank_sweep(
    df: pd.DataFrame,
    *,
    min_trades: int = MIN_TRADES,
    max_drawdown_limit: float = MAX_DRAWDOWN_LIMIT,
    min_profit_factor: float = MIN_PROFIT_FACTOR,
) -> pd.DataFrame:
    """Copy of ``df`` with boolean columns ``passes_filters`` and ``is_pareto`` added.

    ``df`` has one row per sweep combination and the columns ``RANK_COLUMNS``: ``trades``,
    ``max_drawdown``, ``profit_factor``, ``sharpe`` (as produced by
    ``vibe_quant.backtest.metrics``). The Pareto front is taken among rows passing the hard
    filters (the others get ``is_pareto=False``).

    Raises:
        SweepConfigError (a ValueError): missing columns; see ``hard_filter_mask`` /
            ``pareto_front``.
    """
    missing = [c for c in RANK_COLUMNS if c not in df.columns]
    if missing:
        raise SweepConfigError(f"missing columns: {missing}")
    passes = hard_filter_mask(
        df["trades"].to_numpy(dtype=float),
        df["max_drawdown"].to_numpy(dtype=float),
        df["profit_factor"].to_numpy(dtype=float),
        min_trades=min_trades,
        max_drawdown_limit=max_drawdown_limit,
        min_profit_factor=min_profit_factor,
    )
    out = df.copy()
    out["passes_filters"] = passes
    out["is_pareto"] = pareto_front(
        df["sharpe"].to_numpy(dtype=float),
        df["max_drawdown"].to_numpy(dtype=float),
        df["profit_factor"].to_numpy(dtype=float),
        eligible=passes,
    )
    return out
