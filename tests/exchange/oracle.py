"""Test oracle: bars read straight from the raw archive with sqlite3 (not through the exchange)."""

from __future__ import annotations

import math
import sqlite3

from vibe_quant.core.paths import DataDir

START_MS = 1_738_022_400_000  # 2025-01-28T00:00:00Z
MIN = 60_000


def raw_bars(dd: DataDir, start_ms: int, n: int) -> list[tuple]:
    """``(open_time, open, high, low, close)`` of BTCUSDT 1m from the archive, ascending."""
    con = sqlite3.connect(dd.archive_db)
    try:
        return con.execute(
            "SELECT open_time, open, high, low, close FROM raw_klines WHERE symbol='BTCUSDT'"
            " AND interval='1m' AND open_time >= ? ORDER BY open_time LIMIT ?",
            (start_ms, n),
        ).fetchall()
    finally:
        con.close()


def raw_funding(dd: DataDir) -> list[tuple[int, float]]:
    """``(calc_time floored to the minute, rate)`` of BTCUSDT, ascending."""
    con = sqlite3.connect(dd.archive_db)
    try:
        rows = con.execute(
            "SELECT calc_time, last_funding_rate FROM raw_funding WHERE"
            " symbol='BTCUSDT' ORDER BY calc_time"
        ).fetchall()
    finally:
        con.close()
    return [(t // MIN * MIN, r) for t, r in rows]


def tick_up(x: float, tick: float = 0.1) -> float:
    return round(math.ceil(round(x / tick, 6)) * tick, 2)


def published_klines(symbol: str, interval: str, month: str) -> dict[int, tuple]:
    """Binance's own published klines of ``interval`` (``open_time -> (o, h, l, c, volume)``),
    read with pandas from the data.binance.vision zip in the shared data folder: the reference
    for klines the exchange aggregates from 1m bars."""
    import pandas as pd

    from vibe_quant.core.paths import shared_data_dir

    z = (
        shared_data_dir()
        / f"binance-vision/data/futures/um/monthly/klines/{symbol}/{interval}"
        / f"{symbol}-{interval}-{month}.zip"
    )
    df = pd.read_csv(z)
    return {
        int(r.open_time): (r.open, r.high, r.low, r.close, r.volume)
        for r in df.itertuples(index=False)
    }
