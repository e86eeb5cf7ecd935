"""Data: what is archived and catalogued per symbol and interval, verify results with gaps on
a timeline (``vibe_quant.services.dashboard.verify_data``, as ``vibe-quant data verify``),
launching an ingest as a background job."""

from __future__ import annotations

import streamlit as st

from vibe_quant.dashboard import charts, core, ui
from vibe_quant.services import dashboard as q

t0 = ui.start()
st.title("Data")
dd = core.data_dir()
with core.archive_ro(dd) as aconn:
    series = q.archive_series(aconn) if aconn else []
    funding = q.archive_funding(aconn) if aconn else []
if not series:
    st.info("Nothing archived yet: launch an ingest below (or `vibe-quant data ingest`).")
else:
    counts = q.catalog_bar_counts(dd)
    st.subheader("Archived and catalogued")
    ui.table(
        [
            {
                "symbol": s["symbol"],
                "interval": s["interval"],
                "archived bars": s["bars"],
                "first": ui.ms_iso(s["first_ms"]),
                "last": ui.ms_iso(s["last_ms"]),
                "catalog bars": counts.get((s["symbol"], s["interval"]), 0),
            }
            for s in series
        ],
        key="data_series",
    )
    ui.table(
        [
            {
                "symbol": f["symbol"],
                "funding records": f["records"],
                "first": ui.ms_iso(f["first_ms"]),
                "last": ui.ms_iso(f["last_ms"]),
            }
            for f in funding
        ],
        key="data_funding",
    )

st.subheader("Verify")
if st.button(
    "Run verify (gaps, duplicates, OHLC violations, funding gaps)",
    key="data_verify",
    disabled=not series,
):
    with st.spinner("verifying the archive…"):
        st.session_state["data_verify_report"] = q.verify_data(dd)
rep = st.session_state.get("data_verify_report")
if rep:
    (st.success if rep["ok"] else st.error)(
        "usable: no duplicates, no OHLC violations"
        if rep["ok"]
        else "NOT usable: duplicates or OHLC violations found"
    )
    ui.table(
        [
            {
                "symbol": s["symbol"],
                "interval": s["interval"],
                "bars": s["bars"],
                "gaps": len(s["gaps"]),
                "missing bars": sum(g["missing_bars"] for g in s["gaps"]),
                "duplicates": s["duplicates"],
                "OHLC violations": s["ohlc_violations"],
                "first": s["first"],
                "last": s["last"],
            }
            for s in rep["series"]
        ],
        key="verify_series",
    )
    st.plotly_chart(charts.gaps_timeline(rep["series"]), key="gaps_chart")
    gaps = [
        {"symbol": s["symbol"], "interval": s["interval"], **g}
        for s in rep["series"]
        for g in s["gaps"]
    ]
    if gaps:
        ui.table(gaps, key="verify_gaps")

st.subheader("Ingest")
opts = core.command_options("data ingest")
with st.form("ingest_form"):
    values: dict = {}
    for o in opts:
        key = f"ingest:{o.dest}"
        label = o.flag or o.dest
        if o.kind == "flag":
            values[o.dest] = st.checkbox(label, value=False, help=o.help, key=key)
        elif o.kind == "int" and o.default is not None:
            values[o.dest] = st.number_input(
                label, value=int(o.default), step=1, help=o.help, key=key
            )
        else:
            values[o.dest] = st.text_input(
                label, value="" if o.default is None else str(o.default), help=o.help, key=key
            )
    if st.form_submit_button("Launch ingest", type="primary"):
        try:
            job = core.launch(
                core.build_argv("data ingest", values, data_dir_root=str(dd.root)), dd
            )
            st.success(
                f"job {job['id']} started: vibe-quant {' '.join(job['args'])} — "
                "progress on the Launch page"
            )
        except core.DashboardError as e:
            st.error(str(e))
ui.footer("Data", t0)
