"""JSON Schema (draft 2020-12) of the strategy language, for the dashboard's form generator.

Starts from the pydantic schema of :class:`~vibe_quant.dsl.models.StrategySpec` and tightens
what pydantic cannot express: the recursive condition item, and one ``oneOf`` branch per
indicator type with that type's parameters (types, ranges, defaults) and outputs.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from vibe_quant.core.intervals import INDICATOR_TIMEFRAMES
from vibe_quant.dsl.models import CONDITION_SCHEMA, PARAM_REF_SCHEMA, StrategySpec
from vibe_quant.dsl.registry import INDICATORS, PRICE_FIELDS

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _indicator_branch(type_name: str) -> dict[str, Any]:
    d = INDICATORS[type_name]
    props: dict[str, Any] = {
        "type": {"const": d.type, "title": d.title},
        "params": {
            "type": "object",
            "properties": {p.name: p.json_schema() for p in d.params},
            "additionalProperties": False,
        },
        "timeframe": {"enum": list(INDICATOR_TIMEFRAMES),
                      "description": "default: the strategy's timeframe; never lower"},
        "informative": {"type": "string",
                        "description": "name of an informative series: read that symbol's bars"},
        "description": {"type": "string"},
    }
    if d.takes_source:
        props["source"] = {"enum": list(PRICE_FIELDS), "default": d.default_source}
    return {
        "title": d.title,
        "type": "object",
        "properties": props,
        "required": ["type"],
        "additionalProperties": False,
        "x-outputs": list(d.output_names),
        "x-default-output": d.default_output,
        "x-warmup": d.warmup_text,
    }


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    schema = StrategySpec.model_json_schema()
    defs = schema.setdefault("$defs", {})
    defs["ParamRef"] = PARAM_REF_SCHEMA
    defs["ConditionItem"] = CONDITION_SCHEMA
    defs["Indicator"] = {
        "title": "Indicator",
        "description": "one indicator instance; the branch is chosen by 'type'",
        "oneOf": [_indicator_branch(t) for t in INDICATORS],
    }

    def swap(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("title") == "ConditionItem" and "anyOf" in node and "$ref" not in node:
                return {"$ref": "#/$defs/ConditionItem"}
            return {k: swap(v) for k, v in node.items()}
        if isinstance(node, list):
            return [swap(v) for v in node]
        return node

    for name in list(defs):
        if name != "ConditionItem":
            defs[name] = swap(defs[name])
    schema["properties"] = swap(schema["properties"])
    # shorthand forms the model accepts: `name: 30` for a parameter, one condition for a side
    schema["properties"]["parameters"]["additionalProperties"] = {
        "anyOf": [{"type": "number"}, {"$ref": "#/$defs/Parameter"}]
    }
    for side, model in (("long", "Sides"), ("short", "Sides"), ("long", "Pyramiding"),
                        ("short", "Pyramiding")):
        defs[model]["properties"][side] = {
            "anyOf": [{"$ref": "#/$defs/ConditionItem"}, {"type": "null"}],
            "description": f"{side} conditions: a list (all must hold) or a single condition",
        }
    schema["$schema"] = DIALECT
    schema["$id"] = "https://vibe-quant.local/schemas/strategy.json"
    schema["title"] = "vibe-quant strategy"
    return schema


def strategy_json_schema() -> dict[str, Any]:
    """The JSON Schema of a strategy file (a fresh copy each call)."""
    return copy.deepcopy(_schema())
