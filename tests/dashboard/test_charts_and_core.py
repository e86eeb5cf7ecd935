"""Fast checks of the pure parts: chart builders (numbers worked out by hand), strategy-name
refusal, forms generated from the CLI parser, the read-only SQL module, secrets."""

from __future__ import annotations

import argparse
import math
import sqlite3

import pytest

from vibe_quant.dashboard import charts, core
from vibe_quant.store import dashboard_sql as q


def _row(i, params, sharpe, status="completed", pareto=False):
    return {
        "combo_idx": i,
        "params": params,
        "status": status,
        "is_pareto": pareto,
        "metrics": {"sharpe": sharpe, "max_drawdown": 0.1 * (i + 1), "profit_factor": 1.5},
    }


def test_drawdown_is_percent_below_the_running_peak():
    # 100 → 110 (new peak) → 99 (= 110 × 0.9: −10 %) → 121 (new peak) → 108.9 (−10 %)
    assert charts.drawdown_pct([100, 110, 99, 121, 108.9]) == pytest.approx([0, 0, -10, 0, -10])


def test_heatmap_and_sensitivity_average_over_the_other_parameters():
    rows = [
        _row(0, {"a": 1, "b": 10, "c": 0}, 1.0),
        _row(1, {"a": 1, "b": 10, "c": 1}, 3.0),
        _row(2, {"a": 2, "b": 10, "c": 0}, -1.0),
        _row(3, {"a": 2, "b": 20, "c": 0}, 5.0),
        _row(4, {"a": 1, "b": 20, "c": 0}, None, status="failed"),
    ]
    xs, ys, z = charts.heatmap_grid(rows, "a", "b", "sharpe")
    assert xs == [1, 2] and ys == [10, 20]
    assert z[0] == [2.0, -1.0]  # b=10: a=1 → mean(1, 3); a=2 → -1
    assert math.isnan(z[1][0]) and z[1][1] == 5.0  # the failed combination is not counted
    t = charts.sensitivity_table(rows, "a", "sharpe")
    assert t == [
        {"value": 1, "n": 2, "mean": 2.0, "min": 1.0, "max": 3.0},
        {"value": 2, "n": 2, "mean": 2.0, "min": -1.0, "max": 5.0},
    ]


def test_pareto_marks_the_front_and_carries_combo_ids():
    rows = [
        _row(0, {"a": 1}, 1.0),
        _row(1, {"a": 2}, 2.0, pareto=True),
        _row(2, {"a": 3}, None, status="failed"),
    ]
    fig = charts.pareto(rows).to_dict()
    assert list(fig["data"][0]["customdata"]) == [0, 1]
    assert list(fig["data"][0]["x"]) == pytest.approx([10.0, 20.0])  # max DD in percent
    assert list(fig["data"][1]["customdata"]) == [1]


def test_trades_on_price_places_entries_and_exits():
    bars = [{"open_time": 1_700_000_000_000 + i * 300_000, "close": 100.0 + i} for i in range(3)]
    trades = [
        {
            "seq": 0,
            "side": "long",
            "entry_ns": 1_700_000_000_000_000_000,
            "exit_ns": 1_700_000_600_000_000_000,
            "entry_price": 100.0,
            "exit_price": 102.0,
            "qty": 1.0,
            "net_pnl": 1.9,
            "exit_reason": "signal",
        }
    ]
    fig = charts.trades_on_price(bars, trades).to_dict()
    names = [t["name"] for t in fig["data"]]
    assert names == ["close", "long entry", "exit"]
    assert list(fig["data"][2]["y"]) == [102.0]


def test_gaps_timeline_draws_one_red_segment_per_gap():
    series = [
        {
            "symbol": "BTCUSDT",
            "interval": "5m",
            "bars": 10,
            "first": "2024-01-01",
            "last": "2024-02-01",
            "gaps": [{"start": "2024-01-05", "end": "2024-01-06", "missing_bars": 288}],
        }
    ]
    fig = charts.gaps_timeline(series).to_dict()
    assert sum(1 for t in fig["data"] if t["line"]["color"] == "#d73027") == 1


def test_job_progress_fraction():
    assert charts.job_progress_fraction({"progress_done": 3, "progress_total": 6}) == 0.5
    assert charts.job_progress_fraction({"progress_done": None, "progress_total": None}) is None


