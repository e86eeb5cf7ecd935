"""Condition grammar: precedence, between, any/all nesting, $parameters, look-backs, errors."""

from __future__ import annotations

import pytest

from vibe_quant.dsl import expr as E
from vibe_quant.dsl import load_strategy, parse_condition, validate_strategy
from vibe_quant.dsl.expr import to_text
from vibe_quant.dsl.grammar import ConditionSyntaxError, tokenize


@pytest.mark.parametrize("text,canonical", [
    ("a > b", "(a > b)"),
    ("a > b and c < d or e >= f", "(((a > b) and (c < d)) or (e >= f))"),
    ("a > b or c < d and e >= f", "((a > b) or ((c < d) and (e >= f)))"),
    ("not a > b and c < d", "((not (a > b)) and (c < d))"),
    ("not (a > b and c < d)", "(not ((a > b) and (c < d)))"),
    ("(a > b or c < d) and e <= f", "(((a > b) or (c < d)) and (e <= f))"),
    ("a + b * c > d - e / f", "((a + (b * c)) > (d - (e / f)))"),
    ("(a + b) * c > 1", "(((a + b) * c) > 1)"),
    ("a - b - c > 0", "(((a - b) - c) > 0)"),
    ("a / b / c > 0", "(((a / b) / c) > 0)"),
    ("-a > -2", "((-a) > -2)"),
    ("- -a > 0", "((-(-a)) > 0)"),
    ("close > ema * 1.01", "(close > (ema * 1.01))"),
    ("(high + low) / 2 > dc.upper[1]", "(((high + low) / 2) > dc.upper[1])"),
    ("rsi between 30 70", "(rsi between 30 70)"),
    ("rsi between 30 and 70", "(rsi between 30 70)"),
    ("rsi between $lo $hi and close > 1", "((rsi between $lo $hi) and (close > 1))"),
    ("rsi between $lo - 5 $hi + 5", "(rsi between ($lo - 5) ($hi + 5))"),
    ("macd.line crosses_above macd.signal", "(macd.line crosses_above macd.signal)"),
    ("close crosses_below bb.lower", "(close crosses_below bb.lower)"),
    ("close[2] > close[1] and close[1] > close", "((close[2] > close[1]) and (close[1] > close))"),
    ("x > 1.5e-3", "(x > 0.0015)"),
    ("x > .5", "(x > 0.5)"),
])
def test_precedence_and_forms(text, canonical):
    assert to_text(parse_condition(text)) == canonical


def test_ast_types():
    node = parse_condition("rsi < $oversold")
    assert node == E.Compare("<", E.IndicatorRef("rsi"), E.ParamRef("oversold"))
    node = parse_condition("close crosses_above dc.upper[1]")
    assert node == E.Cross("above", E.PriceRef("close"), E.IndicatorRef("dc", "upper", 1))
    node = parse_condition("rsi between 30 70")
    assert node == E.Between(E.IndicatorRef("rsi"), E.Number(30), E.Number(70))
    node = parse_condition("not hl2 > 3")
    assert isinstance(node, E.Not) and node.item.left == E.PriceRef("hl2")
    assert isinstance(parse_condition("a > 1 or b > 2"), E.AnyOf)
    assert isinstance(parse_condition("a > 1 and b > 2"), E.All)


def test_spans_point_into_the_text():
    text = "ema_fast crosses_above ema_slow"
    node = parse_condition(text)
    assert text[slice(*node.right.span)] == "ema_slow"


