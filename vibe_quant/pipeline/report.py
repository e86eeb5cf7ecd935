"""Self-contained HTML report of a pipeline run (plotly.js embedded, opens offline).

Sections: what did not happen (problems and warnings, first); short list; Pareto front of the
sweep (Sharpe vs max drawdown, colour = profit factor); validation equity curves and drawdowns
of the candidates — or, when the short list is empty, the screening equity and drawdown of the
best rejected candidates, labelled as rejected with the filters that rejected each;
walk-forward windows and the stitched out-of-sample equity (or why walk-forward could not run);
PBO logit distribution; CPCV path Sharpe distribution (histogram and box); filter table with
each filter's false-positive rate and power at the sweep's N, T and ρ; the purged K-fold CV of
the selection per fold; screening-vs-validation consistency table.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "✔" if v else "✘"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            return "∞" if v > 0 else ("−∞" if v < 0 else "—")
        return f"{v * 100:.2f} %" if pct else f"{v:.4g}"
    if isinstance(v, str) and v in ("inf", "-inf"):
        return "∞" if v == "inf" else "−∞"
    return html.escape(str(v))


def _table(headers: list[str], rows: list[list[Any]], pct_cols: tuple[int, ...] = ()) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(v, i in pct_cols)}</td>" for i, v in enumerate(r)) + "</tr>"
        for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return v


def _calibration_table(filters: dict[str, Any]) -> str:
    """What each verdict means: false-positive rate and power at the sweep's N, T and ρ."""
    cal: dict[str, Any] = {}
    for name, v in filters.get("sweep_level", {}).items():
        if v.get("calibration"):
            cal[name] = v["calibration"]
    for c in filters.get("candidates", []):
        for name, f in c.get("filters", {}).items():
            if f.get("calibration") and name not in cal:
                cal[name] = f["calibration"]
    if not cal:
        return ""
    rows = []
    for name in sorted(cal):
        c = cal[name]
        p = c.get("power") or {}
        rows.append([name, c.get("preset") or "custom", c.get("n_trials"), c.get("n_days"),
                     c.get("rho"), c.get("fpr"), p.get("1.0"), p.get("2.0"), p.get("3.0"),
                     "; ".join(c.get("notes") or []) or "—"])
    return ("<h3>What a verdict means (calibration)</h3><p>Share of simulated sweeps whose best "
            "combination passes each filter at its thresholds, interpolated at this sweep's N, "
            "T and mean pairwise correlation ρ: with true Sharpe 0 (the false-positive rate — "
            "how many flukes get through) and with true annualised Sharpe 1, 2, 3 (power). "
            "SPEC.md §6–7.</p>"
            + _table(["filter", "preset", "N", "T (days)", "ρ", "false-positive rate",
                      "power SR 1", "power SR 2", "power SR 3", "note"], rows,
                     pct_cols=(5, 6, 7, 8)))


def _k_sensitivity(rows: Any) -> str:
    """``"k=0.5: 1.23 / k=1: 1.10 / k=2: 0.95"`` from a validation row's
    ``impact_sensitivity`` (validation Sharpe per impact coefficient), or ``"—"``."""
    if not rows:
        return "—"
    return " / ".join(f"k={r.get('k'):g}: " + ("—" if r.get("sharpe") is None
                                                 else f"{r['sharpe']:.2f}") for r in rows)


