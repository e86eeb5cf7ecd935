"""Discovery. Genetic discovery has not landed in this version, so this page explores a
stored sweep instead: parameter heatmaps and per-parameter sensitivity of a chosen metric."""

from __future__ import annotations

import streamlit as st

from vibe_quant.dashboard import charts, core, ui
from vibe_quant.services import dashboard as q

METRICS = (
    "sharpe",
    "total_return",
    "max_drawdown",
    "profit_factor",
    "trades",
    "sortino",
    "calmar",
    "win_rate",
)

t0 = ui.start()
st.title("Discovery — sweep exploration")
st.caption(
    "Genetic discovery is not part of this version; until it lands this page explores "
    "the parameter space of a stored sweep."
)


def render(conn) -> None:
    sweeps = [s for s in q.sweeps(conn) if s["done"] > s["failed"]]
    if not sweeps:
        st.info("No sweep with a completed combination yet: Launch → sweep.")
        return
    labels = {
        s["id"]: f"#{s['id']} {s['strategy_name']} {s['symbol']} "
        f"{ui.ns_date(s['start_ns'])}→{ui.ns_date(s['end_ns'])} "
        f"({s['done']}/{s['n_combos']})"
        for s in sweeps
    }
    sid = st.selectbox("Sweep", list(labels), format_func=labels.get, key="discovery_sweep")
    rows = q.sweep_results(conn, sid)
    params = sorted({k for r in rows for k in r["params"]})
    metric = st.selectbox("Metric", METRICS, key="discovery_metric")
    done = [r for r in rows if r["status"] == "completed"]
    st.markdown(f"**{len(done)} completed combination(s)** over {len(params)} parameter(s)")
    if len(params) >= 2:
        c1, c2 = st.columns(2)
        x = c1.selectbox("x parameter", params, index=0, key="discovery_x")
        y = c2.selectbox("y parameter", params, index=1, key="discovery_y")
        if x == y:
            st.warning("choose two different parameters for the heatmap")
        else:
            st.plotly_chart(charts.heatmap(rows, x, y, metric), key="discovery_heatmap")
    for p in params:
        st.plotly_chart(charts.sensitivity(rows, p, metric), key=f"discovery_sens:{p}")
        ui.table(charts.sensitivity_table(rows, p, metric), key=f"discovery_sens_table:{p}")


with core.state_ro() as conn:
    if conn is None:
        ui.no_store()
    else:
        render(conn)
ui.footer("Discovery", t0)
