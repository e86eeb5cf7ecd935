"""Limit entries and exits (``entry_order`` / ``exit_order`` with ``type: limit``) on real
BTCUSDT 5m bars, against an independent simulation written from docs/dsl.md §9 "Limit
orders" on bars read straight from the raw Binance zips:

* a decision at bar i's close places a buy limit at ``floor_tick(close_i × (1 − off/100))``
  (a sell limit at ``ceil_tick(close_i × (1 + off/100))``);
* it fills inside bar j (i < j ≤ i + expiry_bars) at its price, on the first bar whose low
  reaches it (buy; high for a sell) — the engine's bar path, screening fill model;
* at the close of bar i + expiry_bars it is cancelled if unfilled, and the signal is evaluated
  again at that same close.

Strategy: enter long when ``close < close[1]``, exit when ``close > close[1]``.
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

TICK = 0.1  # BTCUSDT price increment
START, END = "2024-01-03", "2024-01-06"


def _yaml(entry: str, exit_: str = "") -> str:
    return f"""
name: limit_probe
timeframe: 5m
entry:
  long: ["close < close[1]"]
exit:
  long: ["close > close[1]"]
entry_order: {entry}
{exit_}
sizing: {{method: fixed_notional, notional: 1000}}
"""


def _raw(shared) -> pd.DataFrame:
    z = shared / "binance-vision/data/futures/um/monthly/klines/BTCUSDT/5m/BTCUSDT-5m-2024-01.zip"
    with zipfile.ZipFile(z) as zf:
        df = pd.read_csv(io.BytesIO(zf.read(zf.namelist()[0])))
    df["ts"] = (df["open_time"].astype("int64") + 300_000) * 1_000_000
    return df


def _simulate(df, lo_ns, hi_ns, off_e, n_e, off_x=None, n_x=None):
    """Fills ``(side, bar close ts, price)`` and the number of expired entry orders."""
    ts = df["ts"].to_numpy()
    c, lo, hi = (df[k].to_numpy(dtype=float) for k in ("close", "low", "high"))
    first = int(np.searchsorted(ts, lo_ns, side="right"))
    last = int(np.searchsorted(ts, hi_ns, side="right")) - 1  # the final bar: end_of_data
    pos, ent, ext, fills, expired = 0, None, None, [], 0
    for i in range(first, last):
        if ent is not None and lo[i] <= ent[0]:  # bar path
            pos, fills, ent = 1, fills + [(1, ts[i], ent[0])], None
        if ext is not None and pos and hi[i] >= ext[0]:
            pos, fills, ext = 0, fills + [(-1, ts[i], ext[0])], None
        if ent is not None and i - ent[1] >= n_e:  # decision at the close
            ent, expired = None, expired + 1
        if ext is not None and i - ext[1] >= n_x:
            ext = None
        if pos:
            if c[i] > c[i - 1]:
                if off_x is None:
                    pos, fills = 0, fills + [(-1, ts[i], c[i])]
                elif ext is None:
                    ext = (math.ceil(c[i] * (1 + off_x / 100) / TICK - 1e-9) * TICK, i)
            continue
        if ent is None and c[i] < c[i - 1]:
            ent = (math.floor(c[i] * (1 - off_e / 100) / TICK + 1e-9) * TICK, i)
    return fills, expired


def _run(text, btc_2024_md):
    compiled = compile_strategy(text)
    r = run_backtest(
        compiled,
        "BTCUSDT",
        START,
        END,
        data=btc_2024_md,
        leverage=1,
        warmup_bars=compiled.warmup_for(),
    )
    return r, [(f.side, f.ts, f.price) for f in r.fills if f.tag != "end_of_data"]


def _same(got, want):
    assert len(got) == len(want)
    for (s1, t1, p1), (s2, t2, p2) in zip(got, want):
        assert (s1, t1) == (s2, int(t2)) and p1 == pytest.approx(p2, abs=1e-6)


def test_limit_entry_fill_bar_price_and_expiry(btc_2024_md, shared_data):
    df = _raw(shared_data)
    lo_ns, hi_ns = to_ns(START), to_ns(END, end=True)
    r, got = _run(_yaml("{type: limit, offset_pct: 0.05, expiry_bars: 2}"), btc_2024_md)
    want, expired = _simulate(df, lo_ns, hi_ns, 0.05, 2)
    assert len(want) > 100 and expired > 20
    _same(got, want)
    # entry fills are maker fills at the limit; every unfilled limit was cancelled
    entries = [o for o in r.orders if o.order_type == "LIMIT" and not o.reduce_only]
    filled = {f.order_id for f in r.fills}
    assert sum(o.order_id not in filled for o in entries) == expired
    assert all(f.liquidity == "MAKER" for f in r.fills if f.side > 0)
    # expiry is real: some unfilled orders' price was reached on the bar right after expiry
    ts = df["ts"].to_numpy()
    low = df["low"].to_numpy(dtype=float)
    late = 0
    for o in entries:
        if o.order_id in filled:
            continue
        i = int(np.searchsorted(ts, o.ts))
        assert low[i + 1 : i + 3].min() > o.price  # never reached while it rested
        late += low[i + 3] <= o.price
    assert late > 0


def test_limit_exit(btc_2024_md, shared_data):
    df = _raw(shared_data)
    lo_ns, hi_ns = to_ns(START), to_ns(END, end=True)
    r, got = _run(
        _yaml(
            "{type: limit, offset_pct: 0.02, expiry_bars: 3}",
            "exit_order: {type: limit, offset_pct: 0.03, expiry_bars: 1}",
        ),
        btc_2024_md,
    )
    want, _ = _simulate(df, lo_ns, hi_ns, 0.02, 3, 0.03, 1)
    assert len(want) > 50
    _same(got, want)
    assert all(f.liquidity == "MAKER" for f in r.fills if f.tag != "end_of_data")


def test_limit_keys_sweepable(btc_2024_md):
    compiled = compile_strategy(_yaml("{type: limit, offset_pct: 0.05, expiry_bars: 2}"))
    base = run_backtest(
        compiled, "BTCUSDT", START, END, data=btc_2024_md, leverage=1, warmup_bars=2
    )
    for key, value in (("entry_order.offset_pct", 0.1), ("entry_order.expiry_bars", 4)):
        other = run_backtest(
            compiled,
            "BTCUSDT",
            START,
            END,
            data=btc_2024_md,
            leverage=1,
            warmup_bars=2,
            params={key: value},
        )
        assert [(f.ts, f.price) for f in other.fills] != [(f.ts, f.price) for f in base.fills]
