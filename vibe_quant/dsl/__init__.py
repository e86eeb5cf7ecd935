"""Strategy DSL: YAML language, safe loader, indicator registry, condition grammar, validation.

Public API::

    load_strategy(path_or_text, *, file=None) -> StrategySpec      # raises StrategyError
    validate_strategy(path_or_text, *, file=None) -> list[Diagnostic]
    validate_data(dict, *, file="<data>") -> StrategySpec            # raises StrategyError
    sweep_grid(spec) -> list[dict[str, int | float]]                 # full Cartesian grid
    apply_params(spec, {key: value}) -> StrategySpec                 # substituted + re-validated
    current_values(spec) -> dict[str, int | float]                   # every sweepable value
    strategy_json_schema() -> dict                                   # JSON Schema 2020-12
    parse_condition(text) -> expr.Condition                          # raises ConditionSyntaxError
    warmup_bars(spec) -> int                                         # base bars before all valid
    dump_strategy(spec) -> str                                       # YAML that loads back equal

Units: every field ending in ``_pct`` is a percent (1.5 = 1.5 %); ``multiple``/``ratio``/
``leverage``/``max_notional_multiple``/Kelly ``fraction`` are multipliers; ``notional`` is quote
currency; times are HH:MM UTC.  See docs/dsl.md.
"""

from vibe_quant.dsl import expr
from vibe_quant.dsl.api import dump_strategy, load_strategy, validate_data, validate_strategy
from vibe_quant.dsl.errors import Diagnostic, StrategyError
from vibe_quant.dsl.grammar import ConditionSyntaxError, parse_condition
from vibe_quant.dsl.models import StrategySpec
from vibe_quant.dsl.overrides import apply_params
from vibe_quant.dsl.registry import INDICATORS, IndicatorDef, lookup
from vibe_quant.dsl.schema import strategy_json_schema
from vibe_quant.dsl.sweep import current_values, live_names, sweep_grid
from vibe_quant.dsl.warmup import warmup_bars

__all__ = [
    "INDICATORS",
    "ConditionSyntaxError",
    "Diagnostic",
    "IndicatorDef",
    "StrategyError",
    "StrategySpec",
    "apply_params",
    "current_values",
    "dump_strategy",
    "expr",
    "live_names",
    "load_strategy",
    "lookup",
    "parse_condition",
    "strategy_json_schema",
    "sweep_grid",
    "validate_data",
    "validate_strategy",
    "warmup_bars",
]
