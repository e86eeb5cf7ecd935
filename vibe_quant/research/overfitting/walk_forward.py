"""Walk-forward analysis: window generation and the summary maths (not the re-optimisation loop).

Sources: Pardo, R. (2008), "The Evaluation and Optimization of Trading Strategies", 2nd ed.,
Wiley — the walk-forward analysis chapter (walk-forward efficiency = annualised OOS return ÷
annualised IS return); López de Prado (2018), AFML ch. 11–12, on the walk-forward backtest as a
single historical path.

The caller (the sweep orchestration) runs, per window, the sweep on ``[is_start, is_end)``,
picks the best in-sample parameters, trades them on ``[oos_start, oos_end)`` and hands one
``WindowResult`` per window to ``summarise_walk_forward``.

Conventions:

* All times are UTC. Naive datetimes/strings are taken to be UTC; tz-aware ones are converted.
  Every window interval is half-open ``[start, end)``.
* **Annualisation is simple (non-compounded)**: a return (or P&L) ``R`` earned over ``d`` days
  annualises to ``R · 365 / d``. Walk-forward efficiency is therefore
  ``WFE = (R_oos / d_oos) / (R_is / d_is)`` (the 365 cancels); e.g. 30 000 over 180 days IS and
  2 000 over 30 days OOS → (2000/30)/(30000/180) = 0.40. ``R`` may be P&L in quote currency or a
  fractional return, as long as IS and OOS use the same unit. WFE is undefined (``None``) when
  the IS return is ≤ 0.
* The summary WFE is **pooled**: ``(Σ R_oos / Σ d_oos) / (Σ R_is / Σ d_is)`` over all windows
  (robust to one window with a tiny IS return); the per-window WFEs are reported alongside.
* A window is profitable when its OOS return is strictly > 0.
* Pass rule: ``WFE >= min_wfe`` and ``share of profitable OOS windows > min_profitable_share``
  (strict); the seed design used 0.5 and 0.5, the calibrated defaults are in
  :class:`vibe_quant.research.filters.FilterConfig` (SPEC §7).
* Stitched OOS equity: see ``stitch_equity_curves`` (compounded; when OOS windows overlap —
  the default 3-month OOS with 1-month step — the most recently re-optimised window governs).
* Stitched Sharpe: daily (UTC day) returns of the stitched curve, ``mean/std(ddof=1)·sqrt(365)``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from vibe_quant.core.errors import StatisticsInputError
from vibe_quant.core.stats import DAYS_PER_YEAR, sharpe_ratio

MIN_WFE = 0.5
"""Default pass rule: pooled walk-forward efficiency must be ≥ this …"""
MIN_PROFITABLE_SHARE = 0.5
"""… and the share of profitable OOS windows must be > this."""

DEFAULT_IN_SAMPLE = pd.DateOffset(months=9)
DEFAULT_OUT_OF_SAMPLE = pd.DateOffset(months=3)
DEFAULT_STEP = pd.DateOffset(months=1)

_DAY = pd.Timedelta(days=1)

Offset = pd.DateOffset | pd.Timedelta


def to_utc(value: str | datetime | pd.Timestamp | np.datetime64) -> pd.Timestamp:
    """A UTC ``Timestamp``; naive input is interpreted as UTC, aware input converted."""
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise StatisticsInputError("time is NaT")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


@dataclass(frozen=True)
class WalkForwardWindow:
    """One walk-forward window; both spans are half-open UTC intervals ``[start, end)``."""

    index: int
    is_start: pd.Timestamp
    is_end: pd.Timestamp
    oos_start: pd.Timestamp
    """Equals ``is_end``."""
    oos_end: pd.Timestamp

    @property
    def is_days(self) -> float:
        """In-sample length in days (float; calendar months vary)."""
        return (self.is_end - self.is_start) / _DAY

    @property
    def oos_days(self) -> float:
        """Out-of-sample length in days."""
        return (self.oos_end - self.oos_start) / _DAY


def _times(offset: Offset, k: int) -> Offset:
    return offset * k


def generate_windows(
    start: str | datetime | pd.Timestamp,
    end: str | datetime | pd.Timestamp,
    *,
    in_sample: Offset = DEFAULT_IN_SAMPLE,
    out_of_sample: Offset = DEFAULT_OUT_OF_SAMPLE,
    step: Offset = DEFAULT_STEP,
    anchored: bool = False,
) -> list[WalkForwardWindow]:
    """Rolling or anchored walk-forward windows covering ``[start, end)``.

    For ``k = 0, 1, …``::

        is_end_k   = (start + k·step) + in_sample
        is_start_k = start + k·step       (rolling)   |   start   (anchored: IS grows)
        oos_start_k = is_end_k;  oos_end_k = is_end_k + out_of_sample

    and windows are emitted while ``oos_end_k <= end`` (only complete OOS spans). Offsets are
    applied to ``start`` as multiples (``start + k·step``), not cumulatively, so month-end
    clamping cannot drift. With the defaults (9 / 3 / 1 months) consecutive OOS spans overlap
    by two months; ``stitch_equity_curves`` handles that.

    Args:
        start, end: UTC bounds (naive = UTC), ``start < end``.
        in_sample, out_of_sample, step: ``pd.DateOffset`` (calendar months) or ``pd.Timedelta``;
            each must move time forward.
        anchored: anchored (expanding IS from ``start``) instead of rolling.

    Returns:
        Windows in chronological order (possibly empty if the range is too short).

    Raises:
        ValueError: ``start >= end`` or an offset that does not move time forward.
    """
    s, e = to_utc(start), to_utc(end)
    if s >= e:
        raise StatisticsInputError(f"start {s} must be before end {e}")
    for label, off in (("in_sample", in_sample), ("out_of_sample", out_of_sample), ("step", step)):
        if not s + off > s:
            raise StatisticsInputError(f"{label} offset {off!r} must be positive")
    windows: list[WalkForwardWindow] = []
    k = 0
    while True:
        shifted = s + _times(step, k) if k else s
        is_end = shifted + in_sample
        oos_end = is_end + out_of_sample
        if oos_end > e:
            break
        windows.append(
            WalkForwardWindow(
                index=k,
                is_start=s if anchored else shifted,
                is_end=is_end,
                oos_start=is_end,
                oos_end=oos_end,
            )
        )
        k += 1
    return windows


def annualised_return_simple(total_return: float, days: float) -> float:
    """Simple annualisation ``total_return · 365 / days`` (P&L or fractional return)."""
    if not days > 0:
        raise StatisticsInputError(f"days must be > 0, got {days}")
    return total_return * DAYS_PER_YEAR / days


def walk_forward_efficiency(
    is_return: float, is_days: float, oos_return: float, oos_days: float
) -> float | None:
    """WFE = annualised OOS return ÷ annualised IS return, simple annualisation (Pardo 2008).

    ``WFE = (oos_return · 365 / oos_days) / (is_return · 365 / is_days)``.
    Example: ``walk_forward_efficiency(30_000, 180, 2_000, 30) == 0.4``.

    Args:
        is_return, oos_return: total return or P&L over each span (same unit for both).
        is_days, oos_days: span lengths in days, > 0.

    Returns:
        WFE, or ``None`` when ``is_return <= 0`` (undefined: no in-sample edge to be efficient
        about).

    Raises:
        ValueError: non-finite returns or non-positive days.
    """
    if not (math.isfinite(is_return) and math.isfinite(oos_return)):
        raise StatisticsInputError("is_return and oos_return must be finite")
    annualised_return_simple(is_return, is_days)  # validates the day counts
    annualised_return_simple(oos_return, oos_days)
    if not is_return > 0:
        return None
    # (R_oos·365/d_oos) / (R_is·365/d_is), rearranged so 365 cancels exactly
    return (oos_return * is_days) / (oos_days * is_return)


@dataclass(frozen=True)
class WindowResult:
    """What the re-optimisation loop reports for one window.

    Attributes:
        window: the window.
        is_return: total return (or P&L) of the chosen parameters over the IS span.
        oos_return: total return (or P&L, same unit) of those parameters over the OOS span.
        oos_equity: OOS equity curve, ``pd.Series`` of account equity indexed by UTC timestamps,
            first point = equity at ``oos_start`` before any OOS P&L; optional (needed for the
            stitched curve).
        params: the parameters chosen in-sample (reported as-is).
    """

    window: WalkForwardWindow
    is_return: float
    oos_return: float
    oos_equity: pd.Series | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WalkForwardSummary:
    """Walk-forward report."""

    n_windows: int
    wfe: float | None
    """Pooled WFE (module doc); None when pooled IS return ≤ 0."""
    wfe_per_window: tuple[float | None, ...]
    profitable_share: float
    """Share of windows with OOS return > 0."""
    stitched_equity: pd.Series | None
    stitched_sharpe: float | None
    """Annualised (365) Sharpe of the stitched curve's daily returns; None without curves."""
    params: tuple[Mapping[str, Any], ...]
    min_wfe: float
    min_profitable_share: float
    passed: bool
    """``wfe is not None and wfe >= min_wfe and profitable_share > min_profitable_share``."""


