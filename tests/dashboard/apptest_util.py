"""Helpers for driving the dashboard with ``streamlit.testing.v1.AppTest``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "vibe_quant" / "dashboard" / "app.py"


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def frame(at: AppTest, *cols: str) -> pd.DataFrame:
    """The first dataframe on the page holding every column in ``cols``."""
    for d in at.dataframe:
        df = d.value
        if all(c in df.columns for c in cols):
            return df
    raise AssertionError(
        f"no table with columns {cols}: {[list(d.value.columns) for d in at.dataframe]}"
    )


def figure(at: AppTest, key: str) -> dict:
    """The Plotly figure dict of the chart with widget key ``key``."""
    for el in at.get("plotly_chart"):
        if getattr(el, "key", None) == key or key in (el.proto.id or ""):
            return json.loads(el.proto.spec)
    raise AssertionError(f"no chart {key!r}")


def texts(at: AppTest) -> str:
    """Every text the page shows (markdown, captions, alerts, code, tables, widget values)."""
    parts = []
    for kind in (
        "markdown",
        "caption",
        "info",
        "success",
        "error",
        "warning",
        "code",
        "title",
        "subheader",
    ):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [d.value.to_csv() for d in at.dataframe]
    parts += [str(w.value) for w in at.text_area] + [str(w.value) for w in at.text_input]
    return "\n".join(parts)


def sql(db: Path, query: str, args: tuple = ()) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(query, args).fetchall()
    finally:
        con.close()
