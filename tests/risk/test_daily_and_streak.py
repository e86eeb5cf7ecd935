"""Daily loss limit and consecutive-loss pause on real data, checked against hand computations
from archived closes/funding and the run's own fills and trades."""

from __future__ import annotations

import numpy as np
import pytest

from vibe_quant.backtest.run import run_backtest, to_ns

from .conftest import archive_closes, archive_funding, hand_equity
from .strategies import CrossFlip, TightBracket

DAY = 86_400 * 1_000_000_000
BAR = 300 * 1_000_000_000


@pytest.fixture(scope="module")
def daily(btc_2024h1):
    return run_backtest(CrossFlip, "BTCUSDT", "2024-03-01", "2024-04-30", data=btc_2024h1,
                        leverage=1, params={"qty": 0.05, "fast": 6, "slow": 24},
                        risk={"daily_loss": 0.01})


def test_daily_loss_limit(daily, risk_archive):
    r = daily
    start_ns, end_ns = to_ns("2024-03-01"), to_ns("2024-04-30", end=True)
    ts, close = archive_closes(risk_archive, "BTCUSDT", start_ns, end_ns)
    rates = archive_funding(risk_archive, "BTCUSDT", start_ns, end_ns)
    eq = hand_equity(ts, close, r.fills, rates, 10_000.0, start_ns)
    day = (ts - 1) // DAY
    trips = {e.ts: e for e in r.risk_events if e.kind == "risk_trip"}
    assert trips and all(e.rule == "daily_loss" and e.action == "pause" for e in trips.values())
    expected = []
    day_start = 10_000.0
    for d in np.unique(day):
        idx = np.flatnonzero(day == d)
        hit = idx[eq[idx] <= 0.99 * day_start]
        if len(hit):
            expected.append(int(ts[hit[0]]))
        day_start = eq[idx[-1]]  # the day's last bar starts the next day
    assert sorted(trips) == expected
    fills_ts = np.array([f.ts for f in r.fills])
    for t, e in trips.items():
        assert e.until_ns == ((t - 1) // DAY + 1) * DAY
        assert e.value >= 0.01 and e.threshold == 0.01
        # the trip bar ends flat (the risk close is its last fill; the crossing may have been
        # caused by the strategy's own order at that close, evaluation point 3), and nothing
        # fills for the rest of that UTC day
        at_trip = [f for f in r.fills if f.ts == t]
        assert at_trip and at_trip[-1].tag == "risk_halt"
        assert not [f for f in r.fills if t < f.ts <= e.until_ns]
        k = int(np.searchsorted(r.equity.ts, t))
        assert (r.equity.position[k:][r.equity.ts[k:] <= e.until_ns] == 0).all()
        # trading resumes on a later day
        assert (fills_ts > e.until_ns).any()
    assert r.risk_blocked_entries > 0
    assert abs(r.reconciliation_error) < 1e-6


@pytest.fixture(scope="module")
def streak(btc_2024h1):
    return run_backtest(TightBracket, "BTCUSDT", "2024-05-01", "2024-06-30", data=btc_2024h1,
                        leverage=1, params={"qty": 0.05, "sl": 0.002, "tp": 0.004, "every": 3},
                        risk={"consecutive_losses": 3, "cooldown_bars": 24})


def test_consecutive_loss_pause(streak):
    r = streak
    trips = [e for e in r.risk_events if e.kind == "risk_trip"]
    assert len(trips) >= 3
    # hand rule over the run's own round trips: N-th loser in a row -> pause, streak restarts
    expected, run = [], 0
    for t in r.trades:
        run = run + 1 if t.net_pnl < 0 else 0
        if run >= 3:
            expected.append((t.exit_ts, t.net_pnl))
            run = 0
    assert [(e.ts, e.detail["last_net_pnl"]) for e in trips] == [
        (ts, pytest.approx(p, abs=1e-6)) for ts, p in expected]
    for e in trips:
        assert e.rule == "consecutive_losses" and e.action == "pause"
        assert e.until_ns == e.ts + 24 * BAR and e.value == 3 and e.threshold == 3
        # no entry during the pause; the next entry comes after it
        assert not [t for t in r.trades if e.ts < t.entry_ts <= e.until_ns]
        later = [t.entry_ts for t in r.trades if t.entry_ts > e.ts]
        if later:
            assert later[0] > e.until_ns
    assert r.risk_blocked_entries > 0


def test_streak_pause_changes_the_run(btc_2024h1, streak):
    free = run_backtest(TightBracket, "BTCUSDT", "2024-05-01", "2024-06-30", data=btc_2024h1,
                        leverage=1, params={"qty": 0.05, "sl": 0.002, "tp": 0.004, "every": 3})
    assert len(free.trades) > len(streak.trades)
    first = streak.risk_events[0].ts
    assert [t.entry_ts for t in free.trades if t.entry_ts <= first] == \
        [t.entry_ts for t in streak.trades if t.entry_ts <= first]
