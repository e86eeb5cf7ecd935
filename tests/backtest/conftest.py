"""Helpers of the backtest tests: raw-archive reads for hand computations. The fixtures
``btc_2024`` (real BTCUSDT 5m data) and ``archive`` (the raw archive) live in tests/conftest.py."""

from __future__ import annotations

import numpy as np


def archive_klines(
    con, symbol: str, interval: str, start_ms: int, end_ms: int
) -> dict[str, np.ndarray]:
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
