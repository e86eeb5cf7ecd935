"""A paper run of ``strategies/ema_cross.yaml`` (EMA 2/5 so it trades often) on the local
exchange replaying real BTCUSDT 1m bars (the strategy's 5m klines aggregated from them) makes
the same trades as a backtest of the same span executed on the same 1m bars (the 5m strategy
bars aggregated inside Nautilus, stops and targets matched on the 1m path): entry/exit 5m bar,
side, quantity, price and exit reason of every fill; its funding and fees equal the exchange's
own ledger, and the backtest's funding payments equal that ledger too."""

from __future__ import annotations

import pytest

from vibe_quant.backtest.marketdata import load_market_data
from vibe_quant.backtest.run import run_backtest
from vibe_quant.strategy.compiler import compile_strategy

from .harness import BAR_NS, PARAMS, PaperRig

N_BARS = 150


def backtest_of(dd, start_ns: int, last_ns: int):
    compiled = compile_strategy("strategies/ema_cross.yaml")
    params = {k: float(v) if "." in v else int(v) for k, v in (p.split("=") for p in PARAMS)}
    from datetime import UTC, datetime

    iso = lambda ns: datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%dT%H:%M")  # noqa: E731
    # the exchange's 1m bars (from 2025-01-27 13:05, the first whole 5m bucket), sliced by
    # run_backtest to the window it feeds (warm-up included)
    one_min = load_market_data(dd, "BTCUSDT", "1m", 1_737_983_100 * 10**9, last_ns + BAR_NS)
    # end one bar after the paper's last bar: the backtest's end-of-data close falls outside
    return run_backtest(
        compiled,
        "BTCUSDT",
        iso(start_ns),
        iso(last_ns + 300 * 10**9),
        params=params,
        data_dir=dd,
        interval="5m",
        leverage=compiled.leverage(params),
        starting_balance=10_000,
        warmup_bars=compiled.warmup_for(params) + 50,
        execution_data=one_min,
    )


def bar_of(ts_ns: int) -> int:
    """The close of the 5m strategy bar a fill at ``ts_ns`` falls in (a 1m close 10:02 → 10:05)."""
    return -(-ts_ns // BAR_NS) * BAR_NS


@pytest.mark.slow
def test_paper_run_trades_like_the_backtest(dd_paper, tmp_path):
    rig = PaperRig(dd_paper, tmp_path, "a")
    try:
        rig.start()
        start_ns = rig.row()["trade_start_ns"]
        for _ in range(N_BARS):
            last = rig.step()
        journal = rig.row()
        from vibe_quant.store import paper_sql as Q
        from vibe_quant.store.state import StateStore

        with StateStore.open(rig.dd) as st:
            fills = Q.fills(st.conn, rig.run_id)
            funding = Q.funding(st.conn, rig.run_id)
        ledger = rig.ex.admin("GET", "/admin/trades")
        income = rig.ex.admin("GET", "/admin/income")
        state = rig.ex.admin("GET", "/admin/state")
    finally:
        rig.close()
    assert journal["last_bar_ns"] == last
    bt = backtest_of(dd_paper, start_ns, last)
    bt_fills = [f for f in bt.fills if f.ts <= last]
    assert len(bt_fills) >= 20, "span too quiet to compare"
    got = [
        (f["bar_ns"], f["side"], round(f["qty"], 6), round(f["price"], 6), f["tag"]) for f in fills
    ]
    want = [
        (bar_of(f.ts), f.side, round(f.qty, 6), round(f.price, 6), f.tag) for f in bt_fills
    ]
    assert got == want
    # the span tests the 1m path: some stop or target filled inside a 5m bar
    assert any(f.ts % BAR_NS for f in bt_fills)
    # the journal's fills are the exchange's trades; fees equal
    assert [f["trade_id"] for f in fills] == [t["id"] for t in ledger]
    assert sum(f["commission"] for f in fills) == pytest.approx(
        sum(float(t["commission"]) for t in ledger), abs=1e-8
    )
    assert sum(f["commission"] for f in fills) == pytest.approx(
        sum(f.commission for f in bt_fills), abs=1e-6
    )
    # funding: journal == exchange ledger == backtest payments within the span
    led_f = [
        (i["time"] * 1_000_000, float(i["income"]))
        for i in income
        if i["incomeType"] == "FUNDING_FEE"
    ]
    assert [(f["ts_ns"], f["amount"]) for f in funding] == led_f
    bt_f = [(p.ts, p.amount) for p in bt.funding_payments if p.ts <= last]
    assert len(bt_f) == len(led_f)
    for (t1, a1), (t2, a2) in zip(bt_f, led_f):
        assert abs(t1 - t2) < 60 * 10**9 and a1 == pytest.approx(a2, abs=1e-6)
    # final position equals the backtest's position before its end-of-data close
    pos = sum(f.side * f.qty for f in bt_fills)
    assert state["positions"].get("BTCUSDT", {}).get("amt", 0.0) == pytest.approx(pos, abs=1e-9)
