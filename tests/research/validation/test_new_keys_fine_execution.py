"""The DSL keys of issue 14 under VALIDATION with execution on the finest archived bars: 5m
strategies executed on real BTCUSDT 1m bars (2025-02, the window where the shared data holds
1m bars), ingested through the real code path from the loopback mirror.

Expected values are worked out here from the raw Binance 1m zips (pandas/numpy; the 5m bars
the strategy decides on are the 1m bars grouped by 5-minute close), never read from the code
under test. The runs use the validation preset with ``k = 0`` (the fill model then only adds
the half spread: a market buy fills at ``close + 1 tick``, a sell at ``close - 1 tick``, a
stop-market sell at ``level - 1 tick`` — or the open of the 1m bar that gapped through it)
and ``colocated`` latency (an order sent at a 5m close arrives 1 ms later).

Rules simulated (docs/dsl.md §7, §9, §12; SPEC §8 "Fill model"):

* decisions only at 5m closes; a market order fills at that close + the latency;
* ``trade.pnl_pct`` net of the 0.05 % taker fee on both legs, from the entry FILL price;
  ``roi`` (largest key ≤ whole minutes held, profit strictly above), ``max_bars`` (bars held
  ≥ N), ``exit_only_in_profit`` (exit conditions only while profit > 0), ``equity_pct``;
* a buy limit at ``floor_tick(close × (1 − off/100))`` fills at its price in the first 1m bar
  whose low trades THROUGH it (a touch is not a fill), within ``expiry_bars`` 5m bars, else is
  cancelled at the close of the last one and the signal re-evaluated there;
* pyramiding: add-ons at 5m closes while entries < ``max_entries``; stop from the average;
* percentage trail: best = highest 5m high since entry; active once best > entry × (1 +
  offset); a resting stop at ``best × (1 − pct)`` is triggered by the first 1m low reaching it.
"""

from __future__ import annotations

import io
import math
import zipfile

import numpy as np
import pandas as pd
import pytest

from vibe_quant.backtest.marketdata import load_market_data
from vibe_quant.backtest.models.fill import ImpactParams
from vibe_quant.backtest.models.presets import ValidationSettings, validation_preset
from vibe_quant.backtest.run import run_backtest, to_ns
from vibe_quant.strategy.compiler import compile_strategy

TICK = 0.1
STEP = 0.001
FEE = 0.0005
BAR = 300 * 10**9  # one 5m bar, ns
LAT = 10**6  # colocated: 1 ms
MONTHS = ("2025-01", "2025-02")
DECISION_TAGS = {"signal", "roi", "max_bars"}


@pytest.fixture(scope="module")
def bars(fine_dd):
    lo, hi = to_ns("2025-01-31"), to_ns("2025-02-20", end=True)
    return (
        load_market_data(fine_dd, "BTCUSDT", "5m", lo, hi),
        load_market_data(fine_dd, "BTCUSDT", "1m", lo, hi),
    )


