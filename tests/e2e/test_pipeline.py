"""Issues 5 and 6 end to end on the real data, through the CLI a user types."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _cli(*args: str, dd, mirror) -> dict:
    out = subprocess.run([sys.executable, "-m", "vibe_quant", *args, "--data-dir", str(dd.root),
                          "--json"], capture_output=True, text=True, cwd=ROOT, env=ENV,
                         timeout=1200)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def test_pipeline_on_ema_cross_runs_end_to_end(e2e_data_dir, mirror, tmp_path):
    report = tmp_path / "report.html"
    doc = _cli("pipeline", "strategies/ema_cross.yaml", "--symbol", "BTCUSDT", "--start",
               "2023-01-01", "--end", "2024-12-31", "--base-url", mirror.url, "--no-rest",
               "--report", str(report), dd=e2e_data_dir, mirror=mirror)
    assert doc["sweep"]["combos"] == doc["sweep"]["completed"] == 102
    assert doc["filters"]["enabled"] == ["dsr", "wfa", "pkfold", "pbo"]
    # issue 11: the K-fold CV judges the selection (sweep-level), CPCV is stored beside it
    assert set(doc["filters"]["sweep_level"]) == {"pbo", "wfa", "pkfold", "cpcv"}
    assert set(doc["stage_seconds"]) >= {"data", "sweep", "filters", "done"}
    # Every survivor was validated and carries both sets of figures; nothing else is listed.
    assert {s["combo_idx"] for s in doc["shortlist"]} <= set(doc["filters"]["passed"])
    for s in doc["shortlist"]:
        assert s["passed_all"] is True and s["validation_sharpe"] is not None
    html = report.read_text()
    assert "Pareto" in html and "Walk-forward windows" in html and "plotly" in html
    # Stored: the sweep, its filter run and the pipeline row; a re-run resumes, runs nothing.
    con = sqlite3.connect(e2e_data_dir.state_db)
    assert con.execute("SELECT COUNT(*) FROM sweep_results WHERE sweep_id=?",
                       (doc["sweep"]["sweep_id"],)).fetchone()[0] == 102
    again = _cli("pipeline", "strategies/ema_cross.yaml", "--symbol", "BTCUSDT", "--start",
                 "2023-01-01", "--end", "2024-12-31", "--base-url", mirror.url, "--no-rest",
                 dd=e2e_data_dir, mirror=mirror)
    assert again["resumed"] and again["pipeline_id"] == doc["pipeline_id"]
    assert again["sweep"]["sweep_id"] == doc["sweep"]["sweep_id"]
    assert again["filters"]["filter_run_id"] == doc["filters"]["filter_run_id"]


def test_filters_reject_a_strategy_built_to_overfit(e2e_data_dir, mirror):
    doc = _cli("pipeline", "tests/e2e/overfit.yaml", "--symbol", "BTCUSDT", "--start",
               "2023-01-01", "--end", "2024-06-30", "--candidates", "top:3", "--base-url",
               mirror.url, "--no-rest", dd=e2e_data_dir, mirror=mirror)
    assert doc["sweep"]["completed"] == 32
    assert doc["filters"]["candidates"] == 3 and doc["filters"]["passed"] == []
    assert doc["shortlist"] == []
    con = sqlite3.connect(e2e_data_dir.state_db)
    rows = con.execute("SELECT combo_idx, filter, value, passed FROM filter_results WHERE "
                       "filter_run_id=? ORDER BY combo_idx, filter",
                       (doc["filters"]["filter_run_id"],)).fetchall()
    dsr = [r for r in rows if r[1] == "dsr"]
    assert len(dsr) == 3 and all(v < 0.95 and not p for _, _, v, p in dsr)
    # the in-sample "winner" did look profitable on screening before the filters deflated it
    best = con.execute("SELECT MAX(sharpe) FROM sweep_results WHERE sweep_id=?",
                       (doc["sweep"]["sweep_id"],)).fetchone()[0]
    assert best > 0


def test_100_combo_sweep_survives_sigkill_and_filters_run(e2e_data_dir, mirror):
    cmd = [sys.executable, "-m", "vibe_quant", "sweep", "strategies/ema_cross.yaml", "--symbol",
           "BTCUSDT", "--start", "2023-01-01", "--end", "2024-12-31", "--max-combos", "100",
           "--data-dir", str(e2e_data_dir.root), "--json"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=False)
    done = 0
    deadline = time.time() + 600
    con = sqlite3.connect(e2e_data_dir.state_db, timeout=30)
    while time.time() < deadline and done < 50:
        time.sleep(0.5)
        try:
            done = con.execute(
                "SELECT COUNT(*) FROM sweep_results r JOIN sweeps s ON s.id = r.sweep_id"
                " WHERE s.n_combos = 100").fetchone()[0]
        except sqlite3.OperationalError:
            pass
    os.kill(proc.pid, signal.SIGKILL)  # the parent only: its workers notice and exit
    proc.wait()
    assert 50 <= done < 100, done
    doc = _cli("sweep", "strategies/ema_cross.yaml", "--symbol", "BTCUSDT", "--start",
               "2023-01-01", "--end", "2024-12-31", "--max-combos", "100",
               dd=e2e_data_dir, mirror=mirror)
    assert doc["resumed"] is True and doc["combos"] == 100
    assert doc["completed"] + doc["failed"] == 100 and doc["ran_now"] <= 100 - done + 2
    n = con.execute("SELECT COUNT(*), COUNT(DISTINCT combo_idx), MIN(combo_idx), "
                    "MAX(combo_idx) FROM sweep_results WHERE sweep_id=?",
                    (doc["sweep_id"],)).fetchone()
    assert n == (100, 100, 0, 99)  # exactly 100 rows: no duplicate, no hole
    f = _cli("filter", str(doc["sweep_id"]), "--candidates", "top:2", dd=e2e_data_dir,
             mirror=mirror)
    stored = con.execute("SELECT filter, COUNT(*) FROM filter_results WHERE filter_run_id=? "
                         "GROUP BY filter ORDER BY filter", (f["filter_run_id"],)).fetchall()
    # pkfold: the sweep-level selection CV + each candidate's own folds beside it (issue 11)
    assert stored == [("cpcv", 1), ("dsr", 2), ("pbo", 1), ("pkfold", 3), ("wfa", 1)]
    assert len(con.execute("SELECT * FROM filter_verdicts WHERE filter_run_id=?",
                           (f["filter_run_id"],)).fetchall()) == 2


def test_pipeline_validates_candidates_when_filters_are_off(e2e_data_dir, mirror, tmp_path):
    """With every filter switched off the top screening candidates go to validation: each gets
    a stored validation run, a consistency row and a short-list entry."""
    report = tmp_path / "r.html"
    doc = _cli("pipeline", "tests/e2e/overfit.yaml", "--symbol", "BTCUSDT", "--start",
               "2024-01-01", "--end", "2024-03-31", "--filters", "", "--top", "2",
               "--latency", "retail", "--base-url", mirror.url, "--no-rest", "--report",
               str(report), dd=e2e_data_dir, mirror=mirror)
    assert doc["filters"] is None and doc["validation_run_id"] is not None
    assert len(doc["shortlist"]) == 2
    con = sqlite3.connect(e2e_data_dir.state_db)
    top2 = [r[0] for r in con.execute(
        "SELECT combo_idx FROM sweep_results WHERE sweep_id=? ORDER BY sharpe DESC, combo_idx"
        " LIMIT 2", (doc["sweep"]["sweep_id"],))]
    assert [s["combo_idx"] for s in doc["shortlist"]] == top2
    for s in doc["shortlist"]:
        scr = con.execute("SELECT sharpe FROM sweep_results WHERE sweep_id=? AND combo_idx=?",
                          (doc["sweep"]["sweep_id"], s["combo_idx"])).fetchone()[0]
        assert s["screening_sharpe"] == scr
        mode = con.execute("SELECT mode FROM backtest_runs WHERE id=?",
                           (s["run_id"],)).fetchone()[0]
        assert mode == "validation" and s["validation_sharpe"] is not None
        # degradation in percent of |screening Sharpe| (positive = validation is worse)
        assert abs(s["sharpe_degradation_pct"]
                   - (scr - s["validation_sharpe"]) / abs(scr) * 100) < 1e-6
    assert "Validation runs" in report.read_text()
