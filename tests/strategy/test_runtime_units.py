"""Condition evaluator, time filters and risk rules on hand-worked numbers (no engine)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from vibe_quant.dsl import load_strategy, parse_condition
from vibe_quant.dsl.models import TimeFilters
from vibe_quant.strategy.runtime import conditions as C
from vibe_quant.strategy.runtime.filters import TimeFilter, weekday
from vibe_quant.strategy.runtime.risk import Sizer, StopRule, TargetRule, Trail

NS = 1_000_000_000
MIN = 60 * NS


class Ind:
    outputs = ("value",)

    def __init__(self):
        self.value = math.nan


def env_with(params=None):
    price = SimpleNamespace(open=0.0, high=0.0, low=0.0, close=0.0, volume=0.0, hl2=0.0,
                            hlc3=0.0, ohlc4=0.0)
    macd = SimpleNamespace(outputs=("line", "signal", "histogram"), line=0.0, signal=0.0,
                           histogram=0.0)
    inds = {"x": Ind(), "y": Ind(), "macd": macd}
    return C.Env(price, inds, params or {})


def cond(text, env):
    return C.condition(parse_condition(text), env)


def test_comparisons_params_and_arithmetic():
    env = env_with({"lim": 30.0, "k": 2.0})
    p = cond("x * $k + 1 > $lim", env)
    env.indicators["x"].value = 14.4
    assert p() is False  # 29.8 > 30
    env.indicators["x"].value = 14.6
    assert p() is True  # 30.2 > 30
    q = cond("x between 10 and 20", env)
    for v, want in ((10, True), (20, True), (9.99, False), (20.01, False)):
        env.indicators["x"].value = v
        assert q() is want
    assert cond("-x < -5", env)()  # x = 20.01


def test_nan_and_division_by_zero_are_false():
    env = env_with()
    env.price.close = 1.0
    env.indicators["x"].value = 0.0
    assert cond("close / x > 0", env)() is False
    assert cond("close / x < 0", env)() is False
    assert cond("not (close / x > 0)", env)() is True  # the predicate is false; `not` of it
    env.indicators["y"].value = math.nan
    assert cond("y > 0 or y <= 0", env)() is False


def test_crosses_use_previous_evaluation():
    env = env_with()
    up = cond("x crosses_above y", env)
    down = cond("x crosses_below y", env)
    assert len(env.crosses) == 1  # one slot for the (x, y) pair, shared by both directions
    slot = next(iter(env.crosses.values()))
    seq = [(1, 2), (2, 2), (3, 2), (3, 2), (1, 2), (1, 1), (2, 1)]
    got = []
    for a, b in seq:
        env.indicators["x"].value, env.indicators["y"].value = a, b
        slot.shift()
        got.append((up(), down()))
    # bar0: no previous; bar1: 1<=2 and 2>2? no; bar2: 2<=2 and 3>2 -> up; bar3: 3<=2? no;
    # bar4: 3>=2 and 1<2 -> down; bar5: 1>=2? no; bar6: 1<=1 and 2>1 -> up
    assert got == [(False, False), (False, False), (True, False), (False, False),
                   (False, True), (False, False), (True, False)]


def test_any_all_not_and_lookbacks():
    env = env_with({"lo": 30.0})
    p = cond("close > close[2] and (x < $lo or not (macd.histogram > 0))", env)
    ring = env.price_rings["close"]
    for c in (10.0, 11.0, 12.0):
        env.price.close = c
        ring.push(c)
    env.indicators["x"].value = 40.0
    env.indicators["macd"].histogram = 1.0
    assert p() is False  # 12 > 10 but (40 < 30 or not true) is false
    env.indicators["macd"].histogram = -1.0
    assert p() is True
    env.price.close = 9.0
    ring.push(9.0)
    assert p() is False  # 9 > 11 is false
    r = C.Ring(2)
    assert math.isnan(r.get(0))
    for v in (1, 2, 3, 4):
        r.push(v)
    assert (r.get(0), r.get(1), r.get(2)) == (4, 3, 2)


def _ts(y, mo, d, h, mi):
    from datetime import UTC, datetime

    return int(datetime(y, mo, d, h, mi, tzinfo=UTC).timestamp()) * NS


def test_sessions_weekdays_and_funding_blackout():
    tf = TimeFilter(TimeFilters(sessions=[{"start": "23:00", "end": "01:00"},
                                          {"start": "07:00", "end": "11:00"}],
                                blocked_weekdays=["sat", "sun"],
                                funding_blackout_minutes=15))
    tf.on_funding(_ts(2024, 1, 3, 0, 0), 480, None)  # Wednesday 00:00; next 08:00
    assert weekday(_ts(2024, 1, 3, 12, 0)) == 2  # Wednesday
    assert tf.allows(_ts(2024, 1, 3, 23, 30))  # inside 23:00-01:00
    assert tf.allows(_ts(2024, 1, 3, 0, 30))  # after midnight, 30 min after funding
    assert not tf.allows(_ts(2024, 1, 3, 0, 15))  # exactly 15 min after funding: blocked
    assert tf.allows(_ts(2024, 1, 3, 0, 20))
    assert not tf.allows(_ts(2024, 1, 3, 1, 0))  # session end is exclusive
    assert not tf.allows(_ts(2024, 1, 3, 12, 0))  # no session
    assert tf.allows(_ts(2024, 1, 3, 7, 40))
    assert not tf.allows(_ts(2024, 1, 3, 7, 45))  # 15 min before the next funding (08:00)
    assert not tf.allows(_ts(2024, 1, 6, 8, 30))  # Saturday
    fresh = TimeFilter(TimeFilters(funding_blackout_minutes=5))
    assert not fresh.allows(_ts(2024, 1, 3, 12, 0))  # schedule unknown: refused
    assert fresh.refused_no_funding == 1


RR = """
name: rr
timeframe: 5m
indicators: {atr: {type: atr, params: {period: 14}}}
entry: {long: [close > atr]}
stop_loss: {type: atr_fixed, indicator: atr, multiple: 2.0}
take_profit: {type: risk_reward, ratio: 1.5}
sizing: {method: kelly, fraction: 0.5, floor_pct: 0.25, cap_pct: 2.0, min_trades: 4,
         lookback_trades: 5, leverage: 3, max_notional_multiple: 2}