def _as_utc_series(curve: pd.Series, name: str) -> pd.Series:
    if not isinstance(curve, pd.Series) or not isinstance(curve.index, pd.DatetimeIndex):
        raise TypeError(f"{name} must be a pandas Series indexed by timestamps")
    if len(curve) < 1:
        raise StatisticsInputError(f"{name} is empty")
    idx = curve.index
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    out = pd.Series(curve.to_numpy(dtype=float), index=idx)
    if not out.index.is_monotonic_increasing or out.index.has_duplicates:
        raise StatisticsInputError(f"{name} index must be strictly increasing")
    if not np.all(np.isfinite(out.to_numpy())) or np.any(out.to_numpy() <= 0):
        raise StatisticsInputError(f"{name} must contain finite, positive equity values")
    return out


def stitch_equity_curves(curves: Sequence[pd.Series], initial: float = 1.0) -> pd.Series:
    """Join per-window OOS equity curves into one continuous, compounded curve.

    Each curve ``E^k`` (equity values, UTC-indexed, first point = equity at the window's OOS
    start) is turned into simple returns ``r_t = E^k_t / E^k_{t−1} − 1``; the stitched curve
    starts at ``initial`` at the first curve's first timestamp and compounds
    ``S_t = S_{t−1} · (1 + r_t)``. So window k's P&L is scaled to the capital left by the
    earlier windows (a window's own starting capital is irrelevant).

    Overlap rule (windows whose OOS spans overlap, e.g. 3-month OOS with 1-month step): window k
    governs the returns at timestamps ``t`` with ``start_k < t <= start_{k+1}``, and the last
    window every ``t > start_last`` — i.e. at each moment the most recently re-optimised
    parameters are the ones traded, as they would be live. Without overlap this is plain
    concatenation. A gap between windows simply has no points (the equity stays flat).

    Args:
        curves: non-empty sequence of equity Series (positive values), sorted by start time.
        initial: starting value of the stitched curve (> 0).

    Returns:
        ``pd.Series`` of stitched equity indexed by UTC timestamps (strictly increasing).

    Raises:
        ValueError: empty input, non-positive or non-finite equity, unsorted or duplicate
            timestamps, curves not in start order.
        TypeError: a curve that is not a Series with a DatetimeIndex.
    """
    if not curves:
        raise StatisticsInputError("no equity curves to stitch")
    if not (math.isfinite(initial) and initial > 0):
        raise StatisticsInputError(f"initial must be finite and > 0, got {initial}")
    series = [_as_utc_series(c, f"curves[{i}]") for i, c in enumerate(curves)]
    starts = [c.index[0] for c in series]
    if any(b <= a for a, b in itertools.pairwise(starts)):
        raise StatisticsInputError("curves must be ordered by (strictly increasing) start time")
    pieces = []
    for k, c in enumerate(series):
        rets = c.pct_change().iloc[1:]
        if k + 1 < len(series):
            rets = rets[rets.index <= starts[k + 1]]
        pieces.append(rets)
    rets = pd.concat(pieces)
    values = initial * np.cumprod(1.0 + rets.to_numpy())
    index = pd.DatetimeIndex([starts[0]]).append(rets.index)
    return pd.Series(np.concatenate([[initial], values]), index=index, name="equity")


