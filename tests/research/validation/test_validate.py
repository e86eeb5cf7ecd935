"""``validate`` end to end on a small real sweep: top candidates re-run in validation mode,
full runs stored, one consistency row per candidate, ``execution_sensitive`` flagged; CLI."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from vibe_quant.backtest.run import to_ns
from vibe_quant.cli import main
from vibe_quant.core.paths import DataDir
from vibe_quant.research.screening.sweep import SweepSpec, run_sweep
from vibe_quant.research.validation.consistency import (
    consistency,
    degradation_pct,
    execution_sensitive,
)
from vibe_quant.research.validation.validate import ValidateConfig, validate_sweep
from vibe_quant.store import validation_sql as vsql
from vibe_quant.store.state import StateStore

from .test_fill_model import by_hand

GRID = [
    {"qty": 0.1, "fast": 24, "slow": 144, "long_only": 1},  # trend-following: positive Sharpe
    {"qty": 0.1, "fast": 12, "slow": 26},  # always in the market: negative (fees)
    {"qty": 0.1, "fast": 48, "slow": 288, "long_only": 1},
]


@pytest.fixture(scope="module")
def sweep_dd(real_data_dir, tmp_path_factory):
    """A data dir sharing the real catalog (read only, via a symlink) with its own state DB,
    holding a finished 3-combination sweep over February 2024 at 3x leverage (at 1x, the
    pre-trade check denies full-quantity flips near the balance, which makes results hinge
    on which flips happen to be denied)."""
    dd = DataDir(tmp_path_factory.mktemp("val_state"))
    os.symlink(real_data_dir.catalog, dd.root / "catalog")
    dd.ensure()
    with StateStore.open(dd) as store:
        rep = run_sweep(
            store,
            SweepSpec(
                yaml_text="",
                symbol="BTCUSDT",
                start_ns=to_ns("2024-02-01"),
                end_ns=to_ns("2024-03-01"),
                strategy_ref="tests.research.validation.strategies:EmaCrossPA",
                leverage=3.0,
                grid=GRID,
            ),
            data_dir=str(dd.root),
            workers=1,
        )
    assert rep.completed == 3, rep
    return dd, rep.sweep_id


def _slippage_by_hand(md, trades) -> float:
    """Σ |fill price − close of the fill bar| × qty (USDT) over the run's fills, rebuilt from
    its stored round trips (a flip is the close of one trade and the open of the next at the
    same time: one market order of their summed quantity). Every fill must also sit at the
    square-root-impact price worked out by hand (``by_hand``, default k / spread / window)."""
    fills: dict[int, list[tuple[int, float, float]]] = {}
    for t in trades:
        assert t["exit_reason"] in ("signal", "end_of_data")  # market orders only
        s = 1 if t["side"] == "long" else -1
        fills.setdefault(t["entry_ns"], []).append((s, t["qty"], t["entry_price"]))
        fills.setdefault(t["exit_ns"], []).append((-s, t["qty"], t["exit_price"]))
    cost = 0.0
    for ts, parts in fills.items():
        side, price = parts[0][0], parts[0][2]
        assert all(p[0] == side and p[2] == pytest.approx(price, abs=1e-6) for p in parts)
        qty = sum(p[1] for p in parts)
        assert price == pytest.approx(by_hand(md, ts, side, qty), abs=1e-6), (ts, side, qty)
        close = md.close[int(np.searchsorted(md.close_ts, ts, side="right")) - 1]  # at arrival
        cost += abs(price - close) * qty
    assert cost > 0
    return cost


def test_consistency_definitions():
    assert degradation_pct(2.0, 0.5) == pytest.approx(75.0)
    assert degradation_pct(-2.0, -1.0) == pytest.approx(-50.0)  # less negative = better
    assert degradation_pct(0.10, 0.12, higher_is_better=False) == pytest.approx(20.0)
    assert degradation_pct(0.0, 1.0) is None and degradation_pct(float("inf"), 1.0) is None
    assert execution_sensitive(2.0, 0.99) is True
    assert execution_sensitive(2.0, 1.0) is False  # exactly half kept: not "more than half"
    assert execution_sensitive(-1.0, -5.0) is None and execution_sensitive(None, 1.0) is None
    row = consistency(
        {"sharpe": 2, "total_return": 0.1, "max_drawdown": 0.05},
        {"sharpe": 0.5, "total_return": 0.02, "max_drawdown": 0.1},
    )
    assert row["return_degradation_pct"] == pytest.approx(80.0)
    assert row["drawdown_degradation_pct"] == pytest.approx(100.0)
    assert row["execution_sensitive"] is True


def test_validate_sweep_end_to_end(sweep_dd, btc_q1):
    dd, sid = sweep_dd
    with StateStore.open(dd) as store:
        scr = {r["combo_idx"]: r for r in store.sweep_results(sid)}
        rep = validate_sweep(
            store, sid, data_dir=str(dd.root), config=ValidateConfig(top=3)
        )
        assert rep.failed == []
        rows = vsql.validation_results(store, rep.validation_run_id)
        assert vsql.latest_validation_run(store, sid)["status"] == "completed"
        assert [r["combo_idx"] for r in rows] == sorted(
            scr, key=lambda i: -scr[i]["metrics"]["sharpe"]
        )
        for row in rows:
            sm = scr[row["combo_idx"]]["metrics"]
            run = store.run(row["run_id"])
            vm = store.metrics(row["run_id"])
            assert run["mode"] == "validation" and run["status"] == "completed"
            assert run["params"] == row["params"] == scr[row["combo_idx"]]["params"]
            assert (run["start_ns"], run["symbols"]) == (to_ns("2024-02-01"), ["BTCUSDT"])
            assert len(store.trades(row["run_id"])) == vm["trades"] > 0
            assert len(store.equity(row["run_id"])) >= 29
            # the row is recomputable by hand from the two stored metric sets
            assert row["screening_sharpe"] == pytest.approx(sm["sharpe"])
            assert row["validation_sharpe"] == pytest.approx(vm["sharpe"])
            assert (row["screening_trades"], row["validation_trades"]) == (
                sm["trades"],
                vm["trades"],
            )
            assert row["sharpe_degradation_pct"] == pytest.approx(
                (sm["sharpe"] - vm["sharpe"]) / abs(sm["sharpe"]) * 100
            )
            assert row["return_degradation_pct"] == pytest.approx(
                (sm["total_return"] - vm["total_return"]) / abs(sm["total_return"]) * 100
            )
            assert row["drawdown_degradation_pct"] == pytest.approx(
                (vm["max_drawdown"] - sm["max_drawdown"]) / sm["max_drawdown"] * 100
            )
            want = None if sm["sharpe"] <= 0 else vm["sharpe"] < sm["sharpe"] / 2
            assert row["execution_sensitive"] is want
            assert row["slippage_cost"] == pytest.approx(
                _slippage_by_hand(btc_q1, store.trades(row["run_id"])), rel=1e-9, abs=1e-9
            )
            assert row["details"]["market_orders_slipped"] >= vm["trades"]
            assert abs(row["details"]["reconciliation_error"]) < 1e-6
        by_idx = {r["combo_idx"]: r for r in rows}
        assert by_idx[0]["screening_sharpe"] > 0 and by_idx[0]["execution_sensitive"] is not None
        assert by_idx[1]["screening_sharpe"] < 0 and by_idx[1]["execution_sensitive"] is None
        assert rep.execution_sensitive == [r["combo_idx"] for r in rows if r["execution_sensitive"]]


def test_only_passed_needs_a_filter_run(sweep_dd):
    dd, sid = sweep_dd
    with StateStore.open(dd) as store, pytest.raises(ValueError, match="filter"):
        validate_sweep(
            store,
            sid,
            data_dir=str(dd.root),
            config=ValidateConfig(only_passed=True),
        )


def test_cli_json(sweep_dd, capsys):
    dd, sid = sweep_dd
    code = main(
        [
            "validate",
            str(sid),
            "--top",
            "1",
            "--latency",
            "colocated",
            "--fee-tier",
            "2",
            "--json",
            "--data-dir",
            str(dd.root),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)  # exactly one JSON document
    assert doc["sweep_id"] == sid and len(doc["candidates"]) == 1
    assert doc["config"]["latency"] == "colocated" and doc["config"]["fee_tier"] == 2
    assert doc["config"]["taker_fee"] == 0.00035
    c = doc["candidates"][0]
    with StateStore.open(dd) as store:
        assert store.run(c["run_id"])["mode"] == "validation"
        fees = [t["fees"] for t in store.trades(c["run_id"])]
    assert sum(fees) == pytest.approx(c["details"]["validation"]["fees"])
    assert main(["validate", "999", "--data-dir", str(dd.root)]) == 2
