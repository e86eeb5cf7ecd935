"""Paper trading: live PnL, position, open orders, fills, breaker state and heartbeat age of
each paper run; start, stop and a kill switch that asks for confirmation
(:mod:`vibe_quant.dashboard.paper_control`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from vibe_quant.dashboard import charts, core, paper_control, ui
from vibe_quant.services import dashboard as q

t0 = ui.start()
st.title("Paper trading")
dd = core.data_dir()


def _age(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        t = datetime.fromisoformat(str(iso).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
    return round(datetime.now(UTC).timestamp() - t, 1)


@st.fragment(run_every=5.0)
def runs_panel() -> list[dict]:
    with core.state_ro(dd) as conn:
        runs = (q.paper_runs(conn) if conn else None) or []
        if not runs:
            st.info(
                "No paper run exists in this data dir. Start one below or with "
                "`vibe-quant paper start STRATEGY.yaml --symbol BTCUSDT …`."
            )
            return []
        ui.table(
            [
                {
                    "run": r["id"],
                    "strategy": r["strategy_name"],
                    "symbol": r["symbol"],
                    "status": r["status"],
                    "child": r["child_state"],
                    "position": r["position"],
                    "avg entry": r["avg_entry"],
                    "balance (USDT)": r["balance"],
                    "unrealised PnL (USDT)": r["upnl"],
                    "PnL (USDT)": (
                        None
                        if r["balance"] is None or r["starting_balance"] is None
                        else r["balance"] + (r["upnl"] or 0.0) - r["starting_balance"]
                    ),
                    "open orders": len(r["open_orders"] or []),
                    "breaker": json.dumps(r["breaker"], sort_keys=True) if r["breaker"] else "",
                    "heartbeat age (s)": _age(r["heartbeat_at"]),
                    "restarts": r["restarts"],
                    "error": r["error"] or "",
                }
                for r in runs
            ],
            key="paper_runs",
        )
        rid = st.selectbox("Run", [r["id"] for r in runs], key="paper_detail")
        run = next(r for r in runs if r["id"] == rid)
        eq = q.paper_equity(conn, rid)
        fills = q.paper_fills(conn, rid)
    if eq:
        st.plotly_chart(
            charts.equity_drawdown(
                {
                    f"paper run {rid}": [
                        {
                            "date": pd.Timestamp(e["ts_ns"], unit="ns", tz="UTC").isoformat(),
                            "equity": e["equity"],
                        }
                        for e in eq
                    ]
                }
            ),
            key="paper_equity",
        )
    st.markdown(f"**Open orders ({len(run['open_orders'] or [])})**")
    ui.table(run["open_orders"] or [], key="paper_orders")
    st.markdown(f"**Fills ({len(fills)})**")
    ui.table(fills, key="paper_fills")
    return runs


runs = runs_panel() or []

st.subheader("Controls")
if not paper_control.available():
    st.warning(
        "The paper-trading control module (vibe_quant.paper.control) is not in this "
        "build yet: the buttons below report that and start or stop nothing."
    )
files = core.list_strategy_files()
with st.form("paper_start"):
    strat = st.selectbox("Strategy", [p.name for p in files], key="paper_strategy")
    symbol = st.text_input("Symbol", value="BTCUSDT", key="paper_symbol")
    if st.form_submit_button("Start paper run"):
        try:
            res = paper_control.start(dd, str(core.strategies_dir() / strat), symbol.upper())
            st.success(f"started: {res}")
        except paper_control.ERRORS as e:
            st.error(str(e))
active = [r["id"] for r in runs if r["status"] in ("starting", "running")]
c1, c2 = st.columns(2)
with c1:
    target = st.selectbox("Run to stop", active or ["(none running)"], key="paper_run")
    if st.button("Stop", key="paper_stop", disabled=not active):
        try:
            st.success(f"stopped: {paper_control.stop(dd, int(target))}")
        except paper_control.ERRORS as e:
            st.error(str(e))
with c2:
    st.markdown(
        "**Kill switch**: cancels every open order, flattens every position and stops "
        "all paper runs."
    )
    sure = st.checkbox("I confirm: cancel all orders, flatten and stop", key="paper_kill_confirm")
    if st.button("KILL", key="paper_kill", type="primary", disabled=not sure):
        try:
            st.success(f"kill switch: {paper_control.kill(dd, None)}")
        except paper_control.ERRORS as e:
            st.error(str(e))
ui.footer("Paper trading", t0)