def daily_returns(equity: pd.Series) -> pd.Series:
    """Daily simple returns of an equity curve: last value per UTC calendar day, forward-filled
    over days without points, then ``pct_change``. Index: UTC day starts."""
    eq = _as_utc_series(equity, "equity")
    daily = eq.resample("1D").last().ffill()
    return daily.pct_change().iloc[1:]


def equity_sharpe(equity: pd.Series) -> float:
    """Annualised Sharpe of an equity curve: ``daily_returns`` → ``mean/std(ddof=1)·sqrt(365)``.

    Raises:
        ValueError: fewer than 2 daily returns (curve spans < 3 UTC days), bad curve.
    """
    return sharpe_ratio(daily_returns(equity).to_numpy(), periods_per_year=DAYS_PER_YEAR)


def summarise_walk_forward(
    results: Sequence[WindowResult],
    min_wfe: float = MIN_WFE,
    min_profitable_share: float = MIN_PROFITABLE_SHARE,
) -> WalkForwardSummary:
    """Summarise per-window walk-forward results (WFE, profitable share, stitched curve, pass).

    Args:
        results: one ``WindowResult`` per window, in chronological order (non-empty).
            ``oos_equity`` must be given for all windows or for none.
        min_wfe: pass requires pooled ``WFE >= min_wfe``.
        min_profitable_share: pass requires ``profitable_share > min_profitable_share``.

    Returns:
        ``WalkForwardSummary``; see module doc for pooled WFE and the stitching rule.

    Raises:
        ValueError: empty results, non-finite returns, equity given for only some windows, a
            stitched curve spanning fewer than 3 UTC days (no daily Sharpe possible).
    """
    if not results:
        raise StatisticsInputError("no walk-forward windows to summarise")
    per_window = tuple(
        walk_forward_efficiency(r.is_return, r.window.is_days, r.oos_return, r.window.oos_days)
        for r in results
    )
    pooled = walk_forward_efficiency(
        sum(r.is_return for r in results),
        sum(r.window.is_days for r in results),
        sum(r.oos_return for r in results),
        sum(r.window.oos_days for r in results),
    )
    profitable = sum(1 for r in results if r.oos_return > 0) / len(results)
    has_curve = [r.oos_equity is not None for r in results]
    if any(has_curve) and not all(has_curve):
        raise StatisticsInputError("oos_equity must be given for every window or for none")
    stitched = sharpe = None
    if all(has_curve):
        stitched = stitch_equity_curves([r.oos_equity for r in results])  # type: ignore[misc]
        sharpe = equity_sharpe(stitched)
    passed = pooled is not None and pooled >= min_wfe and profitable > min_profitable_share
    return WalkForwardSummary(
        n_windows=len(results),
        wfe=pooled,
        wfe_per_window=per_window,
        profitable_share=profitable,
        stitched_equity=stitched,
        stitched_sharpe=sharpe,
        params=tuple(r.params for r in results),
        min_wfe=float(min_wfe),
        min_profitable_share=float(min_profitable_share),
        passed=bool(passed),
    )


