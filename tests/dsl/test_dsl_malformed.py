"""Each fixture in malformed/ lists its exact error diagnostics in '# expect:' comment lines."""

from __future__ import annotations

import json

import pytest

from vibe_quant.cli import main
from vibe_quant.dsl import StrategyError, load_strategy, validate_strategy

from .conftest import MALFORMED

FIXTURES = sorted(MALFORMED.glob("*.yaml"))


def _expected(path):
    return [line[len("# expect: "):].rstrip("\n")
            for line in path.read_text().splitlines() if line.startswith("# expect: ")]


def test_there_are_at_least_twelve_fixtures():
    assert len(FIXTURES) >= 12


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_gives_exactly_the_expected_errors(path):
    expected = _expected(path)
    assert expected, f"{path.name} has no '# expect:' lines"
    errors = [d for d in validate_strategy(path) if d.severity == "error"]
    assert [d.short() for d in errors] == expected
    for d in errors:
        assert d.file == str(path)
        assert d.line > 0 and d.column > 0  # every message is located


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_load_strategy_raises_with_all_diagnostics(path):
    with pytest.raises(StrategyError) as info:
        load_strategy(path)
    assert [d.short() for d in info.value.errors] == _expected(path)
    assert str(path) in str(info.value)


def test_cli_validate_reports_all_errors_and_exits_1(capsys):
    path = MALFORMED / "10_bad_sweep_range.yaml"
    rc = main(["strategy", "validate", str(path), "--json"])
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert rc == 1
    assert doc["ok"] is False and doc["errors"] == 3
    first = doc["diagnostics"][0]
    text = f"{first['line']}:{first['column']}: {first['path']}: {first['message']}"
    assert text.startswith('19:20: sweep["ema_fast.period"]: min (20)')
