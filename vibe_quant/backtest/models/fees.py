"""Binance USDⓈ-M futures trading fees per VIP tier, as a Nautilus fee model.

Standard USDⓈ-M (USDT-margined) rates, no BNB discount, no referral rebate; fractions of fill
notional (0.0002 = 0.0200 %). Source: Binance "Fee Schedule of Binance Futures"
(https://www.binance.com/en/fee/futureFee, support article 360033544231); transcribed 2026-11-21
from copies of that table (zb-binance.com "binance-vip-futures-benefit", babianfox.com
"binance-futures-fee") because binance.com itself is not reachable from the build machine.
VIP 0 equals the project's screening fees (``vibe_quant.venues.binance.instruments``). Re-check the
table before relying on a tier above 0: Binance revises it.

| tier | maker | taker |
|---|---|---|
| 0 | 0.0200 % | 0.0500 % |
| 1 | 0.0160 % | 0.0400 % |
| 2 | 0.0140 % | 0.0350 % |
| 3 | 0.0120 % | 0.0320 % |
| 4 | 0.0100 % | 0.0300 % |
| 5 | 0.0080 % | 0.0270 % |
| 6 | 0.0060 % | 0.0250 % |
| 7 | 0.0040 % | 0.0220 % |
| 8 | 0.0020 % | 0.0200 % |
| 9 | 0.0000 % | 0.0170 % |

Commission = fill quantity × fill price × rate (USDT, rounded by Nautilus ``Money`` to 8
decimals) — the same formula as Nautilus's ``MakerTakerFeeModel``; maker for a fill whose order
rested on the book (limit), taker otherwise (market, triggered stop, liquidation).
"""

from __future__ import annotations

from typing import Any

from nautilus_trader.core import nautilus_pyo3 as n3

from vibe_quant.backtest.models.params import DEFAULT_TIER, VIP_FEES
from vibe_quant.backtest.venue import BacktestConfigError

FEE_TABLE_SOURCE = "https://www.binance.com/en/fee/futureFee (transcribed 2026-11-21)"


def fee_rates(tier: int) -> tuple[float, float]:
    """(maker, taker) fractions of notional for a VIP tier.

    Raises:
        BacktestConfigError (a ``ValueError``): unknown tier (not 0..9)."""
    try:
        m, t = VIP_FEES[int(tier)]
    except (KeyError, ValueError, TypeError):
        raise BacktestConfigError(f"unknown Binance VIP tier {tier!r}; expected 0..9",
                                  fee_tier=tier) from None
    return float(m), float(t)


class TierFeeModel(n3.FeeModel):
    """Nautilus fee model charging one VIP tier's maker/taker rate on every fill."""

    def __new__(cls, *a: Any, **k: Any):
        return super().__new__(cls)

    def __init__(self, tier: int = DEFAULT_TIER) -> None:
        super().__init__()
        self.tier = int(tier)
        self.maker, self.taker = fee_rates(self.tier)

    def get_commission(self, order: Any, fill_quantity: Any, fill_px: Any, instrument: Any) -> Any:
        rate = self.maker if order.liquidity_side == n3.LiquiditySide.MAKER else self.taker
        notional = fill_quantity.as_double() * fill_px.as_double()
        return n3.Money(notional * rate, instrument.settlement_currency)


def fee_factory(tier: int):
    """Preset factory ``(seed) -> TierFeeModel`` (validates the tier now)."""
    fee_rates(tier)

    def make(seed: int) -> Any:
        del seed
        return TierFeeModel(tier)

    return make
