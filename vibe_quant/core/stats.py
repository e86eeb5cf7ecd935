"""The Sharpe ratio, one convention for the whole overfitting package.

Definition (Sharpe 1994, risk-free rate 0, as usual for crypto perps where funding is already in
the returns)::

    SR_period = mean(r) / std(r, ddof=1)
    SR_annual = SR_period * sqrt(periods_per_year)

``r`` are simple per-period returns (fractions, 0.01 = 1 %). The annualisation is the usual
square-root-of-time scaling; for daily returns of a 24/7 crypto market ``periods_per_year`` is
365 (``DAYS_PER_YEAR``), not 252.

Degenerate cases (zero sample standard deviation) follow one documented rule so a sweep row for a
combination that never traded does not crash a report:

* ``mean == 0`` and ``std == 0`` (e.g. all-zero returns: never traded) → ``0.0``;
* ``mean > 0`` and ``std == 0`` → ``+inf``; ``mean < 0`` and ``std == 0`` → ``-inf``.

Callers that need a finite Sharpe (the deflated Sharpe ratio) use ``dsr.return_moments`` which
raises instead.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

DAYS_PER_YEAR = 365
"""Daily periods per year for a market that trades every day (crypto)."""


def as_returns(returns: ArrayLike, *, name: str = "returns", min_len: int = 2) -> np.ndarray:
    """Validate and convert a 1-d array of per-period returns to ``float64``.

    Raises:
        ValueError: not 1-d, fewer than ``min_len`` values, or any NaN/inf value.
    """
    arr = np.asarray(returns, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {arr.shape}")
    if arr.size < min_len:
        raise ValueError(f"{name} needs at least {min_len} values, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; fill non-trading periods with 0.0")
    return arr


def _ratio(mean: float, std: float) -> float:
    if std > 0.0:
        return mean / std
    if mean == 0.0:
        return 0.0
    return math.copysign(math.inf, mean)


def sharpe_ratio(returns: ArrayLike, periods_per_year: float | None = None) -> float:
    """Sharpe ratio of a series of simple per-period returns.

    Args:
        returns: shape ``(T,)``, ``T >= 2``, simple returns per period (fractions), finite.
        periods_per_year: ``None`` → per-period (non-annualised) Sharpe; otherwise the result is
            multiplied by ``sqrt(periods_per_year)`` (365 for daily crypto returns).

    Returns:
        ``mean(r) / std(r, ddof=1)`` [× ``sqrt(periods_per_year)``]; zero-variance series follow
        the module rule (0.0 or ±inf).

    Raises:
        ValueError: bad shape, fewer than 2 values, NaN/inf values, ``periods_per_year <= 0``.
    """
    arr = as_returns(returns)
    sr = _ratio(float(arr.mean()), float(arr.std(ddof=1)))
    if periods_per_year is None:
        return sr
    if not periods_per_year > 0:
        raise ValueError(f"periods_per_year must be > 0, got {periods_per_year}")
    return sr * math.sqrt(periods_per_year)


def annualised_sharpe(daily_returns: ArrayLike) -> float:
    """Sharpe of daily returns annualised with 365 periods: ``mean/std(ddof=1) * sqrt(365)``."""
    return sharpe_ratio(daily_returns, periods_per_year=DAYS_PER_YEAR)
