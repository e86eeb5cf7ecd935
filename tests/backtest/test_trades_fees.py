"""Flip round trips, fees per fill, stop-loss / take-profit exits — on real 2024 BTCUSDT bars."""

from __future__ import annotations

import pytest

from vibe_quant.backtest import run_backtest

from .conftest import archive_klines
from .strategies import BracketTrader, Flipper

MAKER, TAKER = 0.0002, 0.0005


@pytest.fixture(scope="module")
def flips(btc_2024):
    return run_backtest(
        Flipper,
        "BTCUSDT",
        "2024-01-01",
        "2024-06-30",
        data=btc_2024,
        leverage=5,
        starting_balance=10_000,
        params={"qty": 0.05, "every": 288},
    )


@pytest.fixture(scope="module")
def brackets(btc_2024):
    return run_backtest(
        BracketTrader,
        "BTCUSDT",
        "2024-03-01",
        "2024-04-30",
        data=btc_2024,
        leverage=3,
        starting_balance=10_000,
        params={"qty": 0.05, "every": 12, "sl": 0.006, "tp": 0.008},
    )


def test_flip_every_round_trip_listed(flips):
    fills = flips.fills
    assert not flips.denied
    # first fill opens, every later signal fill is a flip (0.1 = close 0.05 + open 0.05),
    # the last closes
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
    assert sum(t.fees for t in flips.trades) == pytest.approx(flips.total_fees, abs=1e-9)
    assert sum(t.funding for t in flips.trades) == pytest.approx(flips.total_funding, abs=1e-9)


def test_flip_pnl_recomputed_from_raw_closes(flips, archive):
    """Each trade's gross PnL and fees worked out here from the raw archive closes (market
    orders fill at their bar's close in screening), not from the trade builder; the engine's
    balance change is then Σ hand PnL − Σ hand fees + the settled funding."""
    fills = flips.fills
    k = archive_klines(
        archive, "BTCUSDT", "5m", fills[0].ts // 10**6 - 300_000, fills[-1].ts // 10**6
    )
    close_at = dict(zip((k["open_time"] + 300_000).tolist(), k["close"].tolist()))
    px = [close_at[f.ts // 10**6] for f in fills]  # bar closing at the fill time
    assert [f.price for f in fills] == pytest.approx(px, abs=1e-6)
    q = 0.05
    side = [fills[0].side] + [f.side for f in fills[1:-1]]  # each flip opens the next trade
    gross = [s * (b - a) * q for s, a, b in zip(side, px, px[1:])]
    fees = [q * (a + b) * TAKER for a, b in zip(px, px[1:])]  # a flip's fee: half to each trade
    trades = flips.trades
    assert len(trades) == len(gross)
    for t, s, g, fee in zip(trades, side, gross, fees):
        assert t.side == ("long" if s > 0 else "short")
        assert t.realized_pnl == pytest.approx(g, abs=1e-6)
        assert t.fees == pytest.approx(fee, abs=1e-6)
    change = sum(gross) - sum(fees) + sum(p.amount for p in flips.funding_payments)
    assert flips.engine_balance - 10_000 == pytest.approx(change, abs=1e-5)


@pytest.mark.parametrize("which", ["flips", "brackets"])
def test_fee_of_every_fill(which, request):
    """The rate follows from the order type, not from the engine's liquidity label: market and
    stop-market orders take liquidity (taker 0.05 %), a resting limit (the take profit) adds it
    (maker 0.02 %). fee = qty × price × rate, USDT."""
    r = request.getfixturevalue(which)
    order_type = {o.order_id: o.order_type for o in r.orders}
    seen = set()
    for f in r.fills:
        kind = order_type[f.order_id]
        maker = kind == "LIMIT"
        assert kind in ("MARKET", "STOP_MARKET", "LIMIT")
        assert f.liquidity == ("MAKER" if maker else "TAKER"), (kind, f)
        rate = MAKER if maker else TAKER
        assert f.commission == pytest.approx(f.qty * f.price * rate, abs=1e-8), (kind, f)
        seen.add(kind)
    want = {"MARKET", "STOP_MARKET", "LIMIT"} if which == "brackets" else {"MARKET"}
    assert seen == want


def test_stop_loss_and_take_profit_exits(brackets, archive):
    reasons = {t.exit_reason for t in brackets.trades}
    assert {"stop_loss", "take_profit"} <= reasons
    tick = 0.1
    for t in brackets.trades:
        if t.exit_reason == "take_profit":  # resting limit: exact limit price (maker)
            target = (
                t.entry_price * (1 + 0.008) if t.side == "long" else t.entry_price * (1 - 0.008)
            )
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
