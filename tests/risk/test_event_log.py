"""Structured event log: JSONL file under <data-dir>/logs/events/ and the SQLite ``events``
table hold the same events, and their counts/sums equal the run's result."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter

import pytest

from vibe_quant.backtest.events import (
    build_events,
    jsonl_path,
    log_completed_run,
    log_run,
    read_jsonl,
    write_jsonl,
)
from vibe_quant.backtest.run import run_backtest
from vibe_quant.core.paths import DataDir
from vibe_quant.store import events_sql
from vibe_quant.store.state import StateStore

from ..backtest.strategies import AllInLong
from .strategies import CrossFlip


@pytest.fixture(scope="module")
def runs(btc_2024h1):
    risky = run_backtest(CrossFlip, "BTCUSDT", "2024-03-01", "2024-03-31", data=btc_2024h1,
                         leverage=1, params={"qty": 0.05}, risk={"daily_loss": 0.01,
                                                                 "max_exposure": 0.34})
    liq = run_backtest(AllInLong, "BTCUSDT", "2024-03-14", "2024-04-30", data=btc_2024h1,
                       leverage=20, params={"frac": 0.95})
    return risky, liq


def _check_counts(evs, r):
    c = Counter(e["kind"] for e in evs)
    assert c["fill"] == len(r.fills)
    assert c["funding"] == len(r.funding_payments)
    assert c["liquidation"] == r.metrics["liquidations"]
    assert c["order"] == len(r.orders)
    assert c["order_denied"] == len(r.denied)
    for k in ("risk_trip", "risk_deny", "risk_blocked"):
        assert c[k] == sum(1 for e in r.risk_events if e.kind == k)
    assert sum(e["commission"] for e in evs if e["kind"] == "fill") == pytest.approx(
        r.total_fees, abs=1e-6)
    assert sum(e["amount"] for e in evs if e["kind"] == "funding") == pytest.approx(
        r.total_funding, abs=1e-6)
    assert [e["seq"] for e in evs] == list(range(len(evs)))
    assert all(evs[i]["ts"] <= evs[i + 1]["ts"] for i in range(len(evs) - 1))


def test_jsonl_and_sqlite_agree(runs, tmp_path):
    risky, liq = runs
    assert risky.risk_events and liq.metrics["liquidations"] >= 1 and risky.funding_payments
    dd = DataDir(tmp_path / "data").ensure()
    with StateStore.open(dd) as store:
        for r in (risky, liq):
            run_id, path = log_run(store, dd, r)
            assert path == dd.logs / "events" / f"run-{run_id}.jsonl"
            lines = read_jsonl(path)
            rows = events_sql.events(store, run_id)
            assert lines == rows  # identical dicts, same order
            _check_counts(lines, r)
            assert events_sql.event_counts(store, run_id) == dict(
                Counter(e["kind"] for e in lines))
            assert store.run(run_id)["status"] == "completed"
            assert len(store.trades(run_id)) == len(r.trades)
            # queryable by kind and time
            fills = events_sql.events(store, run_id, kind="fill")
            assert [f["ts"] for f in fills] == [f.ts for f in r.fills]
            liqs = events_sql.events(store, run_id, kind="liquidation")
            assert len(liqs) == r.metrics["liquidations"]
        # plain SQL works too (the table is documented)
        con = sqlite3.connect(dd.state_db)
        n = con.execute("SELECT COUNT(*) FROM events WHERE kind='risk_trip'").fetchone()[0]
        assert n == sum(1 for e in risky.risk_events if e.kind == "risk_trip")
        con.close()


def test_event_payloads(runs):
    risky, liq = runs
    evs = build_events(risky, run_id=7)
    trip = next(e for e in evs if e["kind"] == "risk_trip")
    t0 = next(e for e in risky.risk_events if e.kind == "risk_trip")
    assert trip["rule"] == "daily_loss" and trip["ts"] == t0.ts and trip["run_id"] == 7
    assert trip["equity"] == t0.equity and trip["threshold"] == 0.01
    assert trip["time"].endswith("Z") and trip["strategy"] == "cross_flip"
    deny = next(e for e in evs if e["kind"] == "risk_deny")
    assert deny["rule"] == "max_exposure" and deny["value"] > deny["reference"]
    liq_ev = next(e for e in build_events(liq) if e["kind"] == "liquidation")
    t = next(t for t in liq.trades if t.exit_reason == "liquidation")
    assert liq_ev["ts"] == t.exit_ts and liq_ev["net_pnl"] == t.net_pnl
    json.dumps(evs, allow_nan=False)  # strictly JSON


def test_record_events_replaces_and_cascades(runs, tmp_path):
    risky, _ = runs
    with StateStore.open(tmp_path / "s.db") as store:
        rid = store.record_run(risky)
        evs = build_events(risky, run_id=rid)
        assert events_sql.record_events(store, rid, evs) == len(evs)
        assert events_sql.record_events(store, rid, evs) == len(evs)  # rewrite, no duplicates
        assert sum(events_sql.event_counts(store, rid).values()) == len(evs)
        p = write_jsonl(evs, tmp_path, run_id=rid)
        assert p == jsonl_path(tmp_path, rid) and len(read_jsonl(p)) == len(evs)
        store.conn.execute("DELETE FROM backtest_runs WHERE id=?", (rid,))
        assert events_sql.event_counts(store, rid) == {}


def test_log_completed_run(runs, tmp_path):
    risky, _ = runs
    dd = DataDir(tmp_path / "data").ensure()
    with StateStore.open(dd) as store:
        rid = store.create_run(strategy_name=risky.strategy, symbols=[risky.symbol],
                               interval="5m", start_ns=risky.start_ns, end_ns=risky.end_ns,
                               params=risky.params, mode="screening", leverage=1,
                               starting_balance=10_000, seed=0)
        path = log_completed_run(store, dd, rid, risky)
        assert store.run(rid)["status"] == "completed"
        assert read_jsonl(path) == events_sql.events(store, rid)
        _check_counts(read_jsonl(path), risky)
