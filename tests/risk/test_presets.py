"""Sizing/risk presets: YAML -> SQLite -> applied by name (breaker config + DSL sizing
override), the CLI, and the same breaker behaviour when applied from a stored preset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from vibe_quant.backtest.run import run_backtest
from vibe_quant.cli import main
from vibe_quant.dsl.api import load_strategy
from vibe_quant.risk.breakers import BreakerConfig
from vibe_quant.risk.presets import (
    PresetError,
    apply_preset,
    apply_sizing,
    apply_sizing_to_yaml,
    parse_preset,
)
from vibe_quant.store import events_sql
from vibe_quant.store.state import StateStore

from .strategies import StubbornLong

ROOT = Path(__file__).resolve().parents[2]

PRESET = """\
description: half-percent ATR risk, 10 % drawdown halt
sizing: {method: atr, risk_pct: 0.5, multiple: 2.5, leverage: 2, max_notional_multiple: 2}
breakers:
  max_drawdown: 0.10
  daily_loss: 0.03
  consecutive_losses: 4
  cooldown_bars: 288
"""


def test_roundtrip_and_versions(tmp_path):
    with StateStore.open(tmp_path / "state.db") as store:
        p = parse_preset(PRESET, name="cons")
        assert events_sql.add_preset(store, p.name, p.body(), PRESET) == (1, True)
        assert events_sql.add_preset(store, p.name, p.body(), PRESET) == (1, False)
        applied = apply_preset(store, "cons")
        assert applied.version == 1
        assert applied.breakers == BreakerConfig(max_drawdown=0.1, daily_loss=0.03,
                                                 consecutive_losses=4, cooldown_bars=288)
        # sizing override in the DSL's terms (percent fields stay percents, defaults filled)
        assert applied.sizing == {"method": "atr", "risk_pct": 0.5, "multiple": 2.5,
                                  "leverage": 2, "max_notional_multiple": 2,
                                  "indicator": "atr"}
        p2 = parse_preset(PRESET.replace("0.10", "0.15"), name="cons")
        assert events_sql.add_preset(store, p2.name, p2.body()) == (2, True)
        assert apply_preset(store, "cons").breakers.max_drawdown == 0.15
        assert [r["version"] for r in events_sql.list_presets(store)] == [2]
        old = events_sql.get_preset(store, "cons", 1)
        assert json.loads(old["body"])["breakers"]["max_drawdown"] == 0.1
        with pytest.raises(PresetError):
            apply_preset(store, "missing")


def test_sizing_override_compiles_into_a_strategy():
    text = (ROOT / "strategies" / "ema_cross.yaml").read_text()
    doc = yaml.safe_load(text)
    sizing = parse_preset(PRESET, name="x").sizing
    doc["indicators"]["atr"] = {"type": "atr", "params": {"period": 14}}
    spec = load_strategy(yaml.safe_dump(apply_sizing(doc, sizing)))
    assert spec.sizing.method == "atr" and spec.sizing.risk_pct == 0.5
    assert spec.sizing.multiple == 2.5 and spec.sizing.leverage == 2
    # text in, text out (what a sweep/pipeline sends to its workers)
    ff = {"method": "fixed_fractional", "risk_pct": 0.25, "leverage": 2}
    spec2 = load_strategy(apply_sizing_to_yaml(text, ff))
    assert spec2.sizing.risk_pct == 0.25 and spec2.sizing.leverage == 2
    assert spec2.entry == load_strategy(text).entry
    assert apply_sizing_to_yaml(text, None) == text


@pytest.mark.parametrize("bad, msg", [
    ("breakers: {max_drawdown: 10}", "max_drawdown"),            # a percent where a fraction goes
    ("breakers: {consecutive_losses: 3}", "cooldown"),
    ("sizing: {method: kelly, floor_pct: 1, cap_pct: 0.5}", "sizing"),
    ("sizing: {method: atr, risk_pct: 1, leverage: 2, max_notional_multiple: 5}", "leverage"),
    ("sizing: {method: atr, risk_pct: $r}", "parameter"),
    ("description: nothing", "needs"),
    ("breakers: {max_drawdown: 0.1, unknown: 1}", "unknown"),
    ("breakers: !!python/object/apply:os.system ['echo hi']", "not allowed"),
])
def test_invalid_presets_are_refused(bad, msg):
    with pytest.raises(PresetError, match=msg):
        parse_preset(bad, name="bad")


def test_cli(tmp_path, capsys):
    f = tmp_path / "p.yaml"
    f.write_text(PRESET)
    dd = str(tmp_path / "data")
    assert main(["risk", "preset", "add", "cons", "--file", str(f), "--data-dir", dd,
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["version"] == 1 and doc["created"] and doc["breakers"]["max_drawdown"] == 0.1
    assert main(["risk", "preset", "list", "--data-dir", dd, "--json"]) == 0
    assert [p["name"] for p in json.loads(capsys.readouterr().out)["presets"]] == ["cons"]
    assert main(["risk", "preset", "show", "cons", "--data-dir", dd, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sizing"]["method"] == "atr"
    assert main(["risk", "preset", "show", "nope", "--data-dir", dd]) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("breakers: {max_drawdown: 2}\n")
    assert main(["risk", "preset", "add", "bad", "--file", str(bad), "--data-dir", dd]) == 2
    assert "max_drawdown" in capsys.readouterr().err


def test_preset_applied_by_name_acts_in_the_run(tmp_path, btc_2024h1):
    with StateStore.open(tmp_path / "state.db") as store:
        p = parse_preset("breakers: {max_drawdown: 0.10}", name="dd10")
        events_sql.add_preset(store, p.name, p.body())
        applied = apply_preset(store, "dd10")
    kw = dict(data=btc_2024h1, leverage=2, params={"frac": 1.8})
    a = run_backtest(StubbornLong, "BTCUSDT", "2024-03-14", "2024-05-31", risk=applied.breakers,
                     **kw)
    b = run_backtest(StubbornLong, "BTCUSDT", "2024-03-14", "2024-05-31",
                     risk={"max_drawdown": 0.10}, **kw)
    assert a.fills == b.fills and a.risk_events == b.risk_events and a.halted