@pytest.mark.parametrize(
    "name", ["../x", "..", "a/b", "a\\b", "/etc/passwd", "", " ", "x..y", "a\0b", "~root"]
)
def test_strategy_names_that_could_leave_the_folder_are_refused(name, tmp_path):
    with pytest.raises(core.DashboardError):
        core.strategy_path(name, tmp_path)


def test_strategy_path_stays_in_the_folder(tmp_path):
    assert core.strategy_path("ema_2", tmp_path) == tmp_path.resolve() / "ema_2.yaml"
    assert core.strategy_path("ema.yml", tmp_path) == tmp_path.resolve() / "ema.yml"


def test_forms_are_the_cli_options_and_their_argv_parses_back(tmp_path):
    from vibe_quant.cli import build_parser

    opts = {o.dest: o for o in core.command_options("sweep")}
    assert {"strategy", "symbol", "start", "end", "workers", "max_combos", "sample"} <= set(opts)
    assert not {"data_dir", "json", "background", "help"} & set(opts)
    assert opts["sample"].kind == "choice" and opts["sample"].choices == ("grid", "random")
    assert opts["fresh"].kind == "flag" and opts["balance"].kind == "float"
    filt = {o.dest: o for o in core.command_options("filter")}
    assert filt["wfa"].kind == "bool" and filt["wfa"].default is True
    values = {
        "strategy": "s.yaml",
        "symbol": "BTCUSDT",
        "start": "2024-01-01",
        "end": "2024-02-01",
        "max_combos": "3",
        "sample": "grid",
        "fresh": True,
        "balance": 10000.0,
    }
    argv = core.build_argv("sweep", values, data_dir_root=str(tmp_path))
    assert argv == [
        "sweep",
        "s.yaml",
        "--start",
        "2024-01-01",
        "--end",
        "2024-02-01",
        "--max-combos",
        "3",
        "--fresh",
        "--data-dir",
        str(tmp_path),
    ]
    ns = build_parser().parse_args(argv)
    assert (ns.max_combos, ns.fresh, ns.symbol, ns.balance) == (3, True, "BTCUSDT", 10_000.0)
    fargv = core.build_argv("filter", {"sweep_id": 4, "wfa": False, "dsr": True})
    assert fargv == ["filter", "4", "--no-wfa"]
    assert build_parser().parse_args(fargv).wfa is False
    with pytest.raises(core.DashboardError, match="invalid int value"):
        core.check_argv(["sweep", "s.yaml", "--start", "a", "--end", "b", "--workers", "x"])
    assert isinstance(core.subparser("data ingest"), argparse.ArgumentParser)


def test_read_only_connection_cannot_write_and_reads_while_a_writer_holds_a_lock(tmp_path):
    from vibe_quant.store.state import StateStore

    db = tmp_path / "state" / "vibe_quant.db"
    with StateStore.open(db) as store:
        store.upsert_strategy("s", "name: s\n")
        ro = q.connect_ro(db)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            ro.execute(
                "INSERT INTO strategies (name, version, yaml, hash, created_at) VALUES "
                "('x', 1, '', '', '')"
            )
        store.conn.execute("BEGIN IMMEDIATE")  # a writer mid-transaction
        store.conn.execute(
            "INSERT INTO strategies (name, version, yaml, hash, created_at) "
            "VALUES ('t', 1, 'y', 'h', 'now')"
        )
        assert [r["name"] for r in q.strategy_names(ro)] == ["s"]  # snapshot, not blocked
        store.conn.execute("COMMIT")
        assert [r["name"] for r in q.strategy_names(ro)] == ["s", "t"]
        ro.close()
    with pytest.raises(q.StoreMissingError):
        q.connect_ro(tmp_path / "absent.db")


def test_telegram_status_never_contains_the_token():
    env = {"VIBE_QUANT_TELEGRAM_TOKEN": "999:topsecret", "VIBE_QUANT_TELEGRAM_CHAT_ID": "42"}
    st = core.telegram_status(env)
    assert st["VIBE_QUANT_TELEGRAM_TOKEN"] == "set" and "topsecret" not in repr(st)
    assert core.telegram_status({})["VIBE_QUANT_TELEGRAM_TOKEN"] == "not set"
