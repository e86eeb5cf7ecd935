"""Conditions evaluated for all bars before the run (issue 15,
:mod:`vibe_quant.strategy.runtime.vector`): the same truths as the bar-by-bar evaluator
(:mod:`vibe_quant.strategy.runtime.conditions`) on hand-worked bars, indicator arrays equal to
Nautilus's own indicator fed the closes, and every shipped strategy filling identically both
ways on real BTCUSDT bars."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from nautilus_trader.core.nautilus_pyo3 import indicators as NI

from vibe_quant.backtest.run import BacktestSession, to_ns
from vibe_quant.dsl import parse_condition
from vibe_quant.strategy.compiler import compile_strategy
from vibe_quant.strategy.runtime import vector as V

ROOT = Path(__file__).resolve().parents[2]
NAN = math.nan


def _bars(close, high=None, low=None):
    c = np.asarray(close, dtype=float)
    h = np.asarray(high if high is not None else c, dtype=float)
    lo = np.asarray(low if low is not None else c, dtype=float)
    ts = np.arange(1, len(c) + 1, dtype=np.int64) * 300_000_000_000
    return V.BarArrays(ts, c, h, lo, c, np.ones(len(c)))


def _truth(text, bars, first=0, params=None):
    env = V.VectorEnv(bars, {}, {}, params or {}, first)
    return V.condition(parse_condition(text), env).tolist()


def test_truths_worked_by_hand():
    b = _bars([1.0, 2.0, 3.0, 2.0, 4.0, 2.0])
    # a crosses_above b: previous bar a <= b and now a > b; never on the first decided bar
    assert _truth("close crosses_above 2.5", b) == [False, False, True, False, True, False]
    assert _truth("close crosses_below 2.5", b) == [False, False, False, True, False, True]
    # first decided bar = 2: the cross at bar 2 has no previous decided values
    assert _truth("close crosses_above 2.5", b, first=2) == [False] * 4 + [True, False]
    # x[n]: n bars earlier, NaN (false) before
    assert _truth("close > close[1]", b) == [False, True, True, False, True, False]
    assert _truth("close[2] >= 2", b) == [False, False, False, True, True, True]
    # x / 0 is NaN: false either way; not() of a NaN comparison is true
    assert _truth("close / (close - 2) > 0", b) == [False, False, True, False, True, False]
    assert _truth("close / (close - 2) <= 0", b) == [True, False, False, False, False, False]
    assert _truth("not (close[1] > 1)", b) == [True, True, False, False, False, False]
    # between, and/or, parameters, functions
    assert _truth("close between 2 3", b) == [False, True, True, True, False, True]
    assert _truth("close > $k and close < 4", b, params={"k": 1.5}) == [
        False, True, True, True, False, True]
    assert _truth("log(close - 2) >= 0 or close < 1.5", b) == [True, False, True, False,
                                                               True, False]
    assert _truth("max(close, 3) > 3", b) == [False, False, False, False, True, False]


def test_hl2_hlc3_and_nan_bars():
    b = _bars([10.0, NAN, 12.0], high=[11.0, 11.0, 13.0], low=[9.0, 9.0, 11.0])
    # hl2 = (h + l) / 2 = 10, 10, 12; hlc3 = (11 + 9 + 10) / 3 = 10, NaN, 12
    assert _truth("hl2 >= 10", b) == [True, True, True]
    assert _truth("hlc3 >= 10", b) == [True, False, True]
    assert _truth("close crosses_above 11", b) == [False, False, False]  # NaN before


def test_agrees_with_the_bar_by_bar_evaluator(btc_jan_arrays):
    """Random-ish conditions over real January 2024 closes: the array truth equals stepping
    :func:`conditions.condition`'s closures bar by bar (an independent implementation)."""
    from types import SimpleNamespace

    from vibe_quant.strategy.runtime import conditions as C

    a = btc_jan_arrays
    bars = V.BarArrays(a["ts"], a["open"], a["high"], a["low"], a["close"], a["volume"])
    texts = ["close crosses_above close[3]", "close / (high - low) > 3000",
             "(close - open) * 2 < -(high - low) and volume > 100",
             "close[1] crosses_below hl2 or abs(close - open) between 5 20"]
    for text in texts:
        got = _truth(text, bars, first=0)
        px = SimpleNamespace(open=NAN, high=NAN, low=NAN, close=NAN, volume=NAN, hl2=NAN,
                             hlc3=NAN, ohlc4=NAN)
        env = C.Env(px, {}, {})
        pred = C.condition(parse_condition(text), env)
        want = []
        for i in range(len(a["close"])):
            for f in ("open", "high", "low", "close", "volume"):
                setattr(px, f, float(a[f][i]))
            px.hl2 = (px.high + px.low) / 2.0
            for f, ring in env.price_rings.items():
                ring.push(getattr(px, f))
            for s in env.crosses.values():
                s.shift()
            want.append(bool(pred()))
        assert got == want, text
        assert 0 < sum(got) < len(got), text  # the condition is not constant on these bars


def test_indicator_arrays_equal_nautilus_and_are_cached(btc_jan_arrays):
    a = btc_jan_arrays
    bars = V.BarArrays(a["ts"], a["open"], a["high"], a["low"], a["close"], a["volume"])
    V.clear_cache()
    got = V.indicator_arrays(bars, "ema", {"period": 21}, "close")
    ema = NI.ExponentialMovingAverage(21)
    want = []
    for c in a["close"].tolist():
        ema.update_raw(c)
        want.append(ema.value)
    assert got["value"].tolist() == want
    assert V.indicator_arrays(bars, "ema", {"period": 21}, "close") is got  # cached
    assert V.indicator_arrays(bars, "ema", {"period": 22}, "close") is not got


SHIPPED = sorted(p.name for p in (ROOT / "strategies").glob("*.yaml"))
NOT_VECTOR = {"rsi_mtf.yaml"}  # reads a higher timeframe: evaluated bar by bar


@pytest.fixture(scope="module")
def md(btc_2024_md):
    return btc_2024_md.slice(to_ns("2024-02-01"), to_ns("2024-05-31", end=True))


def _run(md, compiled, monkeypatch, bar_by_bar):
    if bar_by_bar:
        monkeypatch.setenv("VIBE_QUANT_BAR_BY_BAR", "1")
    else:
        monkeypatch.delenv("VIBE_QUANT_BAR_BY_BAR", raising=False)
    s = BacktestSession(md, trade_start_ns=to_ns("2024-03-01"), leverage=compiled.leverage())
    try:
        res = s.run(compiled, {})
        return res, s._strategy._rt.vector is not None
    finally:
        s.dispose()


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_strategies_fill_as_bar_by_bar(md, name, monkeypatch):
    compiled = compile_strategy(ROOT / "strategies" / name)
    vec, used = _run(md, compiled, monkeypatch, False)
    bar, used_bar = _run(md, compiled, monkeypatch, True)
    assert used == (name not in NOT_VECTOR) and not used_bar
    assert len(vec.fills) >= 10
    assert vec.fills == bar.fills  # every field
    assert vec.orders == bar.orders
    assert vec.denied == bar.denied
    assert vec.engine_balance == bar.engine_balance
