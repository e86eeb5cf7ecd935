"""Flip round trips, fees per fill, stop-loss / take-profit exits — on real 2024 BTCUSDT bars."""

from __future__ import annotations

import pytest

from vibe_quant.backtest import run_backtest

from .strategies import BracketTrader, Flipper

MAKER, TAKER = 0.0002, 0.0005


@pytest.fixture(scope="module")
def flips(btc_2024):
    return run_backtest(Flipper, "BTCUSDT", "2024-01-01", "2024-06-30", data=btc_2024,
                        leverage=5, starting_balance=10_000, params={"qty": 0.05, "every": 288})


@pytest.fixture(scope="module")
def brackets(btc_2024):
    return run_backtest(BracketTrader, "BTCUSDT", "2024-03-01", "2024-04-30", data=btc_2024,
                        leverage=3, starting_balance=10_000,
                        params={"qty": 0.05, "every": 12, "sl": 0.006, "tp": 0.008})


def test_flip_every_round_trip_listed(flips):
    fills = flips.fills
    assert not flips.denied
    # first fill opens, every later signal fill is a flip (0.1 = close 0.05 + open 0.05), last closes
    assert [f.qty for f in fills[1:-1]] == [0.1] * (len(fills) - 2)
    assert fills[-1].tag == "end_of_data"
    trades = flips.trades
    assert len(trades) == len(fills) - 1 > 150
    for a, b in zip(trades, trades[1:]):
        assert b.entry_ts == a.exit_ts  # the flip closes one and opens the next at once
        assert {a.side, b.side} == {"long", "short"}
        assert b.entry_price == a.exit_price
    assert all(t.qty == pytest.approx(0.05) for t in trades)


def test_flip_pnl_sums_to_balance_change(flips):
    tot = sum(t.realized_pnl - t.fees + t.funding for t in flips.trades)
    assert tot == pytest.approx(flips.engine_balance - 10_000, abs=1e-6)
    assert sum(t.net_pnl for t in flips.trades) == pytest.approx(tot, abs=1e-9)
    assert sum(t.fees for t in flips.trades) == pytest.approx(flips.total_fees, abs=1e-9)
    assert sum(t.funding for t in flips.trades) == pytest.approx(flips.total_funding, abs=1e-9)


@pytest.mark.parametrize("which", ["flips", "brackets"])
def test_fee_of_every_fill(which, request):
    r = request.getfixturevalue(which)
    for f in r.fills:
        rate = MAKER if f.liquidity == "MAKER" else TAKER
        assert f.liquidity in ("MAKER", "TAKER")
        assert f.commission == pytest.approx(round(f.qty * f.price * rate, 8), abs=1e-8)
    if which == "brackets":
        assert {f.liquidity for f in r.fills} == {"MAKER", "TAKER"}


def test_stop_loss_and_take_profit_exits(brackets, archive):
    reasons = {t.exit_reason for t in brackets.trades}
    assert {"stop_loss", "take_profit"} <= reasons
    tick = 0.1
    for t in brackets.trades:
        if t.exit_reason == "take_profit":  # resting limit: exact limit price (maker)
            target = t.entry_price * (1 + 0.008) if t.side == "long" else t.entry_price * (1 - 0.008)
            assert abs(t.exit_price - target) <= tick
            assert (t.exit_price > t.entry_price) == (t.side == "long")
        if t.exit_reason == "stop_loss":  # stop at trigger, or worse on a gap
            trig = t.entry_price * (1 - 0.006) if t.side == "long" else t.entry_price * (1 + 0.006)
            if t.side == "long":
                assert t.exit_price <= trig + tick
            else:
                assert t.exit_price >= trig - tick
    tot = sum(t.net_pnl for t in brackets.trades)
    assert tot == pytest.approx(brackets.engine_balance - 10_000, abs=1e-6)
