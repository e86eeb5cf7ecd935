"""Sweep expansion, grid counts, parameter substitution."""

from __future__ import annotations

import pytest

from vibe_quant.dsl import (
    StrategyError,
    apply_params,
    current_values,
    load_strategy,
    sweep_grid,
    validate_strategy,
)
from vibe_quant.dsl.models import SweepRange
from vibe_quant.dsl.sweep import expand

from .conftest import MINIMAL, STRATEGIES


def test_expand_int_range_inclusive():
    assert expand(SweepRange(min=5, max=30, step=5)) == [5, 10, 15, 20, 25, 30]
    assert expand(SweepRange(min=5, max=29, step=5)) == [5, 10, 15, 20, 25]
    assert expand(SweepRange(min=3, max=3, step=1)) == [3]


def test_expand_float_range_has_no_drift():
    assert expand(SweepRange(min=0.1, max=0.3, step=0.1)) == [0.1, 0.2, 0.3]
    assert expand(SweepRange(min=1.5, max=3.0, step=0.5)) == [1.5, 2.0, 2.5, 3.0]
    assert expand(SweepRange(min=0.001, max=0.005, step=0.001)) == [0.001, 0.002, 0.003,
                                                                    0.004, 0.005]


def test_expand_list_keeps_order_and_drops_duplicates():
    assert expand([3, 1, 3, 2]) == [3, 1, 2]


def test_too_many_values_per_key():
    with pytest.raises(ValueError, match="limit"):
        expand(SweepRange(min=0, max=1_000_000, step=1))


@pytest.mark.parametrize("name,count", [
    ("ema_cross", 6 * 17),
    ("rsi_mtf", 4 * 4 * 3 * 3),
    ("bollinger_breakout", 3 * 3 * 4 * 4),
    ("donchian_atr", 5 * 3 * 3),
    ("macd_session", 2 * 3 * 2 * 3),
    ("stoch_adx", 3 * 3 * 5),
])
def test_example_grid_sizes(name, count):
    grid = sweep_grid(load_strategy(STRATEGIES / f"{name}.yaml"))
    assert len(grid) == count
    assert len({tuple(sorted(r.items())) for r in grid}) == count  # all distinct


def test_ema_cross_grid_is_at_least_100_and_ordered():
    grid = sweep_grid(load_strategy(STRATEGIES / "ema_cross.yaml"))
    assert len(grid) >= 100
    assert grid[0] == {"ema_fast.period": 5, "ema_slow.period": 40}
    assert grid[1] == {"ema_fast.period": 5, "ema_slow.period": 50}  # last key fastest
    assert grid[-1] == {"ema_fast.period": 30, "ema_slow.period": 200}


def test_no_sweep_gives_one_empty_row():
    assert sweep_grid(load_strategy(MINIMAL)) == [{}]


def test_parameter_sweeps_and_sweep_section_combine():
    spec = load_strategy(STRATEGIES / "rsi_mtf.yaml")
    row = sweep_grid(spec)[0]
    assert set(row) == {"$oversold", "$overbought", "rsi.period", "stop_loss.multiple"}


def test_apply_params_substitutes_every_kind_of_key():
    spec = load_strategy(STRATEGIES / "rsi_mtf.yaml")
    new = apply_params(spec, {"$oversold": 20, "rsi.period": 21, "stop_loss.multiple": 3.0,
                              "take_profit.ratio": 2.5, "sizing.risk_pct": 0.25,
                              "trend.period": 100})
    values = current_values(new)
    assert values["$oversold"] == 20
    assert values["rsi.period"] == 21
    assert values["trend.period"] == 100
    assert values["stop_loss.multiple"] == 3.0
    assert values["take_profit.ratio"] == 2.5
    assert values["sizing.risk_pct"] == 0.25
    assert new.param_value("$oversold") == 20
    assert new.rule("entry", "long") == spec.rule("entry", "long")  # ASTs re-attached
    assert current_values(spec)["rsi.period"] == 14  # original untouched