def whole_months(start: str | datetime | pd.Timestamp, end: str | datetime | pd.Timestamp) -> int:
    """Largest ``m`` with ``start + m calendar months <= end`` (UTC; 0 when under a month)."""
    s, e = to_utc(start), to_utc(end)
    m = max(0, (e.year - s.year) * 12 + (e.month - s.month) + 1)
    while m > 0 and s + pd.DateOffset(months=m) > e:
        m -= 1
    return m


def no_window_reason(
    start: str | datetime | pd.Timestamp,
    end: str | datetime | pd.Timestamp,
    in_months: int,
    out_months: int,
    step_months: int = 1,
) -> dict[str, Any]:
    """Why ``generate_windows`` gives no window over ``[start, end)``, and window lengths
    that would fit.

    The suggestion keeps the default 3 : 1 in-sample : out-of-sample proportion where it can:
    out-of-sample ``max(1, round(M / 6))`` months and in-sample ``M − out − 2·step`` (at least
    1), so that — when the period allows — three windows fit; otherwise the longest single
    window. ``None`` when the period is under two months (no window of 1 + 1 month fits).

    Returns:
        ``{"reason": str, "period_months": M, "needed_months": in + out,
        "suggested": {"in_months", "out_months", "windows"} | None}``.
    """
    m = whole_months(start, end)
    needed = in_months + out_months
    suggested = None
    if m >= 2:
        out = max(1, round(m / 6))
        inn = max(1, m - out - 2 * step_months)
        if inn + out > m:
            inn = m - out
        n = len(
            generate_windows(
                start,
                end,
                in_sample=pd.DateOffset(months=inn),
                out_of_sample=pd.DateOffset(months=out),
                step=pd.DateOffset(months=step_months),
            )
        )
        suggested = {"in_months": inn, "out_months": out, "windows": n}
    s, e = to_utc(start), to_utc(end)
    period = f"{s:%Y-%m-%d} → {(e - pd.Timedelta(1, 'ns')):%Y-%m-%d}"
    reason = (
        f"walk-forward could not form a window: the period {period} spans {m} whole "
        f"month(s), shorter than in-sample {in_months} + out-of-sample {out_months} = "
        f"{needed} months; "
    )
    if suggested:
        reason += (
            f"in-sample + out-of-sample must be at most {m} months, e.g. --wfa-in "
            f"{suggested['in_months']} --wfa-out {suggested['out_months']} "
            f"({suggested['windows']} window(s)), or use a period of at least "
            f"{needed} months"
        )
    else:
        reason += f"use a period of at least {needed} months (at least 2 for any window)"
    return {"reason": reason, "period_months": m, "needed_months": needed, "suggested": suggested}
