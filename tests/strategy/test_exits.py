"""Stops and targets on real data, recomputed independently from the bars (textbook Wilder ATR
written here) and compared with every exit fill of the compiled strategies.

Fill rules used by the reference (measured engine behaviour, docs/engine-spike.md): a resting
stop-market fills at its trigger, or at the bar's open when the bar opens beyond it; a resting
take-profit limit fills at its price, or at the open when the bar opens beyond it; order prices
are rounded to the 0.1 USDT tick.
"""

# ruff: noqa: E741  (o, h, l, c, v: the OHLCV convention)

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vibe_quant.backtest import run_backtest
from vibe_quant.backtest.run import to_ns
from vibe_quant.strategy.compiler import compile_strategy

ROOT = Path(__file__).resolve().parents[2]
START, END = "2024-01-01", "2024-02-29"


def wilder_atr(h, l, c, n):
    pc = np.r_[np.nan, c[:-1]]
    tr = np.maximum.reduce([h - l, np.abs(h - pc), np.abs(l - pc)])
    out = np.full(len(c), np.nan)
    s = tr[1:n + 1].mean()
    out[n] = s
    for i in range(n + 1, len(c)):
        s = s + (tr[i] - s) / n
        out[i] = s
    return out


def fed(md, cs):
    """The bars ``run_backtest`` feeds: close in (start - warm-up, end]."""
    lo = to_ns(START) - cs.warmup_bars * 300 * 10**9
    d = md.slice(lo, to_ns(END, end=True))
    a = {k: np.array([getattr(b, k).as_double() for b in d.bars])
         for k in ("open", "high", "low", "close")}
    a["ts"] = d.close_ts
    return d, a


def tick(x):
    return round(x, 1)


def fill_at(level, side_of_order, open_):
    """Stop/limit fill price: the level, or the open if the bar opened beyond it."""
    if side_of_order == "sell_stop":
        return open_ if open_ <= level else level
    if side_of_order == "buy_stop":
        return open_ if open_ >= level else level
    if side_of_order == "sell_limit":
        return open_ if open_ >= level else level
    return open_ if open_ <= level else level  # buy_limit


@pytest.fixture(scope="module")
def rsi_run(btc_2024_md):
    cs = compile_strategy(ROOT / "strategies" / "rsi_mtf.yaml")
    d, a = fed(btc_2024_md, cs)
    r = run_backtest(cs, "BTCUSDT", START, END, data=d, leverage=2, warmup_bars=cs.warmup_bars)
    return r, a


def test_atr_fixed_stop_and_risk_reward_target(rsi_run):
    r, a = rsi_run
    atr = wilder_atr(a["high"], a["low"], a["close"], 14)
    checked = {"stop_loss": 0, "take_profit": 0}
    for t in r.trades:
        if t.exit_reason not in checked:
            continue
        s = 1 if t.side == "long" else -1
        i = int(np.searchsorted(a["ts"], t.entry_ts))
        assert a["ts"][i] == t.entry_ts and a["close"][i] == pytest.approx(t.entry_price, abs=1e-6)
        stop = t.entry_price - s * 2.0 * atr[i]
        target = t.entry_price + s * 1.5 * abs(t.entry_price - stop)
        j = int(np.searchsorted(a["ts"], t.exit_ts))
        if t.exit_reason == "stop_loss":
            want = fill_at(tick(stop), "sell_stop" if s > 0 else "buy_stop", a["open"][j])
        else:
            want = fill_at(tick(target), "sell_limit" if s > 0 else "buy_limit", a["open"][j])
        assert t.exit_price == pytest.approx(want, abs=1e-9), (t, stop, target)
        checked[t.exit_reason] += 1
    assert checked["stop_loss"] > 10 and checked["take_profit"] >= 3


def test_atr_trailing_stop(btc_2024_md):
    """bollinger_breakout: trailing 2.5 × ATR(14) behind the best price since entry; starts at
    entry ∓ 2.5 × ATR(entry bar); moves after each later bar close, never loosens; a bar that
    closes beyond the new level exits at that close."""
    cs = compile_strategy(ROOT / "strategies" / "bollinger_breakout.yaml")
    d, a = fed(btc_2024_md, cs)
    r = run_backtest(cs, "BTCUSDT", START, END, data=d, leverage=3, warmup_bars=cs.warmup_bars)
    atr = wilder_atr(a["high"], a["low"], a["close"], 14)
    n_checked = n_moved = 0
    for t in r.trades:
        if t.exit_reason != "stop_loss":
            continue
        s = 1 if t.side == "long" else -1
        i = int(np.searchsorted(a["ts"], t.entry_ts))
        j = int(np.searchsorted(a["ts"], t.exit_ts))
        stop = t.entry_price - s * 2.5 * atr[i]
        best = t.entry_price
        want = None
        for k in range(i + 1, j + 1):
            # bar k: the resting stop (placed at the previous close) may trigger on its path
            o, hi, lo = a["open"][k], a["high"][k], a["low"][k]
            lvl = tick(stop)
            if (s > 0 and lo <= lvl) or (s < 0 and hi >= lvl):
                want = fill_at(lvl, "sell_stop" if s > 0 else "buy_stop", o)
                break
            best = max(best, hi) if s > 0 else min(best, lo)
            new = best - s * 2.5 * atr[k]
            if (new - stop) * s > 0:
                stop = new
                n_moved += 1
                if (new - a["close"][k]) * s >= 0:
                    want = a["close"][k]  # level already crossed at this close: exit now
                    break
        assert want is not None and k == j, (t, k, j)
        assert t.exit_price == pytest.approx(want, abs=1e-9), t
        n_checked += 1
    assert n_checked > 20 and n_moved > 20


def test_kelly_sizing_recomputed_from_closed_trades(btc_2024_md):
    """macd_session (Kelly, fraction 0.5, floor 0.25 %, cap 1.5 %, here min_trades 5, stop 1 %):
    every entry's quantity = floor_step(min(equity × risk% / (price × 1 %), 3 × equity / price,
    margin cap)), risk% from the net PnL of the trades closed before it, computed here."""
    text = (ROOT / "strategies" / "macd_session.yaml").read_text().replace(
        "min_trades: 30", "min_trades: 5")
    cs = compile_strategy(text)
    r = run_backtest(cs, "BTCUSDT", "2024-01-01", "2024-04-30", data=btc_2024_md, leverage=3,
                     warmup_bars=cs.warmup_bars)
    assert len(r.trades) > 40
    eq, pnls, above_floor = r.starting_balance, [], 0
    for t in r.trades:
        if len(pnls) < 5:
            risk = 0.25
        else:
            last = pnls[-200:]
            wins = [x for x in last if x > 0]
            losses = [-x for x in last if x <= 0]
            w = len(wins) / len(last)
            k = w - (1 - w) / ((sum(wins) / len(wins)) / (sum(losses) / len(losses)))
            risk = min(max(0.5 * k * 100, 0.25), 1.5)
        above_floor += risk > 0.25
        px = t.entry_price
        raw = min(eq * risk / 100 / (px * 0.01), 3 * eq / px,
                  0.98 * eq / (1 / 3 + 0.0005) / px)
        assert t.qty == pytest.approx(int(raw / 0.001 + 1e-9) * 0.001, abs=1e-9), (t, risk)
        pnls.append(t.net_pnl)
        eq += t.net_pnl
    assert above_floor > 5  # Kelly really moved off its floor
