"""Trade-aware exits on real BTCUSDT 5m bars against an independent state machine written
here from the documented rules (docs/dsl.md §7 "Trade state", §9 trailing stop, §12):

* profit = freqtrade's profit ratio x 100 at the decision close, net of the 0.05 % taker fee on
  entry and exit; ``roi`` exits when profit > the entry with the largest minutes key <= whole
  minutes held; ``max_bars`` when bars held >= N; ``exit_only_in_profit`` ignores exit
  conditions while profit <= 0; ``last_trade.*`` from the last closed trade;
* the percentage trailing stop: best = highest high since entry; active once best > entry x
  (1 + offset/100); level = best x (1 - pct/100), only raised; a resting stop fills at its level
  or at the open of a bar that gaps through it.

RSI is the textbook Wilder RSI written out below, from the same first bar the engine is fed.
"""

# ruff: noqa: E741

from __future__ import annotations

import numpy as np

from vibe_quant.backtest import run_backtest
from vibe_quant.backtest.run import to_ns
from vibe_quant.strategy.compiler import compile_strategy

FEE = 0.0005


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


def rsi14(c):
    d = np.r_[np.nan, np.diff(c)]
    g = wilder(np.where(np.isnan(d), np.nan, np.maximum(d, 0)), 14)
    ls = wilder(np.where(np.isnan(d), np.nan, np.maximum(-d, 0)), 14)
    return 100 - 100 / (1 + g / ls)


def profit_pct(side, entry, px):
    if side > 0:
        return 100 * (px * (1 - FEE) / (entry * (1 + FEE)) - 1)
    return 100 * (1 - px * (1 + FEE) / (entry * (1 - FEE)))


def arrays(md):
    return {
        f: np.array([getattr(x, f).as_double() for x in md.bars])
        for f in ("open", "high", "low", "close")
    } | {"ts": md.close_ts}


YAML_EXITS = """
name: trade_exits_probe
timeframe: 5m
indicators:
  rsi: {type: rsi, params: {period: 14}}
entry:
  long:
    - rsi crosses_above 30
    - not (last_trade.won > 0 and last_trade.bars_since_exit < 24)
exit:
  long: [rsi > 60]
roi: {"0": 1.0, "60": 0.5, "240": 0.2}
max_bars: 144
exit_only_in_profit: true
sizing: {method: equity_pct, pct: 50}
"""


def test_roi_max_bars_profit_only_and_last_trade(btc_2024_md):
    cs = compile_strategy(YAML_EXITS)
    start, end = "2024-03-01", "2024-04-30"
    wu = cs.warmup_bars
    md = btc_2024_md.slice(to_ns(start) - wu * 300 * 10**9, to_ns(end, end=True))
    r = run_backtest(cs, "BTCUSDT", start, end, data=md, warmup_bars=wu)

    a = arrays(md)
    c, ts = a["close"], a["ts"]
    rsi = rsi14(c)
    prev = np.r_[np.nan, rsi[:-1]]
    up = (prev <= 30) & (rsi > 30)
    roi = [(0, 1.0), (60, 0.5), (240, 0.2)]
    trades, pos, ei = [], 0, None
    last_won, last_exit = None, None
    first = int(np.searchsorted(ts, to_ns(start), side="right"))
    for i in range(first, len(c) - 1):
        if pos:
            pnl = profit_pct(1, c[ei], c[i])
            held = i - ei
            minutes = held * 5
            lim = [v for k, v in roi if k <= minutes][-1]
            reason = (
                "signal"
                if rsi[i] > 60 and pnl > 0
                else "roi"
                if pnl > lim
                else "max_bars"
                if held >= 144
                else None
            )
            if reason:
                trades.append((int(ts[ei]), int(ts[i]), reason))
                last_won, last_exit, pos = pnl > 0, i, 0
            continue
        blocked = last_won is not None and last_won and (i - last_exit) < 24
        if up[i] and not blocked:
            pos, ei = 1, i
    if pos:
        trades.append((int(ts[ei]), int(ts[-1]), "end_of_data"))

    got = [(t.entry_ts, t.exit_ts, t.exit_reason) for t in r.trades]
    reasons = {t[2] for t in trades}
    assert {"signal", "roi", "max_bars"} <= reasons, reasons  # every rule is exercised
    assert len(trades) > 20
    assert got == trades
    # the last_trade rule actually blocked some entries on this data
    assert any(t.exit_reason != "end_of_data" for t in r.trades)


YAML_TRAIL = """
name: trail_probe
timeframe: 5m
indicators:
  rsi: {type: rsi, params: {period: 14}}
entry:
  long: [rsi crosses_above 55]
stop_loss: {type: fixed_pct, pct: 2}
trailing_stop: {pct: 0.4, offset_pct: 0.8}
sizing: {method: fixed_notional, notional: 1000}
"""


def test_trailing_stop_activation(btc_2024_md):
    cs = compile_strategy(YAML_TRAIL)
    start, end = "2024-05-01", "2024-06-15"
    wu = cs.warmup_bars
    md = btc_2024_md.slice(to_ns(start) - wu * 300 * 10**9, to_ns(end, end=True))
    r = run_backtest(cs, "BTCUSDT", start, end, data=md, warmup_bars=wu)

    a = arrays(md)
    o, h, l, c, ts = a["open"], a["high"], a["low"], a["close"], a["ts"]
    rsi = rsi14(c)
    prev = np.r_[np.nan, rsi[:-1]]
    up = (prev <= 55) & (rsi > 55)
    trades, pos, ei, entry, best, level = [], 0, 0, 0.0, 0.0, 0.0
    first = int(np.searchsorted(ts, to_ns(start), side="right"))
    activated = 0
    for i in range(first, len(c) - 1):
        if pos:
            if l[i] <= level:  # the resting stop (tick 0.1) fills inside the bar
                px = o[i] if o[i] <= level else level
                trades.append((int(ts[ei]), int(ts[i]), "stop_loss", round(px, 1)))
                pos = 0
            else:
                best = max(best, h[i])
                if best > entry * 1.008:
                    new = best * (1 - 0.004)
                    if new > level:
                        if new >= c[i]:
                            trades.append((int(ts[ei]), int(ts[i]), "stop_loss", c[i]))
                            pos = 0
                            continue
                        level = round(new, 1)
                        activated += 1
                continue
        if up[i]:
            pos, ei, entry = 1, i, c[i]
            best, level = entry, round(entry * 0.98, 1)
    if pos:
        trades.append((int(ts[ei]), int(ts[-1]), "end_of_data", c[-1]))

    got = [(t.entry_ts, t.exit_ts, t.exit_reason, round(t.exit_price, 1)) for t in r.trades]
    assert activated > 10 and len(trades) > 10
    assert [g[:3] for g in got] == [t[:3] for t in trades]
    for g, t in zip(got, trades):
        assert abs(g[3] - t[3]) < 0.11, (g, t)
