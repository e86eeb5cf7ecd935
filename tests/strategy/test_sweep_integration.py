"""The screening sweep (spawn workers, YAML text only, one engine re-run per combination with
``reset()``) runs the compiled strategy and gets the same results as direct runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from vibe_quant.backtest import run_backtest
from vibe_quant.backtest.run import to_ns
from vibe_quant.core.paths import DataDir
from vibe_quant.dsl import load_strategy, warmup_bars
from vibe_quant.store.state import StateStore
from vibe_quant.strategy.compiler import compile_strategy

ROOT = Path(__file__).resolve().parents[2]


def test_sweep_of_compiled_yaml_matches_direct_runs(real_data_dir, btc_2024_md, tmp_path):
    from vibe_quant.research.screening.sweep import SweepSpec, run_sweep

    text = (ROOT / "strategies" / "rsi_mtf.yaml").read_text()
    grid = [{"$oversold": 25, "rsi.period": 7}, {"$oversold": 30, "rsi.period": 14},
            {"$oversold": 35, "stop_loss.multiple": 3.0}]
    spec = SweepSpec(yaml_text=text, symbol="BTCUSDT", start_ns=to_ns("2024-02-01"),
                     end_ns=to_ns("2024-02-20", end=True), grid=grid)
    with StateStore.open(DataDir(tmp_path).ensure()) as store:
        rep = run_sweep(store, spec, data_dir=str(real_data_dir.root), workers=1,
                        progress=None)
        rows = store.sweep_results(rep.sweep_id)
    assert rep.completed == 3 and rep.failed == 0
    cs = compile_strategy(text)
    wu = warmup_bars(load_strategy(text))  # what the sweep worker feeds
    for row in rows:
        r = run_backtest(cs, "BTCUSDT", "2024-02-01", "2024-02-20", data=btc_2024_md,
                         params=row["params"], leverage=2, warmup_bars=wu)
        assert row["metrics"]["trades"] == len(r.trades) > 3
        assert row["metrics"]["end_equity"] == pytest.approx(r.metrics["end_equity"], abs=1e-6)
