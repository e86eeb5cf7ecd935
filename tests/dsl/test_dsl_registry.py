"""Indicator registry: coverage, metadata, and the Nautilus facts it records."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest

from vibe_quant.dsl.registry import INDICATORS, check_params, lookup

REQUIRED = {
    "sma": ("value",), "ema": ("value",), "wma": ("value",), "dema": ("value",),
    "hma": ("value",), "kama": ("value",), "rsi": ("value",),
    "macd": ("line", "signal", "histogram"), "stoch": ("k", "d"), "cci": ("value",),
    "roc": ("value",), "willr": ("value",), "adx": ("adx", "plus_di", "minus_di"),
    "aroon": ("up", "down", "osc"), "atr": ("value",),
    "bbands": ("upper", "middle", "lower", "width", "percent_b"),
    "keltner": ("upper", "middle", "lower"), "donchian": ("upper", "middle", "lower"),
    "obv": ("value",), "vwap": ("value",), "volume_sma": ("value",),
}


def test_required_indicators_and_outputs():
    for name, outputs in REQUIRED.items():
        assert INDICATORS[name].output_names == outputs


@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_metadata_is_complete(name):
    d = INDICATORS[name]
    assert d.impl in ("nautilus", "composite", "own")
    assert d.warmup_bars({}) >= 1
    assert d.default_output is None or d.default_output in d.output_names
    assert not check_params(d, {})  # defaults are valid
    for p in d.params:
        assert p.check(p.default) is None
    if d.impl != "own":
        assert d.nautilus_classes, "composite/nautilus entries must name their classes"


@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_named_nautilus_classes_exist(name):
    from nautilus_trader.core.nautilus_pyo3 import indicators

    for cls in INDICATORS[name].nautilus_classes:
        assert hasattr(indicators, cls), cls


def test_aliases_and_case():
    assert lookup("Bollinger") is INDICATORS["bbands"]
    assert lookup("DMI") is INDICATORS["adx"]
    assert lookup("nope") is None


def test_param_checks():
    macd = INDICATORS["macd"]
    assert [p.param for p in check_params(macd, {"fast": 30, "slow": 26})] == ["fast"]
    assert [p.kind for p in check_params(macd, {"fsat": 3})] == ["unknown-param"]
    assert check_params(INDICATORS["bbands"], {"stddev": 0})[0].expected == \
        "a number > 0.0 and <= 10.0"
    assert check_params(INDICATORS["rsi"], {"period": True})


def test_warmups():
    assert INDICATORS["macd"].warmup_bars({}) == 26 + 9 - 1
    assert INDICATORS["hma"].warmup_bars({"period": 16}) == 16 + 4 - 1
    assert INDICATORS["adx"].warmup_bars({"period": 14}) == 28


# -- Nautilus behaviour the registry notes depend on (fail loudly if an upgrade changes it) --

def _series(n=300, seed=1):
    rng = random.Random(seed)
    out, p = [], 100.0
    for _ in range(n):
        o = p
        c = p + rng.gauss(0, 1)
        h = max(o, c) + abs(rng.gauss(0, 0.5))
        lo = min(o, c) - abs(rng.gauss(0, 0.5))
        out.append((o, h, lo, c, rng.uniform(1, 10)))
        p = c
    return out


def test_nautilus_rsi_is_0_to_1_and_wilder_needs_explicit_ma_type():
    from nautilus_trader.core.nautilus_pyo3 import indicators as I

    bars = _series()
    closes = [b[3] for b in bars]
    n = 14
    gains = [max(b - a, 0) for a, b in pairwise(closes)]
    losses = [max(a - b, 0) for a, b in pairwise(closes)]
    ag, al = sum(gains[:n]) / n, sum(losses[:n]) / n
    for g, lo in zip(gains[n:], losses[n:]):
        ag, al = (ag * (n - 1) + g) / n, (al * (n - 1) + lo) / n
    textbook = 100 - 100 / (1 + ag / al)
    rsi = I.RelativeStrengthIndex(n, I.MovingAverageType.Wilder)
    for c in closes:
        rsi.update_raw(c)
    assert 0 <= rsi.value <= 1
    assert rsi.value * 100 == pytest.approx(textbook, abs=1e-6)


def test_nautilus_macd_default_is_simple_and_roc_is_off_by_one():
    from nautilus_trader.core.nautilus_pyo3 import indicators as I

    closes = [b[3] for b in _series()]
    macd_e = I.MovingAverageConvergenceDivergence(12, 26, I.MovingAverageType.Exponential)
    e12, e26 = I.ExponentialMovingAverage(12), I.ExponentialMovingAverage(26)
    for c in closes:
        macd_e.update_raw(c)
        e12.update_raw(c)
        e26.update_raw(c)
    assert macd_e.value == pytest.approx(e12.value - e26.value)
    roc = I.RateOfChange(10 + 1, False)
    for c in closes[:50]:
        roc.update_raw(c)
    assert roc.value == pytest.approx((closes[49] - closes[39]) / closes[39])


def test_nautilus_bollinger_averages_update_raw_typical_price():
    from nautilus_trader.core.nautilus_pyo3 import indicators as I

    closes = [b[3] for b in _series()]
    bb = I.BollingerBands(20, 2.0)
    for c in closes:
        bb.update_raw(c, c, c)
    assert bb.middle == pytest.approx(sum(closes[-20:]) / 20)
