"""Fixtures for the risk tests: real BTCUSDT 5m data from the session catalog (``real_data_dir``)
and an independent read-only view of the raw archive for hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from vibe_quant.backtest.marketdata import MarketData, load_market_data
from vibe_quant.backtest.run import to_ns


@pytest.fixture(scope="session")
def btc_2024h1(real_data_dir) -> MarketData:
    """BTCUSDT 5m bars + funding, close times in (2024-02-01, 2024-09-01]."""
    return load_market_data(real_data_dir, "BTCUSDT", "5m", to_ns("2024-02-01"),
                            to_ns("2024-09-01"))


@pytest.fixture(scope="session")
def risk_archive(archive):
    """The read-only raw archive connection (tests/conftest.py's ``archive``)."""
    return archive


def archive_closes(con, symbol: str, start_ns: int, end_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """(close_ts ns, close) of archived 5m klines with start_ns < close_ts ≤ end_ns."""
    ms = 1_000_000
    rows = con.execute(
        "SELECT open_time, close FROM raw_klines WHERE symbol=? AND interval='5m' "
        "AND open_time + 300000 > ? AND open_time + 300000 <= ? ORDER BY open_time",
        (symbol, start_ns // ms, end_ns // ms)).fetchall()
    a = np.array(rows, dtype=float)
    return (a[:, 0].astype(np.int64) + 300_000) * ms, a[:, 1]


def archive_funding(con, symbol: str, start_ns: int, end_ns: int) -> list[tuple[int, float]]:
    """(funding time ns floored to the minute, rate) with start_ns < t ≤ end_ns."""
    ms = 1_000_000
    rows = con.execute(
        "SELECT calc_time, last_funding_rate FROM raw_funding WHERE symbol=? AND calc_time > ? "
        "AND calc_time <= ? ORDER BY calc_time", (symbol, start_ns // ms, end_ns // ms + 59_999)
    ).fetchall()
    return [((t // 60_000) * 60_000 * ms, float(r)) for t, r in rows
            if start_ns < (t // 60_000) * 60_000 * ms <= end_ns]


def hand_equity(close_ts, close, fills, funding_rates, start_balance, start_ns):
    """Independent marked-to-market equity at every bar close (SPEC.md §3):
    fills (ts, side, qty, price, commission) with ts ≤ t; funding −q × last close × rate at each
    funding time ≤ t on the position after the fills with ts ≤ that time. Returns the array of
    equities aligned with close_ts (bars with close_ts > start_ns)."""
    fl = sorted(fills, key=lambda f: f.ts)
    fr = list(funding_rates)
    bal, q, avg = float(start_balance), 0.0, 0.0
    i = j = 0
    out = np.empty(len(close_ts))
    last_close = None
    for k, (t, c) in enumerate(zip(close_ts, close)):
        while True:
            # next event with ts ≤ t: fills before funding at equal ts (engine order)
            nf = fl[i].ts if i < len(fl) else None
            nr = fr[j][0] if j < len(fr) else None
            if nf is not None and nf <= t and (nr is None or nf <= nr):
                f = fl[i]
                i += 1
                s = f.side * f.qty
                bal -= f.commission
                if q == 0 or (q > 0) == (s > 0):
                    avg = (abs(q) * avg + f.qty * f.price) / (abs(q) + f.qty)
                    q += s
                else:
                    cq = min(f.qty, abs(q))
                    bal += (f.price - avg) * cq * (1 if q > 0 else -1)
                    nq = q + s
                    if abs(nq) < 1e-12 or (nq > 0) != (q > 0):
                        avg = f.price if abs(nq) >= 1e-12 else 0.0
                    q = 0.0 if abs(nq) < 1e-12 else nq
            elif nr is not None and nr <= t:
                px = c if nr == t else last_close
                if q != 0 and px is not None:
                    bal += round(-q * px * fr[j][1], 8)
                j += 1
            else:
                break
        last_close = c
        out[k] = bal + q * (c - avg)
    return out
