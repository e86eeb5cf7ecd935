"""The Streamlit dashboard: ``vibe-quant dashboard [--port 8501] [--host 127.0.0.1]``.

* :mod:`~vibe_quant.dashboard.app` — the entrypoint: ``st.navigation`` over the seven pages in
  ``views/`` (never a folder named ``pages/``: Streamlit would serve it in its old multipage
  mode on a fresh server's first deep link).
* :mod:`~vibe_quant.dashboard.core` — what the widgets do (the CLI's own functions, parser and
  background jobs), without Streamlit.
* :mod:`~vibe_quant.dashboard.charts` — pure Plotly figure builders.
* :mod:`~vibe_quant.dashboard.paper_control` — start/stop/kill of paper trading (delegates to
  ``vibe_quant.paper.control`` once paper trading exists).
* every read goes through :mod:`vibe_quant.store.dashboard_sql` (read-only connections).
"""
