"""run_backtest straight from a DataDir catalog (ETHUSDT), reconciled with the engine."""

from __future__ import annotations

import pytest

from vibe_quant.backtest import run_backtest

from .strategies import Flipper


def test_eth_from_catalog(real_data_dir):
    r = run_backtest(Flipper, "ETHUSDT", "2025-03-01", "2025-03-31", data_dir=real_data_dir,
                     leverage=3, starting_balance=5_000, params={"qty": 0.5, "every": 144})
    assert r.symbol == "ETHUSDT" and r.bars == 31 * 288
    assert len(r.trades) >= 60
    assert abs(r.reconciliation_error) < 1e-6
    assert sum(t.net_pnl for t in r.trades) == pytest.approx(r.engine_balance - 5_000, abs=1e-6)
    assert r.total_funding != 0
    assert r.fills[0].price == pytest.approx(round(r.fills[0].price, 2))  # ETH tick 0.01
