"""Compiled ``strategies/ema_cross.yaml`` vs the same strategy written by hand (no compiler
code, ``handwritten.py``) on BTCUSDT 5m 2024: identical fills (time, side, price, quantity,
tag), identical final balance."""

from __future__ import annotations

from pathlib import Path

import pytest

from vibe_quant.backtest import run_backtest
from vibe_quant.strategy.compiler import compile_strategy

from .handwritten import HandEmaCross

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def both(btc_2024_md):
    cs = compile_strategy(ROOT / "strategies" / "ema_cross.yaml")
    assert cs.leverage() == 3.0
    wu = cs.warmup_bars
    kw = dict(data=btc_2024_md, leverage=3, warmup_bars=wu)
    compiled = run_backtest(cs, "BTCUSDT", "2024-01-01", "2024-12-31", **kw)
    hand = run_backtest(HandEmaCross, "BTCUSDT", "2024-01-01", "2024-12-31", **kw)
    return compiled, hand


def test_identical_fills(both):
    compiled, hand = both
    assert len(hand.fills) > 1000  # a real year of trading, not a vacuous comparison
    key = [(f.ts, f.side, f.qty, f.price, f.tag) for f in compiled.fills]
    want = [(f.ts, f.side, f.qty, f.price, f.tag) for f in hand.fills]
    assert key == want
    assert {f.tag for f in hand.fills} >= {"signal", "stop_loss", "take_profit"}
    assert compiled.engine_balance == hand.engine_balance
    assert compiled.denied == hand.denied == []


def test_sizing_is_one_percent_risk(both):
    """Independent check of the sizing rule on the compiled run: every entry's quantity is
    floor_step(min(1 % equity / (1.5 % × price), 3 × equity / price, margin cap)) where equity
    is the starting balance plus the net PnL of all trades closed before it."""
    compiled, _ = both
    step = 0.001
    eq = compiled.starting_balance
    for t in compiled.trades:
        entry_px = t.entry_price
        raw = min(eq * 0.01 / (entry_px * 0.015), 3 * eq / entry_px,
                  0.98 * eq / (1 / 3 + 0.0005) / entry_px)
        want = int(raw / step + 1e-9) * step
        assert t.qty == pytest.approx(want, abs=1e-9), (t, eq)
        eq += t.net_pnl
