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
        # UTC day of each bar close (a bar closing at 00:00 belongs to the day before), then the
        # last bar of each day; ts is ascending, so day changes mark the groups (numpy: this
        # runs once per sweep combination).
        day = (self.ts[1:] - 1) // NS_PER_DAY
        last = np.flatnonzero(np.r_[day[1:] != day[:-1], True]) if len(day) else day
        start_day = int(self.ts[0]) // NS_PER_DAY - 1
        days = np.r_[start_day, day[last]].astype(np.int64) * NS_PER_DAY
        idx = pd.DatetimeIndex(days.astype("datetime64[ns]")).tz_localize("UTC")
        idx.name = "date"
        return pd.Series(np.r_[self.equity[0], self.equity[1:][last]], index=idx, name="equity")


def replay(
    fills: list[Fill], funding: list[FundingPayment], starting_balance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ledger state after each fill / funding event: ``(ts, balance, signed_qty, avg_price)``."""
    # Order: time, then funding before fills at the same instant (the funding instant precedes
    # the fills of the bar closing then), then input order. Plain tuples of ints sort without a
    # Python key function (measured: the key cost ~10 ms). A liquidation's clearance fee /
    # insurance absorption (Fill.liquidation_adjustment) is cash like a commission.
    order = [(f.ts, 1, i) for i, f in enumerate(fills)]
    order += [(p.ts, 0, i) for i, p in enumerate(funding)]
    order.sort()
    fv = [(f.side, f.qty, f.price, f.commission - f.liquidation_adjustment) for f in fills]
    pv = [p.amount for p in funding]
    n = len(order)
    ts = np.empty(n, dtype=np.int64)
    bal = np.empty(n)
    pos = np.empty(n)
    avg = np.empty(n)
    b, q, a = float(starting_balance), 0.0, 0.0
    for i, (t, kind, j) in enumerate(order):
        if kind == 0:
            b += pv[j]
        else:
            side, qty, price, fee = fv[j]
            s = side * qty
            b -= fee
            if q == 0.0 or (q > 0) == (s > 0):
                a = (abs(q) * a + qty * price) / (abs(q) + qty)
                q = q + s
            else:
                close_q = min(qty, abs(q))
                b += (price - a) * close_q * (1.0 if q > 0 else -1.0)
                newq = q + s
                if abs(newq) < 1e-12 or (newq > 0) != (q > 0):
                    a = price if abs(newq) >= 1e-12 else 0.0
                q = 0.0 if abs(newq) < 1e-12 else newq
        ts[i], bal[i], pos[i], avg[i] = t, b, q, a
    return ts, bal, pos, avg


def equity_curve(
    close_ts: np.ndarray,
    close: np.ndarray,
    fills: list[Fill],
    funding: list[FundingPayment],
    starting_balance: float,
    start_ns: int,
) -> EquityCurve:
    """Marked-to-market equity at each bar close with ``close_ts > start_ns`` (plus the start)."""
    ev_ts, bal, pos, avg = replay(fills, funding, starting_balance)
    m = close_ts > start_ns
    cts, cpx = close_ts[m], close[m]
    k = np.searchsorted(ev_ts, cts, side="right") - 1
    has = k >= 0
    kk = np.where(has, k, 0)
    b = np.where(has, bal[kk] if len(bal) else starting_balance, starting_balance)
    q = np.where(has, pos[kk] if len(pos) else 0.0, 0.0)
    a = np.where(has, avg[kk] if len(avg) else 0.0, 0.0)
    eq = b + q * (cpx - a)
    ts = np.concatenate([[start_ns], cts]).astype(np.int64)
    eq = np.concatenate([[starting_balance], eq])
    b = np.concatenate([[starting_balance], b])
    q = np.concatenate([[0.0], q])
    bankrupt = bool(np.any(eq <= 0))
    if bankrupt:
        first = int(np.argmax(eq <= 0))
        eq[first:] = 0.0
    return EquityCurve(ts, eq, b, q, bankrupt)
