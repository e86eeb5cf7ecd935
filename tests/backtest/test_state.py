"""State DB: migrations, WAL, strategy versions, atomic run writes."""

from __future__ import annotations

import sqlite3

import pytest

from vibe_quant.backtest import run_backtest
from vibe_quant.core.paths import DataDir
from vibe_quant.store import state as st
from vibe_quant.store.state import StateStore

from .strategies import Flipper


@pytest.fixture(scope="module")
def small_run(btc_2024):
    return run_backtest(Flipper, "BTCUSDT", "2024-05-01", "2024-05-31", data=btc_2024,
                        leverage=2, params={"qty": 0.02, "every": 96})


def test_migrations_and_wal(tmp_path):
    dd = DataDir(tmp_path).ensure()
    with StateStore.open(dd) as s:
        assert s.version == st.SCHEMA_VERSION
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert int(s.conn.execute("PRAGMA busy_timeout").fetchone()[0]) > 0
        tables = {r[0] for r in s.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"strategies", "backtest_runs", "backtest_results", "trades", "equity_curves"} <= tables
    with StateStore.open(dd) as s:  # re-open: nothing re-applied
        assert s.migrate() == st.SCHEMA_VERSION


def test_later_migration_applies(tmp_path, monkeypatch):
    p = tmp_path / "s.db"
    StateStore.open(p).close()
    monkeypatch.setattr(st, "MIGRATIONS", st.MIGRATIONS + [(99, "CREATE TABLE later_stage_table (x INTEGER)")])
    with StateStore.open(p) as s:
        assert s.version == 99
        s.conn.execute("INSERT INTO later_stage_table VALUES (1)")


def test_strategy_versions(tmp_path):
    with StateStore.open(tmp_path / "s.db") as s:
        a = s.upsert_strategy("ema", "fast: 12\n")
        b = s.upsert_strategy("ema", "fast: 12\n")
        c = s.upsert_strategy("ema", "fast: 10\n")
        assert a == b and a.version == 1 and c.version == 2
        assert s.strategy("ema").version == 2 and s.strategy("ema", 1).yaml == "fast: 12\n"


def test_record_run_roundtrip(tmp_path, small_run):
    with StateStore.open(tmp_path / "s.db") as s:
        sid = s.upsert_strategy("flipper", "x: 1\n").id
        rid = s.record_run(small_run, strategy_id=sid)
        run = s.run(rid)
        assert run["status"] == "completed" and run["finished_at"] and run["error"] is None
        assert run["symbols"] == ["BTCUSDT"] and run["params"] == {"qty": 0.02, "every": 96}
        assert run["mode"] == "screening" and run["seed"] == 0
        m = s.metrics(rid)
        assert m["trades"] == small_run.metrics["trades"] == len(s.trades(rid)) > 5
        assert m["sharpe"] == pytest.approx(small_run.metrics["sharpe"])
        tr = s.trades(rid)
        assert sum(t["net_pnl"] for t in tr) == pytest.approx(small_run.engine_balance - 10_000, abs=1e-6)
        eq = s.equity(rid)
        assert eq[0] == ("2024-04-30", 10_000.0) and eq[-1][0] == "2024-05-31"
        assert len(eq) == 32


def test_crash_mid_write_leaves_no_completed_run(tmp_path, small_run, monkeypatch):
    with StateStore.open(tmp_path / "s.db") as s:
        rid = s.create_run(strategy_name="flipper", symbols=["BTCUSDT"], interval="5m",
                           start_ns=small_run.start_ns, end_ns=small_run.end_ns, params={},
                           mode="screening", leverage=2, starting_balance=10_000, seed=0)
        assert s.run(rid)["status"] == "running"

        # fail after metrics and trades are inserted, while writing the equity curve
        orig = s._write_result

        def partial(run_id, r):
            orig_eq = r.daily_equity
            try:
                r.daily_equity = None  # .items() → AttributeError half-way through the write
                orig(run_id, r)
            finally:
                r.daily_equity = orig_eq

        monkeypatch.setattr(s, "_write_result", partial)
        with pytest.raises(AttributeError):
            s.complete_run(rid, small_run)
        with pytest.raises(AttributeError):
            s.record_run(small_run)
        assert s.run(rid)["status"] == "running"
        assert s.metrics(rid) is None and s.trades(rid) == []
        assert [r["id"] for r in s.runs()] == [rid]  # record_run left no row at all
        s.fail_run(rid, "RuntimeError: disk on fire")
        assert s.run(rid)["status"] == "failed"


def test_status_constraint(tmp_path):
    with StateStore.open(tmp_path / "s.db") as s, pytest.raises(sqlite3.IntegrityError):
        s.create_run(strategy_name="x", symbols=["BTCUSDT"], interval="5m", start_ns=0,
                     end_ns=1, params={}, mode="screening", leverage=1,
                     starting_balance=1, seed=0, status="done")
