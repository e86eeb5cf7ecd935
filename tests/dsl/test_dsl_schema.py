"""JSON Schema export is a valid draft 2020-12 schema that accepts the examples."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from vibe_quant.cli import main
from vibe_quant.dsl import strategy_json_schema
from vibe_quant.dsl.registry import INDICATORS

from .conftest import EXAMPLES, STRATEGIES


@pytest.fixture(scope="module")
def validator():
    schema = strategy_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_is_valid_and_json_serialisable(validator):
    schema = strategy_json_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    json.dumps(schema)
    branches = schema["$defs"]["Indicator"]["oneOf"]
    assert {b["properties"]["type"]["const"] for b in branches} == set(INDICATORS)


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_conform_to_schema(validator, name):
    data = yaml.safe_load((STRATEGIES / f"{name}.yaml").read_text())
    errors = list(validator.iter_errors(data))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("mutate", [
    lambda d: d.update(timeframe="3m"),
    lambda d: d.update(stop_loss={"type": "trailing_pct", "pct": 1}),
    lambda d: d["indicators"]["ema_fast"]["params"].update(foo=1),
    lambda d: d["indicators"]["ema_fast"]["params"].update(period=0),
    lambda d: d["indicators"]["ema_fast"].update(type="emaa"),
    lambda d: d.update(unknown_field=1),
    lambda d: d["sizing"].update(risk_pct=-1),
    lambda d: d["entry"].update(long=[{"anyy": ["a > b"]}]),
    lambda d: d["sweep"].update({"ema_fast.period": {"min": 1, "max": 2}}),
])
def test_schema_rejects_bad_documents(validator, mutate):
    data = yaml.safe_load((STRATEGIES / "ema_cross.yaml").read_text())
    mutate(data)
    assert list(validator.iter_errors(data))


def test_cli_schema_prints_the_schema(capsys):
    assert main(["strategy", "schema"]) == 0
    assert json.loads(capsys.readouterr().out) == strategy_json_schema()
