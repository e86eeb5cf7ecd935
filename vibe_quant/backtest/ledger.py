"""Replay of a run's fills and funding into a cash ledger (the bookkeeping behind trades/equity).

Nautilus settles funding natively; this module mirrors it so each payment can be attributed to a
trade and to a bar, and every run reconciles the mirror against the engine's final balance
(``BacktestResult.reconciliation_error``).

Funding payment at funding time ``t`` (USDT, + = received; Nautilus's rule, longs pay a positive
rate)::

    payment(t) = −signed_qty(t) × price(t) × rate(t)      rounded to 8 decimals (USDT precision)

``signed_qty(t)`` is the position HELD AT the funding instant: after every fill with ``ts < t``
and before any fill with ``ts = t`` (base units). A fill stamped ``t`` comes from the bar closing
at ``t`` — a decision taken on that close fills after the instant (Binance exchanges funding at
00:00/08:00/16:00 UTC on the positions open at that moment). ``price(t)`` is the close of the
last bar with close time ``≤ t``, fed to Nautilus as the mark price just before the funding
update (:meth:`vibe_quant.backtest.marketdata.MarketData.engine_stream`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vibe_quant.backtest.marketdata import MarketData
from vibe_quant.strategy.base import Fill


@dataclass(frozen=True)
class FundingPayment:
    """One settled funding payment: ``ts`` ns, ``qty`` signed base units, ``price`` USDT,
    ``rate`` fraction, ``amount`` USDT (+ received, − paid)."""

    ts: int
    qty: float
    price: float
    rate: float
    amount: float


def funding_payments(
    fills: list[Fill], md: MarketData, size_precision: int
) -> list[FundingPayment]:
    """Funding payments on the position implied by ``fills`` (see module docstring)."""
    if len(md.close_ts) == 0:
        return []
    f_ts = md.funding_ts
    f_rate = md.funding_rate
    keep = f_ts >= md.close_ts[0]
    f_ts, f_rate = f_ts[keep], f_rate[keep]
    fill_ts = np.array([f.ts for f in fills], dtype=np.int64)
    signed = np.array([f.side * f.qty for f in fills], dtype=np.float64)
    pos_after = np.round(np.cumsum(signed), size_precision) if len(fills) else np.zeros(0)
    k = np.searchsorted(fill_ts, f_ts, side="left") - 1  # last fill strictly before t
    bi = np.searchsorted(md.close_ts, f_ts, side="right") - 1
    held = np.where(k >= 0, pos_after[np.maximum(k, 0)] if len(pos_after) else 0.0, 0.0)
    out: list[FundingPayment] = []
    nz = np.flatnonzero(held != 0.0)  # only the funding times with a position held
    for t, r, q, px in zip(f_ts[nz].tolist(), f_rate[nz].tolist(), held[nz].tolist(),
                           md.close[bi[nz]].tolist()):
        out.append(FundingPayment(t, q, px, r, round(-q * px * r, 8)))
    return out
