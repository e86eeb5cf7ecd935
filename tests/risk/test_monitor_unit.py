"""RiskMonitor rules on hand-made sequences (no engine): peaks from end-of-bar equity, the UTC
day boundary, cooldown in minutes, validation of the config."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from vibe_quant.core.intervals import NS_PER_DAY as DAY_NS
from vibe_quant.risk.breakers import BreakerConfig, RiskMonitor

M = 60 * 10**9
T0 = 1_700_000_000 * 10**9 // DAY_NS * DAY_NS  # a UTC midnight


def test_peak_is_end_of_bar_equity():
    m = RiskMonitor(BreakerConfig(max_drawdown=0.10), 1000.0, T0, 5 * M)
    assert m.on_bar(T0 + 5 * M, 100.0) == []
    m.on_fill(T0 + 5 * M, +1, 10.0, 100.0, 5.0, at_close=True)   # 1000 notional, fee 5
    assert m.on_bar(T0 + 10 * M, 120.0) == []                    # E = 995 + 200 = 1195
    m.on_fill(T0 + 10 * M, -1, 5.0, 120.0, 20.0, at_close=True)  # fee 20: end-of-bar E = 1175
    # peak must be 1175 (end of bar), not 1195 (before the fee): 0.9 × 1175 = 1057.5
    # E at close c: 1175 + 5 × (c − 120) ≤ 1057.5  ⟺  c ≤ 96.5
    assert m.on_bar(T0 + 15 * M, 96.6) == []
    trips = m.on_bar(T0 + 20 * M, 96.5)
    assert len(trips) == 1 and trips[0].reference == pytest.approx(1175.0)
    assert trips[0].value == pytest.approx(0.10)
    assert m.entry_block(T0 + 25 * M) == "max_drawdown"


def test_daily_day_boundary():
    m = RiskMonitor(BreakerConfig(daily_loss=0.05), 1000.0, T0 - DAY_NS, 5 * M)
    m.on_bar(T0 - 5 * M, 100.0)
    m.on_fill(T0 - 5 * M, +1, 10.0, 100.0, 0.0, at_close=True)
    m.on_bar(T0, 110.0)             # closes 00:00: last bar of the PREVIOUS day, E = 1100
    # first bar of the new day: day_start = 1100; 0.95 × 1100 = 1045 → close 104.5
    assert m.on_bar(T0 + 5 * M, 104.6) == []
    trips = m.on_bar(T0 + 10 * M, 104.5)
    assert trips and trips[0].reference == pytest.approx(1100.0)
    assert trips[0].until_ns == T0 + DAY_NS
    assert m.on_bar(T0 + 15 * M, 50.0) == []  # one trip per day
    assert m.entry_block(T0 + DAY_NS) == "daily_loss"       # the bar closing at 24:00
    assert m.entry_block(T0 + DAY_NS + 5 * M) is None


def test_cooldown_minutes():
    m = RiskMonitor(BreakerConfig(consecutive_losses=2, cooldown_minutes=30), 1000.0, T0, 5 * M)
    t = T0
    for _ in range(2):
        t += 5 * M
        m.on_bar(t, 100.0)
        m.on_fill(t, +1, 1.0, 100.0, 0.1, at_close=True)
        t += 5 * M
        m.on_bar(t, 99.0)
        trips = m.on_fill(t, -1, 1.0, 99.0, 0.1, at_close=True)
    assert len(trips) == 1 and trips[0].value == 2
    assert trips[0].detail["last_net_pnl"] == pytest.approx(-1.2)
    assert m.entry_block(t + 30 * M) == "consecutive_losses"
    assert m.entry_block(t + 35 * M) is None
    assert m.streak == 0


def test_funding_mirror():
    m = RiskMonitor(BreakerConfig(max_drawdown=0.5), 1000.0, T0, 5 * M)
    m.on_bar(T0 + 5 * M, 100.0)
    m.on_fill(T0 + 5 * M, +1, 2.0, 100.0, 0.0, at_close=True)
    pay, _ = m.on_funding(T0 + 5 * M, 0.001)      # long pays: −2 × 100 × 0.001
    assert pay == pytest.approx(-0.2) and m.equity() == pytest.approx(999.8)
    assert m.on_funding(T0 + 5 * M, 0.001)[0] == 0.0  # the same update is not applied twice


@pytest.mark.parametrize("cfg", [
    {"max_drawdown": 10}, {"daily_loss": 0}, {"consecutive_losses": 3},
    {"cooldown_bars": 3}, {"consecutive_losses": 3, "cooldown_bars": 1, "cooldown_minutes": 5},
    {"max_positions": 0}, {"max_exposure": -1}, {"halt": True},
])
def test_config_validation(cfg):
    with pytest.raises(ValidationError):
        BreakerConfig(**cfg)
    assert not BreakerConfig().enabled
