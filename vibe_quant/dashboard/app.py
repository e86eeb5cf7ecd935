"""Dashboard entrypoint (``streamlit run vibe_quant/dashboard/app.py``; started by
``vibe-quant dashboard``): ``st.navigation`` over the seven pages in ``views/``."""

from __future__ import annotations

import streamlit as st

from vibe_quant.dashboard import core

# No page icons: Streamlit fetches Material icons from fonts.gstatic.com (fails offline).
PAGES = [
    ("views/strategies.py", "Strategies", "strategies"),
    ("views/launch.py", "Launch", "launch"),
    ("views/results.py", "Results", "results"),
    ("views/discovery.py", "Discovery", "discovery"),
    ("views/paper.py", "Paper trading", "paper"),
    ("views/data.py", "Data", "data"),
    ("views/settings.py", "Settings", "settings"),
]

st.set_page_config(page_title="vibe-quant", layout="wide")
pg = st.navigation(
    [
        st.Page(path, title=title, url_path=url, default=(i == 0))
        for i, (path, title, url) in enumerate(PAGES)
    ]
)
st.sidebar.caption(f"data dir: `{core.data_dir().root}`")
st.sidebar.caption(f"strategies: `{core.strategies_dir()}`")
pg.run()
