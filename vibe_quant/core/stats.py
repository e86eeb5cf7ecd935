"""The Sharpe ratio and return moments: one convention for backtest metrics and overfitting.

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

Moments: central sample moments ``m_k = (1/n) Σ (r − mean)^k`` (biased estimators),
``skewness = m3 / m2^1.5`` and ``kurtosis = m4 / m2²`` (NOT excess: normal = 3), the γ3, γ4 of
Bailey & López de Prado's deflated Sharpe ratio.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from vibe_quant.core.errors import DataError

DAYS_PER_YEAR = 365
"""Daily periods per year for a market that trades every day (crypto)."""


class ReturnsError(DataError, ValueError):
    """A returns series cannot be used (wrong shape, too short, NaN/inf) or the annualisation
    is invalid; still a ``ValueError``."""


def as_returns(returns: ArrayLike, *, name: str = "returns", min_len: int = 2) -> np.ndarray:
    """Validate and convert a 1-d array of per-period returns to ``float64``.

    Raises:
        ReturnsError (a ValueError): not 1-d, fewer than ``min_len`` values, or any NaN/inf.
    """
    arr = np.asarray(returns, dtype=float)
    if arr.ndim != 1:
        raise ReturnsError(f"{name} must be 1-d, got shape {arr.shape}")
    if arr.size < min_len:
        raise ReturnsError(f"{name} needs at least {min_len} values, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ReturnsError(f"{name} contains NaN or inf; fill non-trading periods with 0.0")
    return arr


def safe_ratio(mean: float, std: float) -> float:
    """``mean / std`` under the module's zero-deviation rule: ``std == 0`` gives 0.0 when
    ``mean == 0`` (never traded), else ±inf with the sign of ``mean``."""
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
        ReturnsError (a ValueError): bad shape, fewer than 2 values, NaN/inf values,
            ``periods_per_year <= 0``.
    """
    arr = as_returns(returns)
    sr = safe_ratio(float(arr.mean()), float(arr.std(ddof=1)))
    if periods_per_year is None:
        return sr
    if not periods_per_year > 0:
        raise ReturnsError(f"periods_per_year must be > 0, got {periods_per_year}")
    return sr * math.sqrt(periods_per_year)


def annualised_sharpe(daily_returns: ArrayLike) -> float:
    """Sharpe of daily returns annualised with 365 periods: ``mean/std(ddof=1) * sqrt(365)``."""
    return sharpe_ratio(daily_returns, periods_per_year=DAYS_PER_YEAR)


def central_moments(returns: np.ndarray) -> tuple[float, float, float]:
    """``(m2, m3, m4)``: central sample moments ``(1/n) Σ (r − mean)^k`` of a 1-d float array
    (population divisor n; no validation: callers check shape and finiteness)."""
    dev = returns - float(returns.mean())
    return float(np.mean(dev**2)), float(np.mean(dev**3)), float(np.mean(dev**4))


def return_stats(returns: ArrayLike) -> dict[str, float]:
    """Summary of daily simple returns (fractions), annualised with :data:`DAYS_PER_YEAR`.

    Args:
        returns: shape ``(n,)`` daily returns; NaN/inf are not checked (the equity curve is
            finite).

    Returns:
        ``sharpe_daily`` = mean/std(ddof=1); ``sharpe`` = that × √365; ``sortino`` = mean / DD ×
        √365 with downside deviation DD = √((1/n) Σ min(r, 0)²); ``volatility_annual`` =
        std(ddof=1) × √365; ``n_periods`` = n; ``mean_daily_return``; ``skewness`` and
        ``kurtosis`` (non-excess) from :func:`central_moments` (NaN when m2 = 0). Zero
        deviations follow :func:`safe_ratio`; with n < 2 every ratio and moment is NaN.
    """
    r = np.asarray(returns, dtype=float)
    n = len(r)
    nan = float("nan")
    if n < 2:
        return dict(sharpe_daily=nan, sharpe=nan, sortino=nan, volatility_annual=nan,
                    n_periods=n, mean_daily_return=nan if n == 0 else float(r.mean()),
                    skewness=nan, kurtosis=nan)
    mu = float(r.mean())
    sd = float(r.std(ddof=1))
    dd = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    m2, m3, m4 = central_moments(r)
    sr = safe_ratio(mu, sd)
    annual = math.sqrt(DAYS_PER_YEAR)
    return dict(
        sharpe_daily=sr,
        sharpe=sr * annual,
        sortino=safe_ratio(mu, dd) * annual,
        volatility_annual=sd * annual,
        n_periods=n,
        mean_daily_return=mu,
        skewness=m3 / m2**1.5 if m2 > 0 else nan,
        kurtosis=m4 / m2**2 if m2 > 0 else nan,
    )
