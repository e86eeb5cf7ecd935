"""Functions in conditions and the new indicators (sar, tema, mfi, supertrend) inside a compiled
strategy on real bars: every entry and exit equals an independent evaluation (TA-Lib for the
indicators, numpy for the functions, the §12 state machine written out here)."""

from __future__ import annotations

import numpy as np
import pytest

from vibe_quant.backtest import run_backtest
from vibe_quant.backtest.run import to_ns
from vibe_quant.strategy.compiler import compile_strategy

talib = pytest.importorskip("talib", reason="TA-Lib is a dev extra (pip install -e '.[dev]')")

YAML = """
name: functions_probe
timeframe: 5m
parameters: {band: 15}
indicators:
  rsi: {type: rsi, params: {period: 14}}
  mfi: {type: mfi, params: {period: 14}}
  psar: {type: sar, params: {acceleration: 0.02, maximum: 0.2}}
  t: {type: tema, params: {period: 20}}
entry:
  long:
    - max(rsi, mfi) < 50 - $band
    - close > psar
    - log(close / t) > -0.002
  short:
    - min(rsi, mfi) > 50 + $band
    - close < psar
    - sqrt(abs(close - t)) < 12
exit:
  long: ["abs(rsi - 50) < clip($band / 3, 2, 4)"]
  short: ["(exp(0.2 * (rsi - 50)) - 1) / (exp(0.2 * (rsi - 50)) + 1) < 0.2"]
sizing: {method: fixed_notional, notional: 1000}
"""


def test_functions_and_new_indicators_match_reference(btc_2024_md):
    cs = compile_strategy(YAML)
    start, end = "2024-03-01", "2024-04-30"
    wu = cs.warmup_bars
    assert wu == 3 * 20 - 2  # tema(20) is the longest warm-up
    md = btc_2024_md.slice(to_ns(start) - wu * 300 * 10**9, to_ns(end, end=True))
    r = run_backtest(cs, "BTCUSDT", start, end, data=md, warmup_bars=wu)

    b = md.bars
    h, lo, c, v = (
        np.array([getattr(x, f).as_double() for x in b]) for f in ("high", "low", "close", "volume")
    )
    ts = md.close_ts
    rsi = talib.RSI(c, 14)
    mfi = talib.MFI(h, lo, c, v, 14)
    sar = talib.SAR(h, lo, 0.02, 0.2)
    tema = talib.TEMA(c, 20)
    ready = np.arange(len(c)) >= wu - 1
    with np.errstate(invalid="ignore"):
        long_in = ready & (np.fmax(rsi, mfi) < 35) & (c > sar) & (np.log(c / tema) > -0.002)
        short_in = ready & (np.fmin(rsi, mfi) > 65) & (c < sar) & (np.sqrt(np.abs(c - tema)) < 12)
        long_out = ready & (np.abs(rsi - 50) < 4)  # clip(15/3, 2, 4) = 4
        short_out = ready & (np.tanh(0.1 * (rsi - 50)) < 0.2)  # inverse Fisher of 0.1*(rsi-50)

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
    assert sum(p > 0 for *_, p in trades) > 5 and sum(p < 0 for *_, p in trades) > 5
    assert got == trades


YAML_ST = """
name: supertrend_probe
timeframe: 5m
indicators:
  st: {type: supertrend, params: {period: 10, multiplier: 3}, timeframe: 1h}
entry:
  long: [st.direction crosses_above 0]
  short: [st.direction crosses_below 0]
exit:
  long: [close < st]
  short: [close > st]
sizing: {method: fixed_notional, notional: 1000}
"""


def test_supertrend_flips_drive_trades(btc_2024_md):
    """A Supertrend strategy (the port the issue could not write): on 1h Supertrend over 5m
    bars, every entry happens on the 5m bar whose close completes an hour in which the 1h
    direction flipped, and every exit on a 5m close on the wrong side of the line."""
    cs = compile_strategy(YAML_ST)
    start, end = "2024-05-01", "2024-06-30"
    md = btc_2024_md.slice(to_ns(start) - (cs.warmup_bars + 30) * 300 * 10**9, to_ns(end, end=True))
    r = run_backtest(cs, "BTCUSDT", start, end, data=md, warmup_bars=cs.warmup_bars + 30)
    hour = 3_600_000_000_000
    assert len(r.trades) > 10
    for t in r.trades[:-1]:
        assert t.entry_ts % hour == 0  # the 1h direction only changes when an hour closes
