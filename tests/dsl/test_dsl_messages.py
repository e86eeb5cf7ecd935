"""Error messages that misled a new user (issue 14), each with its corrected wording."""

from __future__ import annotations

import pytest

from vibe_quant.cli import main
from vibe_quant.dsl import load_strategy, validate_strategy
from vibe_quant.dsl.errors import StrategyError
from vibe_quant.dsl.registry import ALIASES, INDICATORS, NOT_AVAILABLE
from vibe_quant.strategy.compiler import compile_strategy

from .conftest import MINIMAL, STRATEGIES


def errors(text):
    return [str(d) for d in validate_strategy(text) if d.severity == "error"]


def test_tema_is_an_indicator_now_not_a_typo_of_ema():
    text = MINIMAL.replace(
        "fast: {type: ema, params: {period: 10}}", "fast: {type: tema, params: {period: 10}}"
    )
    assert errors(text) == []
    assert load_strategy(text).indicators["fast"].type == "tema"


@pytest.mark.parametrize("name", ["trima", "vwma", "zlema", "t3", "ht_sine", "TRIMA", "cmo"])
def test_other_libraries_indicators_get_no_different_indicator_suggested(name):
    text = MINIMAL.replace("fast: {type: ema,", f"fast: {{type: {name},")
    (err,) = [e for e in errors(text) if "indicators.fast.type" in e]
    assert f"unknown indicator type '{name}': '{name.lower()}' (" in err
    assert "is not available in vibe-quant" in err
    assert "did you mean" not in err


def test_near_spellings_still_get_a_suggestion():
    text = MINIMAL.replace("fast: {type: ema,", "fast: {type: supertrnd,")
    assert any("did you mean 'supertrend'?" in e for e in errors(text))


def test_not_available_names_are_not_ours():
    ours = set(INDICATORS) | set(ALIASES)
    assert not ours & set(NOT_AVAILABLE)


def test_quoted_number_is_called_a_quoted_string():
    text = MINIMAL.replace("{period: 10}", '{period: "14"}')
    (err,) = errors(text)
    assert (
        "4:38: error: indicators.fast.params.period: '14' is a quoted string; write 14 "
        "without quotes" in err
    )
    text = MINIMAL.replace("pct: 1.0}", 'pct: "1.5"}')
    assert any(
        "stop_loss.pct: '1.5' is a quoted string; write 1.5 without quotes" in e
        for e in errors(text)
    )


def test_abs_works_and_shift_suggests_lookback():
    text = MINIMAL.replace("long: [fast crosses_above slow]", 'long: ["abs(fast - slow) > 5"]')
    assert errors(text) == []
    text = MINIMAL.replace("long: [fast crosses_above slow]", 'long: ["fast.shift(1) < slow"]')
    (err,) = errors(text)
    assert (
        "method calls are not supported ('fast.shift(...)'); write fast[1] for the value "
        "1 bar ago" in err
    )
    assert err.startswith("<string>:7:11: ")  # line 7, the column of 'fast'


@pytest.mark.parametrize(
    ("word", "want"),
    [
        ("crossed_above", "crosses_above"),
        ("crossed_below", "crosses_below"),
        ("crossover", "crosses_above"),
        ("crosses_abve", "crosses_above"),
    ],
)
def test_qtpylib_cross_spelling_gets_did_you_mean(word, want):
    text = MINIMAL.replace("long: [fast crosses_above slow]", f"long: [fast {word} slow]")
    (err,) = errors(text)
    assert f"found '{word}' (did you mean '{want}'?)" in err


def test_upper_case_timeframe_gets_case_hint():
    text = MINIMAL.replace("timeframe: 5m", "timeframe: 1H")
    (err,) = errors(text)
    assert "invalid value '1H' for 'timeframe' (timeframes are lower-case: 1h)" in err
    text = MINIMAL.replace("{period: 40}}", "{period: 40}, timeframe: 4H}")
    (err,) = errors(text)
    assert "(timeframes are lower-case: 4h)" in err


PARAM_YAML = MINIMAL.replace(
    "timeframe: 5m\n", "timeframe: 5m\nparameters: {fast_len: 10}\n"
).replace("{period: 10}", "{period: $fast_len}")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"fast.perod": 5},
            "override 'fast.perod=5' reaches nothing: ema has no parameter "
            "'perod' (did you mean 'period'?)",
        ),
        (
            {"fastlen": 5},
            "override 'fastlen=5' reaches nothing: no parameter or indicator field "
            "'fastlen' (did you mean '$fast_len'?)",
        ),
        (
            {"fast_len": 20.5},
            "override '$fast_len=20.5': bad value 20.5 for indicators.fast.params.period",
        ),
        ({"slow.period": 0}, "override 'slow.period=0': bad value 0 for ema.period"),
    ],
)
def test_param_overrides_use_override_wording(params, message):
    cs = compile_strategy(PARAM_YAML)
    with pytest.raises(StrategyError) as exc:
        cs.resolve(params)
    (d,) = exc.value.errors
    assert message in d.message
    assert "sweep key" not in d.message and "default" not in d.message


def test_cli_bad_param_says_override_with_did_you_mean(tmp_path, capsys):
    rc = main(
        [
            "backtest",
            str(STRATEGIES / "ema_cross.yaml"),
            "--symbol",
            "BTCUSDT",
            "--start",
            "2024-01-01",
            "--end",
            "2024-01-31",
            "--param",
            "ema_fast.perod=5",
            "--data-dir",
            str(tmp_path),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "override 'ema_fast.perod=5' reaches nothing" in err
    assert "did you mean 'period'?" in err


def test_failed_condition_does_not_add_unused_errors():
    text = MINIMAL.replace(
        "timeframe: 5m\n", "timeframe: 5m\nparameters: {k: {default: 1, sweep: [1, 2]}}\n"
    ).replace("long: [fast crosses_above slow]", 'long: ["fast.shift(1) > slow * $k"]')
    (err,) = errors(text)
    assert "method calls" in err
