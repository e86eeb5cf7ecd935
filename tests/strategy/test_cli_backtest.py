"""``vibe-quant backtest strategies/rsi_mtf.yaml --symbol BTCUSDT --start 2024-01-01
--end 2024-12-31 --json`` on the catalogued real data: runs, stores the run, and matches a direct
``run_backtest`` of the compiled strategy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from vibe_quant.backtest import run_backtest
from vibe_quant.cli import main
from vibe_quant.core.paths import DataDir
from vibe_quant.store.state import StateStore
from vibe_quant.strategy.compiler import compile_strategy

ROOT = Path(__file__).resolve().parents[2]


def test_cli_backtest_rsi_mtf_year(real_data_dir, tmp_path, capsys):
    dd = DataDir(tmp_path / "dd").ensure()
    shutil.rmtree(dd.catalog)
    shutil.copytree(real_data_dir.catalog, dd.catalog)  # private copy: the fixture stays clean
    strat = str(ROOT / "strategies" / "rsi_mtf.yaml")
    rc = main(["backtest", strat, "--symbol", "BTCUSDT", "--start", "2024-01-01", "--end",
               "2024-12-31", "--json", "--data-dir", str(dd.root)])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    with StateStore.open(dd) as store:
        run = store.run(doc["run_id"])
        assert run["status"] == "completed"
        assert run["leverage"] == 2.0  # the strategy's sizing.leverage
        trades = store.trades(doc["run_id"])
    assert len(trades) == doc["metrics"]["trades"] > 100
    cs = compile_strategy(strat)
    r = run_backtest(cs, "BTCUSDT", "2024-01-01", "2024-12-31", data_dir=dd, leverage=2,
                     warmup_bars=cs.warmup_bars)
    assert r.engine_balance == doc["engine_balance"]
    assert len(r.trades) == len(trades)


def test_cli_bad_param_is_reported(real_data_dir, tmp_path, capsys):
    rc = main(["backtest", str(ROOT / "strategies" / "ema_cross.yaml"), "--symbol", "BTCUSDT",
               "--start", "2024-01-01", "--end", "2024-01-31", "--param", "ema_fast.perod=5",
               "--data-dir", str(tmp_path)])
    assert rc == 2
    assert "reaches nothing" in capsys.readouterr().err
