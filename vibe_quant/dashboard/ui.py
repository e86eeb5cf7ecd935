"""Small Streamlit helpers shared by the pages (formatting, tables, the page footer)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st


def start() -> float:
    return time.perf_counter()


def footer(page: str, t0: float) -> None:
    """Last element of every page: the server-side time the page took (tests and the
    benchmark wait for it)."""
    st.caption(f"{page}: read and drawn in {(time.perf_counter() - t0) * 1000:.0f} ms")


def ns_date(ns: int | None) -> str:
    """UTC date (YYYY-MM-DD) of epoch ns."""
    if ns is None:
        return "—"
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d")


def ms_iso(ms: int | None) -> str:
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def frame(rows: list[dict[str, Any]], columns: list[str] | None = None) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    if columns is not None and not df.empty:
        df = df[[c for c in columns if c in df.columns]]
    return df


def table(rows: list[dict[str, Any]] | pd.DataFrame, key: str | None = None, **kw: Any) -> None:
    df = rows if isinstance(rows, pd.DataFrame) else frame(rows)
    st.dataframe(df, hide_index=True, width="stretch", key=key, **kw)


def csv_download(label: str, df: pd.DataFrame, file_name: str, key: str) -> None:
    st.download_button(
        label, df.to_csv(index=False).encode(), file_name=file_name, mime="text/csv", key=key
    )


def no_store() -> None:
    st.info(
        "Nothing is stored in this data dir yet. Ingest data on the Data page, then "
        "launch a sweep on the Launch page (or run `vibe-quant sweep …`)."
    )