def test_apply_params_every_grid_row_validates():
    spec = load_strategy(STRATEGIES / "bollinger_breakout.yaml")
    for row in sweep_grid(spec):
        new = apply_params(spec, row)
        for key, value in row.items():
            assert current_values(new)[key] == value


def test_apply_params_rejects_dead_keys_and_bad_values():
    spec = load_strategy(STRATEGIES / "ema_cross.yaml")
    with pytest.raises(StrategyError, match="reaches nothing"):
        apply_params(spec, {"ema_fast.perod": 3})
    with pytest.raises(StrategyError, match="reaches nothing"):
        apply_params(spec, {"stop_loss.multiple": 3})  # stop is fixed_pct
    with pytest.raises(StrategyError, match="expected an integer"):
        apply_params(spec, {"ema_fast.period": 2.5})
    with pytest.raises(StrategyError, match="bad value 0"):
        apply_params(spec, {"ema_fast.period": 0})


def test_current_values_lists_registry_defaults():
    spec = load_strategy(STRATEGIES / "stoch_adx.yaml")
    values = current_values(spec)
    assert values["stoch.smooth"] == 3 and values["adx.period"] == 14
    assert values["sizing.leverage"] == 2
    assert values["take_profit.ratio"] == 2.0


def _errors(text):
    return [d for d in validate_strategy(text) if d.severity == "error"]


def test_sweep_of_unused_indicator_or_parameter_reaches_nothing():
    text = MINIMAL.replace("indicators:", "parameters:\n  idle: 3\nindicators:\n"
                           "  spare: {type: sma, params: {period: 5}}")
    text += "sweep:\n  spare.period: [5, 6]\n  $idle: [1, 2]\n"
    msgs = [d.message for d in _errors(text)]
    assert any("indicator 'spare' is not used" in m for m in msgs)
    assert any("parameter 'idle' is not used" in m for m in msgs)


def test_sweeping_a_value_bound_to_a_parameter_points_to_the_parameter():
    text = MINIMAL.replace("indicators:", "parameters:\n  n: 10\nindicators:").replace(
        "{period: 10}", "{period: $n}") + "sweep:\n  fast.period: [5, 6]\n"
    (d,) = _errors(text)
    assert "fast.period is set to $n" in d.message and d.expected == "sweep '$n' instead"


def test_swept_twice_is_an_error():
    text = MINIMAL.replace("indicators:", "parameters:\n  n: {default: 10, sweep: [5, 10]}\n"
                           "indicators:").replace("{period: 10}", "{period: $n}")
    assert not _errors(text)
    (d,) = _errors(text + "sweep:\n  $n: [5, 6]\n")
    assert "swept twice" in d.message


def test_parameter_sweep_values_must_fit_where_used():
    text = MINIMAL.replace("indicators:", "parameters:\n  n: {default: 10, sweep: [5, 0]}\n"
                           "indicators:").replace("{period: 10}", "{period: $n}")
    (d,) = _errors(text)
    assert d.path == "parameters.n.sweep" and "sweep value 0" in d.message


def test_grid_limit():
    text = MINIMAL + ("sweep:\n  fast.period: {min: 1, max: 2000, step: 1}\n"
                      "  slow.period: {min: 1, max: 1000, step: 1}\n")
    (d,) = _errors(text)
    assert "2000000 combinations" in d.message


def test_dump_strategy_round_trips_through_yaml_text():
    from vibe_quant.dsl import dump_strategy

    for name in ("macd_session", "stoch_adx", "rsi_mtf"):
        spec = load_strategy(STRATEGIES / f"{name}.yaml")
        row = sweep_grid(spec)[-1]
        new = apply_params(spec, row)
        again = load_strategy(dump_strategy(new))
        assert again.model_dump() == new.model_dump()
        assert again.rule("exit", "long") == new.rule("exit", "long")
        assert {k: current_values(again)[k] for k in row} == row
