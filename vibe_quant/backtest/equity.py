"""Marked-to-market equity curve.

At every bar close ``t`` (UTC epoch ns)::

    equity(t) = balance(t) + unrealized(t)
    balance(t) = starting_balance + Σ realized gross PnL − Σ commissions + Σ funding   (events ≤ t)
                 − Σ liquidation clearance fees + Σ insurance-fund absorption
    unrealized(t) = signed_qty(t) × (close(t) − avg_entry_price(t))

Both in USDT, after fees and funding. ``signed_qty`` and ``avg_entry_price`` follow Nautilus's
NETTING position (weighted average on increases, unchanged on reductions).

Daily series: the equity at the last bar of each UTC calendar day, where a bar belongs to the day
of ``close_ts − 1 ns`` (the bar closing at 00:00 ends the previous day). The first point is
``starting_balance``, labelled with the day before the start day, so the first daily return is
measured from the starting balance (also when the run starts mid-day).

Bankruptcy: Binance's insurance fund absorbs losses beyond the margin, so the wallet never goes
below zero. Once equity ≤ 0 the curve stays at 0 from that bar on (``bankrupt`` is reported).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vibe_quant.backtest.ledger import FundingPayment
from vibe_quant.backtest.trades import Ledger, ledger_pass
from vibe_quant.core.intervals import NS_PER_DAY
from vibe_quant.strategy.base import Fill


@dataclass
class EquityCurve:
    """``ts`` (ns, int64), ``equity`` / ``balance`` (USDT), ``position`` (signed base units) at
    each bar close of the trading window, preceded by the start point."""

    ts: np.ndarray
    equity: np.ndarray
    balance: np.ndarray
    position: np.ndarray
    bankrupt: bool

    def series(self) -> pd.Series:
        idx = pd.to_datetime(self.ts, unit="ns", utc=True)
        return pd.Series(self.equity, index=idx, name="equity")

    def daily(self) -> pd.Series:
        """Equity at each UTC day's last bar; index = the day (midnight UTC).

        The first point is the starting equity, labelled with the day BEFORE the run's start day
        (so a start at 11:00 keeps its partial first day as a full return period).
        """
        # the last bar of each UTC day (a bar closing at 00:00 belongs to the day before): for
        # day d the last close ≤ (d + 1) days; a day without bars repeats the previous index
        # (searched per day, not divided per bar: this runs once per sweep combination)
        t = self.ts[1:]
        start_day = int(self.ts[0]) // NS_PER_DAY - 1
        if len(t):
            day = np.arange((int(t[0]) - 1) // NS_PER_DAY, (int(t[-1]) - 1) // NS_PER_DAY + 1,
                            dtype=np.int64)
            last = np.searchsorted(t, (day + 1) * NS_PER_DAY, side="right") - 1
            has = np.r_[True, last[1:] != last[:-1]]
            last, day = last[has], day[has]
        else:
            last = day = np.zeros(0, dtype=np.int64)
        days = np.r_[start_day, day].astype(np.int64) * NS_PER_DAY
        idx = pd.DatetimeIndex(days.astype("datetime64[ns]")).tz_localize("UTC")
        idx.name = "date"
        return pd.Series(np.r_[self.equity[0], self.equity[1:][last]], index=idx, name="equity")


def replay(
    fills: list[Fill], funding: list[FundingPayment], starting_balance: float
) -> Ledger:
    """Ledger state after each fill / funding event: ``(ts, balance, signed_qty, avg_price)``
    (a :class:`~vibe_quant.backtest.trades.Ledger`, which unpacks as that tuple and also holds
    the run's trades: one pass, :func:`~vibe_quant.backtest.trades.ledger_pass`).

    Order: time, then funding before fills at the same instant (the funding instant precedes
    the fills of the bar closing then), then input order. A liquidation's clearance fee /
    insurance absorption (``Fill.liquidation_adjustment``) is cash like a commission.
    """
    return ledger_pass(fills, funding, starting_balance)


def equity_curve(
    close_ts: np.ndarray,
    close: np.ndarray,
    fills: list[Fill],
    funding: list[FundingPayment],
    starting_balance: float,
    start_ns: int,
    ledger: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> EquityCurve:
    """Marked-to-market equity at each bar close with ``close_ts > start_ns`` (plus the start);
    ``ledger``: :func:`replay` of the same fills and funding when already computed."""
    ev_ts, bal, pos, avg = ledger if ledger is not None else replay(fills, funding,
                                                                     starting_balance)
    first = int(np.searchsorted(close_ts, start_ns, side="right"))  # close_ts > start_ns
    cts, cpx = close_ts[first:], close[first:]
    n = len(cts)
    # the ledger state at each close is the last event at or before it (state k = after k
    # events; 0 = the start): state k holds for the closes from the first one at or after
    # event k's time to the one before event k+1's (events are time-ordered), so each state
    # is repeated over its run of bars (the same values a per-bar gather gives, cheaper)
    bounds = np.searchsorted(cts, ev_ts, side="left")
    runs = np.diff(bounds, prepend=0, append=n)
    runs[0] += 1  # the start point (index 0) is in state 0 too
    b = np.repeat(np.r_[starting_balance, bal], runs)
    q = np.repeat(np.r_[0.0, pos], runs)
    x = np.repeat(np.r_[0.0, avg], runs)
    ts = np.empty(n + 1, dtype=np.int64)
    ts[0] = start_ns
    ts[1:] = cts
    # eq = b + q × (close − avg) at each close, the start point = starting_balance
    eq = x
    np.subtract(cpx, x[1:], out=eq[1:])
    np.multiply(q[1:], eq[1:], out=eq[1:])
    np.add(b[1:], eq[1:], out=eq[1:])
    eq[0] = starting_balance
    bankrupt = bool(np.any(eq <= 0))
    if bankrupt:
        first_bad = int(np.argmax(eq <= 0))
        eq[first_bad:] = 0.0
    return EquityCurve(ts, eq, b, q, bankrupt)
