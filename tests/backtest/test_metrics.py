"""Metrics on constructed equity series, checked against values worked out by hand."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from vibe_quant.backtest.metrics import (
    compute_metrics,
    daily_returns,
    drawdown_stats,
    return_stats,
    trade_stats,
)

DAY = 86_400 * 10**9


def test_return_stats_by_hand():
    # equity 100 → 110 → 99 → 118.8 → 118.8: returns +10 %, −10 %, +20 %, 0 %
    r = daily_returns(np.array([100.0, 110.0, 99.0, 118.8, 118.8]))
    np.testing.assert_allclose(r, [0.1, -0.1, 0.2, 0.0], atol=1e-12)
    s = return_stats(r)
    # mean 0.05; deviations .05 −.15 .15 −.05; Σd² = 0.05; var(ddof=1) = 0.05/3
    sd = math.sqrt(0.05 / 3)
    assert s["sharpe_daily"] == pytest.approx(0.05 / sd, rel=1e-12)  # 0.3872983
    assert s["sharpe_daily"] == pytest.approx(0.3872983346207417, rel=1e-12)
    assert s["sharpe"] == pytest.approx(0.3872983346207417 * math.sqrt(365), rel=1e-12)
    assert s["volatility_annual"] == pytest.approx(sd * math.sqrt(365), rel=1e-12)
    # downside deviation √((0 + 0.01 + 0 + 0)/4) = 0.05 → Sortino = 0.05/0.05·√365
    assert s["sortino"] == pytest.approx(math.sqrt(365), rel=1e-12)
    # m2 = 0.0125, m3 = 0, m4 = 0.00025625 → skew 0, kurtosis 0.00025625/0.00015625 = 1.64
    assert s["skewness"] == pytest.approx(0.0, abs=1e-12)
    assert s["kurtosis"] == pytest.approx(1.64, rel=1e-12)
    assert s["n_periods"] == 4


def test_drawdown_by_hand():
    ts = np.arange(6) * DAY
    eq = np.array([100.0, 120.0, 90.0, 108.0, 121.0, 110.0])
    d = drawdown_stats(ts, eq)
    assert d["max_drawdown"] == pytest.approx(0.25)  # 120 → 90
    assert d["max_drawdown_duration_days"] == pytest.approx(3.0)  # peak day 1, recovered day 4
    assert d["longest_drawdown_days"] == pytest.approx(3.0)  # day 4 → end (day 5) is only 1
    # an unrecovered drawdown lasts until the end of the run
    d2 = drawdown_stats(ts, np.array([100.0, 90, 95, 80, 85, 99]))
    assert d2["max_drawdown"] == pytest.approx(0.2)
    assert d2["max_drawdown_duration_days"] == pytest.approx(5.0)


def test_trade_stats_by_hand():
    s = trade_stats([10.0, -5.0, 20.0, -5.0], [1000.0, 1000.0, 2000.0, 500.0])
    assert s["profit_factor"] == pytest.approx(3.0)  # 30 / 10
    assert s["win_rate"] == pytest.approx(0.5)
    assert s["avg_trade"] == pytest.approx(5.0)
    assert s["avg_trade_return"] == pytest.approx((0.01 - 0.005 + 0.01 - 0.01) / 4)
    assert s["trades"] == 4
    assert math.isinf(trade_stats([1.0], [10.0])["profit_factor"])
    assert math.isnan(trade_stats([], [])["win_rate"])


def test_compute_metrics_by_hand():
    # per-bar curve over 4 days (start point + 8 half-day bars); daily values picked out
    ts = np.arange(9) * (DAY // 2)
    eq = np.array([1000, 1050, 1100, 1000, 990, 1200, 1188, 1210, 1210.0])
    daily = eq[[0, 2, 4, 6, 8]]  # 1000, 1100, 990, 1188, 1210
    pos = np.array([0, 1, 1, 1, 0, 0, 1, 1, 0.0])
    trades = [SimpleNamespace(net_pnl=-10.0, notional=1000.0, exit_reason="liquidation"),
              SimpleNamespace(net_pnl=220.0, notional=1100.0, exit_reason="signal")]
    m = compute_metrics(ts, eq, daily, pos, trades, fees=3.5, funding=-1.25)
    assert m["total_return"] == pytest.approx(0.21)
    assert m["years"] == pytest.approx(4 / 365)
    assert m["cagr"] == pytest.approx(1.21 ** (365 / 4) - 1)
    assert m["max_drawdown"] == pytest.approx(1 - 990 / 1100)  # 0.1 (bar-level, 1100 → 990)
    assert m["calmar"] == pytest.approx(m["cagr"] / 0.1)
    assert m["exposure"] == pytest.approx(5 / 8)
    assert m["liquidations"] == 1 and m["trades"] == 2
    assert m["fees"] == 3.5 and m["funding"] == -1.25
    r = np.array([0.1, -0.1, 0.2, 1210 / 1188 - 1])
    assert m["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(365), rel=1e-12)


def test_intrabar_drawdown_counts():
    """Open-trade drawdown: equity dips and recovers between daily points; daily data would
    miss it."""
    ts = np.arange(5) * (DAY // 4)
    eq = np.array([100.0, 80.0, 100.0, 100.0, 101.0])
    assert drawdown_stats(ts, eq)["max_drawdown"] == pytest.approx(0.2)


def test_bankrupt_returns():
    r = daily_returns(np.array([100.0, 50.0, 0.0, 0.0]))
    np.testing.assert_allclose(r, [-0.5, -1.0, 0.0])


def test_degenerate_sharpe_rule():
    flat = return_stats(np.zeros(10))
    assert flat["sharpe"] == 0.0 and flat["sortino"] == 0.0
    up = return_stats(np.full(10, 0.25))  # exactly representable: std is exactly 0
    assert math.isinf(up["sharpe"]) and up["sharpe"] > 0 and math.isinf(up["sortino"])
    assert math.isnan(return_stats(np.array([0.1]))["sharpe"])


def test_daily_resample_convention():
    from vibe_quant.backtest.equity import EquityCurve

    h = 3600 * 10**9
    t0 = 1704279600 * 10**9  # 2024-01-03 11:00 UTC (mid-day start)
    ts = np.array([t0, t0 + h, t0 + 13 * h, t0 + 14 * h, t0 + 37 * h])  # ..., 00:00, 01:00, 00:00
    eq = np.array([100.0, 101, 102, 103, 104])
    c = EquityCurve(ts, eq, eq, np.zeros(5), False)
    d = c.daily()
    assert [str(x.date()) for x in d.index] == ["2024-01-02", "2024-01-03", "2024-01-04"]
    # the bar closing at 2024-01-04 00:00 ends 2024-01-03
    np.testing.assert_allclose(d.to_numpy(), [100.0, 102.0, 104.0])
