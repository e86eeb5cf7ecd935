"""Plotly figures of the dashboard: pure functions from stored rows to ``go.Figure``.

No Streamlit and no database here: each function takes the plain values that
:mod:`vibe_quant.services.dashboard` returns and builds one figure, so it can be unit-tested by
reading the figure's traces. Units follow the store: equity in USDT, drawdown shown in percent
(the stored fractions × 100), Sharpe annualised (365 daily periods), times UTC.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

LAYOUT = dict(margin=dict(l=50, r=20, t=50, b=40), hovermode="closest")


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return v


def drawdown_pct(equity: Sequence[float]) -> list[float]:
    """Drawdown from the running peak in percent: ``(e / max(e[:i+1]) - 1) * 100`` (≤ 0)."""
    s = pd.Series(list(equity), dtype=float)
    return ((s / s.cummax() - 1.0) * 100.0).tolist()


def equity_drawdown(curves: dict[str, list[dict[str, Any]]]) -> go.Figure:
    """Equity (top, USDT) and drawdown (bottom, %) of one or more runs.

    ``curves``: ``{label: [{"date": "YYYY-MM-DD", "equity": float}, ...]}``.
    """
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.05
    )
    for label, rows in curves.items():
        x = [r["date"] for r in rows]
        y = [float(r["equity"]) for r in rows]
        fig.add_trace(
            go.Scatter(x=x, y=y, name=label, legendgroup=label, mode="lines"), row=1, col=1
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=drawdown_pct(y),
                name=label,
                legendgroup=label,
                showlegend=False,
                fill="tozeroy",
                mode="lines",
            ),
            row=2,
            col=1,
        )
    fig.update_yaxes(title_text="equity (USDT, daily)", row=1, col=1)
    fig.update_yaxes(title_text="drawdown (%)", row=2, col=1)
    fig.update_layout(title="Equity and drawdown", height=520, **LAYOUT)
    return fig


def trades_on_price(
    bars: list[dict[str, Any]], trades: list[dict[str, Any]], title: str = "Trades on price"
) -> go.Figure:
    """Close price line (bars ``open_time`` ms, ``close``) with entry/exit markers.

    ``trades``: stored trade rows (``entry_ns``, ``exit_ns``, ``side``, ``entry_price``,
    ``exit_price``, ``net_pnl``). Entries: triangles up (long) / down (short); exits: crosses.
    """
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=pd.to_datetime([b["open_time"] for b in bars], unit="ms", utc=True),
            y=[b["close"] for b in bars],
            mode="lines",
            name="close",
            line=dict(width=1, color="#888"),
        )
    )
    for side, symbol, color in (
        ("long", "triangle-up", "#1a9850"),
        ("short", "triangle-down", "#d73027"),
    ):
        ts = [t for t in trades if t["side"] == side]
        if not ts:
            continue
        fig.add_trace(
            go.Scatter(
                x=pd.to_datetime([t["entry_ns"] for t in ts], unit="ns", utc=True),
                y=[t["entry_price"] for t in ts],
                mode="markers",
                name=f"{side} entry",
                marker=dict(symbol=symbol, size=10, color=color),
                text=[f"#{t['seq']} {side} qty {t['qty']:.6g}" for t in ts],
            )
        )
    closed = [t for t in trades if t.get("exit_ns") is not None and t.get("exit_price")]
    if closed:
        fig.add_trace(
            go.Scatter(
                x=pd.to_datetime([t["exit_ns"] for t in closed], unit="ns", utc=True),
                y=[t["exit_price"] for t in closed],
                mode="markers",
                name="exit",
                marker=dict(symbol="x", size=8, color="#333"),
                text=[
                    f"#{t['seq']} net PnL {t['net_pnl']:.2f} USDT ({t.get('exit_reason') or ''})"
                    for t in closed
                ],
            )
        )
    fig.update_layout(title=title, height=420, yaxis_title="price (USDT)", **LAYOUT)
    return fig


def pareto(rows: list[dict[str, Any]]) -> go.Figure:
    """Sweep results: Sharpe (y) vs max drawdown in % (x), colour = profit factor (capped at
    5); the Pareto front ringed. Each point's ``customdata`` is its combo_idx (for selection).
    ``rows``: :func:`vibe_quant.services.dashboard.sweep_results` rows."""
    done = [r for r in rows if r["status"] == "completed"]
    x = [_num(r["metrics"].get("max_drawdown")) * 100 for r in done]
    y = [_num(r["metrics"].get("sharpe")) for r in done]
    pf = [min(_num(r["metrics"].get("profit_factor")), 5.0) for r in done]
    txt = [f"#{r['combo_idx']} {r['params']}" for r in done]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="markers",
            text=txt,
            name="combinations",
            customdata=[r["combo_idx"] for r in done],
            marker=dict(
                color=pf, colorscale="RdYlGn", cmin=0.5, cmax=2.0, size=9, colorbar=dict(title="PF")
            ),
        )
    )
    front = [i for i, r in enumerate(done) if r.get("is_pareto")]
    if front:
        fig.add_trace(
            go.Scatter(
                x=[x[i] for i in front],
                y=[y[i] for i in front],
                mode="markers",
                name="Pareto front",
                customdata=[done[i]["combo_idx"] for i in front],
                text=[txt[i] for i in front],
                marker=dict(size=16, color="rgba(0,0,0,0)", line=dict(width=2, color="black")),
            )
        )
    fig.update_layout(
        title=f"Sharpe vs max drawdown — {len(front)} on the Pareto front",
        xaxis_title="max drawdown (%)",
        yaxis_title="Sharpe (365 d)",
        height=450,
        **LAYOUT,
    )
    return fig


def walk_forward(wfa: dict[str, Any]) -> go.Figure:
    """Stitched out-of-sample equity (growth of 1) with each window's out-of-sample span
    shaded. ``wfa``: the stored sweep-level ``wfa`` details (``windows``, ``stitched_equity``
    as ``[[iso, value], ...]``, ``wfe``, ``stitched_sharpe``)."""
    se = wfa.get("stitched_equity") or []
    fig = go.Figure(
        go.Scatter(
            x=[p[0] for p in se], y=[p[1] for p in se], mode="lines", name="stitched OOS equity"
        )
    )
    for w in wfa.get("windows", []):
        fig.add_vrect(
            x0=w["is_end"], x1=w["oos_end"], opacity=0.08, line_width=0, fillcolor="royalblue"
        )
    wfe = wfa.get("wfe")
    fig.update_layout(
        title=f"Walk-forward: stitched out-of-sample equity, WFE "
        f"{'—' if wfe is None else f'{wfe:.3g}'}",
        yaxis_title="growth of 1",
        height=360,
        **LAYOUT,
    )
    return fig


def pbo_logits(pbo: dict[str, Any]) -> go.Figure:
    """Histogram of the CSCV logits λ of the in-sample winner's out-of-sample rank (Bailey et
    al. 2016, "The Probability of Backtest Overfitting"); PBO is the share with λ ≤ 0.
    ``pbo``: the stored details (``logits_hist``, ``logits_hist_edges``)."""
    edges = pbo.get("logits_hist_edges") or []
    counts = pbo.get("logits_hist") or []
    mids = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    fig = go.Figure(go.Bar(x=mids, y=counts, name="logits"))
    fig.add_vline(x=0, line_dash="dash")
    fig.update_layout(
        title="PBO: logit distribution (λ ≤ 0 = overfit)",
        xaxis_title="λ = logit(relative OOS rank)",
        yaxis_title="combinations",
        height=320,
        **LAYOUT,
    )
    return fig


def _metric(r: dict[str, Any], metric: str) -> float:
    v = r["metrics"].get(metric) if metric in r.get("metrics", {}) else r.get(metric)
    v = _num(v)
    return v if math.isfinite(v) else float("nan")


def heatmap_grid(
    rows: list[dict[str, Any]], x_param: str, y_param: str, metric: str
) -> tuple[list[Any], list[Any], list[list[float]]]:
    """``(x values, y values, z[y][x])``: the mean ``metric`` of the completed combinations at
    each (x_param, y_param) pair (other parameters averaged over); NaN where none ran."""
    done = [r for r in rows if r["status"] == "completed"]
    xs = sorted({r["params"].get(x_param) for r in done}, key=_sort_key)
    ys = sorted({r["params"].get(y_param) for r in done}, key=_sort_key)
    cells: dict[tuple, list[float]] = {}
    for r in done:
        v = _metric(r, metric)
        if math.isfinite(v):
            cells.setdefault((r["params"].get(x_param), r["params"].get(y_param)), []).append(v)
    z = [
        [float(np.mean(cells[(x, y)])) if (x, y) in cells else float("nan") for x in xs] for y in ys
    ]
    return xs, ys, z


def _sort_key(v: Any) -> tuple:
    return (0, float(v), "") if isinstance(v, (int, float)) else (1, 0.0, str(v))


def heatmap(rows: list[dict[str, Any]], x_param: str, y_param: str, metric: str) -> go.Figure:
    """Heatmap of :func:`heatmap_grid`."""
    xs, ys, z = heatmap_grid(rows, x_param, y_param, metric)
    fig = go.Figure(
        go.Heatmap(
            x=[str(x) for x in xs],
            y=[str(y) for y in ys],
            z=z,
            colorscale="RdYlGn",
            colorbar=dict(title=metric),
            hovertemplate=f"{x_param}=%{{x}}<br>{y_param}=%{{y}}<br>"
            f"{metric}=%{{z:.4g}}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"{metric} by {x_param} × {y_param}",
        xaxis_title=x_param,
        yaxis_title=y_param,
        height=450,
        **LAYOUT,
    )
    return fig


def sensitivity_table(rows: list[dict[str, Any]], param: str, metric: str) -> list[dict[str, Any]]:
    """Per value of ``param``: count, mean, min and max of ``metric`` over the completed
    combinations holding that value (finite values only), ordered by value."""
    groups: dict[Any, list[float]] = {}
    for r in rows:
        if r["status"] != "completed":
            continue
        v = _metric(r, metric)
        if math.isfinite(v):
            groups.setdefault(r["params"].get(param), []).append(v)
    return [
        {
            "value": k,
            "n": len(v),
            "mean": float(np.mean(v)),
            "min": float(np.min(v)),
            "max": float(np.max(v)),
        }
        for k, v in sorted(groups.items(), key=lambda kv: _sort_key(kv[0]))
    ]


def sensitivity(rows: list[dict[str, Any]], param: str, metric: str) -> go.Figure:
    """Mean of ``metric`` per value of ``param`` with a min–max band (:func:`sensitivity_table`)."""
    t = sensitivity_table(rows, param, metric)
    x = [str(r["value"]) for r in t]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[r["max"] for r in t],
            mode="lines",
            line=dict(width=0),
            showlegend=False,
            name="max",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[r["min"] for r in t],
            mode="lines",
            line=dict(width=0),
            fill="tonexty",
            fillcolor="rgba(65,105,225,0.2)",
            name="min–max",
        )
    )
    fig.add_trace(go.Scatter(x=x, y=[r["mean"] for r in t], mode="lines+markers", name="mean"))
    fig.update_layout(
        title=f"Sensitivity of {metric} to {param}",
        xaxis_title=param,
        yaxis_title=metric,
        height=360,
        **LAYOUT,
    )
    return fig


def gaps_timeline(series: list[dict[str, Any]]) -> go.Figure:
    """Coverage timeline: one row per series (``symbol interval``), a grey bar from first to
    last bar and a red bar per gap. ``series``: the series rows of
    ``vibe_quant.services.dashboard.verify_data`` (``first``, ``last``, ``gaps`` with
    ``start``/``end``/``missing_bars``)."""
    fig = go.Figure()
    for s in series:
        label = f"{s['symbol']} {s['interval']}"
        fig.add_trace(
            go.Scatter(
                x=[s["first"], s["last"]],
                y=[label, label],
                mode="lines",
                line=dict(width=14, color="#bbb"),
                name=label,
                showlegend=False,
                hoverinfo="text",
                text=[f"{label}: {s['bars']} bars"] * 2,
            )
        )
        for g in s.get("gaps", []):
            fig.add_trace(
                go.Scatter(
                    x=[g["start"], g["end"]],
                    y=[label, label],
                    mode="lines+markers",
                    showlegend=False,
                    line=dict(width=14, color="#d73027"),
                    marker=dict(size=6, color="#d73027"),
                    hoverinfo="text",
                    text=[f"gap {g['start']} → {g['end']}: {g['missing_bars']} bars missing"] * 2,
                )
            )
    n_gaps = sum(len(s.get("gaps", [])) for s in series)
    fig.update_layout(
        title=f"Archived coverage — {n_gaps} gap(s) in red",
        height=120 + 50 * max(1, len(series)),
        **LAYOUT,
    )
    return fig


def job_progress_fraction(job: dict[str, Any]) -> float | None:
    """``progress_done / progress_total`` of a job row clipped to [0, 1]; None when the job
    reported no total."""
    d, t = job.get("progress_done"), job.get("progress_total")
    if d is None or not t:
        return None
    return max(0.0, min(1.0, float(d) / float(t)))
