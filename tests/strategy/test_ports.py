"""Ports of freqtrade strategies (strategies/ports/*.yaml): each original's entry and exit
signals are computed here independently — TA-Lib (what the originals call), pandas for
qtpylib's bollinger_bands / crossed_above and rolling means — on bars read straight from the
raw Binance zips in ../shared/data/binance-vision, and run through freqtrade's exit rules
(stoploss on the bar's low, exit signal, minimal_roi: profit net of fees > the entry with the
largest minutes key <= minutes held, sell_profit_only). Our backtest's trades must open and
close on exactly those bars (signal bars; see the ports' headers for fill-price differences).
"""

# ruff: noqa: E741

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib

from vibe_quant.backtest import run_backtest
from vibe_quant.backtest.marketdata import load_market_data
from vibe_quant.backtest.run import to_ns
from vibe_quant.strategy.compiler import compile_strategy

ROOT = Path(__file__).resolve().parents[2]
PORTS = ROOT / "strategies" / "ports"
FEE = 0.0005


def raw_bars(
    shared: Path, symbol: str, months: list[str], lo_ns: int, hi_ns: int, rule: str | None = None
) -> pd.DataFrame:
    """5m klines from the raw monthly zips, close time in (lo_ns, hi_ns]; optionally
    resampled to ``rule`` (complete windows, right-labelled by close time)."""
    frames = []
    for m in months:
        z = (
            shared
            / "binance-vision/data/futures/um/monthly/klines"
            / symbol
            / "5m"
            / f"{symbol}-5m-{m}.zip"
        )
        with zipfile.ZipFile(z) as zf:
            frames.append(pd.read_csv(io.BytesIO(zf.read(zf.namelist()[0]))))
    df = pd.concat(frames, ignore_index=True)
    df["ts"] = (df["open_time"].astype("int64") + 300_000) * 1_000_000
    df = df.set_index(pd.to_datetime(df["ts"], unit="ns", utc=True))
    if rule is not None:
        agg = df.resample(rule, closed="right", label="right")
        out = agg.agg(
            {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
        )
        out = out[agg["close"].count() == pd.Timedelta(rule) // pd.Timedelta("5min")]
        out["ts"] = out.index.asi8
        df = out
    return df[(df["ts"] > lo_ns) & (df["ts"] <= hi_ns)].reset_index(drop=True)


def crossed_above(a: pd.Series, b) -> np.ndarray:
    """qtpylib.crossed_above: (a > b) & (a.shift(1) <= b.shift(1))."""
    b = pd.Series(b, index=a.index) if np.isscalar(b) else b
    return ((a > b) & (a.shift(1) <= b.shift(1))).to_numpy()


def qtpylib_bbands(tp: pd.Series, window=20, stds=2):
    mid = tp.rolling(window, min_periods=1).mean()
    sd = tp.rolling(window, min_periods=1).std()  # pandas default ddof=1, as qtpylib
    return mid - sd * stds, mid, mid + sd * stds


def profit(entry, px):
    return px * (1 - FEE) / (entry * (1 + FEE)) - 1  # freqtrade calc_profit_ratio, long


def freqtrade_trades(df, enter, exit_, first_ts, roi, stoploss, tick, bar_min=5, profit_only=False):
    """Long-only freqtrade exit rules on signal bars: stoploss (bar low vs entry x (1 +
    stoploss), filled inside the bar), then at the close the exit signal (only when profit > 0
    with sell_profit_only), then minimal_roi (profit > value of the largest key <= minutes)."""
    ts, lo, c = df["ts"].to_numpy(), df["low"].to_numpy(), df["close"].to_numpy()
    keys = sorted((int(k), v) for k, v in roi.items())
    out, pos, ei, stop = [], False, 0, 0.0
    start = int(np.searchsorted(ts, first_ts, side="right"))
    for i in range(start, len(c) - 1):
        if pos:
            if lo[i] <= stop:
                out.append((int(ts[ei]), int(ts[i]), "stop_loss"))
                pos = False
            else:
                p = profit(c[ei], c[i])
                lim = [v for k, v in keys if k <= (i - ei) * bar_min]
                if exit_[i] and (p > 0 or not profit_only):
                    out.append((int(ts[ei]), int(ts[i]), "signal"))
                    pos = False
                elif lim and p > lim[-1]:
                    out.append((int(ts[ei]), int(ts[i]), "roi"))
                    pos = False
                continue
        if enter[i]:
            pos, ei = True, i
            stop = round(c[i] * (1 + stoploss) / tick) * tick
    if pos:
        out.append((int(ts[ei]), int(ts[-1]), "end_of_data"))
    return out


def run(path, symbol, interval, start, end, real_data_dir, md=None):
    cs = compile_strategy(str(path))
    wu = cs.warmup_bars
    step = {"5m": 300, "1h": 3600}[interval] * 10**9
    lo = to_ns(start) - wu * step
    if md is None:
        md = load_market_data(real_data_dir, symbol, interval, lo, to_ns(end, end=True))
    else:
        md = md.slice(lo, to_ns(end, end=True))
    r = run_backtest(cs, symbol, start, end, data=md, warmup_bars=wu, interval=interval)
    return r, lo, md


def test_sample_strategy_port(btc_2024_md, shared_data):
    start, end = "2024-03-01", "2024-03-31"
    r, lo, md = run(
        PORTS / "sample_strategy.yaml", "BTCUSDT", "5m", start, end, None, md=btc_2024_md
    )
    df = raw_bars(
        shared_data, "BTCUSDT", ["2024-02", "2024-03", "2024-04"], lo, to_ns(end, end=True)
    )
    assert len(df) == len(md.bars)
    h, l, c, v = (df[k].to_numpy(float) for k in ("high", "low", "close", "volume"))
    rsi = pd.Series(talib.RSI(c, 14))
    tema = pd.Series(talib.TEMA(c, 9))
    _, mid, _ = qtpylib_bbands(pd.Series((h + l + c) / 3))
    enter = (
        crossed_above(rsi, 30)
        & (tema <= mid).to_numpy()
        & (tema > tema.shift(1)).to_numpy()
        & (v > 0)
    )
    exit_ = (
        crossed_above(rsi, 70)
        & (tema > mid).to_numpy()
        & (tema < tema.shift(1)).to_numpy()
        & (v > 0)
    )
    want = freqtrade_trades(
        df, enter, exit_, to_ns(start), {"60": 0.01, "30": 0.02, "0": 0.04}, -0.10, 0.1
    )
    got = [(t.entry_ts, t.exit_ts, t.exit_reason) for t in r.trades]
    assert len(want) >= 10
    assert got == want


def test_strategy005_port(real_data_dir, shared_data):
    start, end = "2024-02-01", "2024-03-31"
    r, lo, md = run(PORTS / "Strategy005.yaml", "ETHUSDT", "5m", start, end, real_data_dir)
    df = raw_bars(
        shared_data,
        "ETHUSDT",
        ["2024-01", "2024-02", "2024-03", "2024-04"],
        lo,
        to_ns(end, end=True),
    )
    assert len(df) == len(md.bars)
    h, l, c, v = (df[k].to_numpy(float) for k in ("high", "low", "close", "volume"))
    s = pd.Series(c)
    rsi = pd.Series(talib.RSI(c, 14))
    r_ = 0.1 * (rsi - 50)
    fisher = (np.exp(2 * r_) - 1) / (np.exp(2 * r_) + 1)
    norma = 50 * (fisher + 1)
    fastk, fastd = talib.STOCHF(h, l, c, 5, 3, 0)
    sar = talib.SAR(h, l)
    sma = talib.SMA(c, 40)
    # MACD line with textbook EMAs seeded with the first close (pandas ewm): TA-Lib's SMA seed
    # differs only in the first few hundred bars (warm-up here is > 200 bars before the window)
    macd = s.ewm(span=12, adjust=False).mean() - s.ewm(span=26, adjust=False).mean()
    minus_di = talib.MINUS_DI(h, l, c, 14)
    vavg = pd.Series(v).rolling(200).mean().to_numpy()
    enter = (
        (c > 0.000002)
        & (v > vavg * 4)
        & (c < sma)
        & (fastd > fastk)
        & (rsi.to_numpy() > 0)
        & (fastd > 0)
        & (norma.to_numpy() < 38.900000000000006)
    )
    exit_ = (crossed_above(rsi, 50) & (macd.to_numpy() < 0) & (minus_di > 0)) | (
        (sar > c) & (fisher.to_numpy() > 0.3)
    )
    want = freqtrade_trades(
        df,
        enter,
        exit_,
        to_ns(start),
        {"1440": 0.01, "80": 0.02, "40": 0.03, "20": 0.04, "0": 0.05},
        -0.10,
        0.01,
        profit_only=True,
    )
    got = [(t.entry_ts, t.exit_ts, t.exit_reason) for t in r.trades]
    assert len(want) >= 5
    assert got == want


def test_bbandrsi_port(real_data_dir, shared_data):
    start, end = "2024-01-01", "2024-06-30"
    try:
        r, lo, md = run(PORTS / "BbandRsi.yaml", "BTCUSDT", "1h", start, end, real_data_dir)
    except Exception as e:
        pytest.fail(f"1h bars not available from the catalog: {e}")
    df = raw_bars(
        shared_data,
        "BTCUSDT",
        ["2023-12", "2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07"],
        lo,
        to_ns(end, end=True),
        rule="1h",
    )
    assert len(df) == len(md.bars)
    h, l, c = (df[k].to_numpy(float) for k in ("high", "low", "close"))
    rsi = talib.RSI(c, 14)
    lower, _, _ = qtpylib_bbands(pd.Series((h + l + c) / 3))
    enter = (rsi < 30) & (c < lower.to_numpy())
    exit_ = rsi > 70
    want = freqtrade_trades(df, enter, exit_, to_ns(start), {"0": 0.1}, -0.25, 0.1, bar_min=60)
    got = [(t.entry_ts, t.exit_ts, t.exit_reason) for t in r.trades]
    assert len(want) >= 3
    assert got == want


def test_informative_sample_port(real_data_dir, shared_data):
    """ETHUSDT traded, BTCUSDT 15m as the informative pair (freqtrade merge_informative_pair:
    the 15m candle is visible from the 5m candle closing with it on = merge_asof backward on
    close times)."""
    start, end = "2024-02-01", "2024-03-31"
    cs = compile_strategy(str(PORTS / "InformativeSample.yaml"))
    assert cs.informative_symbols == ("BTCUSDT",)
    wu = 1500  # EMA seeds (TA-Lib SMA vs first input) agree to 1e-9 long before the window
    lo = to_ns(start) - wu * 300 * 10**9
    hi = to_ns(end, end=True)
    md = load_market_data(real_data_dir, "ETHUSDT", "5m", lo, hi)
    btc = load_market_data(real_data_dir, "BTCUSDT", "5m", lo, hi)
    r = run_backtest(
        cs,
        "ETHUSDT",
        start,
        end,
        data=md,
        warmup_bars=wu,
        interval="5m",
        informative_data={"BTCUSDT": btc},
    )
    months = ["2024-01", "2024-02", "2024-03", "2024-04"]
    df = raw_bars(shared_data, "ETHUSDT", months, lo, hi)
    assert len(df) == len(md.bars)
    b15 = raw_bars(shared_data, "BTCUSDT", months, lo, hi, rule="15min")
    b15["sma20"] = b15["close"].rolling(20).mean()
    merged = pd.merge_asof(
        df[["ts"]],
        b15[["ts", "close", "sma20"]].rename(
            columns={"ts": "ts15", "close": "close_15m", "sma20": "sma20_15m"}
        ),
        left_on="ts",
        right_on="ts15",
        direction="backward",
    )
    assert (merged["ts15"].dropna() <= merged["ts"][merged["ts15"].notna()]).all()
    c = df["close"].to_numpy(float)
    ema20, ema50 = talib.EMA(c, 20), talib.EMA(c, 50)
    c15, s15 = merged["close_15m"].to_numpy(float), merged["sma20_15m"].to_numpy(float)
    enter = (ema20 > ema50) & (c15 > s15)
    exit_ = (ema20 < ema50) & (c15 < s15)
    want = freqtrade_trades(
        df,
        enter,
        exit_,
        to_ns(start),
        {"60": 0.01, "30": 0.03, "20": 0.04, "0": 0.05},
        -0.10,
        0.01,
        profit_only=True,
    )
    got = [(t.entry_ts, t.exit_ts, t.exit_reason) for t in r.trades]
    assert len(want) >= 10
    assert got == want
    # look-ahead check: shifting BTC one 15m bar later (the bar still forming) changes trades
    leak = pd.merge_asof(
        df[["ts"]],
        b15[["ts", "close", "sma20"]].assign(ts=b15["ts"] - 15 * 60 * 10**9),
        on="ts",
        direction="backward",
    )
    enter2 = (ema20 > ema50) & (leak["close"].to_numpy(float) > leak["sma20"].to_numpy(float))
    exit2 = (ema20 < ema50) & (leak["close"].to_numpy(float) < leak["sma20"].to_numpy(float))
    assert (
        freqtrade_trades(
            df,
            enter2,
            exit2,
            to_ns(start),
            {"60": 0.01, "30": 0.03, "20": 0.04, "0": 0.05},
            -0.10,
            0.01,
            profit_only=True,
        )
        != got
    )
