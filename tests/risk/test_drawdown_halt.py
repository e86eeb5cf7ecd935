"""Max-drawdown halt on real data: trips at the FIRST bar whose marked-to-market drawdown
reaches 10 % (computed here by hand from archived closes, the fills and archived funding rates),
flattens at that bar's close, records the trip, and nothing trades after."""

from __future__ import annotations

import numpy as np
import pytest

from vibe_quant.backtest.run import run_backtest, to_ns

from .conftest import archive_closes, archive_funding, hand_equity
from .strategies import StubbornLong

START, END = "2024-03-14", "2024-08-31"


@pytest.fixture(scope="module")
def halted(btc_2024h1):
    return run_backtest(StubbornLong, "BTCUSDT", START, END, data=btc_2024h1, leverage=2,
                        params={"frac": 1.8}, risk={"max_drawdown": 0.10})


def test_trips_at_first_bar_past_10pct(halted, risk_archive):
    r = halted
    start_ns, end_ns = to_ns(START), to_ns(END, end=True)
    ts, close = archive_closes(risk_archive, "BTCUSDT", start_ns, end_ns)
    rates = archive_funding(risk_archive, "BTCUSDT", start_ns, end_ns)
    eq = hand_equity(ts, close, r.fills, rates, 10_000.0, start_ns)
    peak = np.maximum.accumulate(np.concatenate([[10_000.0], eq]))[1:]
    dd = 1.0 - eq / peak
    first = int(np.argmax(dd >= 0.10))
    assert dd[first] >= 0.10 and (dd[:first] < 0.10).all()
    # the run's own equity curve agrees with the hand computation
    np.testing.assert_allclose(r.equity.equity[1:], eq, rtol=0, atol=1e-6)

    trips = [e for e in r.risk_events if e.kind == "risk_trip"]
    assert len(trips) == 1
    trip = trips[0]
    assert trip.rule == "max_drawdown" and trip.action == "halt" and trip.scope == "strategy"
    assert trip.ts == ts[first], (trip.ts, ts[first])
    assert trip.threshold == 0.10
    # the event carries the equity and peak it compared, as computed by hand
    # (before the flattening order's commission, which lands at the same bar)
    assert trip.value >= 0.10
    assert trip.reference == pytest.approx(peak[first - 1], abs=1e-6)
    closing = [f for f in r.fills if f.tag == "risk_halt"]
    assert len(closing) == 1
    f = closing[0]
    assert f.ts == ts[first] and f.price == pytest.approx(close[first], abs=1e-9)
    assert trip.equity == pytest.approx(eq[first] + f.commission, abs=1e-6)


def test_flat_and_nothing_trades_after(halted):
    r = halted
    trip = next(e for e in r.risk_events if e.kind == "risk_trip")
    assert all(f.ts <= trip.ts for f in r.fills)
    assert [f.tag for f in r.fills if f.ts == trip.ts][-1] == "risk_halt"
    assert r.trades[-1].exit_reason == "risk_halt" and r.trades[-1].exit_ts == trip.ts
    assert r.halted
    # the strategy kept asking to re-enter on every later bar; every entry was refused
    later_bars = int((r.equity.ts > trip.ts).sum())
    assert r.risk_blocked_entries == later_bars - 1  # the final bar is reserved (no handle_bar)
    blocked = [e for e in r.risk_events if e.kind == "risk_blocked"]
    assert len(blocked) == 1 and blocked[0].rule == "max_drawdown"
    pos = r.equity.position
    assert (pos[r.equity.ts >= trip.ts] == 0).all()
    assert abs(r.reconciliation_error) < 1e-6


def test_without_breaker_it_keeps_losing(btc_2024h1, halted):
    free = run_backtest(StubbornLong, "BTCUSDT", START, END, data=btc_2024h1, leverage=2,
                        params={"frac": 1.8})
    assert free.risk_events == [] and free.risk_blocked_entries == 0
    assert free.metrics["max_drawdown"] > 0.15
    assert halted.metrics["max_drawdown"] < free.metrics["max_drawdown"]
    # identical up to the trip
    trip = halted.risk_events[0].ts
    assert [f for f in free.fills if f.ts < trip] == [f for f in halted.fills if f.ts < trip]
