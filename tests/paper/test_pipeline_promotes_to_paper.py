"""``vibe-quant pipeline … --paper`` promotes the best validated survivor to paper trading.

The pipeline runs on real BTCUSDT 5m bars (January 2025, loopback mirror) with the filters off,
so its top screening candidates are validated and short-listed; ``--paper`` must then start a
paper run against the local exchange whose strategy, parameters and symbol are exactly those of
the short list's best validation Sharpe (read back from SQLite, not from the pipeline's output),
and the paper child must reach the trading state.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from .harness import PaperRig, paper_env

pytestmark = pytest.mark.slow


def test_pipeline_paper_promotes_the_best_validated_candidate(dd_paper, mirror, tmp_path):
    rig = PaperRig(dd_paper, tmp_path, "pipe")
    try:
        rig.ex.start()
        r = subprocess.run(
            [sys.executable, "-m", "vibe_quant", "pipeline", "strategies/ema_cross.yaml",
             "--symbol", "BTCUSDT", "--start", "2025-01-01", "--end", "2025-01-25",
             "--max-combos", "3", "--filters", "", "--top", "2", "--base-url", mirror.url,
             "--no-rest", "--paper", "--paper-exchange", rig.ex.rest, "--json",
             "--data-dir", str(rig.dd.root)],
            env=paper_env(), capture_output=True, text=True, timeout=900,
        )
        assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
        doc = json.loads(r.stdout)
        assert doc["ok"] and doc["paper"] is not None, doc.get("problems")
        rig.run_id = doc["paper"]["id"]

        con = sqlite3.connect(rig.dd.state_db)
        con.row_factory = sqlite3.Row
        # the best validation Sharpe among the stored short list's validation runs
        best = max(doc["shortlist"], key=lambda s: s["validation_sharpe"])
        vrun = con.execute("SELECT * FROM backtest_runs WHERE id=?",
                           (best["run_id"],)).fetchone()
        assert vrun["mode"] == "validation"
        stored = [con.execute("SELECT sharpe FROM backtest_results WHERE run_id=?",
                              (s["run_id"],)).fetchone()[0] for s in doc["shortlist"]]
        assert best["validation_sharpe"] == pytest.approx(max(stored))
        # the pipeline validates at the documented default impact coefficient (SPEC §8: k = 1)
        sens = json.loads(con.execute("SELECT impact_sensitivity FROM validation_results WHERE "
                                      "run_id=?", (best["run_id"],)).fetchone()[0])
        assert {s["k_multiplier"]: s["k"] for s in sens} == {0.5: 0.5, 1.0: 1.0, 2.0: 2.0}
        paper = dict(con.execute("SELECT * FROM paper_runs WHERE id=?", (rig.run_id,))
                     .fetchone())
        con.close()
        assert paper["symbol"] == "BTCUSDT"
        params = json.loads(paper["params"])
        for k, v in json.loads(vrun["params"]).items():
            assert params[k] == v, (k, params, vrun["params"])
        assert doc["paper"]["validation_run_id"] == best["run_id"]
        rig.wait(lambda row: row.get("child_state") == "trading", 120, "child trading")
    finally:
        rig.close()
