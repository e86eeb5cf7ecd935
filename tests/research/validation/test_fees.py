"""Binance USDⓈ-M VIP-tier fees: tier 0 charges exactly what screening charges; other tiers
charge qty × price × their maker/taker rate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from vibe_quant.backtest import run_backtest
from vibe_quant.backtest.models.fees import VIP_FEES, fee_factory, fee_rates
from vibe_quant.backtest.models.presets import ValidationSettings, validation_preset
from vibe_quant.backtest.venue import FidelityPreset
from vibe_quant.venues.binance.instruments import MAKER_FEE, TAKER_FEE

from .strategies import EntryWithBracket

P = {"qty": 0.2, "tp": 0.004, "sl": 0.004}


def test_table():
    assert VIP_FEES[0] == (Decimal("0.000200"), Decimal("0.000500"))
    assert (MAKER_FEE, TAKER_FEE) == VIP_FEES[0]  # screening = VIP 0
    assert fee_rates(9) == (0.0, 0.00017)
    makers = [VIP_FEES[t][0] for t in range(10)]
    takers = [VIP_FEES[t][1] for t in range(10)]
    assert makers == sorted(makers, reverse=True) and takers == sorted(takers, reverse=True)
    with pytest.raises(ValueError):
        fee_rates(10)


def _run(md, start, preset):
    return run_backtest(EntryWithBracket, "BTCUSDT", start, "2024-02-28", preset, P,
                        data=md, warmup_bars=50)


@pytest.mark.parametrize("start", ["2024-01-10", "2024-01-15"])  # exits: take-profit, stop
def test_tier0_fee_model_equals_screening(btc_q1, start):
    scr = run_backtest(EntryWithBracket, "BTCUSDT", start, "2024-02-28", "screening", P,
                       data=btc_q1, warmup_bars=50)
    t0 = _run(btc_q1, start, FidelityPreset("validation", fee_model=fee_factory(0)))
    assert [(f.ts, f.price, f.commission, f.liquidity) for f in t0.fills] == \
           [(f.ts, f.price, f.commission, f.liquidity) for f in scr.fills]


@pytest.mark.parametrize("tier", [3, 9])
def test_tier_rates_charged(btc_q1, tier):
    maker, taker = fee_rates(tier)
    seen = set()
    for start in ("2024-01-10", "2024-01-15"):
        res = _run(btc_q1, start, FidelityPreset("validation", fee_model=fee_factory(tier)))
        for f in res.fills:
            rate = maker if f.liquidity == "MAKER" else taker
            assert f.commission == pytest.approx(f.qty * f.price * rate, abs=1e-8)
            seen.add(f.liquidity)
        assert abs(res.reconciliation_error) < 1e-6
    assert seen == {"MAKER", "TAKER"}


def test_validation_settings_carry_the_tier(btc_q1):
    preset = validation_preset(ValidationSettings(latency="none", fee_tier=5))
    res = run_backtest(EntryWithBracket, "BTCUSDT", "2024-01-10", "2024-02-28",
                       preset, P, data=btc_q1, warmup_bars=50)
    m5, t5 = fee_rates(5)
    for f in res.fills:
        rate = m5 if f.liquidity == "MAKER" else t5
        assert f.commission == pytest.approx(f.qty * f.price * rate, abs=1e-8)
