"""Load: the dashboard's queries every 200 ms from 4 threads while a 2-worker sweep writes.
No "database is locked", no row seen and then lost, and the sweep's results equal those of the
same sweep run without readers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from tests.dashboard.conftest import ROOT
from vibe_quant.core.paths import DataDir
from vibe_quant.store import dashboard_sql as q
from vibe_quant.store.state import StateStore

pytestmark = pytest.mark.slow

SWEEP = [
    "sweep",
    "strategies/ema_cross.yaml",
    "--symbol",
    "BTCUSDT",
    "--start",
    "2024-01-01",
    "--end",
    "2024-02-29",
    "--max-combos",
    "6",
    "--workers",
    "2",
    "--json",
]


def _dd(real_data_dir, root) -> DataDir:
    """Own state DB, the real catalog shared read-only through a symlink."""
    dd = DataDir(root)
    dd.root.mkdir()
    os.symlink(real_data_dir.catalog, dd.root / "catalog")
    dd.ensure()
    StateStore.open(dd).close()  # the schema exists before the first reader connects
    return dd


def _sweep(dd: DataDir) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBE_QUANT_JOB")}
    out = subprocess.run(
        [sys.executable, "-m", "vibe_quant", *SWEEP, "--data-dir", str(dd.root)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def _results(dd: DataDir, sid: int) -> list[tuple]:
    with StateStore.open(dd) as store:
        return store.conn.execute(
            "SELECT combo_idx, params, status, sharpe, sharpe_daily, total_return, "
            "max_drawdown, profit_factor, trades, metrics, daily_returns, daily_start "
            "FROM sweep_results WHERE sweep_id=? ORDER BY combo_idx",
            (sid,),
        ).fetchall()


def _reader(db, stop: threading.Event, errors: list, seen: list) -> None:
    """Every dashboard query the pages run, every 200 ms, on a fresh read-only connection."""
    last = 0
    while not stop.is_set():
        t = time.monotonic()
        try:
            conn = q.connect_ro(db)
            try:
                sweeps = q.sweeps(conn)
                for s in sweeps:
                    rows = q.sweep_results(conn, s["id"])
                    q.filter_runs(conn, s["id"])
                    q.validation_runs(conn, s["id"])
                    n = len(rows)
                    if n < last:
                        errors.append(f"lost rows: saw {last}, then {n}")
                    last = max(last, n)
                q.runs(conn)
                q.jobs(conn)
                q.pipeline_runs(conn)
                q.strategy_names(conn)
                q.presets(conn)
                q.paper_runs(conn)
                q.table_counts(conn)
            finally:
                conn.close()
            seen.append(last)
        except Exception as e:  # "database is locked" or anything else
            errors.append(f"{type(e).__name__}: {e}")
        stop.wait(max(0.0, 0.2 - (time.monotonic() - t)))


def test_dashboard_reads_never_block_or_disturb_a_two_worker_sweep(real_data_dir, tmp_path):
    quiet = _dd(real_data_dir, tmp_path / "quiet")
    ref = _sweep(quiet)

    busy = _dd(real_data_dir, tmp_path / "busy")
    stop, errors, seen = threading.Event(), [], [[] for _ in range(4)]
    threads = [
        threading.Thread(target=_reader, args=(busy.state_db, stop, errors, seen[i]))
        for i in range(4)
    ]
    for th in threads:
        th.start()
    try:
        got = _sweep(busy)
    finally:
        stop.set()
        for th in threads:
            th.join(30)
    assert not errors, errors[:5]
    assert all(len(s) >= 10 for s in seen), [len(s) for s in seen]  # they really ran
    assert max(max(s) for s in seen) >= 1  # and saw rows arrive while the sweep wrote
    assert got["completed"] == ref["completed"] == 6 and got["failed"] == 0
    assert _results(busy, got["sweep_id"]) == _results(quiet, ref["sweep_id"])
