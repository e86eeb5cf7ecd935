"""SIGKILL of the paper child at ten random moments (seeded: 0–80 ms after one of the five 1m
steps of a 5m bar, so between bar and decision, intent and submit, submit and acknowledgement,
an in-bar stop or target fill and the cancels that follow it; the replay goes on minute by
minute while the child is down and waits only at the next 5m close, i.e. a restart that takes
less than the rest of the bar): the supervisor restarts it every time; at the end the
exchange's order list equals an uninterrupted run's (no order sent twice, none lost), the
journal's fills equal the exchange's trades, and the final position and wallet balance equal
the uninterrupted run's. Then no API key or secret appears in any log, database or output of
either run (grep)."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from vibe_quant.paper.venue import decode_cid
from vibe_quant.testing.exchange import TEST_API_KEY, TEST_API_SECRET

from .harness import PaperRig, cli

N_BARS = 120
N_KILLS = 10


def _final(rig: PaperRig):
    from vibe_quant.store import paper_sql as Q
    from vibe_quant.store.state import StateStore

    with StateStore.open(rig.dd) as st:
        fills = Q.fills(st.conn, rig.run_id)
    orders = rig.ex.admin("GET", "/admin/orders")
    state = rig.ex.admin("GET", "/admin/state")
    trades = rig.ex.admin("GET", "/admin/trades")
    # every order the client sent: regular orders, and algo (conditional) orders — not the
    # market order a triggered algo order becomes (it carries the algo order's client id)
    triggered = {a["actualOrderId"] for a in orders["algo_orders"] if a["actualOrderId"]}
    ids = sorted(
        decode_cid(o["clientOrderId"])
        for o in orders["orders"]
        if str(o["orderId"]) not in triggered
    ) + sorted(decode_cid(a["clientAlgoId"]) for a in orders["algo_orders"])
    return fills, trades, ids, state


@pytest.mark.slow
def test_sigkill_ten_times_loses_and_duplicates_nothing(dd_paper, tmp_path):
    outputs: list[str] = []
    ref = PaperRig(dd_paper, tmp_path, "ref")
    try:
        ref.start()
        for _ in range(N_BARS):
            ref.step()
        r_fills, r_trades, r_ids, r_state = _final(ref)
    finally:
        ref.close()

    rng = random.Random(12)
    kill_at = set(rng.sample(range(5, N_BARS - 5), N_KILLS))
    rig = PaperRig(dd_paper, tmp_path, "crash")
    kills = 0
    try:
        rig.start()
        for i in range(N_BARS):
            if i in kill_at:
                pid = rig.row()["child_pid"]
                delay = rng.uniform(0.0, 0.08)
                minute = rng.randint(1, 5)  # which 1m step of the 5m bar the kill follows

                def shoot(bar, pid=pid, delay=delay):
                    time.sleep(delay)
                    os.kill(pid, signal.SIGKILL)

                restarts = rig.row()["restarts"]
                t_kill = time.time_ns()
                bar = rig.step(on_stepped=shoot, at_minute=minute)

                # the supervisor restarts the child; it reconciles, warms up and catches up
                def restarted(r, pid=pid, t_kill=t_kill, bar=bar):
                    return (
                        r["child_pid"] not in (None, pid)
                        and (r["heartbeat_ns"] or 0) > t_kill + 10**8
                        and r["child_state"] == "trading"
                        and r["last_bar_ns"] >= bar
                    )

                rig.wait(restarted, 120, "restarted child")
                rig.quiet()
                kills += 1
                assert rig.row()["restarts"] == restarts + 1
            else:
                rig.step()
        c_fills, c_trades, c_ids, c_state = _final(rig)
        st = cli(rig.dd, "paper", "status", str(rig.run_id), "--json")
        outputs += [st.stdout, st.stderr]
    finally:
        rig.close()
    assert kills == N_KILLS
    assert len(r_trades) >= 10
    # nothing sent twice, nothing lost: the same client order ids at the exchange
    assert len(c_ids) == len(set(c_ids))
    assert c_ids == r_ids
    # the span has stops and targets filled inside 5m bars, on the 1m path
    assert {"stop_loss", "take_profit"} <= {f["tag"] for f in c_fills}
    # the journal's fills are the exchange's trades
    r6 = lambda x: round(float(x), 6)  # noqa: E731 - the node reports prices as doubles
    assert [
        (f["trade_id"], r6(f["qty"]), r6(f["price"]), r6(f["commission"])) for f in c_fills
    ] == [(t["id"], r6(t["qty"]), r6(t["price"]), r6(t["commission"])) for t in c_trades]
    assert [f["tag"] for f in c_fills] == [f["tag"] for f in r_fills]
    # the same trades, position and balance as the uninterrupted run
    key = lambda t: (t["side"], t["qty"], t["price"], t["commission"], t["time"])  # noqa: E731
    assert [key(t) for t in c_trades] == [key(t) for t in r_trades]
    assert c_state["positions"] == r_state["positions"]
    assert c_state["wallet_balance"] == pytest.approx(r_state["wallet_balance"], abs=1e-9)

    # no API key or secret anywhere: logs, databases, event logs, command output
    leaks = []
    for root in (rig.root, ref.root):
        for p in Path(root).rglob("*"):
            if p.is_file():
                data = p.read_bytes()
                for s in (TEST_API_KEY, TEST_API_SECRET):
                    if s.encode() in data:
                        leaks.append((str(p), s[:6]))
    for text in outputs:
        for s in (TEST_API_KEY, TEST_API_SECRET):
            assert s not in text
    assert leaks == []
