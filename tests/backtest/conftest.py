"""Fixtures for the backtest tests: real BTCUSDT data from the session catalog (``real_data_dir``)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from vibe_quant.backtest.marketdata import MarketData, load_market_data
from vibe_quant.backtest.run import to_ns


@pytest.fixture(scope="session")
def btc_2024(real_data_dir) -> MarketData:
    """BTCUSDT 5m bars + funding with close times in (2023-12-01, 2025-01-01], from the catalog."""
    return load_market_data(real_data_dir, "BTCUSDT", "5m", to_ns("2023-12-01"), to_ns("2025-01-01"))


@pytest.fixture(scope="session")
def archive(real_data_dir):
    """Read-only connection to the raw archive (independent source for expected numbers)."""
    con = sqlite3.connect(f"file:{real_data_dir.archive_db}?mode=ro", uri=True)
    yield con
    con.close()


def archive_klines(con, symbol: str, interval: str, start_ms: int, end_ms: int) -> dict[str, np.ndarray]:
    """Archive klines with ``start_ms ≤ open_time < end_ms`` as numpy columns."""
    rows = con.execute(
        "SELECT open_time, open, high, low, close FROM raw_klines WHERE symbol=? AND interval=? "
        "AND open_time >= ? AND open_time < ? ORDER BY open_time",
        (symbol, interval, start_ms, end_ms),
    ).fetchall()
    a = np.array(rows, dtype=float)
    return {"open_time": a[:, 0].astype(np.int64), "open": a[:, 1], "high": a[:, 2],
            "low": a[:, 3], "close": a[:, 4]}


def archive_funding(con, symbol: str, start_ms: int, end_ms: int) -> list[tuple[int, float]]:
    """(calc_time ms, rate fraction) with ``start_ms < calc_time ≤ end_ms``."""
    return con.execute(
        "SELECT calc_time, last_funding_rate FROM raw_funding WHERE symbol=? AND calc_time > ? "
        "AND calc_time <= ? ORDER BY calc_time",
        (symbol, start_ms, end_ms),
    ).fetchall()