@pytest.mark.parametrize("text,offset,fragment", [
    ("a < b < c", 6, "comparisons do not chain"),
    ("a >", 3, "expected an operand"),
    ("a == b", 2, "'==' is not supported"),
    ("a = b", 2, "'=' is not an operator"),
    ("a => b", 2, "write '>='"),
    ("a && b", 2, "write 'and'"),
    ("rsi between 30", 14, "expected an operand"),
    ("", 0, "empty condition"),
    ("(a > b", 6, "expected ')'"),
    ("a > b)", 5, "unexpected ')'"),
    ("1abc > 2", 0, "malformed number"),
    ("macd. > 1", 6, "output name"),
    ("close[x] > 1", 6, "whole number of bars"),
    ("close[5000] > 1", 6, "too far"),
    ("a crosses b", 2, "expected a comparison"),
    ("and > 1", 0, "keyword 'and' cannot be used"),
    ("$ > 1", 0, "'$' must be followed"),
    ("a > b ; c", 6, "unexpected character"),
    ("__import__('os').system('x') > 1", 11, "unexpected character"),
    ("a > " + "(" * 30 + "b" + ")" * 30, 24, "nested parentheses"),
])
def test_syntax_errors_have_offsets(text, offset, fragment):
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition(text)
    assert fragment in info.value.message
    assert info.value.offset == offset


@pytest.mark.parametrize("n", [10, 450, 499])
def test_deep_not_chain_never_crashes(n):
    text = "not " * n + "a>b"
    try:
        node = parse_condition(text)
    except ConditionSyntaxError as exc:  # too deep for the parser: a clean syntax error
        assert "nested too deeply" in exc.message
    else:
        depth = 0
        while isinstance(node, E.Not):
            node, depth = node.item, depth + 1
        assert depth == n


def test_keywords_are_tokens():
    kinds = [t.kind for t in tokenize("a crosses_above b and not c between 1 2")]
    assert kinds == ["IDENT", "KW", "IDENT", "KW", "KW", "IDENT", "KW", "NUM", "NUM", "END"]


YAML_ANY = """\
name: nest
timeframe: 5m
parameters:
  lo: 30
  hi: 70
indicators:
  rsi: {type: rsi}
  macd: {type: macd}
  bb: {type: bbands}
entry:
  long:
    - rsi between $lo $hi
    - any:
        - macd crosses_above macd.signal
        - all:
            - close < bb.lower
            - any: [rsi < $lo, "macd.histogram > 0 and close > bb.middle"]
        - [volume > 0, close > open]
exit:
  long: ["rsi > $hi or close > bb.upper"]
stop_loss: {type: fixed_pct, pct: 1}
sizing: {method: fixed_notional, notional: 500}
"""


def test_any_all_nesting_from_yaml():
    spec = load_strategy(YAML_ANY)
    rule = spec.rule("entry", "long")
    assert to_text(rule) == (
        "((rsi.value between $lo $hi) and "
        "((macd.line crosses_above macd.signal) or "
        "((close < bb.lower) and ((rsi.value < $lo) or "
        "((macd.histogram > 0) and (close > bb.middle)))) or "
        "((volume > 0) and (close > open))))"
    )
    assert to_text(spec.rule("exit", "long")) == "(((rsi.value > $hi) or (close > bb.upper)))"
    assert spec.rule("entry", "short") is None


def test_bare_reference_gets_default_output_and_errors_are_located():
    bad = YAML_ANY.replace("- macd crosses_above macd.signal", "- macd crosses_above macd.sgnal")
    diags = [d for d in validate_strategy(bad) if d.severity == "error"]
    expected = ("14:35: entry.long[1].any[0]: unknown output 'sgnal' of macd "
                "(did you mean 'signal'?) (expected one of macd.line, macd.signal, macd.histogram)")
    assert [d.short() for d in diags] == [expected]


def test_quoted_condition_columns():
    text = YAML_ANY.replace('"macd.histogram > 0 and close > bb.middle"',
                            '"macd.histogram > 0 and close > bb.mid"')
    diags = [d for d in validate_strategy(text) if d.severity == "error"]
    assert len(diags) == 1
    line = text.splitlines()[diags[0].line - 1]
    assert line[diags[0].column - 1:].startswith("mid")
    assert diags[0].path == "entry.long[1].any[1].all[1].any[1]"


def test_constants_only_conditions_are_rejected():
    text = YAML_ANY.replace("- rsi between $lo $hi", "- 1 crosses_above $lo")
    diags = [d for d in validate_strategy(text) if d.severity == "error"]
    assert len(diags) == 1 and "needs a price or indicator" in diags[0].message
