"""Functions in conditions: parsing, validation (line:column), evaluation and domain rules.

Expected values are worked out by hand (e.g. tanh(2) for the inverse Fisher transform of
RSI 70: x = 0.1·(70 − 50) = 2, (e⁴ − 1)/(e⁴ + 1) = 0.96402758...).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from vibe_quant.dsl import expr as E
from vibe_quant.dsl import parse_condition, validate_strategy
from vibe_quant.dsl.grammar import ConditionSyntaxError
from vibe_quant.strategy.runtime import conditions as C

from .conftest import MINIMAL


class Ind:
    outputs = ("value",)

    def __init__(self, value=math.nan):
        self.value = value


def truth(text, x, params=None):
    price = SimpleNamespace(
        open=0.0, high=0.0, low=0.0, close=100.0, volume=0.0, hl2=0.0, hlc3=0.0, ohlc4=0.0
    )
    env = C.Env(price, {"x": Ind(x)}, params or {})
    return C.condition(parse_condition(text), env)()


def value(text, x):
    price = SimpleNamespace(close=100.0)
    env = C.Env(price, {"x": Ind(x)}, {})
    return C.operand(parse_condition(f"{text} > 0").left, env)()


def test_parse_into_call_nodes():
    node = parse_condition("abs(rsi - 50) > 20")
    assert node.left == E.Call("abs", (E.BinOp("-", E.IndicatorRef("rsi"), E.Number(50)),))
    assert E.to_text(node) == "(abs((rsi - 50)) > 20)"
    node = parse_condition("max(a, b.upper[2], $k * 2, close) < clip(x, -1, 1)")
    assert node.left.func == "max" and len(node.left.args) == 4
    assert [r.key for r in E.indicator_refs(node)] == ["a", "b.upper", "x"]
    assert [p.name for p in E.param_refs(node)] == ["k"]


@pytest.mark.parametrize(
    ("text", "x", "want"),
    [
        ("abs(x)", -3.5, 3.5),
        ("min(x, 2, 5)", 1.0, 1.0),
        ("max(x, 2, 5)", 1.0, 5.0),
        ("exp(x)", 0.0, 1.0),
        ("log(x)", math.e, 1.0),
        ("sqrt(x)", 16.0, 4.0),
        ("clip(x, 0, 100)", 150.0, 100.0),
        ("clip(x, 0, 100)", -5.0, 0.0),
        ("clip(x, 0, 100)", 42.0, 42.0),
        ("max(abs(x - 50), 3) / 2", 44.0, 3.0),
        ("(exp(2 * 0.1 * (x - 50)) - 1) / (exp(2 * 0.1 * (x - 50)) + 1)", 70.0, 0.9640275800758169),
    ],
)
def test_values(text, x, want):
    assert value(text, x) == pytest.approx(want, rel=1e-15)


@pytest.mark.parametrize(
    "text",
    [
        "log(x) < 1e9",
        "log(x) > -1e9",  # x = 0: undefined
        "sqrt(x - 1) < 1e9",  # sqrt(-1)
        "min(x, log(x)) < 1e9",
        "max(x, log(x)) > -1e9",
        "clip(log(x), 0, 1) >= 0",
        "abs(log(x)) >= 0",
    ],
)
def test_domain_errors_are_nan_and_make_the_comparison_false(text):
    assert truth(text, 0.0) is False
    assert truth(f"not ({text})", 0.0) is True


def test_exp_overflow_is_infinite_not_an_error():
    assert truth("exp(x) > 1e300", 1000.0) is True
    assert value("exp(x)", 1000.0) == math.inf


def test_inverse_fisher_rsi_thresholds():
    f = "(exp(2 * 0.1 * (x - 50)) - 1) / (exp(2 * 0.1 * (x - 50)) + 1)"
    assert truth(f"{f} > 0.964", 70.0) and not truth(f"{f} > 0.9641", 70.0)


@pytest.mark.parametrize(
    ("cond", "message", "col"),
    [
        ("ab(fast) > 3", "unknown function 'ab' (did you mean 'abs'?)", 1),
        ("fast > ln(slow)", "unknown function 'ln' (did you mean 'log'?)", 8),
        (
            "fast > Max(slow, 3)",
            "unknown function 'Max' (did you mean 'max'? function names are lower case)",
            8,
        ),
        (
            "ema(close, 20) > fast",
            "unknown function 'ema'; 'ema' is an indicator type: declare it under indicators",
            1,
        ),
        ("foo(fast) > 3", "unknown function 'foo' (expected one of the functions abs, min, max", 1),
        ("abs(fast, slow) > 3", "abs() takes 1 argument, got 2", 1),
        ("fast > min(slow)", "min() takes at least 2 arguments, got 1", 8),
        ("clip(fast, 1) > 3", "clip() takes 3 arguments, got 2", 1),
        ("log(0) < fast", "log(0.0) is undefined: log needs a positive argument", 1),
        ("sqrt(-4) < fast", "sqrt(-4.0) is undefined: sqrt needs an argument >= 0", 1),
        ("clip(fast, 5, 1) > 3", "clip bounds are in the wrong order: lo (5.0) > hi (1.0)", 1),
    ],
)
def test_validation_errors_have_line_and_column(cond, message, col):
    text = MINIMAL.replace("long: [fast crosses_above slow]", f'long: ["{cond}"]')
    line = text.splitlines().index(f'  long: ["{cond}"]') + 1
    errs = [d for d in validate_strategy(text) if d.severity == "error"]
    assert len(errs) == 1, errs
    d = errs[0]
    assert message in str(d)
    assert (d.line, d.column) == (line, len('  long: ["') + col)
    assert d.path == "entry.long[0]"


def test_valid_functions_validate_and_unknown_arity_raise_in_parser():
    text = MINIMAL.replace(
        "long: [fast crosses_above slow]",
        'long: ["abs(fast - slow) / slow > 0.001", "max(fast, slow) > 0"]',
    )
    assert [d for d in validate_strategy(text) if d.severity == "error"] == []
    with pytest.raises(ConditionSyntaxError) as exc:
        parse_condition("exp() > 1")
    assert exc.value.code == "bad-arity" and exc.value.offset == 0


NEW_INDICATORS = """
name: new_indicators
timeframe: 1h
parameters: {m: {default: 3, sweep: [2, 3]}}
indicators:
  st: {type: supertrend, params: {period: 10, multiplier: $m}}
  ps: {type: sar}
  t: {type: tema, params: {period: 9}}
  f: {type: mfi}
  s: {type: stochrsi, params: {smooth: 1}}
  mo: {type: mom, params: {period: 5}}
