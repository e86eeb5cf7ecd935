"""Pyramiding (``pyramiding: {max_entries, size_pct, long: [...]}``) on real BTCUSDT 5m bars,
against an independent simulation written from docs/dsl.md §9 "Pyramiding" on bars read
straight from the raw Binance zip:

* flat: ``close < close[1]`` → buy ``floor_step(1000 / close)`` at the close (market);
* in the position, at each close: exit when ``close > close[1] and close[1] > close[2]`` (market,
  whole position); else while fewer than ``max_entries`` entries, ``close < close[1]`` adds
  ``floor_step(first qty × size_pct/100)`` at the close;
* the stop (``fixed_pct`` 0.5) rests at ``average entry × (1 − 0.005)`` (rounded to the tick),
  re-placed from the new average after every add-on; it fills in the bar path at its level
  (at the open when the bar opens beyond it).
"""

from __future__ import annotations

import io
import math
import zipfile

import numpy as np
import pandas as pd
import pytest

from vibe_quant.backtest import run_backtest
from vibe_quant.backtest.run import to_ns
from vibe_quant.strategy.compiler import compile_strategy

STEP = 0.001  # BTCUSDT lot step
START, END = "2024-01-08", "2024-01-12"
YAML = """
name: pyramid_probe
timeframe: 5m
entry:
  long: ["close < close[1]"]
exit:
  long: ["close > close[1] and close[1] > close[2]"]
pyramiding: {max_entries: 3, size_pct: 50, long: ["close < close[1]"]}
stop_loss: {type: fixed_pct, pct: 0.5}
sizing: {method: fixed_notional, notional: 1000}
"""


def _raw(shared) -> pd.DataFrame:
    z = shared / "binance-vision/data/futures/um/monthly/klines/BTCUSDT/5m/BTCUSDT-5m-2024-01.zip"
    with zipfile.ZipFile(z) as zf:
        df = pd.read_csv(io.BytesIO(zf.read(zf.namelist()[0])))
    df["ts"] = (df["open_time"].astype("int64") + 300_000) * 1_000_000
    return df


def _floor_step(x: float) -> float:
    return round(math.floor(x / STEP + 1e-9) * STEP, 3)


def _simulate(df, lo_ns, hi_ns, max_entries, size_pct):
    """Fills ``(side, ts, qty, price)`` and per trade ``(entries, average entry price)``."""
    ts = df["ts"].to_numpy()
    o, c, lo = (df[k].to_numpy(dtype=float) for k in ("open", "close", "low"))
    first = int(np.searchsorted(ts, lo_ns, side="right"))
    last = int(np.searchsorted(ts, hi_ns, side="right")) - 1
    q = avg = stop = q0 = 0.0
    n = 0
    fills, trades = [], []
    for i in range(first, last):
        if q and lo[i] <= stop:
            fills.append((-1, ts[i], q, min(stop, o[i])))
            trades.append((n, avg))
            q = 0.0
        if q:
            if c[i] > c[i - 1] and c[i - 1] > c[i - 2]:
                fills.append((-1, ts[i], q, c[i]))
                trades.append((n, avg))
                q = 0.0
            elif n < max_entries and c[i] < c[i - 1]:
                add = _floor_step(q0 * size_pct / 100)
                avg = (avg * q + c[i] * add) / (q + add)
                q = round(q + add, 3)
                n += 1
                fills.append((1, ts[i], add, c[i]))
                stop = round(avg * (1 - 0.005), 1)
            continue
        if c[i] < c[i - 1]:
            q0 = q = _floor_step(1000 / c[i])
            avg, n = c[i], 1
            stop = round(c[i] * (1 - 0.005), 1)
            fills.append((1, ts[i], q, c[i]))
    return fills, trades


def test_pyramiding_adds_on_the_right_bars(btc_2024_md, shared_data):
    df = _raw(shared_data)
    compiled = compile_strategy(YAML)
    r = run_backtest(
        compiled,
        "BTCUSDT",
        START,
        END,
        data=btc_2024_md,
        leverage=1,
        warmup_bars=compiled.warmup_for(),
    )
    want, trades = _simulate(df, to_ns(START), to_ns(END, end=True), 3, 50)
    got = [(f.side, f.ts, f.qty, f.price) for f in r.fills if f.tag != "end_of_data"]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g[:2] == (w[0], int(w[1])) and g[2] == pytest.approx(w[2], abs=1e-9)
        assert g[3] == pytest.approx(w[3], abs=1e-6)
    # adds happened, never beyond max_entries, and full pyramids occurred
    counts = [n for n, _ in trades]
    assert max(counts) == 3 and counts.count(3) > 5 and counts.count(2) > 0
    # the trade's average entry price (fills) and the stop level follow the average
    closed = [t for t in r.trades if t.exit_reason != "end_of_data"]
    assert len(closed) == len(trades)
    for t, (_, avg) in zip(closed, trades):
        assert t.entry_price == pytest.approx(avg, rel=1e-12)
    stops = [f for f in r.fills if f.tag == "stop_loss"]
    assert stops  # some stops were hit at the level computed from the average


def test_max_entries_one_is_no_pyramiding_and_sweepable(btc_2024_md, shared_data):
    df = _raw(shared_data)
    compiled = compile_strategy(YAML)
    r = run_backtest(
        compiled,
        "BTCUSDT",
        START,
        END,
        data=btc_2024_md,
        leverage=1,
        warmup_bars=3,
        params={"pyramiding.max_entries": 1},
    )
    want, trades = _simulate(df, to_ns(START), to_ns(END, end=True), 1, 50)
    assert {n for n, _ in trades} == {1}
    got = [(f.side, f.ts) for f in r.fills if f.tag != "end_of_data"]
    assert got == [(s, int(t)) for s, t, _, _ in want]
    r2 = run_backtest(
        compiled,
        "BTCUSDT",
        START,
        END,
        data=btc_2024_md,
        leverage=1,
        warmup_bars=3,
        params={"pyramiding.size_pct": 100},
    )
    want2, _ = _simulate(df, to_ns(START), to_ns(END, end=True), 3, 100)
    assert [(f.qty, f.ts) for f in r2.fills if f.tag != "end_of_data"] == [
        (pytest.approx(q, abs=1e-9), int(t)) for _, t, q, _ in want2
    ]
