"""The Streamlit dashboard: ``vibe-quant dashboard [--port 8501] [--host 127.0.0.1]``.

* :mod:`~vibe_quant.dashboard.app` — the entrypoint: ``st.navigation`` over the seven pages in
  ``views/`` (never a folder named ``pages/``: Streamlit would serve it in its old multipage
  mode on a fresh server's first deep link).
* :mod:`~vibe_quant.dashboard.core` — what the widgets do (the services the CLI calls, the CLI's
  own option descriptions, background jobs), without Streamlit.
* :mod:`~vibe_quant.dashboard.charts` — pure Plotly figure builders.
* :mod:`~vibe_quant.dashboard.paper_control` — start/stop/kill of paper trading (delegates to
  :mod:`vibe_quant.services.paper`).
* the dashboard imports only :mod:`vibe_quant.services` and :mod:`vibe_quant.core`; every read
  goes through :mod:`vibe_quant.services.dashboard` (read-only connections).
"""
