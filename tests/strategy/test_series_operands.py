"""Higher-timeframe price operands (``close@1h``) on real BTCUSDT 5m bars: the decision at a
5m close reads the last CLOSED 1h bar (close time <= the 5m close), computed here with a
pandas resample of the raw Binance zip + merge_asof; the result also equals the documented
workaround (an ``sma`` with ``period: 1`` on 1h)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd

from vibe_quant.backtest import run_backtest
from vibe_quant.backtest.run import to_ns
from vibe_quant.strategy.compiler import compile_strategy

START, END = "2024-01-05", "2024-01-20"
BODY = """
timeframe: 5m
entry:
  long: ["{a} > {a1}", "close < close[1]"]
exit:
  long: ["{a} < {a1}"]
sizing: {{method: fixed_notional, notional: 1000}}
"""
NEW = "name: htf_new\n" + BODY.format(a="close@1h", a1="close@1h[1]")
OLD = (
    "name: htf_old\nindicators:\n  h1: {type: sma, params: {period: 1}, timeframe: 1h}\n"
    + BODY.format(a="h1", a1="h1[1]")
)


def test_close_at_1h_is_the_last_closed_hour(btc_2024_md, shared_data):
    z = (
        shared_data
        / "binance-vision/data/futures/um/monthly/klines/BTCUSDT/5m"
        / "BTCUSDT-5m-2024-01.zip"
    )
    with zipfile.ZipFile(z) as zf:
        df = pd.read_csv(io.BytesIO(zf.read(zf.namelist()[0])))
    df["ts"] = (df["open_time"].astype("int64") + 300_000) * 1_000_000
    idx = pd.to_datetime(df["ts"], unit="ns", utc=True)
    h = df.set_index(idx)["close"].resample("1h", closed="right", label="right").last()
    h = pd.DataFrame({"ts": h.index.asi8, "c1h": h.to_numpy(), "p1h": h.shift(1).to_numpy()})
    m = pd.merge_asof(df[["ts", "close"]], h, on="ts", direction="backward")
    up = (m["c1h"] > m["p1h"]).to_numpy() & (df["close"] < df["close"].shift(1)).to_numpy()
    down = (m["c1h"] < m["p1h"]).to_numpy()
    ts = df["ts"].to_numpy()
    first = int(np.searchsorted(ts, to_ns(START), side="right"))
    last = int(np.searchsorted(ts, to_ns(END, end=True), side="right")) - 1
    want, pos = [], False
    for i in range(first, last):
        if pos and down[i]:
            want.append((-1, int(ts[i])))
            pos = False
        elif not pos and up[i]:
            want.append((1, int(ts[i])))
            pos = True
    runs = {}
    for text in (NEW, OLD):
        c = compile_strategy(text)
        r = run_backtest(
            c, "BTCUSDT", START, END, data=btc_2024_md, leverage=1, warmup_bars=c.warmup_for()
        )
        runs[c.name] = [(f.side, f.ts) for f in r.fills if f.tag != "end_of_data"]
    assert len(want) > 20
    assert runs["htf_new"] == want
    assert runs["htf_old"] == want
