"""Launch: backtest, sweep, pipeline and validation forms generated from the strategy and the
CLI's own options; launching starts a background job; progress from the jobs table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import streamlit as st

from vibe_quant.dashboard import charts, core, ui
from vibe_quant.services import dashboard as q

t0 = ui.start()
st.title("Launch")
dd = core.data_dir()
COMMANDS = ("sweep", "backtest", "pipeline", "validate", "filter")
command = st.radio("Command", COMMANDS, horizontal=True, key="launch_command")

with core.archive_ro(dd) as aconn:
    series = q.archive_series(aconn) if aconn else []
with core.state_ro(dd) as conn:
    sweeps = q.sweeps(conn) if conn else []

opts = core.command_options(command)
values: dict = {}
summary = None
needs_strategy = any(o.dest == "strategy" for o in opts)
if needs_strategy:
    files = core.list_strategy_files()
    if not files:
        st.warning(
            f"No strategy file in {core.strategies_dir()}: create one on the Strategies page."
        )
        st.stop()
    sel = st.selectbox("Strategy", [p.name for p in files], key=f"launch:{command}:strategy")
    path = core.strategies_dir() / sel
    values["strategy"] = str(path)
    summary = core.strategy_summary(path.read_text(errors="replace"))
    if summary is None:
        st.error(f"{sel} does not validate: fix it on the Strategies page first.")
        st.stop()
    st.caption(
        f"{summary['name']}: timeframe {summary['timeframe']}, sweep grid "
        f"{summary['grid_size']} combination(s) over "
        f"{', '.join(summary['sweep']) or 'no parameter'}"
    )

# Default window: the last 30 days archived for the strategy's timeframe (or any series).
prefill: dict = {}
tf = summary["timeframe"] if summary else None
match = [s for s in series if s["interval"] == tf] or series
if match:
    last = datetime.fromtimestamp(match[0]["last_ms"] / 1000, UTC)
    first = datetime.fromtimestamp(match[0]["first_ms"] / 1000, UTC)
    start = max(first, last - timedelta(days=30))
    prefill = {
        "start": start.strftime("%Y-%m-%d"),
        "end": last.strftime("%Y-%m-%d"),
        "symbol": match[0]["symbol"],
    }

with st.form(f"launch_form:{command}"):
    for o in opts:
        key = f"launch:{command}:{o.dest}"
        label = o.flag or o.dest
        if o.dest == "strategy":
            continue
        if o.dest == "sweep_id":
            ids = [s["id"] for s in sweeps if s["done"] > s["failed"]]
            if not ids:
                st.warning("No sweep with a completed combination yet: launch a sweep first.")
                values["sweep_id"] = None
                continue
            fmt = {
                s["id"]: f"#{s['id']} {s['strategy_name']} {s['symbol']} "
                f"{ui.ns_date(s['start_ns'])}→{ui.ns_date(s['end_ns'])} "
                f"({s['done']}/{s['n_combos']})"
                for s in sweeps
            }
            values["sweep_id"] = st.selectbox("sweep", ids, format_func=fmt.get, key=key)
        elif o.dest == "param" and summary:
            with st.expander("strategy parameters (--param, blank = the file's value)"):
                values["param"] = [
                    f"{k}={v}"
                    for k, cur in summary["params"].items()
                    if (
                        v := st.text_input(
                            k, value="", placeholder=str(cur), key=f"{key}:{k}"
                        ).strip()
                    )
                ]
        elif o.kind == "flag":
            values[o.dest] = st.checkbox(label, value=False, help=o.help, key=key)
        elif o.kind == "bool":
            values[o.dest] = st.checkbox(label, value=bool(o.default), help=o.help, key=key)
        elif o.kind == "choice":
            ch = list(o.choices or ())
            idx = ch.index(o.default) if o.default in ch else 0
            values[o.dest] = st.selectbox(label, ch, index=idx, help=o.help, key=key)
        elif o.kind == "int" and o.default is not None:
            values[o.dest] = st.number_input(
                label, value=int(o.default), step=1, help=o.help, key=key
            )
        elif o.kind == "float" and o.default is not None:
            values[o.dest] = st.number_input(label, value=float(o.default), help=o.help, key=key)
        else:
            default = prefill.get(o.dest, "" if o.default is None else str(o.default))
            ph = (
                f"default: {tf}"
                if o.dest == "interval" and tf
                else ("optional" if not o.required else "required")
            )
            values[o.dest] = st.text_input(
                label + (" *" if o.required else ""),
                value=default,
                placeholder=ph,
                help=o.help,
                key=key,
            )
    submitted = st.form_submit_button("Launch", type="primary")

if submitted:
    try:
        if values.get("sweep_id", 0) is None:
            raise core.DashboardError("choose a sweep")
        argv = core.build_argv(command, values, data_dir_root=str(dd.root))
        job = core.launch(argv, dd)
        st.success(
            f"job {job['id']} started (pid {job['pid']}): vibe-quant {' '.join(job['args'])}"
        )
        st.session_state["launch_last_job"] = job["id"]
    except core.DashboardError as e:
        st.error(str(e))


@st.fragment(run_every=2.0)
def jobs_panel() -> None:
    st.subheader("Background jobs")
    with core.state_ro(dd) as conn:
        jobs = q.jobs(conn, limit=50) if conn else []
    if not jobs:
        st.info("No background job yet.")
        return
    for j in [j for j in jobs if j["state"] in ("pending", "running")]:
        frac = charts.job_progress_fraction(j)
        text = (
            f"job {j['id']} {j['command']}: {j['progress_done']:g}/{j['progress_total']:g} "
            f"{j['progress_unit'] or ''}"
            if frac is not None
            else f"job {j['id']} {j['command']}: {j['state']}"
        )
        c1, c2 = st.columns([5, 1])
        c1.progress(frac or 0.0, text=text)
        if c2.button("Cancel", key=f"cancel:{j['id']}"):
            try:
                core.cancel(j["id"], dd)
                st.toast(f"job {j['id']} cancelled")
            except core.DashboardError as e:
                st.error(str(e))
    ui.table(
        [
            {
                "id": j["id"],
                "state": j["state"],
                "command": j["command"],
                "progress": (
                    f"{j['progress_done']:g}/{j['progress_total']:g} {j['progress_unit'] or ''}"
                    if j["progress_total"]
                    else "-"
                ),
                "result": json.dumps(j["result_ref"]) if j["result_ref"] else "",
                "error": j["error"] or "",
                "created_at": j["created_at"],
                "finished_at": j["finished_at"] or "",
                "args": " ".join(j["args"]),
            }
            for j in jobs
        ],
        key="jobs_table",
    )
    pick = st.selectbox("Log of job", [j["id"] for j in jobs], key="launch_log_job")
    job = next(j for j in jobs if j["id"] == pick)
    st.code(core.job_log_tail(job["log_path"])[-6000:] or "(empty log)", language="text")


jobs_panel()
ui.footer("Launch", t0)
