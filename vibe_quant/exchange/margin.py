"""Isolated-margin arithmetic of one-way positions (Binance USDⓈ-M).

Formulas (Binance "Leverage and Margin of USDⓈ-M Futures" and "How to Calculate Liquidation
Price of USDⓈ-M Contracts"); the bracket lookup, the liquidation price and the liquidation
clearance come from the backtest venue (:mod:`vibe_quant.backtest.venue`), so the local exchange
and the backtest liquidate at the same price:

* initial margin of a fill = qty × price / leverage (moved from the cross wallet into the
  position's isolated wallet ``iw``); reducing by q releases ``iw × q / |amt|``;
* realized PnL of a reduction = side × q × (price − entry);
* liquidation price (one-way, isolated)::

      LP = (iw + cum − side × Q × EP) / (Q × MMR − side × Q)

  MMR and cum of the bracket holding the notional Q × EP, rounded to the tick towards the entry
  (as the backtest's guard stop, SPEC.md 3);
* funding payment = −positionAmt × mark × rate (USDT; + received).
"""

from __future__ import annotations

import math

from vibe_quant.exchange.models import Position
from vibe_quant.venues.binance.margin import (
    IsolatedPosition,
    bracket_for,
    liquidation_close,
    liquidation_price,
)


def initial_margin(qty: float, price: float, leverage: float) -> float:
    """Initial margin (USDT) of ``qty`` at ``price`` with ``leverage``."""
    return abs(qty) * price / float(leverage)


def exact_liquidation_price(symbol: str, pos: Position) -> float | None:
    """Binance isolated liquidation price of ``pos`` (USDT), or None when flat or when a long
    cannot be liquidated (LP ≤ 0, e.g. 1× leverage)."""
    if pos.amt == 0:
        return None
    q = abs(pos.amt)
    br = bracket_for(symbol, q * pos.entry)
    lp = liquidation_price(
        pos.side, q, pos.entry, pos.isolated_margin, br.maint_margin_rate, br.cum
    )
    return lp if lp > 0 else None


def position_liquidation_price(symbol: str, pos: Position, tick: float) -> float | None:
    """:func:`exact_liquidation_price` rounded to ``tick`` towards the entry (what
    ``positionRisk.liquidationPrice`` shows; the backtest's guard-stop price)."""
    lp = exact_liquidation_price(symbol, pos)
    if lp is None:
        return None
    if pos.side > 0:
        return math.ceil(lp / tick - 1e-9) * tick
    return math.floor(lp / tick + 1e-9) * tick


def maintenance_margin(symbol: str, pos: Position, mark: float) -> float:
    """Binance maintenance margin at ``mark``: notional × MMR − cum (USDT)."""
    if pos.amt == 0:
        return 0.0
    notional = abs(pos.amt) * mark
    br = bracket_for(symbol, notional)
    return max(0.0, notional * br.maint_margin_rate - br.cum)


def liquidation_fill(
    pos: Position, ref_price: float, fee_rate: float
) -> tuple[float, float, float]:
    """``(fill_price, clearance_fee, insurance_absorbed)`` of liquidating all of ``pos``
    against ``ref_price`` (:func:`vibe_quant.backtest.venue.liquidation_close`)."""
    ip = IsolatedPosition(pos.side, abs(pos.amt), pos.entry, pos.isolated_margin)
    return liquidation_close(ip, abs(pos.amt), ref_price, fee_rate)


def unrealized_pnl(pos: Position, mark: float) -> float:
    return pos.amt * (mark - pos.entry) if pos.amt else 0.0


def funding_payment(position_amt: float, mark: float, rate: float) -> float:
    """−positionAmt × mark × rate (USDT; a long pays a positive rate)."""
    return -position_amt * mark * rate
