"""Results: sweeps and runs side by side — sortable metrics, Pareto front (select a point to
open its run), filter verdicts with values, walk-forward windows, PBO logits, screening vs
validation consistency, equity/drawdown, trades on a price chart, CSV downloads."""

from __future__ import annotations

import pandas as pd
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
    "cagr",
    "win_rate",
    "fees",
    "funding",
)

t0 = ui.start()
st.title("Results")
dd = core.data_dir()


def render(conn) -> None:

    sweeps = q.sweeps(conn)
    runs = q.runs(conn)
    tab_sweeps, tab_runs, tab_pipes = st.tabs(
        [f"Sweeps ({len(sweeps)})", f"Runs ({len(runs)})", "Pipelines"]
    )
    open_run: int | None = None

    with tab_sweeps:
        ui.table(
            [
                {
                    "sweep": s["id"],
                    "strategy": s["strategy_name"],
                    "symbol": s["symbol"],
                    "interval": s["interval"],
                    "start": ui.ns_date(s["start_ns"]),
                    "end": ui.ns_date(s["end_ns"]),
                    "combos": s["n_combos"],
                    "done": s["done"],
                    "failed": s["failed"],
                    "status": s["status"],
                    "created_at": s["created_at"],
                }
                for s in sweeps
            ],
            key="sweeps_table",
        )
        if sweeps:
            labels = {
                s["id"]: f"#{s['id']} {s['strategy_name']} {s['symbol']} {s['interval']} "
                f"{ui.ns_date(s['start_ns'])}→{ui.ns_date(s['end_ns'])} "
                f"[{s['status']}]"
                for s in sweeps
            }
            qp = st.query_params.get("sweep")
            ids = list(labels)
            idx = ids.index(int(qp)) if qp and qp.isdigit() and int(qp) in ids else 0
            sid = st.selectbox("Sweep", ids, index=idx, format_func=labels.get, key="results_sweep")
            rows = q.sweep_results(conn, sid)
            cur = next(s for s in sweeps if s["id"] == sid)
            st.markdown(
                f"Sweep #{sid}: {cur['status']}, {cur['done']}/{cur['n_combos']} "
                f"combinations stored, {cur['failed']} failed"
            )
            keys = sorted({k for r in rows for k in r["params"]})
            table = pd.DataFrame(
                [
                    {
                        "combo": r["combo_idx"],
                        **{k: r["params"].get(k) for k in keys},
                        **{m: r["metrics"].get(m) for m in METRICS},
                        "pareto": r["is_pareto"],
                        "passes hard filters": r["passes_filters"],
                        "status": r["status"],
                        "error": r["error"] or "",
                    }
                    for r in rows
                ]
            )
            st.markdown(
                f"**{len(rows)} result(s)** — click a column header to sort; returns and "
                "drawdowns are fractions, Sharpe annualised (365 d)"
            )
            ui.table(table, key="sweep_results_table")
            ui.csv_download(
                "Download sweep results (CSV)", table, f"sweep_{sid}.csv", key="dl_sweep"
            )

            vruns = q.validation_runs(conn, sid)
            vres = q.validation_results(conn, vruns[0]["id"]) if vruns else []
            run_of_combo = {v["combo_idx"]: v["run_id"] for v in vres if v["run_id"]}
            if rows:
                ev = st.plotly_chart(
                    charts.pareto(rows),
                    key="pareto_chart",
                    on_select="rerun",
                    selection_mode="points",
                )
                pts = (ev.get("selection", {}) or {}).get("points", []) if ev else []
                picked = next(
                    (p.get("customdata") for p in pts if p.get("customdata") is not None), None
                )
                if isinstance(picked, list):
                    picked = picked[0]
                combos = [r["combo_idx"] for r in rows if r["status"] == "completed"]
                if picked is not None and picked in combos:
                    st.session_state["results_combo"] = picked
                combo = (
                    st.selectbox(
                        "Combination (or select a point on the chart)", combos, key="results_combo"
                    )
                    if combos
                    else None
                )
                if combo is not None:
                    r = next(r for r in rows if r["combo_idx"] == combo)
                    st.write(f"#{combo} {r['params']}")
                    if combo in run_of_combo:
                        open_run = run_of_combo[combo]
                        if st.session_state.get("results_opened_combo") != (sid, combo):
                            st.session_state["results_opened_combo"] = (sid, combo)
                            st.session_state["results_run"] = open_run  # open its run
                        st.info(
                            f"combination #{combo} was validated: its full run is run "
                            f"{open_run} (shown on the Runs tab)."
                        )
                    else:
                        st.caption(
                            f"combination #{combo} has no stored full run: validate it "
                            "(Launch → validate) to store one."
                        )

            st.subheader("Overfitting filters")
            fruns = q.filter_runs(conn, sid)
            if not fruns:
                st.info(
                    f"No filter run on sweep {sid}: Launch → filter (`vibe-quant filter {sid}`)."
                )
            else:
                fid = st.selectbox(
                    "Filter run",
                    [f["id"] for f in fruns],
                    key="results_filter_run",
                    format_func=lambda i: f"filter run {i}",
                )
                fres = q.filter_results(conn, fid)
                verdicts = q.filter_verdicts(conn, fid)
                level = [f for f in fres if f["combo_idx"] == -1]
                ui.table(
                    [
                        {
                            "filter": f["filter"],
                            "value": f["value"],
                            "passed": f["passed"],
                            "threshold": str(f["threshold"]),
                            "note": f["details"].get("reason") or f["details"].get("error") or "",
                        }
                        for f in level
                    ],
                    key="filter_sweep_level",
                )
                cands: dict[int, dict] = {}
                for f in fres:
                    if f["combo_idx"] == -1:
                        continue
                    c = cands.setdefault(f["combo_idx"], {"combo": f["combo_idx"]})
                    c[f"{f['filter']} value"] = f["value"]
                    c[f"{f['filter']} passed"] = f["passed"]
                for ci, c in cands.items():
                    c["passed all"] = verdicts.get(ci)
                st.markdown(
                    f"**Candidates: {sum(verdicts.values())} of {len(verdicts)} passed "
                    "every enabled filter**"
                )
                ui.table(list(cands.values()), key="filter_candidates")
                det = {f["filter"]: f["details"] for f in level}
                wfa, pbo = det.get("wfa"), det.get("pbo")
                if wfa and wfa.get("windows"):
                    st.markdown("**Walk-forward windows**")
                    ui.table(
                        [
                            {
                                "window": w["window"],
                                "in-sample": f"{w['is_start'][:10]} → {w['is_end'][:10]}",
                                "out-of-sample end": w["oos_end"][:10],
                                "chosen combo": w["combo_idx"],
                                "IS Sharpe": w["is_sharpe"],
                                "IS return": w["is_return"],
                                "OOS return": w["oos_return"],
                                "OOS trades": w["oos_trades"],
                            }
                            for w in wfa["windows"]
                        ],
                        key="wfa_windows",
                    )
                    st.plotly_chart(charts.walk_forward(wfa), key="wfa_chart")
                elif wfa:
                    st.warning(f"walk-forward did not run: {wfa.get('reason') or wfa.get('error')}")
                if pbo and pbo.get("logits_hist"):
                    st.plotly_chart(charts.pbo_logits(pbo), key="pbo_chart")
                elif pbo:
                    st.warning(f"PBO not computed: {pbo.get('error')}")

            st.subheader("Screening vs validation")
            if not vruns:
                st.info(f"No validation run on sweep {sid}: Launch → validate.")
            else:
                ui.table(
                    [
                        {
                            "combo": v["combo_idx"],
                            "run": v["run_id"],
                            "status": v["status"],
                            "screening Sharpe": v["screening_sharpe"],
                            "validation Sharpe": v["validation_sharpe"],
                            "Sharpe Δ %": v["sharpe_degradation_pct"],
                            "screening return": v["screening_return"],
                            "validation return": v["validation_return"],
                            "return Δ %": v["return_degradation_pct"],
                            "screening max DD": v["screening_max_drawdown"],
                            "validation max DD": v["validation_max_drawdown"],
                            "max DD Δ %": v["drawdown_degradation_pct"],
                            "execution sensitive": v["execution_sensitive"],
                            "slippage cost (USDT)": v["slippage_cost"],
                        }
                        for v in vres
                    ],
                    key="consistency_table",
                )

    with tab_runs:
        ui.table(
            [
                {
                    "run": r["id"],
                    "strategy": r["strategy_name"],
                    "symbols": ",".join(r["symbols"]),
                    "interval": r["interval"],
                    "mode": r["mode"],
                    "start": ui.ns_date(r["start_ns"]),
                    "end": ui.ns_date(r["end_ns"]),
                    "status": r["status"],
                    **{m: r.get(m) for m in METRICS if m in r},
                    "params": str(r["params"]),
                }
                for r in runs
            ],
            key="runs_table",
        )
        if runs:
            ids = [r["id"] for r in runs]
            compare = st.multiselect(
                "Compare runs side by side", ids, default=ids[:2], key="results_compare"
            )
            if compare:
                cmp_rows = [q.run(conn, i) for i in compare]
                st.dataframe(
                    pd.DataFrame(
                        {
                            f"run {r['id']}": {
                                **{
                                    m: f"{r.get(m):.6g}" if r.get(m) is not None else "—"
                                    for m in METRICS
                                },
                                "mode": r["mode"],
                                "params": str(r["params"]),
                            }
                            for r in cmp_rows
                            if r
                        }
                    ),
                    width="stretch",
                    key="compare_table",
                )
                st.plotly_chart(
                    charts.equity_drawdown({f"run {i}": q.equity(conn, i) for i in compare}),
                    key="compare_equity",
                )
            qp = st.query_params.get("run")
            default = (
                open_run
                if open_run in ids
                else (int(qp) if qp and qp.isdigit() and int(qp) in ids else ids[0])
            )
            rid = st.selectbox("Run", ids, index=ids.index(default), key="results_run")
            run = q.run(conn, rid)
            st.markdown(
                f"**Run {rid}** {run['strategy_name']} {','.join(run['symbols'])} "
                f"{run['interval']} {run['mode']} {ui.ns_date(run['start_ns'])} → "
                f"{ui.ns_date(run['end_ns'])} — {run['status']}"
            )
            ui.table(
                [{"metric": k, "value": str(v)} for k, v in sorted(run["metrics"].items())],
                key="run_metrics",
            )
            eq = q.equity(conn, rid)
            tr = q.trades(conn, rid)
            if eq:
                st.plotly_chart(charts.equity_drawdown({f"run {rid}": eq}), key="run_equity")
            tdf = pd.DataFrame(tr)
            if not tdf.empty:
                for c in ("entry_ns", "exit_ns"):
                    tdf[c.replace("_ns", "_time")] = pd.to_datetime(tdf[c], unit="ns", utc=True)
            st.markdown(f"**{len(tr)} trade(s)**")
            ui.table(tdf, key="run_trades")
            c1, c2 = st.columns(2)
            with c1:
                ui.csv_download(
                    "Download trades (CSV)", tdf, f"run_{rid}_trades.csv", key="dl_trades"
                )
            with c2:
                ui.csv_download(
                    "Download equity (CSV)",
                    pd.DataFrame(eq),
                    f"run_{rid}_equity.csv",
                    key="dl_equity",
                )
            with core.archive_ro(dd) as aconn:
                bars = (
                    q.bars(
                        aconn,
                        run["symbols"][0],
                        run["interval"],
                        run["start_ns"] // 10**6,
                        run["end_ns"] // 10**6,
                        max_rows=4000,
                    )
                    if aconn
                    else []
                )
            if bars:
                st.plotly_chart(
                    charts.trades_on_price(
                        bars, tr, f"Run {rid}: trades on {run['symbols'][0]} close"
                    ),
                    key="run_trades_chart",
                )
            else:
                st.caption("no archived bars for this run's symbol and interval")

    with tab_pipes:
        pipes = q.pipeline_runs(conn)
        if not pipes:
            st.info("No pipeline run yet: Launch → pipeline (`vibe-quant pipeline …`).")
        ui.table(
            [
                {
                    "pipeline": p["id"],
                    "strategy": p["strategy_name"],
                    "symbol": p["symbol"],
                    "start": ui.ns_date(p["start_ns"]),
                    "end": ui.ns_date(p["end_ns"]),
                    "stage": p["stage"],
                    "sweep": p["sweep_id"],
                    "filter run": p["filter_run_id"],
                    "validation run": p["validation_run_id"],
                    "report": p["report_path"] or "",
                    "seconds": sum(p["stage_seconds"].values()),
                    "updated_at": p["updated_at"],
                }
                for p in pipes
            ],
            key="pipelines_table",
        )


with core.state_ro(dd) as conn:
    if conn is None:
        ui.no_store()
    else:
        render(conn)
ui.footer("Results", t0)