def write_pipeline_report(
    path: str | Path,
    *,
    title: str,
    sweep_rows: list[dict[str, Any]],
    filters: dict[str, Any] | None,
    validations: list[dict[str, Any]],
    shortlist: list[dict[str, Any]],
    notes: list[str] | None = None,
    rejected: list[dict[str, Any]] | None = None,
    problems: list[str] | None = None,
) -> Path:
    """Write the report; returns its path.

    Args:
        sweep_rows: ``StateStore.sweep_results`` rows (``combo_idx``, ``params``, ``status``,
            ``metrics``, ``is_pareto``, ``passes_filters``).
        filters: ``FilterReport.to_dict()`` (``sweep_level`` with ``wfa``/``pbo`` details,
            ``candidates`` with per-filter values), or None when no filter ran.
        validations: per validated candidate ``{"combo_idx", "params", "screening": metrics,
            "validation": metrics, "consistency": {...}, "equity": pd.Series (daily USDT)}``.
        shortlist: the survivors as printed by the pipeline.
        rejected: when the short list is empty, the best rejected candidates
            ``{"combo_idx", "params", "screening_sharpe", "rejected_by": [str], "equity":
            pd.Series (daily USDT, screening run)}``.
        problems: lines saying what was requested but did not happen (shown first).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    parts: list[str] = []
    figs: list[Any] = []

    # ---- Pareto front
    done = [r for r in sweep_rows if r["status"] == "completed"]
    if done:
        x = [_num(r["metrics"].get("max_drawdown")) * 100 for r in done]
        y = [_num(r["metrics"].get("sharpe")) for r in done]
        pf = [min(_num(r["metrics"].get("profit_factor")), 5.0) for r in done]
        txt = [f"#{r['combo_idx']} {r['params']}<br>trades {r['metrics'].get('trades')}"
               for r in done]
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=x, y=y, mode="markers", text=txt, name="combinations",
                                 marker=dict(color=pf, colorscale="RdYlGn", cmin=0.5, cmax=2.0,
                                             size=8, colorbar=dict(title="profit factor"))))
        front = [i for i, r in enumerate(done) if r.get("is_pareto")]
        if front:
            fig.add_trace(go.Scatter(x=[x[i] for i in front], y=[y[i] for i in front],
                                     mode="markers", name="Pareto front",
                                     text=[txt[i] for i in front],
                                     marker=dict(size=14, color="rgba(0,0,0,0)",
                                                 line=dict(width=2, color="black"))))
        front_note = (f"{len(front)} on the Pareto front" if front else
                      "Pareto front empty: no combination passed the hard filters")
        fig.update_layout(title=f"Screening sweep: Sharpe (annualised) vs max drawdown — "
                                f"{front_note}",
                          xaxis_title="max drawdown (%)", yaxis_title="Sharpe (365 d)",
                          height=450)
        figs.append(fig)

    # ---- validation equity + drawdown
    eq_curves = [(v, v["equity"]) for v in validations if v.get("equity") is not None
                 and len(v["equity"])]
    if eq_curves:
        fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35],
                            vertical_spacing=0.04)
        for v, eq in eq_curves:
            s = pd.Series(eq, dtype=float)
            dd = (s / s.cummax() - 1.0) * 100
            name = f"#{v['combo_idx']} {v['params']}"
            fig.add_trace(go.Scatter(x=s.index, y=s.values, name=name, legendgroup=name),
                          row=1, col=1)
            fig.add_trace(go.Scatter(x=dd.index, y=dd.values, name=name, legendgroup=name,
                                     showlegend=False, fill="tozeroy"), row=2, col=1)
        fig.update_yaxes(title_text="equity (USDT, daily, marked to market)", row=1, col=1)
        fig.update_yaxes(title_text="drawdown (%)", row=2, col=1)
        fig.update_layout(title="Validation runs (slippage, latency, fees, funding, liquidation)",
                          height=600)
        figs.append(fig)

    # ---- empty short list: the best rejected candidates' screening equity + drawdown
    rej_curves = [(r, r["equity"]) for r in rejected or [] if r.get("equity") is not None
                  and len(r["equity"])]
    if rej_curves:
        fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35],
                            vertical_spacing=0.04)
        for r, eq in rej_curves:
            s = pd.Series(eq, dtype=float)
            dd = (s / s.cummax() - 1.0) * 100
            name = (f"REJECTED #{r['combo_idx']} {r['params']} — by "
                    f"{', '.join(r.get('rejected_by') or ['?'])}")
            fig.add_trace(go.Scatter(x=s.index, y=s.values, name=name, legendgroup=name,
                                     line=dict(dash="dot")), row=1, col=1)
            fig.add_trace(go.Scatter(x=dd.index, y=dd.values, name=name, legendgroup=name,
                                     showlegend=False, fill="tozeroy"), row=2, col=1)
        fig.update_yaxes(title_text="equity (USDT, daily, screening run)", row=1, col=1)
        fig.update_yaxes(title_text="drawdown (%)", row=2, col=1)
        fig.update_layout(title="Rejected: best screening candidates (no survivor to validate; "
                                "screening runs without slippage or latency)", height=600,
                          legend=dict(orientation="h", y=-0.15))
        figs.append(fig)

    sl = (filters or {}).get("sweep_level", {})
    wfa = sl.get("wfa")
    if wfa and wfa.get("stitched_equity"):
        se = wfa["stitched_equity"]
        fig = go.Figure(go.Scatter(x=[p[0] for p in se], y=[p[1] for p in se],
                                   name="stitched OOS equity"))
        for w in wfa.get("windows", []):
            fig.add_vrect(x0=w["is_end"], x1=w["oos_end"], opacity=0.04, line_width=0,
                          fillcolor="blue")
        fig.update_layout(title=f"Walk-forward: stitched out-of-sample equity (growth of 1), "
                                f"WFE {_fmt(wfa.get('wfe'))}, OOS Sharpe "
                                f"{_fmt(wfa.get('stitched_sharpe'))}", height=380)
        figs.append(fig)
    pbo = sl.get("pbo")
    if pbo and pbo.get("logits_hist"):
        edges = pbo["logits_hist_edges"]
        mids = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
        fig = go.Figure(go.Bar(x=mids, y=pbo["logits_hist"], name="logits"))
        fig.add_vline(x=0, line_dash="dash")
        fig.update_layout(title=f"PBO (CSCV): logit distribution of the in-sample winner's OOS "
                                f"rank — PBO = {_fmt(pbo.get('value'))} (share with λ ≤ 0)",
                          xaxis_title="λ = logit(relative OOS rank)", height=350)
        figs.append(fig)

    cpcv = sl.get("cpcv")
    if cpcv and cpcv.get("path_sharpes"):
        ps = [v for v in cpcv["path_sharpes"] if v is not None]
        fig = make_subplots(rows=1, cols=2, column_widths=[0.7, 0.3],
                            subplot_titles=("histogram of path Sharpe ratios", "box"))
        fig.add_trace(go.Histogram(x=ps, nbinsx=min(30, max(5, len(ps))), name="paths"),
                      row=1, col=1)
        fig.add_trace(go.Box(y=ps, name="paths", boxpoints="all"), row=1, col=2)
        fig.add_vline(x=0, line_dash="dash", row=1, col=1)
        fig.update_layout(title=f"CPCV: out-of-sample Sharpe of the selection across "
                                f"{cpcv.get('n_paths')} paths ({cpcv.get('n_groups')} groups, "
                                f"{cpcv.get('n_test_groups')} test) — mean "
                                f"{_fmt(cpcv.get('mean_sharpe'))}, "
                                f"{_fmt((cpcv.get('share_below_zero') or 0) * 100)} % below 0",
                          xaxis_title="annualised Sharpe (365 d)", height=350, showlegend=False)
        figs.append(fig)

    # ---- tables
    if problems:
        parts.append("<h2>Not done as requested</h2><ul>" + "".join(
            f"<li class='problem'>{html.escape(p)}</li>" for p in problems) + "</ul>")
    parts.append("<h2>Short list</h2>")
    if shortlist:
        parts.append(_table(
            ["#", "params", "screening Sharpe", "validation Sharpe", "Sharpe change",
             "validation return", "validation max DD", "trades", "flags"],
            [[s["combo_idx"], s["params"], s.get("screening_sharpe"), s.get("validation_sharpe"),
              s.get("sharpe_degradation_pct"), s.get("validation_return"),
              s.get("validation_max_drawdown"), s.get("validation_trades"),
              ", ".join(s.get("flags", [])) or "—"] for s in shortlist], pct_cols=(5, 6)))
    else:
        parts.append("<p><b>No candidate survived.</b> That is a result: the filters found no "
                     "parameter set whose performance they could not explain by luck or by "
                     "the number of trials.</p>")
        if rejected:
            parts.append("<h3>Best rejected candidates (screening)</h3>")
            parts.append(_table(
                ["#", "params", "screening Sharpe", "screening return", "screening max DD",
                 "rejected by"],
                [[r["combo_idx"], r["params"], r.get("screening_sharpe"),
                  r.get("screening_return"), r.get("screening_max_drawdown"),
                  "; ".join(r.get("rejected_by") or [])] for r in rejected], pct_cols=(3, 4)))
    if wfa and wfa.get("not_run"):
        parts.append("<h2>Walk-forward windows</h2>")
        parts.append(f"<p class='problem'><b>Walk-forward did not run.</b> "
                     f"{html.escape(str(wfa.get('reason') or wfa.get('error')))}</p>")
    elif wfa:
        parts.append("<h2>Walk-forward windows</h2>")
        parts.append(_table(
            ["window", "in-sample", "out-of-sample end", "chosen", "IS Sharpe", "IS return",
             "OOS return", "OOS trades"],
            [[w["window"], f"{w['is_start'][:10]} → {w['is_end'][:10]}", w["oos_end"][:10],
              w["params"], w["is_sharpe"], w["is_return"], w["oos_return"], w["oos_trades"]]
             for w in wfa.get("windows", [])], pct_cols=(5, 6)))
    if filters:
        parts.append("<h2>Overfitting filters</h2>")
        sl_rows = [[k, v.get("value"), v.get("passed"), v.get("reason") or v.get("error") or ""]
                   for k, v in sl.items()]
        parts.append(_table(["sweep-level filter", "value", "pass", "note"], sl_rows))
        parts.append(_calibration_table(filters))
        pk = sl.get("pkfold")
        if pk and pk.get("folds"):
            parts.append("<h3>Purged K-fold CV of the selection</h3>")
            parts.append(f"<p>In each fold the combination with the best Sharpe on the purged "
                         f"and embargoed training days is chosen and scored on the test fold. "
                         f"Mean test Sharpe {_fmt(pk.get('mean'))} ± "
                         f"{_fmt(pk.get('mean_sharpe_se'))} (standard error of the mean; one "
                         f"fold's Sharpe has SE ≈ {_fmt(pk.get('fold_sharpe_se'))}, Lo 2002).</p>")
            parts.append(_table(
                ["fold", "test days", "chosen", "params", "train Sharpe", "test Sharpe",
                 "SE", "test rank", "best test Sharpe"],
                [[f["fold"], f"{f['test_start']} → {f['test_end']}", f["selected_combo_idx"],
                  f.get("params"), f["train_sharpe"], f["test_sharpe"], f["test_sharpe_se"],
                  f"{_fmt(f['test_rank'])} of {pk.get('n_strategies')}", f["best_test_sharpe"]]
                 for f in pk["folds"]]))
        if cpcv and not cpcv.get("error"):
            q = cpcv.get("quantiles") or {}
            parts.append("<h3>CPCV: out-of-sample Sharpe across paths (informational)</h3>")
            parts.append(_table(
                ["paths", "mean", "std", "5 %", "25 %", "median", "75 %", "95 %",
                 "share below 0"],
                [[cpcv.get("n_paths"), cpcv.get("mean_sharpe"), cpcv.get("std_sharpe"),
                  q.get("0.05"), q.get("0.25"), q.get("0.5"), q.get("0.75"), q.get("0.95"),
                  cpcv.get("share_below_zero")]], pct_cols=(8,)))
        names = sorted({f for c in filters.get("candidates", []) for f in c["filters"]})
        parts.append(_table(
            ["#", "params", "Sharpe"] + [f"{n} value" for n in names] + [f"{n} pass" for n in names]
            + ["passed all"],
            [[c["combo_idx"], c["params"], c.get("sharpe")]
             + [c["filters"].get(n, {}).get("value") for n in names]
             + [c["filters"].get(n, {}).get("passed") for n in names] + [c["passed_all"]]
             for c in filters.get("candidates", [])]))
    if validations:
        parts.append("<h2>Screening vs validation</h2>")
        parts.append(_table(
            ["#", "screening Sharpe", "validation Sharpe", "Sharpe Δ %", "screening return",
             "validation return", "return Δ %", "screening max DD", "validation max DD",
             "max DD Δ %", "execution sensitive", "executed on",
             "validation Sharpe at 0.5k / 1k / 2k"],
            [[v["combo_idx"], c.get("screening_sharpe"), c.get("validation_sharpe"),
              c.get("sharpe_degradation_pct"), c.get("screening_return"),
              c.get("validation_return"), c.get("return_degradation_pct"),
              c.get("screening_max_drawdown"), c.get("validation_max_drawdown"),
              c.get("drawdown_degradation_pct"), c.get("execution_sensitive"),
              c.get("execution_interval"), _k_sensitivity(c.get("impact_sensitivity"))]
             for v in validations for c in [v.get("consistency", {})]],
            pct_cols=(4, 5, 7, 8)))
        for note in sorted({v.get("consistency", {}).get("execution_note") or ""
                            for v in validations} - {""}):
            parts.append(f"<p class='note'>Validation execution: {html.escape(note)}</p>")
    for n in notes or []:
        parts.append(f"<p class='note'>{html.escape(n)}</p>")

    body = "".join(f.to_html(full_html=False, include_plotlyjs=(i == 0))
                   for i, f in enumerate(figs))
    doc = ("<!doctype html><html><head><meta charset='utf-8'>"
           f"<title>{html.escape(title)}</title><style>"
           "body{font-family:sans-serif;margin:24px;max-width:1400px}"
           "table{border-collapse:collapse;margin:8px 0 20px}"
           "td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px}"
           "th{background:#f4f4f4}.note{color:#555}.problem{color:#a00}</style></head><body>"
           f"<h1>{html.escape(title)}</h1>" + "".join(parts) + body + "</body></html>")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(doc)
    return p
