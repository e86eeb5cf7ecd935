"""A 50× long entered just before the real BTCUSDT crash of 2024-01-03 (≈ −9 % within an hour,
ETF-rejection rumour) is liquidated at Binance's isolated-margin liquidation price."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vibe_quant.backtest import run_backtest

from .conftest import archive_klines
from .strategies import AllInLong

START, END = "2024-01-03T11:00", "2024-01-04"
START_MS = 1704279600000  # 2024-01-03 11:00 UTC
TICK = 0.1
LEV = 50
BAL = 1_000.0


def _brackets(shared_data):
    doc = json.loads((shared_data / "binance-api" / "leverage_brackets_BTC_ETH_SOL.json").read_text())
    return [(float(b["info"]["notionalFloor"]), float(b["info"]["notionalCap"]),
             float(b["info"]["maintMarginRatio"]), float(b["info"]["cum"]))
            for b in doc["BTC/USDT:USDT"]]


@pytest.fixture(scope="module")
def liq(btc_2024):
    return run_backtest(AllInLong, "BTCUSDT", START, END, data=btc_2024, leverage=LEV,
                        starting_balance=BAL, params={"frac": 0.95})


def test_liquidated_at_binance_isolated_price(liq, archive, shared_data):
    assert len(liq.trades) == 1
    t = liq.trades[0]
    assert t.exit_reason == "liquidation"
    assert liq.metrics["liquidations"] == 1
    # Binance isolated margin, one-way mode: LP = (WB + cum − Q·EP) / (Q·MMR − Q), long
    q, ep = t.qty, t.entry_price
    notional = q * ep
    _floor, _cap, mmr, cum = next(b for b in _brackets(shared_data) if b[0] <= notional < b[1])
    wb = notional / LEV
    lp = (wb + cum - q * ep) / (q * mmr - q)
    assert abs(t.exit_price - lp) <= TICK
    # it happened on the first bar whose low reached LP, during that bar
    k = archive_klines(archive, "BTCUSDT", "5m", START_MS, START_MS + 86_400_000)
    close_ms = k["open_time"] + 300_000
    hit = int(np.argmax(k["low"] <= lp))
    assert k["low"][hit] <= lp and (k["low"][1:hit] > lp).all()
    assert t.exit_ts == close_ms[hit] * 1_000_000
    assert k["open"][hit] > lp  # no gap: the fill is at LP, not at a worse open


def test_loss_capped_at_margin(liq):
    t = liq.trades[0]
    margin = t.notional / LEV
    assert -t.realized_pnl < margin  # price loss stops at LP, before the margin is gone
    assert -t.net_pnl <= margin  # including both taker fees
    assert liq.engine_balance > 0
    assert liq.metrics["end_equity"] == pytest.approx(liq.engine_balance, abs=1e-6)
    assert abs(liq.reconciliation_error) < 1e-6


def test_engine_liquidation_backstop_never_negative(btc_2024):
    """Without the LP stop, Nautilus's own liquidation (on close quotes) fires late on this crash;
    the wallet would go negative, and the result floors it at zero (insurance fund)."""
    r = run_backtest(AllInLong, "BTCUSDT", START, END, data=btc_2024, leverage=LEV,
                     starting_balance=BAL, params={"frac": 0.95}, liquidation_guard=False)
    assert r.trades[0].exit_reason == "liquidation"
    assert any(f.order_id.startswith("LIQUIDATION") for f in r.fills)
    assert r.equity.equity.min() >= 0
    assert r.metrics["end_equity"] >= 0
    if r.engine_balance < 0:
        assert r.equity.bankrupt and r.metrics["end_equity"] == 0


def test_short_liquidated_at_binance_price(btc_2024, archive, shared_data):
    """50× short before the 2024-08-05 rebound (+8 % within an hour after the crash low)."""
    from .strategies import AllInShort

    r = run_backtest(AllInShort, "BTCUSDT", "2024-08-05T13:25", "2024-08-06", data=btc_2024,
                     leverage=LEV, starting_balance=BAL, params={"frac": 0.95})
    t = r.trades[0]
    assert t.side == "short" and t.exit_reason == "liquidation"
    q, ep = t.qty, t.entry_price
    _f, _c, mmr, cum = next(b for b in _brackets(shared_data) if b[0] <= q * ep < b[1])
    lp = (q * ep / LEV + cum + q * ep) / (q * mmr + q)  # side = −1
    assert abs(t.exit_price - lp) <= TICK
    assert -t.net_pnl <= q * ep / LEV and r.engine_balance > 0
    k = archive_klines(archive, "BTCUSDT", "5m", 1722864300000, 1722864300000 + 86_400_000)
    hit = int(np.argmax(k["high"] >= lp))
    assert t.exit_ts == (k["open_time"][hit] + 300_000) * 1_000_000