entry:
  long: ["abs(close - st) > 1", "st.direction crosses_above 0", "close > ps", "t > close[1]"]
  short: ["f > 80", "s.d > 80", "mo < 0"]
sizing: {method: fixed_notional, notional: 100}
sweep: {st.period: [7, 10], ps.maximum: [0.1, 0.2], s.stoch_period: [5, 14]}
"""


def test_new_indicators_are_in_the_schema_and_sweepable():
    import jsonschema
    import yaml

    from vibe_quant.dsl import apply_params, load_strategy, strategy_json_schema, sweep_grid

    jsonschema.validate(yaml.safe_load(NEW_INDICATORS), strategy_json_schema())
    spec = load_strategy(NEW_INDICATORS)
    rows = sweep_grid(spec)
    assert len(rows) == 2 * 2 * 2 * 2
    row = {"$m": 2, "st.period": 7, "ps.maximum": 0.1, "s.stoch_period": 5}
    new = apply_params(spec, row)
    assert new.indicator_params("st") == {"period": 7, "multiplier": 2}
    assert new.indicator_params("ps") == {"acceleration": 0.02, "maximum": 0.1}
    assert new.indicator_params("s")["stoch_period"] == 5
    bad = NEW_INDICATORS.replace("{type: sar}", "{type: psar, params: {acceleration: 0.5}}")
    errs = [str(d) for d in validate_strategy(bad) if d.severity == "error"]
    assert any("acceleration (0.5) must not exceed maximum (0.2)" in e for e in errs)