@pytest.fixture(scope="module")
def raw(shared_data):
    """Raw 1m klines (close time ns) and the 5m bars grouped from them, straight from the zips."""
    frames = []
    for month in MONTHS:
        z = (shared_data / "binance-vision/data/futures/um/monthly/klines/BTCUSDT/1m"
             / f"BTCUSDT-1m-{month}.zip")
        with zipfile.ZipFile(z) as zf:
            frames.append(pd.read_csv(io.BytesIO(zf.read(zf.namelist()[0]))))
    m1 = pd.concat(frames, ignore_index=True)
    m1["ts"] = (m1["open_time"].astype("int64") + 60_000) * 1_000_000
    m1 = m1.sort_values("ts").reset_index(drop=True)
    key = -(-m1["ts"] // BAR) * BAR  # the 5m close each 1m bar belongs to
    m5 = m1.groupby(key).agg(open=("open", "first"), high=("high", "max"),
                             low=("low", "min"), close=("close", "last"), n=("ts", "size"))
    assert (m5["n"].iloc[1:-1] == 5).all()  # the archive starts/ends inside a 5m bar
    m5 = m5[m5["n"] == 5]
    m5["ts"] = m5.index.astype("int64")
    return m1.reset_index(drop=True), m5.reset_index(drop=True)


def _a(df, lo_ns, hi_ns):
    """Float arrays of ``df`` rows with ``lo_ns < ts ≤ hi_ns``."""
    d = df[(df["ts"] > lo_ns) & (df["ts"] <= hi_ns)]
    return {k: d[k].to_numpy(dtype=float) for k in ("open", "high", "low", "close")} | {
        "ts": d["ts"].to_numpy(dtype=np.int64)}


def _run(yaml, bars, start, end, params=None, mode=None):
    m5, m1 = bars
    cs = compile_strategy(yaml)
    wu = cs.warmup_for(params or {})
    mode = mode or validation_preset(
        ValidationSettings(latency="colocated", impact=ImpactParams(k=0.0)))
    r = run_backtest(cs, "BTCUSDT", start, end, mode, params or {}, data=m5,
                     execution_data=None if mode == "screening" else m1, warmup_bars=wu,
                     leverage=1)
    assert r.execution_interval == ("5m" if mode == "screening" else "1m")
    return r, to_ns(start) - wu * BAR


def _floor_tick(x):
    return math.floor(x / TICK + 1e-9) * TICK


def _floor_step(x):
    return round(math.floor(x / STEP + 1e-9) * STEP, 3)


def _wilder_rsi(c, n=14):
    d = np.r_[np.nan, np.diff(c)]
    out = np.full(len(c), np.nan)
    g = ls = None
    for i in range(1, len(c)):
        up, dn = max(d[i], 0.0), max(-d[i], 0.0)
        if i < n:
            continue
        if i == n:
            g, ls = np.mean(np.maximum(d[1:n + 1], 0)), np.mean(np.maximum(-d[1:n + 1], 0))
        else:
            g, ls = g + (up - g) / n, ls + (dn - ls) / n
        out[i] = 100 - 100 / (1 + g / ls)
    return out


def _profit_pct(entry, px):
    return 100 * (px * (1 - FEE) / (entry * (1 + FEE)) - 1)


def _exec_slices(a5, a1):
    """For each 5m bar i: the 1m index range [s, e) of the bars it is made of."""
    e = np.searchsorted(a1["ts"], a5["ts"], side="right")
    return np.r_[e[0] - 5, e[:-1]], e


# ----------------------------------------------------------------- 1 + 2: trade-aware exits
N_BARS = 24
EXIT_RSI = 55
YAML_EXITS = f"""
name: exits_fine
timeframe: 5m
indicators:
  rsi: {{type: rsi, params: {{period: 14}}}}
entry:
  long: [rsi crosses_above 30]
exit:
  long: [rsi > {EXIT_RSI}]
roi: {{"0": 0.8, "30": 0.4, "90": 0.15}}
max_bars: {N_BARS}
exit_only_in_profit: true
sizing: {{method: equity_pct, pct: 50}}
"""
EX_START, EX_END = "2025-02-02", "2025-02-16"


def _simulate_exits(a, first, n_bars, exit_rsi=EXIT_RSI,
                    roi=((0, 0.8), (30, 0.4), (90, 0.15))):
    """Trades ``(entry decision ts, exit decision ts, reason)``, the number of exits that
    ``exit_only_in_profit`` held back and whether a trade is still open at the end (closed
    as ``end_of_data``). Entry fill = close + 1 tick (k = 0)."""
    c, ts = a["close"], a["ts"]
    rsi = _wilder_rsi(c)
    prev = np.r_[np.nan, rsi[:-1]]
    up = (prev <= 30) & (rsi > 30)
    trades, pos, ei, entry, held_back = [], False, 0, 0.0, 0
    # the latency run sends its end-of-data close at the second-to-last bar
    for i in range(first, len(c) - 2):
        if pos:
            pnl = _profit_pct(entry, c[i])
            held = i - ei
            lim = [v for k, v in roi if k <= held * 5][-1]
            reason = None
            if rsi[i] > exit_rsi:
                if pnl > 0:
                    reason = "signal"
                else:
                    held_back += 1
            if reason is None:
                reason = "roi" if pnl > lim else "max_bars" if held >= n_bars else None
            if reason:
                trades.append((int(ts[ei]), int(ts[i]), reason))
                pos = False
            continue
        if up[i]:
            pos, ei, entry = True, i, c[i] + TICK
    return trades, held_back, pos


@pytest.fixture(scope="module")
def exits_run(bars):
    return _run(YAML_EXITS, bars, EX_START, EX_END)


def _decision_trades(r):
    """``(entry order ts, exit order ts, exit tag)`` per closed trade from the order log."""
    out, open_ts = [], None
    for o in r.orders:
        if o.order_type != "MARKET" or o.tag not in DECISION_TAGS:
            continue
        if not o.reduce_only:
            open_ts = o.ts
        else:
            out.append((open_ts, o.ts, o.tag))
    return out


def test_decisions_only_at_5m_closes(exits_run, bars, raw):
    r, feed_lo = exits_run
    a = _a(raw[1], feed_lo, to_ns(EX_END, end=True))
    first = int(np.searchsorted(a["ts"], to_ns(EX_START), side="right"))
    want, held_back, still_open = _simulate_exits(a, first, N_BARS)
    assert {t[2] for t in want} == {"signal", "roi", "max_bars"} and len(want) > 20
    assert held_back > 0  # exit_only_in_profit really held exits back on this data
    # every decision order sits on a 5m close, its fill at that close + the latency
    dec = [o for o in r.orders if o.tag in DECISION_TAGS]
    assert len(dec) == 2 * len(want) + still_open
    assert all(o.ts % BAR == 0 and o.order_type == "MARKET" for o in dec)
    fills = {f.order_id: f for f in r.fills}
    assert all(fills[o.order_id].ts == o.ts + LAT for o in dec)
    # the decisions are those of the rules on the 5m bars grouped from the raw 1m bars
    assert _decision_trades(r) == want
    # fills: market at the close ± one tick (k = 0: half spread only)
    close_at = dict(zip(a["ts"].tolist(), a["close"].tolist()))
    for o in dec:
        f = fills[o.order_id]
        assert f.price == pytest.approx(close_at[o.ts] + o.side * TICK, abs=1e-6)
    # the same decisions with retail latency, each fill 200 ms after its 5m close
    ret, _ = _run(YAML_EXITS, bars, EX_START, EX_END, mode=validation_preset(
        ValidationSettings(latency="retail", impact=ImpactParams(k=0.0))))
    assert _decision_trades(ret) == want
    rf = {f.order_id: f.ts for f in ret.fills}
    assert all(rf[o.order_id] == o.ts + 200 * LAT for o in ret.orders if o.tag in DECISION_TAGS)
    # equity_pct 50: quantity = floor_step(balance × 0.5 / signal close), balance = start +
    # the net PnL of the trades closed before
    bal = r.starting_balance
    for t, (ets, _, _) in zip(r.trades, want):
        assert t.qty == pytest.approx(_floor_step(bal * 0.5 / close_at[ets]), abs=1e-9)
        bal += t.net_pnl


def test_max_bars_exit_n_bars_after_entry_decision(exits_run, bars, raw):
    r, _ = exits_run
    got = _decision_trades(r)
    mb = [(e, x) for e, x, tag in got if tag == "max_bars"]
    assert len(mb) > 5
    assert all(x - e == N_BARS * BAR for e, x in mb)
    # as in screening (the archived 5m bars, the engine's own fills)
    scr, _ = _run(YAML_EXITS, bars, EX_START, EX_END, mode="screening")
    scr_mb = [(t.entry_ts, t.exit_ts) for t in scr.trades if t.exit_reason == "max_bars"]
    assert scr_mb == mb
    # read at run time under validation too: a swept max_bars moves the time exits
    r12, feed_lo = _run(YAML_EXITS, bars, EX_START, EX_END, params={"max_bars": 12})
    a = _a(raw[1], feed_lo, to_ns(EX_END, end=True))
    first = int(np.searchsorted(a["ts"], to_ns(EX_START), side="right"))
    want12, _, _ = _simulate_exits(a, first, 12)
    got12 = _decision_trades(r12)
    assert got12 == want12
    assert any(t == "max_bars" and x - e == 12 * BAR for e, x, t in got12)


# ----------------------------------------------------------------- 3: limit entries on 1m
OFF, EXPIRY = 0.05, 2
YAML_LIMIT = f"""
name: limit_fine
timeframe: 5m
entry:
  long: ["close < close[1]"]
exit:
  long: ["close > close[1]"]
entry_order: {{type: limit, offset_pct: {OFF}, expiry_bars: {EXPIRY}}}
sizing: {{method: fixed_notional, notional: 1000}}
"""
LIM_START, LIM_END = "2025-02-05", "2025-02-09"


def _simulate_limits(a5, a1, first):
    """Entry fills ``(1m close ts, price, placed ts, limit)``, expired ``(placed ts, limit)``
    and touches ``(placed ts, 1m ts)``: 1m bars whose low only equalled a resting limit."""
    c, ts = a5["close"], a5["ts"]
    s1, e1 = _exec_slices(a5, a1)
    pos, ent, fills, expired, touches = False, None, [], [], []
    for i in range(first, len(c) - 2):
        if ent is not None:  # the exchange walks the 1m bars of 5m bar i
            lim, placed = ent
            for k in range(s1[i], e1[i]):
                if a1["low"][k] < lim - 1e-9:  # traded through: a fill, at the limit
                    px = min(lim, a1["open"][k])
                    fills.append((int(a1["ts"][k]), px, int(ts[placed]), lim))
                    pos, ent = True, None
                    break
                if abs(a1["low"][k] - lim) < 1e-9:
                    touches.append((int(ts[placed]), int(a1["ts"][k])))
        if ent is not None and i - ent[1] >= EXPIRY:  # decision: expired, then re-evaluate
            expired.append((int(ts[ent[1]]), ent[0]))
            ent = None
        if pos:
            if c[i] > c[i - 1]:
                pos = False  # market exit (fills 1 ms later, before any later 1m bar)
            continue
        if ent is None and c[i] < c[i - 1]:
            ent = (_floor_tick(c[i] * (1 - OFF / 100)), i)
    return fills, expired, touches


def _run_and_arrays(text, bars, raw, start, end, params=None):
    """The run, the raw 5m and 1m bars of its fed window (numpy columns) and the index of the
    first traded 5m bar."""
    r, feed_lo = _run(text, bars, start, end, params=params)
    hi = to_ns(end, end=True)
    a5, a1 = _a(raw[1], feed_lo, hi), _a(raw[0], feed_lo, hi)
    return r, a5, a1, int(np.searchsorted(a5["ts"], to_ns(start), side="right"))


def test_limit_entry_trades_through_on_1m_and_expires(bars, raw):
    r, a5, a1, first = _run_and_arrays(YAML_LIMIT, bars, raw, LIM_START, LIM_END)
    want, expired, touches = _simulate_limits(a5, a1, first)
    assert len(want) > 100 and len(expired) > 30
    assert touches  # some 1m lows only touched a resting limit on this data

    lims = [o for o in r.orders if o.order_type == "LIMIT"]
    assert all(o.ts % BAR == 0 and o.side == 1 and not o.reduce_only for o in lims)
    by_id = {f.order_id: f for f in r.fills}
    got = [(by_id[o.order_id].ts, by_id[o.order_id].price, o.ts, o.price)
           for o in lims if o.order_id in by_id]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g[0] == w[0] and g[2] == w[2], (g, w)
        assert g[1] == pytest.approx(w[1], abs=1e-6) and g[3] == pytest.approx(w[3], abs=1e-6)
    assert all(by_id[o.order_id].liquidity == "MAKER" for o in lims if o.order_id in by_id)
    # each fill's 1m bar traded through the limit; no earlier 1m bar of its life did
    lo1 = dict(zip(a1["ts"].tolist(), a1["low"].tolist()))
    for fts, px, placed, lim in got:
        assert lo1[fts] < lim and px <= lim
        life = a1["low"][(a1["ts"] > placed) & (a1["ts"] < fts)]
        assert (life >= lim - 1e-9).all()
    # the unfilled ones were cancelled at their expiry: never traded through in their
    # EXPIRY 5m bars (touches allowed), and some were traded through right after
    unfilled = [(o.ts, o.price) for o in lims if o.order_id not in by_id]
    assert [u[0] for u in unfilled] == [e[0] for e in expired]
    late = 0
    for placed, lim in unfilled:
        life = a1["low"][(a1["ts"] > placed) & (a1["ts"] <= placed + EXPIRY * BAR)]
        assert len(life) == 5 * EXPIRY and (life >= lim - 1e-9).all()
        after = a1["low"][(a1["ts"] > placed + EXPIRY * BAR)
                          & (a1["ts"] <= placed + (EXPIRY + 1) * BAR)]
        late += bool((after < lim).any())
    assert late > 0
    # the touched-only bars did not fill their order
    filled_at = {(p, f) for f, _, p, _ in got}
    assert not any(t in filled_at for t in touches)


# ----------------------------------------------------------------- 4: pyramiding on 1m
YAML_PYR = """
name: pyramid_fine
timeframe: 5m
entry:
  long: ["close < close[1]"]
exit:
  long: ["close > close[1] and close[1] > close[2]"]
pyramiding: {max_entries: 3, size_pct: 50, long: ["close < close[1]"]}
stop_loss: {type: fixed_pct, pct: 0.5}
sizing: {method: fixed_notional, notional: 1000}
"""
PYR_START, PYR_END = "2025-02-05", "2025-02-09"


def _simulate_pyramid(a5, a1, first, max_entries):
    """Fills ``(side, ts, qty, price)`` and entries per trade; market fills at the close ± 1
    tick 1 ms after the decision, the stop (average × 0.995) triggered by a 1m low."""
    c, ts = a5["close"], a5["ts"]
    s1, e1 = _exec_slices(a5, a1)
    q = avg = stop = q0 = 0.0
    n, fills, counts = 0, [], []
    for i in range(first, len(c) - 2):
        if q:
            lvl = round(stop, 1)
            for k in range(s1[i], e1[i]):
                if a1["low"][k] <= lvl:
                    fills.append((-1, int(a1["ts"][k]), q, min(lvl, a1["open"][k]) - TICK))
                    counts.append(n)
                    q = 0.0
                    break
        if q:
            if c[i] > c[i - 1] and c[i - 1] > c[i - 2]:
                fills.append((-1, int(ts[i]) + LAT, q, c[i] - TICK))
                counts.append(n)
                q = 0.0
            elif n < max_entries and c[i] < c[i - 1]:
                add = _floor_step(q0 * 0.5)
                px = c[i] + TICK
                avg = (avg * q + px * add) / (q + add)
                q, n = round(q + add, 3), n + 1
                fills.append((1, int(ts[i]) + LAT, add, px))
                stop = avg * (1 - 0.005)
            continue
        if c[i] < c[i - 1]:
            q0 = q = _floor_step(1000 / c[i])
            avg, n = c[i] + TICK, 1
            stop = avg * (1 - 0.005)
            fills.append((1, int(ts[i]) + LAT, q, avg))
    return fills, counts


@pytest.mark.parametrize("max_entries", [3, 2])
def test_pyramiding_never_exceeds_max_entries(bars, raw, max_entries):
    params = {} if max_entries == 3 else {"pyramiding.max_entries": max_entries}
    r, a5, a1, first = _run_and_arrays(YAML_PYR, bars, raw, PYR_START, PYR_END, params=params)
    want, counts = _simulate_pyramid(a5, a1, first, max_entries)
    # entries per position, counted from the fills: never above max_entries, often reached
    per, cur = [], 0
    pos = 0.0
    for f in r.fills:
        if f.side > 0:
            cur += 1
        pos = round(pos + f.side * f.qty, 3)
        if pos == 0:
            per.append(cur)
            cur = 0
    assert max(per) == max_entries and per.count(max_entries) > 10
    assert counts.count(max_entries) > 10 and max(counts) == max_entries
    got = [(f.side, f.ts, f.qty, f.price) for f in r.fills if f.tag != "end_of_data"]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g[:2] == w[:2], (g, w)
        assert g[2] == pytest.approx(w[2], abs=1e-9) and g[3] == pytest.approx(w[3], abs=1e-6)
    # every add-on is a decision at a 5m close
    adds = [o for o in r.orders if o.order_type == "MARKET" and o.side > 0]
    assert all(o.ts % BAR == 0 for o in adds)
    assert any(f.tag == "stop_loss" for f in r.fills)


# ----------------------------------------------------------------- 5: trailing activation
PCT, OFFSET = 0.4, 0.8
YAML_TRAIL = f"""
name: trail_fine
timeframe: 5m
indicators:
  rsi: {{type: rsi, params: {{period: 14}}}}
entry:
  long: [rsi crosses_above 55]
stop_loss: {{type: fixed_pct, pct: 2}}
trailing_stop: {{pct: {PCT}, offset_pct: {OFFSET}}}
sizing: {{method: fixed_notional, notional: 1000}}
"""
TR_START, TR_END = "2025-02-02", "2025-02-18"


def _simulate_trail(a5, a1, first):
    """Fills ``(side, ts, price, tag)``, the stop orders ``(ts, level)`` each trade moved to,
    and the number of trades that ended on the fixed stop without ever activating."""
    h, c, ts = a5["high"], a5["close"], a5["ts"]
    s1, e1 = _exec_slices(a5, a1)
    rsi = _wilder_rsi(c)
    prev = np.r_[np.nan, rsi[:-1]]
    up = (prev <= 55) & (rsi > 55)
    fills, moves, inactive = [], [], 0
    pos, entry, best, level, active = False, 0.0, 0.0, 0.0, False
    for i in range(first, len(c) - 2):
        if pos:
            lvl = round(level, 1)
            hit = None
            for k in range(s1[i], e1[i]):
                if a1["low"][k] <= lvl:
                    hit = k
                    break
            if hit is not None:
                fills.append((-1, int(a1["ts"][hit]), min(lvl, a1["open"][hit]) - TICK,
                              "stop_loss"))
                inactive += not active
                pos = False
            else:
                best = max(best, h[i])
                if best > entry * (1 + OFFSET / 100):
                    active = True
                    new = best * (1 - PCT / 100)
                    if new > level:
                        if new >= c[i]:
                            fills.append((-1, int(ts[i]) + LAT, c[i] - TICK, "stop_loss"))
                            pos = False
                            continue
                        level = new
                        moves.append((int(ts[i]), round(new, 1)))
                continue
        if up[i]:
            pos, entry, active = True, c[i] + TICK, False
            best, level = entry, entry * 0.98
            fills.append((1, int(ts[i]) + LAT, entry, "signal"))
    return fills, moves, inactive


def test_trailing_stop_activation_on_1m(bars, raw):
    r, a5, a1, first = _run_and_arrays(YAML_TRAIL, bars, raw, TR_START, TR_END)
    want, moves, inactive = _simulate_trail(a5, a1, first)
    assert len(moves) > 20 and inactive > 3  # both the trail and the plain stop are exercised
    got = [(f.side, f.ts, f.price, f.tag) for f in r.fills if f.tag != "end_of_data"]
    assert len(got) == len(want) > 30
    for g, w in zip(got, want):
        assert (g[0], g[1], g[3]) == (w[0], w[1], w[3]), (g, w)
        assert g[2] == pytest.approx(w[2], abs=1e-6), (g, w)
    # the stop moves only after activation, to best × (1 − pct), at 5m closes
    entries = {f.ts - LAT for f in r.fills if f.side > 0}
    stops = [(o.ts, o.price) for o in r.orders
             if o.order_type == "STOP_MARKET" and o.tag == "stop_loss"
             and o.ts - LAT not in entries]  # (the initial fixed stop rests from the fill)
    assert len(stops) == len(moves)
    for (ts, px), (wts, wpx) in zip(stops, moves):
        assert ts == wts and ts % BAR == 0 and px == pytest.approx(wpx, abs=1e-6)
    # trail fills: on the first 1m bar reaching the level, at or below it
    lo1 = dict(zip(a1["ts"].tolist(), a1["low"].tolist()))
    orders = {o.order_id: o for o in r.orders}
    n = 0
    for f in r.fills:
        o = orders.get(f.order_id)
        if o is None or o.order_type != "STOP_MARKET" or f.tag != "stop_loss":
            continue
        assert lo1[f.ts] <= o.price and f.price < o.price
        n += 1
    assert n > 10
