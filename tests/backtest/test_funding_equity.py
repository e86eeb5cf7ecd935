"""Funding settled by Nautilus on a fixed long over 2024, and the equity/Sharpe built on it —
expected numbers computed here from the raw archive only."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vibe_quant.backtest import run_backtest
from vibe_quant.backtest.run import to_ns

from .conftest import archive_funding, archive_klines
from .strategies import HoldLong

QTY = 0.1
START, END = "2024-01-01", "2024-12-31"
START_MS, END_MS = 1704067200000, 1735689600000  # 2024-01-01 00:00, 2025-01-01 00:00 UTC
TAKER = 0.0005


@pytest.fixture(scope="module")
def hold(btc_2024):
    return run_backtest(HoldLong, "BTCUSDT", START, END, data=btc_2024, leverage=1,
                        starting_balance=10_000, params={"qty": QTY})


@pytest.fixture(scope="module")
def expected(archive):
    """Independent replay of the fixed long from the archive."""
    k = archive_klines(archive, "BTCUSDT", "5m", START_MS, END_MS)
    close_time = k["open_time"] + 300_000  # ms
    entry_px = k["close"][0]  # market order on the first bar fills at its close
    entry_ms, exit_ms = close_time[0], close_time[-1]
    exit_px = k["close"][-1]
    pays = []
    for calc, rate in archive_funding(archive, "BTCUSDT", START_MS, END_MS):
        sched = calc // 60_000 * 60_000
        if not (entry_ms < sched <= exit_ms):  # held at the instant of the exit bar's close
            continue
        i = np.searchsorted(close_time, sched, side="right") - 1  # last bar closed by then
        pays.append((sched, -QTY * k["close"][i] * rate))
    return dict(k=k, close_time=close_time, entry_px=entry_px, exit_px=exit_px, pays=pays)


def test_funding_total_equals_sum_qty_price_rate(hold, expected):
    exp_total = sum(p for _, p in expected["pays"])
    # every 8 h of 2024 after the 00:05 entry, incl. 2025-01-01 00:00
    assert len(expected["pays"]) == 3 * 366
    assert abs(hold.total_funding - exp_total) < 0.01
    # what the ENGINE settled: its balance change minus price PnL and fees
    t = hold.trades[0]
    engine_funding = hold.engine_balance - 10_000 - t.realized_pnl + hold.total_fees
    assert abs(engine_funding - exp_total) < 0.01
    assert abs(t.funding - exp_total) < 0.01
    assert exp_total < -100  # 2024 funding was mostly positive: the long paid


def test_hold_trade_and_balance(hold, expected):
    assert len(hold.trades) == 1 and hold.trades[0].exit_reason == "end_of_data"
    t = hold.trades[0]
    assert t.entry_price == pytest.approx(expected["entry_px"], abs=1e-9)
    assert t.exit_price == pytest.approx(expected["exit_px"], abs=1e-9)
    fees = QTY * expected["entry_px"] * TAKER + QTY * expected["exit_px"] * TAKER
    assert hold.total_fees == pytest.approx(fees, abs=1e-6)
    assert abs(hold.reconciliation_error) < 1e-6
    assert hold.engine_balance > 0


def _independent_equity(expected):
    k, ct = expected["k"], expected["close_time"]
    ep = expected["entry_px"]
    eq = 10_000 - QTY * ep * TAKER + QTY * (k["close"] - ep)
    pay_t = np.array([t for t, _ in expected["pays"]])
    pay_v = np.array([p for _, p in expected["pays"]])
    cum = np.concatenate([[0.0], np.cumsum(pay_v)])
    eq = eq + cum[np.searchsorted(pay_t, ct, side="right")]
    eq[-1] -= QTY * expected["exit_px"] * TAKER  # exit fee on the final bar
    s = pd.Series(np.concatenate([[10_000.0], eq]),
                  index=pd.to_datetime(np.concatenate([[START_MS], ct]), unit="ms", utc=True))
    return s


def test_equity_curve_marked_to_market(hold, expected):
    s = _independent_equity(expected)
    assert len(hold.equity.equity) == len(s)
    np.testing.assert_allclose(hold.equity.equity, s.to_numpy(), atol=1e-6)
    assert hold.metrics["end_equity"] == pytest.approx(hold.engine_balance, abs=1e-6)


def test_sharpe_of_real_run_equals_numpy(hold, expected):
    s = _independent_equity(expected)
    # day of a bar = day of (close time − 1 ms); the start point belongs to the previous day
    days = (s.index - pd.Timedelta(milliseconds=1)).floor("D")
    daily = s.groupby(days).last().to_numpy()
    assert len(daily) == 367  # 2023-12-31 (start) + 366 days of 2024
    r = daily[1:] / daily[:-1] - 1
    sharpe = r.mean() / r.std(ddof=1) * math.sqrt(365)
    assert hold.metrics["sharpe"] == pytest.approx(sharpe, rel=1e-9)
    assert hold.metrics["sharpe_daily"] == pytest.approx(r.mean() / r.std(ddof=1), rel=1e-9)
    assert hold.metrics["n_periods"] == 366
    downside = np.sqrt(np.mean(np.minimum(r, 0) ** 2))
    assert hold.metrics["sortino"] == pytest.approx(r.mean() / downside * math.sqrt(365), rel=1e-9)
    e = s.to_numpy()
    mdd = np.max(1 - e / np.maximum.accumulate(e))
    assert hold.metrics["max_drawdown"] == pytest.approx(mdd, rel=1e-9)
    np.testing.assert_allclose(hold.daily_equity.to_numpy(), daily, atol=1e-6)


def test_window_bounds(hold):
    assert hold.start_ns == to_ns("2024-01-01")
    assert hold.end_ns == to_ns("2025-01-01")
    assert hold.bars == 366 * 288