"""


def test_stop_target_and_kelly():
    spec = load_strategy(RR)
    stop, tgt, sz = StopRule(spec), TargetRule(spec), Sizer(spec)
    # long at 100 with ATR 1.5: stop 97, target 100 + 1.5 * 3 = 104.5; short mirrored
    assert stop.initial(1, 100.0, 1.5) == 97.0
    assert tgt.price(1, 100.0, math.nan, 97.0) == 104.5
    assert stop.initial(-1, 100.0, 1.5) == 103.0
    assert tgt.price(-1, 100.0, math.nan, 103.0) == 95.5
    assert sz.kelly_risk_pct() == 0.25  # floor before min_trades
    for pnl in (100.0, -50.0, 100.0):
        sz.record_trade(pnl)
    assert sz.kelly_risk_pct() == 0.25  # 3 < 4 trades
    sz.record_trade(-50.0)
    # W = 0.5, R = 100/50 = 2, K = 0.5 - 0.5/2 = 0.25 -> 0.5 * 0.25 * 100 = 12.5 % -> cap 2 %
    assert sz.kelly_risk_pct() == 2.0
    for pnl in (-50.0, -50.0, -50.0):  # last 5: [100, -50, -50, -50, -50]
        sz.record_trade(pnl)
    # W = 0.2, R = 2, K = 0.2 - 0.8/2 = -0.2 -> floor
    assert sz.kelly_risk_pct() == 0.25
    # quantity: equity 10 000, stop distance 3 -> 0.25 % -> 25 / 3 base units, under the cap
    assert sz.quantity(10_000.0, 100.0, 3.0, math.nan) == pytest.approx(25.0 / 3.0)
    # cap: 2 x equity / price
    assert sz.quantity(10_000.0, 100.0, 0.001, math.nan) == pytest.approx(200.0)


def test_trailing_stop_moves_one_way_and_resets():
    t = Trail(2.0)
    t.start(1, 100.0, 97.0)
    assert t.update(101.0, 99.0, 1.5) == 98.0  # best 101 - 3
    assert t.update(100.5, 98.5, 1.0) == 99.0  # best still 101, ATR shrank: 101 - 2
    assert t.update(100.0, 97.0, 2.0) is None  # 101 - 4 = 97 < 99: never loosens
    t.start(-1, 50.0, 52.0)  # next trade: fresh state
    assert (t.best, t.stop) == (50.0, 52.0)
    assert t.update(50.5, 49.0, 0.25) == 49.5
