"""Condition evaluator + execution rules end to end on real bars: every entry and exit of a
compiled strategy happens exactly where an independent pandas evaluation of its conditions and
of the §12 state machine (flat → exactly one side true enters; in a position the side's exit
closes; no entry on the exit bar) says it should."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vibe_quant.backtest import run_backtest
from vibe_quant.backtest.run import to_ns
from vibe_quant.strategy.compiler import compile_strategy

YAML = """
name: cond_probe
timeframe: 5m
parameters: {lo: 45, hi: 55, vm: 1.2}
indicators:
  rsi: {type: rsi, params: {period: 14}}
  sma: {type: sma, params: {period: 50}, source: hlc3}
  vol_avg: {type: volume_sma, params: {period: 20}}
entry:
  long:
    - rsi crosses_above $lo
    - close > sma
    - any:
        - volume > vol_avg * $vm
        - close > close[3]
  short:
    - rsi crosses_below $hi
    - not (close > sma)
exit:
  long: [rsi between $hi 100]
  short: ["rsi between 0 and $lo"]
sizing: {method: fixed_notional, notional: 1000}
"""


def wilder(x, n):
    out = np.full(len(x), np.nan)
    idx = np.flatnonzero(~np.isnan(x))
    s = None
    for k, i in enumerate(idx):
        if k == n - 1:
            s = x[idx[:n]].mean()
            out[i] = s
        elif k >= n:
            s = s + (x[i] - s) / n
            out[i] = s
    return out


def test_entries_and_exits_match_pandas(btc_2024_md):
    cs = compile_strategy(YAML)
    start, end = "2024-04-01", "2024-05-31"
    wu = cs.warmup_bars
    md = btc_2024_md.slice(to_ns(start) - wu * 300 * 10**9, to_ns(end, end=True))
    r = run_backtest(cs, "BTCUSDT", start, end, data=md, warmup_bars=wu)

    b = md.bars
    o, h, lo, c, v = (np.array([getattr(x, f).as_double() for x in b])
                     for f in ("open", "high", "low", "close", "volume"))
    ts = md.close_ts
    d = np.r_[np.nan, np.diff(c)]
    g = wilder(np.where(np.isnan(d), np.nan, np.maximum(d, 0)), 14)
    ls = wilder(np.where(np.isnan(d), np.nan, np.maximum(-d, 0)), 14)
    rsi = 100 - 100 / (1 + g / ls)
    sma = pd.Series((h + lo + c) / 3).rolling(50).mean().to_numpy()
    vavg = pd.Series(v).rolling(20).mean().to_numpy()
    c3 = np.r_[np.full(3, np.nan), c[:-3]]
    prev = np.r_[np.nan, rsi[:-1]]
    ready = np.arange(len(c)) >= 49  # sma(50) is the last indicator to warm up
    prev[~np.r_[False, ready[:-1]]] = np.nan  # a cross needs a previous READY bar
    up = (prev <= 45) & (rsi > 45)
    dn = (prev >= 55) & (rsi < 55)
    long_in = ready & up & (c > sma) & ((v > vavg * 1.2) | (c > c3))
    short_in = ready & dn & ~(c > sma)
    long_out = ready & (rsi >= 55) & (rsi <= 100)
    short_out = ready & (rsi >= 0) & (rsi <= 45)

    trades, pos, entry = [], 0, None
    first = int(np.searchsorted(ts, to_ns(start), side="right"))
    for i in range(first, len(c) - 1):  # the final bar only closes (end_of_data)
        if pos > 0 and long_out[i] or pos < 0 and short_out[i]:
            trades.append((entry, int(ts[i]), pos))
            pos = 0
            continue
        if pos == 0 and long_in[i] != short_in[i]:
            pos, entry = (1 if long_in[i] else -1), int(ts[i])
    if pos:
        trades.append((entry, int(ts[-1]), pos))

    got = [(t.entry_ts, t.exit_ts, 1 if t.side == "long" else -1) for t in r.trades]
    assert len(got) > 20
    assert got == trades


YAML_HTF = """
name: htf_lookback_probe
timeframe: 5m
indicators:
  h1: {type: ema, params: {period: 12}, timeframe: 1h}
entry:
  long: "h1 > h1[2] and close > close[1]"
  short: "h1 < h1[2] and close < close[1]"
exit:
  long: "h1 < h1[1]"
  short: "h1 > h1[1]"
sizing: {method: fixed_notional, notional: 1000}
"""


def test_higher_timeframe_lookbacks_match_pandas(btc_2024_md):
    """``h1[n]`` on a 1h indicator is n HOUR bars back (not 5m bars), as seen from each 5m
    decision; entries/exits equal a pandas evaluation."""
    hour = 3_600_000_000_000
    cs = compile_strategy(YAML_HTF)
    start, end = "2024-07-01", "2024-08-15"
    wu = cs.warmup_bars
    md = btc_2024_md.slice(to_ns(start) - wu * 300 * 10**9, to_ns(end, end=True))
    r = run_backtest(cs, "BTCUSDT", start, end, data=md, warmup_bars=wu)

    ts, c = md.close_ts, md.close
    s = pd.Series(c, index=pd.to_datetime(ts, unit="ns", utc=True))
    hc = s.resample("1h", closed="right", label="right").last()
    n = s.resample("1h", closed="right", label="right").count()
    hc = hc[hc.index >= n.index[np.flatnonzero(n.to_numpy() == 12)[0]]]
    ema = hc.ewm(span=12, adjust=False).mean().to_numpy()
    hts = hc.index.asi8
    j = np.searchsorted(hts, (ts // hour) * hour)  # latest closed hour at each decision
    ok = (j < len(hts)) & (hts[np.minimum(j, len(hts) - 1)] == (ts // hour) * hour) & (j >= 13)
    jj = np.where(ok, j, 13)
    cur, p1, p2 = ema[jj], ema[jj - 1], ema[jj - 2]  # 12 + 2 hour bars for h1[2]
    up_c = np.r_[False, c[1:] > c[:-1]]
    dn_c = np.r_[False, c[1:] < c[:-1]]
    long_in, short_in = ok & (cur > p2) & up_c, ok & (cur < p2) & dn_c
    long_out, short_out = ok & (cur < p1), ok & (cur > p1)

    trades, pos, entry = [], 0, None
    first = int(np.searchsorted(ts, to_ns(start), side="right"))
    for i in range(first, len(c) - 1):
        if pos > 0 and long_out[i] or pos < 0 and short_out[i]:
            trades.append((entry, int(ts[i]), pos))
            pos = 0
            continue
        if pos == 0 and long_in[i] != short_in[i]:
            pos, entry = (1 if long_in[i] else -1), int(ts[i])
    if pos:
        trades.append((entry, int(ts[-1]), pos))
    got = [(t.entry_ts, t.exit_ts, 1 if t.side == "long" else -1) for t in r.trades]
    assert len(got) > 20
    assert got == trades
