"""The six example strategies validate and say what they claim."""

from __future__ import annotations

import pytest

from vibe_quant.dsl import expr as E
from vibe_quant.dsl import load_strategy, validate_strategy, warmup_bars
from vibe_quant.dsl.expr import to_text

from .conftest import EXAMPLES, STRATEGIES


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_validates_cleanly(name):
    path = STRATEGIES / f"{name}.yaml"
    assert path.exists()
    assert validate_strategy(path) == []  # no errors and no warnings
    spec = load_strategy(path)
    assert spec.name == name and spec.timeframe == "5m"
    assert spec.rule("entry", "long") is not None and spec.rule("entry", "short") is not None
    assert warmup_bars(spec) > 0


def test_ema_cross():
    spec = load_strategy(STRATEGIES / "ema_cross.yaml")
    assert to_text(spec.rule("entry", "long")) == \
        "((ema_fast.value crosses_above ema_slow.value))"
    assert to_text(spec.rule("entry", "short")) == \
        "((ema_fast.value crosses_below ema_slow.value))"
    assert set(spec.sweep) == {"ema_fast.period", "ema_slow.period"}


def test_rsi_mtf_has_a_4h_trend_filter():
    spec = load_strategy(STRATEGIES / "rsi_mtf.yaml")
    assert spec.indicators["trend"].timeframe == "4h"
    assert spec.indicators["trend"].type == "ema"
    refs = {r.name for r in E.indicator_refs(spec.rule("entry", "long"))}
    assert {"rsi", "trend"} <= refs
    assert warmup_bars(spec) == (50 * 48) + 48  # 50 four-hour bars + one for alignment


def test_bollinger_breakout_uses_an_atr_trailing_stop():
    spec = load_strategy(STRATEGIES / "bollinger_breakout.yaml")
    assert spec.stop_loss.type == "atr_trailing"
    assert spec.indicators[spec.stop_loss.indicator].type == "atr"


def test_donchian_uses_previous_bar_channel():
    spec = load_strategy(STRATEGIES / "donchian_atr.yaml")
    refs = E.indicator_refs(spec.rule("entry", "long"))
    assert E.IndicatorRef("breakout", "upper", 1) in refs


def test_macd_session_filters():
    spec = load_strategy(STRATEGIES / "macd_session.yaml")
    tf = spec.time_filters
    assert tf.funding_blackout_minutes == 15
    assert tf.blocked_weekdays == ["sat", "sun"]
    assert any(s.minutes()[0] > s.minutes()[1] for s in tf.sessions)  # crosses midnight
    late = next(s for s in tf.sessions if s.start == "23:00")
    assert late.contains(23 * 60 + 30) and late.contains(30) and not late.contains(60)
    assert spec.sizing.method == "kelly"


def test_stoch_adx_uses_risk_reward():
    spec = load_strategy(STRATEGIES / "stoch_adx.yaml")
    assert spec.take_profit.type == "risk_reward" and spec.stop_loss is not None
    outputs = {r.key for r in E.indicator_refs(spec.rule("entry", "long"))}
    assert {"adx.adx", "adx.plus_di", "adx.minus_di", "stoch.k", "stoch.d"} <= outputs


def test_load_from_text_equals_load_from_path():
    path = STRATEGIES / "macd_session.yaml"
    a = load_strategy(path)
    b = load_strategy(path.read_text())
    assert a.model_dump() == b.model_dump()
    assert a.rule("entry", "long") == b.rule("entry", "long")
