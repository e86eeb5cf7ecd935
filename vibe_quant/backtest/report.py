"""Self-contained HTML report of one run: equity curve, drawdown, trade markers, metrics."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def write_report(result: Any, path: str | Path) -> Path:
    """Write ``result`` (a :class:`~vibe_quant.backtest.result.BacktestResult`) as one HTML file
    (plotly.js embedded, so it opens offline). Returns the path."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    eq = result.equity
    idx = pd.to_datetime(eq.ts, unit="ns", utc=True)
    peak = np.maximum.accumulate(eq.equity)
    dd = np.where(peak > 0, eq.equity / peak - 1.0, 0.0)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3],
                        vertical_spacing=0.03)
    fig.add_trace(go.Scattergl(x=idx, y=eq.equity, name="equity (USDT, marked to market)",
                               line=dict(width=1)), row=1, col=1)
    fig.add_trace(go.Scattergl(x=idx, y=dd * 100, name="drawdown (%)", fill="tozeroy",
                               line=dict(width=1, color="firebrick")), row=2, col=1)
    if result.trades:
        tr = result.trades_frame()
        pos = pd.Series(eq.equity, index=eq.ts)

        def at(ts_col: str) -> np.ndarray:
            k = np.searchsorted(eq.ts, tr[ts_col].to_numpy(), side="right") - 1
            return pos.to_numpy()[np.clip(k, 0, len(pos) - 1)]

        fig.add_trace(go.Scattergl(
            x=tr["entry_time"], y=at("entry_ts"), mode="markers", name="entry",
            marker=dict(symbol=np.where(tr["side"] == "long", "triangle-up", "triangle-down"),
                        size=7, color="green"),
            text=tr["side"]), row=1, col=1)
        fig.add_trace(go.Scattergl(
            x=tr["exit_time"], y=at("exit_ts"), mode="markers", name="exit",
            marker=dict(symbol="x", size=6, color="black"),
            text=tr["exit_reason"] + " " + tr["net_pnl"].round(2).astype(str)), row=1, col=1)
    title = f"{result.strategy} · {result.symbol} {result.interval} · {result.mode}"
    fig.update_layout(height=700, margin=dict(l=40, r=20, t=30, b=30), title=title)
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in result.metrics.items())
    doc = (
        "<!doctype html><html><head><meta charset='utf-8'><title>vibe-quant backtest</title>"
        "<style>body{font-family:sans-serif;margin:20px}td{padding:2px 10px}</style></head><body>"
        + fig.to_html(full_html=False, include_plotlyjs=True)
        + f"<h3>Metrics</h3><table>{rows}</table>"
        + f"<p>params: {html.escape(str(result.params))}; leverage {result.leverage}; "
        f"starting balance {result.starting_balance} USDT; engine balance "
        f"{result.engine_balance:.8f} USDT</p></body></html>"
    )
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(doc)
    return p


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "—" if not math.isfinite(v) else f"{v:.6g}"
    return html.escape(str(v))
