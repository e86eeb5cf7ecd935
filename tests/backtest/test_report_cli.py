"""HTML report and the ``vibe-quant backtest`` command surface."""

from __future__ import annotations

import pytest

from vibe_quant.backtest import run_backtest
from vibe_quant.backtest.report import write_report
from vibe_quant.cli import main
from vibe_quant.cli.backtest import parse_params

from .strategies import BracketTrader


def test_report_written(btc_2024, tmp_path):
    r = run_backtest(BracketTrader, "BTCUSDT", "2024-03-01", "2024-03-07", data=btc_2024,
                     leverage=2, params={"qty": 0.01, "every": 12, "sl": 0.006, "tp": 0.008})
    p = write_report(r, tmp_path / "r.html")
    text = p.read_text()
    assert "Metrics" in text and "plotly" in text and "take_profit" in text


def test_parse_params():
    assert parse_params(["fast=12", "x=0.5", "mode=trend", "on=true"]) == {
        "fast": 12, "x": 0.5, "mode": "trend", "on": True}
    with pytest.raises(ValueError):
        parse_params(["nope"])


def test_cli_without_compiler_says_so(tmp_path, capsys, monkeypatch):
    import vibe_quant.cli.backtest as cb

    monkeypatch.setattr(cb, "_compiler", lambda: None)
    rc = main(["backtest", str(tmp_path / "s.yaml"), "--symbol", "BTCUSDT", "--start",
               "2024-01-01", "--end", "2024-01-31", "--data-dir", str(tmp_path)])
    assert rc == 2
    assert "compiler is not available" in capsys.readouterr().err
