"""Binance USDⓈ-M margin arithmetic: fee rates, leverage brackets, isolated liquidation price.

Pure functions of the contract terms in force (:mod:`vibe_quant.venues.binance.instruments`);
shared by the backtest venue, the compiled strategy's liquidation guard and the local exchange.
Sources: Binance USDⓈ-M fee schedule (VIP 0) and the leverage-bracket / liquidation-price docs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vibe_quant.venues.binance.instruments import (
    MAKER_FEE,
    TAKER_FEE,
    Bracket,
    UnknownSymbolError,
    leverage_brackets,
)
from vibe_quant.venues.binance.instruments import liquidation_fee_rate as spec_liquidation_fee_rate

#: exchangeInfo ``liquidationFee`` of the packaged reference (fraction of notional), used only
#: when :mod:`vibe_quant.venues.binance.instruments` has no ``liquidation_fee_rate`` answer for a
#: symbol
#: (``../shared/data/binance-api/fapi_v1_exchangeInfo_2022-02-19.json``).
REFERENCE_LIQUIDATION_FEE = {"BTCUSDT": 0.012, "ETHUSDT": 0.030}

#: Fractions of notional (0.0002 = 0.02 %).
MAKER_FEE_RATE = float(MAKER_FEE)
TAKER_FEE_RATE = float(TAKER_FEE)


def bracket_for(symbol: str, notional: float) -> Bracket:
    """Leverage bracket whose ``[notional_floor, notional_cap)`` holds ``notional`` (USDT); the
    last one above its cap."""
    brs = leverage_brackets(symbol)
    for b in brs:
        if b.notional_floor <= notional < b.notional_cap:
            return b
    return brs[-1]


def max_leverage_for(symbol: str, notional: float) -> float:
    """Highest leverage Binance allows at ``notional`` (USDT)."""
    return bracket_for(symbol, notional).max_leverage


def liquidation_price(
    side: int, qty: float, entry_price: float, margin: float, mmr: float, cum: float
) -> float:
    """Binance isolated-margin liquidation price of a one-way (NETTING) position.

    Binance's formula (USDⓈ-M, one-way mode, isolated, single position; TMM = UPNL = 0)::

        LP = (WB + cum − side × Q × EP) / (Q × MMR − side × Q)

    Args:
        side: +1 long, −1 short.
        qty: Q, position size in base units (BTC), > 0.
        entry_price: EP, average entry price (USDT).
        margin: WB, the isolated wallet balance = entry notional / leverage (USDT).
        mmr: maintenance margin rate of the bracket (fraction).
        cum: maintenance amount of the bracket (USDT).

    Returns:
        The price in USDT (may be ≤ 0 for a long that cannot be liquidated, e.g. 1× leverage).
    """
    return (margin + cum - side * qty * entry_price) / (qty * mmr - side * qty)


def liquidation_fee_rate(symbol: str) -> float:
    """Binance's liquidation clearance fee rate of ``symbol`` (exchangeInfo ``liquidationFee``,
    fraction of the liquidated notional), from the contract terms in force.

    Raises:
        UnknownSymbolError (a KeyError): no contract terms and no packaged reference value for
            ``symbol``.
    """
    try:
        return float(spec_liquidation_fee_rate(symbol))
    except (KeyError, AttributeError, TypeError, ValueError):
        pass
    if symbol in REFERENCE_LIQUIDATION_FEE:
        return REFERENCE_LIQUIDATION_FEE[symbol]
    raise UnknownSymbolError(
        f"no liquidationFee (exchangeInfo) known for {symbol}; run "
        f"`vibe-quant data ingest --symbols {symbol}` with the REST API reachable",
        symbol=symbol,
    )


def backstop_maintenance_rate(symbol: str, leverage: float) -> float:
    """Maintenance rate given to Nautilus's own (account-level) liquidation check.

    Nautilus liquidates when ``balance + unrealized ≤ m × Q × EP`` (one rate ``m`` per
    instrument, notional at the entry price, no ``cum``). Binance's isolated maintenance margin
    at price P is ``MM(P) = MMR_k × Q × P − cum_k ≥ MMR_1 × Q × P`` (``cum`` makes MM the
    piecewise-linear sum of increasing marginal rates, so no tier charges less than the first
    tier's rate), and while the isolated rule has not fired ``P`` is on the safe side of the
    liquidation price, where ``P ≥ EP × (1 − 1/leverage)`` for a long (``P > EP`` for a short).
    With ``m = MMR_1 × (1 − 1/leverage)`` and a wallet balance ≥ the isolated margin, Nautilus's
    threshold is therefore never reached before the isolated liquidation price: it is a
    backstop only (e.g. ``liquidation_guard=False``).

    Returns:
        ``m`` (fraction of entry notional).
    """
    first = leverage_brackets(symbol)[0].maint_margin_rate
    return first * (1.0 - 1.0 / float(leverage))


@dataclass(frozen=True)
class IsolatedPosition:
    """An open position as Binance's isolated margin sees it: ``side`` ±1, ``qty`` Q (base
    units), ``entry`` EP (average entry, USDT), ``margin`` WB = Q × EP / leverage (USDT)."""

    side: int
    qty: float
    entry: float
    margin: float


def liquidation_close(pos: IsolatedPosition, qty: float, ref_price: float, fee_rate: float,
                      ) -> tuple[float, float, float]:
    """``(target_price, clearance_fee, insurance_absorbed)`` for closing ``qty`` of ``pos`` by
    liquidation against ``ref_price`` (Binance USDⓈ-M isolated margin, one-way mode).

    Rules (Binance "Liquidation Protocols" and "Insurance Fund" FAQs; ``liquidationFee`` from
    ``GET /fapi/v1/exchangeInfo``)::

        remaining = WB × q/Q + side × q × (ref − EP)          margin left at the market price
        remaining ≥ 0:  fee = min(remaining, liquidationFee × q × ref), absorbed = 0
                        target = ref − side × fee / q
        remaining < 0:  fee = 0, absorbed = −remaining,  target = EP − side × WB / Q  (bankruptcy)

    The trader's loss on the liquidated part is then at most its share of the isolated margin.
    """
    q = float(qty)
    share = pos.margin * q / pos.qty
    remaining = share + pos.side * q * (ref_price - pos.entry)
    if remaining >= 0.0:
        fee = min(remaining, fee_rate * q * ref_price)
        return ref_price - pos.side * fee / q, fee, 0.0
    return pos.entry - pos.side * pos.margin / pos.qty, 0.0, -remaining


def tick_round(price: float, tick: float, up: bool) -> float:
    """Round a price to the tick grid, up or down."""
    steps = price / tick
    steps = math.ceil(steps - 1e-9) if up else math.floor(steps + 1e-9)
    return steps * tick
