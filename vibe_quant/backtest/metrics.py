"""Performance metrics from the marked-to-market equity curve (never from per-position returns).

Notation: ``E_0`` starting equity at the run start, ``E_T`` final equity (USDT); daily equity
``D_0 … D_n`` (``D_0 = E_0``; see :mod:`vibe_quant.backtest.equity` for the day convention);
daily simple returns ``r_i = D_i / D_{i−1} − 1`` (fraction), ``n`` = number of daily returns.
Crypto trades every day, so **365 periods per year**. Risk-free rate 0.

* ``total_return`` = E_T / E_0 − 1 (fraction).
* ``years`` = (t_end − t_start) / (365 × 86 400 s), from the run start to the last bar close.
* ``cagr`` = (E_T / E_0)^(1/years) − 1; −1 when E_T ≤ 0.
* ``volatility_annual`` = std(r, ddof=1) × √365.
* ``sharpe_daily`` (per-period Sharpe, SR) = mean(r) / std(r, ddof=1).
* ``sharpe`` (annualised) = sharpe_daily × √365.
* ``sortino`` = mean(r) / DD × √365, with downside deviation DD = √( (1/n) Σ min(r_i, 0)² )
  (target 0, all n periods in the denominator).
* Zero denominators (Sharpe, Sortino): 0 when mean(r) = 0 (e.g. never traded), else ±inf — the
  convention of :mod:`vibe_quant.core.stats`. Fewer than 2 returns: NaN.
* ``n_periods`` (T) = n; ``skewness`` = m3 / m2^1.5 and ``kurtosis`` = m4 / m2² with central
  sample moments m_k = (1/n) Σ (r − mean)^k (biased estimators; kurtosis is NOT excess: normal
  = 3) — the γ3, γ4 of Bailey & López de Prado's deflated Sharpe ratio. These return statistics
  are computed by :func:`vibe_quant.core.stats.return_stats` (re-exported here).
* ``max_drawdown`` = max_t (1 − E_t / max_{s≤t} E_s) over the per-bar marked-to-market curve
  (fraction, ≥ 0; open-trade drawdown counts).
* ``max_drawdown_duration_days``: from the peak preceding the max drawdown to the first bar
  where equity regains that peak (or the end of the run if never), in days.
* ``longest_drawdown_days``: longest span spent below a previous peak, in days.
* ``calmar`` = cagr / max_drawdown (nan when max_drawdown = 0).
* ``profit_factor`` = Σ net_pnl of winning trades / |Σ net_pnl of losing trades| (inf with no
  losers, nan with no trades); net_pnl = realized − fees − liquidation fee + insurance
  absorbed + funding.
* ``win_rate`` = #trades with net_pnl > 0 / #trades.
* ``trades``, ``avg_trade`` = mean net_pnl (USDT), ``avg_trade_return`` = mean(net_pnl / notional).
* ``exposure`` = fraction of bars of the trading window whose close finds a position open.
* ``fees`` (USDT paid, ≥ 0), ``funding`` (USDT, + received / − paid), ``liquidations`` (count of
  trades with exit_reason = liquidation), ``liquidation_fees`` (Σ liquidation clearance fees kept
  by Binance, USDT ≥ 0), ``insurance_fund_absorbed`` (Σ liquidation losses beyond the isolated
  margin taken over by the insurance fund, USDT ≥ 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import numpy as np

from vibe_quant.core.intervals import NS_PER_DAY
from vibe_quant.core.stats import DAYS_PER_YEAR, return_stats

__all__ = ["compute_metrics", "daily_returns", "drawdown_stats", "return_stats", "trade_stats"]


def daily_returns(daily_equity: np.ndarray) -> np.ndarray:
    """Simple returns r_i = D_i / D_{i−1} − 1 of a daily equity array (fraction)."""
    d = np.asarray(daily_equity, dtype=float)
    if len(d) < 2:
        return np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = d[1:] / d[:-1] - 1.0
    # after bankruptcy (previous day at zero equity) nothing is left to return: 0
    return np.where(d[:-1] > 0, r, 0.0)


def drawdown_stats(ts: np.ndarray, equity: np.ndarray) -> dict[str, float]:
    """Max drawdown (fraction), its peak-to-recovery duration and the longest drawdown (days)."""
    e = np.asarray(equity, dtype=float)
    t = np.asarray(ts, dtype=np.int64)
    if len(e) == 0:
        return dict(max_drawdown=0.0, max_drawdown_duration_days=0.0, longest_drawdown_days=0.0)
    peak = np.maximum.accumulate(e)
    if e[0] > 0 and not np.isnan(peak[-1]):  # every peak > 0 (a NaN would run to the end)
        dd = np.divide(e, peak)
        np.subtract(1.0, dd, out=dd)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            dd = np.where(peak > 0, 1.0 - e / peak, 0.0)
    i_max = int(np.argmax(dd))
    mdd = float(dd[i_max])
    # runs of consecutive underwater points [i, j) (below their running peak); the point before
    # a run is its peak (the first point is always a peak)
    under = ~(e >= peak)
    edges = np.diff(np.r_[0, under.astype(np.int8), 0])
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    if mdd > 0:  # i_max is underwater: its peak is the point before its run
        p = max(int(starts[np.searchsorted(starts, i_max, side="right") - 1]) - 1, 0)
        rec = np.nonzero(e[i_max:] >= peak[i_max])[0]
        end = t[i_max + int(rec[0])] if len(rec) else t[-1]
        mdd_dur = (int(end) - int(t[p])) / NS_PER_DAY
    else:
        mdd_dur = 0.0
    # longest underwater span: from a peak to the next time equity reaches it (or the end):
    # from each run's peak to its recovery point (index j, or the last point at the end)
    longest = 0.0
    if len(starts):
        n = len(e)
        end_t = t[np.minimum(ends, n - 1)]
        start_t = t[np.maximum(starts - 1, 0)]
        longest = float(((end_t - start_t) / NS_PER_DAY).max())
    return dict(max_drawdown=mdd, max_drawdown_duration_days=mdd_dur,
                longest_drawdown_days=longest)


def trade_stats(net_pnls: Sequence[float], notionals: Sequence[float]) -> dict[str, float]:
    """Profit factor, win rate, count, average trade (USDT) and average trade return."""
    p = np.asarray(net_pnls, dtype=float)
    n = len(p)
    nan = float("nan")
    if n == 0:
        return dict(trades=0, profit_factor=nan, win_rate=nan, avg_trade=nan,
                    avg_trade_return=nan)
    wins = float(p[p > 0].sum())
    losses = float(-p[p < 0].sum())
    pf = wins / losses if losses > 0 else (float("inf") if wins > 0 else nan)
    notional = np.asarray(notionals, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rets = np.where(notional > 0, p / notional, nan)
    return dict(trades=n, profit_factor=pf, win_rate=float((p > 0).mean()),
                avg_trade=float(p.mean()), avg_trade_return=float(np.nanmean(rets)))


def compute_metrics(
    ts: np.ndarray,
    equity: np.ndarray,
    daily_equity: np.ndarray,
    positions: np.ndarray,
    trades: Sequence[Any],
    fees: float,
    funding: float,
) -> dict[str, float]:
    """All metrics of the module docstring.

    Args:
        ts / equity / positions: the per-bar curve including the start point (ns, USDT, base).
        daily_equity: daily equity D_0 … D_n (USDT).
        trades: closed trades (``net_pnl``, ``notional``, ``exit_reason`` attributes).
        fees / funding: totals in USDT (fees ≥ 0 paid; funding + received).
    """
    e0, et = float(equity[0]), float(equity[-1])
    years = (int(ts[-1]) - int(ts[0])) / (DAYS_PER_YEAR * NS_PER_DAY)
    total_return = et / e0 - 1.0
    if et <= 0:
        cagr = -1.0
    elif years > 0:
        cagr = (et / e0) ** (1.0 / years) - 1.0
    else:
        cagr = float("nan")
    out: dict[str, float] = dict(
        start_equity=e0, end_equity=et, total_return=total_return, years=years, cagr=cagr
    )
    out.update(return_stats(daily_returns(daily_equity)))
    out.update(drawdown_stats(ts, equity))
    out["calmar"] = cagr / out["max_drawdown"] if out["max_drawdown"] > 0 else float("nan")
    net, notional, reason, liq_fee, absorbed = _trade_columns(trades)
    out.update(trade_stats(net, notional))
    pos = np.asarray(positions[1:], dtype=float)
    out["exposure"] = float((pos != 0).mean()) if len(pos) else 0.0
    out["fees"] = float(fees)
    out["funding"] = float(funding)
    out["liquidations"] = reason.count("liquidation")
    out["liquidation_fees"] = float(sum(liq_fee))
    out["insurance_fund_absorbed"] = float(sum(absorbed))
    return out


_TRADE_FIELDS_NAMES = ("net_pnl", "notional", "exit_reason", "liquidation_fee",
                       "insurance_fund_absorbed")
_TRADE_FIELDS = attrgetter(*_TRADE_FIELDS_NAMES)


def _trade_columns(trades: Sequence[Any]) -> list[tuple]:
    """``[net_pnl…], [notional…], [exit_reason…], [liquidation_fee…],
    [insurance_fund_absorbed…]`` in trade order (the last two 0.0 when a trade has
    no such attribute)."""
    if not trades:
        return [()] * 5
    column = getattr(trades, "column", None)  # a TradeList: no Trade objects built
    if column is not None:
        return [column(k) for k in _TRADE_FIELDS_NAMES]
    try:
        return list(zip(*map(_TRADE_FIELDS, trades)))
    except AttributeError:
        return list(zip(*((t.net_pnl, t.notional, t.exit_reason,
                           getattr(t, "liquidation_fee", 0.0),
                           getattr(t, "insurance_fund_absorbed", 0.0)) for t in trades)))
