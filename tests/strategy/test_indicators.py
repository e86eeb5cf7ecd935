"""Streaming indicators vs independent textbook computations (pandas/numpy) on real bars.

Data: BTCUSDT 5m, January 2024 (8 928 bars) from the session catalog. Every formula below is
written out here, not imported from vibe_quant. Each streaming indicator is fed bar by bar;
from its warm-up bar on, every output must match to 1e-9 relative (1e-7 for long recursions).
Constant work per bar (a wall-clock property) is measured by scripts/bench_indicators.py.
"""

# ruff: noqa: E741  (o, h, l, c, v: the OHLCV convention)

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vibe_quant.dsl.registry import INDICATORS
from vibe_quant.strategy.runtime.indicators import build


def feed(ind, a, outputs):
    out = {k: np.full(len(a["close"]), np.nan) for k in outputs}
    o, h, l, c, v, ts = a["open"], a["high"], a["low"], a["close"], a["volume"], a["ts"]
    for i in range(len(c)):
        ind.update(o[i], h[i], l[i], c[i], v[i], int(ts[i]))
        if ind.ready:
            for k in outputs:
                out[k][i] = getattr(ind, k)
    return out


def first_ready(ind_warmup):
    return ind_warmup - 1  # index of the bar at which count == warmup


def check(got, want, start, rtol=1e-9, atol=1e-9):
    got = np.asarray(got, dtype=float)[start:]
    want = np.asarray(want, dtype=float)[start:]
    assert not np.isnan(got).any(), "streaming output NaN after warm-up"
    assert not np.isnan(want).any(), "reference NaN after warm-up (test bug)"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


# ------------------------------------------------------------------ textbook references
def wilder(x: np.ndarray, n: int) -> np.ndarray:
    """Wilder smoothing: seed = mean of the first n non-NaN inputs, then s += (x - s)/n."""
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


def true_range(h, l, c):
    pc = np.r_[np.nan, c[:-1]]
    tr = np.maximum.reduce([h - l, np.abs(h - pc), np.abs(l - pc)])
    tr[0] = np.nan
    return tr


def wma(x: np.ndarray, n: int) -> np.ndarray:
    w = np.arange(1, n + 1, dtype=float)
    out = np.full(len(x), np.nan)
    win = np.lib.stride_tricks.sliding_window_view(x, n)
    out[n - 1 :] = win @ w / w.sum()
    return out


def ema(x, n):
    return pd.Series(x).ewm(span=n, adjust=False).mean().to_numpy()


@pytest.fixture(scope="module")
def a(btc_jan_arrays):
    assert len(btc_jan_arrays["close"]) == 31 * 288
    return btc_jan_arrays


# Indicators checked against TA-Lib / TradingView rules in test_indicators_reference.py.
REFERENCE_CHECKED = {"tema", "sar", "supertrend", "mfi", "mom", "stochrsi"}


def test_every_registry_type_has_a_check():
    assert set(INDICATORS) == set(CASES) | REFERENCE_CHECKED
    assert not set(CASES) & REFERENCE_CHECKED


def _sma(a, p, src="close"):
    return {"value": pd.Series(a[src]).rolling(p["period"]).mean()}


def _ema(a, p):
    return {"value": ema(a["close"], p["period"])}


def _wma(a, p):
    return {"value": wma(a["close"], p["period"])}


def _dema(a, p):
    e1 = ema(a["close"], p["period"])
    return {"value": 2 * e1 - ema(e1, p["period"])}


def _hma(a, p):
    n = p["period"]
    x = 2 * wma(a["close"], n // 2) - wma(a["close"], n)
    x = x[~np.isnan(x)]
    h = wma(x, int(math.isqrt(n)))
    return {"value": np.r_[np.full(len(a["close"]) - len(h), np.nan), h]}


def _kama(a, p):
    """Kaufman: ER = |x_t - x_{t-n}| / sum_{n} |dx|; sc = (ER (2/(f+1) - 2/(s+1)) + 2/(s+1))^2;
    kama_t = kama_{t-1} + sc (x_t - kama_{t-1}), seeded with x at bar n (the first ER)."""
    x = a["close"]
    n, f, s = p["period"], p["fast"], p["slow"]
    fsc, ssc = 2 / (f + 1), 2 / (s + 1)
    out = np.full(len(x), np.nan)
    k = None
    for t in range(len(x)):
        if t < n:
            continue
        vol = np.abs(np.diff(x[t - n : t + 1])).sum()
        er = abs(x[t] - x[t - n]) / vol if vol else 0.0
        sc = (er * (fsc - ssc) + ssc) ** 2
        k = x[t - 1] if k is None else k
        k = k + sc * (x[t] - k)
        out[t] = k
    return {"value": out}


def _rsi(a, p):
    x = a["close"]
    d = np.r_[np.nan, np.diff(x)]
    g = wilder(np.where(np.isnan(d), np.nan, np.maximum(d, 0)), p["period"])
    lo = wilder(np.where(np.isnan(d), np.nan, np.maximum(-d, 0)), p["period"])
    return {"value": 100 - 100 / (1 + g / lo)}


def _macd(a, p):
    line = ema(a["close"], p["fast"]) - ema(a["close"], p["slow"])
    sig = ema(line, p["signal"])
    return {"line": line, "signal": sig, "histogram": line - sig}


def _stoch(a, p):
    h = pd.Series(a["high"]).rolling(p["k_period"]).max()
    l = pd.Series(a["low"]).rolling(p["k_period"]).min()
    raw = 100 * (a["close"] - l) / (h - l)
    k = raw.rolling(p["smooth"]).mean()
    return {"k": k, "d": k.rolling(p["d_period"]).mean()}


def _cci(a, p):
    tp = pd.Series((a["high"] + a["low"] + a["close"]) / 3)
    n = p["period"]
    sma = tp.rolling(n).mean()
    mad = tp.rolling(n).apply(lambda w: np.abs(w - w.mean()).mean(), raw=True)
    return {"value": (tp - sma) / (p["constant"] * mad)}


def _roc(a, p):
    x = pd.Series(a["close"])
    return {"value": 100 * (x - x.shift(p["period"])) / x.shift(p["period"])}


def _willr(a, p):
    h = pd.Series(a["high"]).rolling(p["period"]).max()
    l = pd.Series(a["low"]).rolling(p["period"]).min()
    return {"value": -100 * (h - a["close"]) / (h - l)}


def _adx(a, p):
    h, l, c, n = a["high"], a["low"], a["close"], p["period"]
    up = np.r_[np.nan, h[1:] - h[:-1]]
    dn = np.r_[np.nan, l[:-1] - l[1:]]
    pdm = np.where((up > dn) & (up > 0), up, 0.0)
    mdm = np.where((dn > up) & (dn > 0), dn, 0.0)
    pdm[0] = mdm[0] = np.nan
    tr = true_range(h, l, c)
    s_tr, s_p, s_m = wilder(tr, n), wilder(pdm, n), wilder(mdm, n)
    pdi, mdi = 100 * s_p / s_tr, 100 * s_m / s_tr
    dx = 100 * np.abs(pdi - mdi) / (pdi + mdi)
    return {"adx": wilder(dx, n), "plus_di": pdi, "minus_di": mdi}


def _aroon(a, p):
    """up = 100 (n - bars since the highest high of the last n+1 bars)/n; down likewise.
    Ties: the most recent extreme counts (TA-Lib)."""
    n = p["period"]
    hw = np.lib.stride_tricks.sliding_window_view(a["high"], n + 1)
    lw = np.lib.stride_tricks.sliding_window_view(a["low"], n + 1)
    since_h = np.argmax(hw[:, ::-1], axis=1)  # reversed window: first hit = most recent
    since_l = np.argmin(lw[:, ::-1], axis=1)
    pad = np.full(n, np.nan)
    up = np.r_[pad, 100.0 * (n - since_h) / n]
    down = np.r_[pad, 100.0 * (n - since_l) / n]
    return {"up": up, "down": down, "osc": up - down}


def _atr(a, p):
    return {"value": wilder(true_range(a["high"], a["low"], a["close"]), p["period"])}


def _bbands(a, p):
    x = pd.Series(a["close"])
    m = x.rolling(p["period"]).mean()
    sd = x.rolling(p["period"]).std(ddof=0)
    up, lo = m + p["stddev"] * sd, m - p["stddev"] * sd
    return {
        "upper": up,
        "middle": m,
        "lower": lo,
        "width": (up - lo) / m,
        "percent_b": (x - lo) / (up - lo),
    }


def _keltner(a, p):
    tp = (a["high"] + a["low"] + a["close"]) / 3
    mid = ema(tp, p["period"])
    atr = wilder(true_range(a["high"], a["low"], a["close"]), p["period"])
    return {
        "upper": mid + p["multiplier"] * atr,
        "middle": mid,
        "lower": mid - p["multiplier"] * atr,
    }


def _donchian(a, p):
    up = pd.Series(a["high"]).rolling(p["period"]).max()
    lo = pd.Series(a["low"]).rolling(p["period"]).min()
    return {"upper": up, "middle": (up + lo) / 2, "lower": lo}


def _obv(a, p):
    sign = np.sign(np.r_[0.0, np.diff(a["close"])])
    return {"value": np.cumsum(sign * a["volume"])}


def _vwap(a, p):
    tp = (a["high"] + a["low"] + a["close"]) / 3
    day = (a["ts"] - 1) // 86_400_000_000_000
    df = pd.DataFrame({"pv": tp * a["volume"], "v": a["volume"], "day": day})
    g = df.groupby("day")
    return {"value": g["pv"].cumsum() / g["v"].cumsum()}


def _volume_sma(a, p):
    return _sma(a, p, "volume")


# type -> (params, reference, rtol)
CASES = {
    "sma": ({"period": 20}, _sma, 1e-9),
    "ema": ({"period": 20}, _ema, 1e-9),
    "wma": ({"period": 20}, _wma, 1e-9),
    "dema": ({"period": 20}, _dema, 1e-9),
    "hma": ({"period": 20}, _hma, 1e-9),
    "kama": ({"period": 10, "fast": 2, "slow": 30}, _kama, 1e-9),
    "rsi": ({"period": 14}, _rsi, 1e-9),
    "macd": ({"fast": 12, "slow": 26, "signal": 9}, _macd, 1e-7),
    "stoch": ({"k_period": 14, "d_period": 3, "smooth": 3}, _stoch, 1e-9),
    "cci": ({"period": 20, "constant": 0.015}, _cci, 1e-7),
    "roc": ({"period": 10}, _roc, 1e-9),
    "willr": ({"period": 14}, _willr, 1e-9),
    "adx": ({"period": 14}, _adx, 1e-9),
    "aroon": ({"period": 25}, _aroon, 1e-9),
    "atr": ({"period": 14}, _atr, 1e-9),
    "bbands": ({"period": 20, "stddev": 2.0}, _bbands, 1e-7),
    "keltner": ({"period": 20, "multiplier": 2.0}, _keltner, 1e-9),
    "donchian": ({"period": 20}, _donchian, 1e-12),
    "obv": ({}, _obv, 1e-9),
    "vwap": ({}, _vwap, 1e-9),
    "volume_sma": ({"period": 20}, _volume_sma, 1e-9),
}


@pytest.mark.parametrize("type_name", sorted(CASES))
def test_indicator_matches_textbook(type_name, a):
    params, ref, rtol = CASES[type_name]
    ind = build(type_name, params, None)
    defn = INDICATORS[type_name]
    assert ind.warmup == defn.warmup_bars(params)
    got = feed(ind, a, ind.outputs)
    want = ref(a, params)
    for k in ind.outputs:
        # scale-aware absolute tolerance (OBV/volume are large; percent_b/width are small)
        w = np.asarray(want[k], dtype=float)
        atol = 1e-9 * max(1.0, float(np.nanmax(np.abs(w))))
        check(got[k], w, first_ready(ind.warmup), rtol=rtol, atol=atol)


def test_warmup_is_not_early(a):
    """The first valid value appears exactly at count == warmup (not before: NaN outputs)."""
    for t in ("rsi", "atr", "adx", "macd", "stoch"):
        params, ref, _ = CASES[t]
        want = ref(a, params)
        ind = build(t, params, None)
        first = min(
            int(np.flatnonzero(~np.isnan(np.asarray(want[k], dtype=float)))[0]) for k in ind.outputs
        )
        assert first + 1 <= ind.warmup, (t, first + 1, ind.warmup)


def test_sources(a):
    """hl2/hlc3/ohlc4/open sources feed the textbook SMA of that series."""
    o, h, l, c = a["open"], a["high"], a["low"], a["close"]
    series = {
        "hl2": (h + l) / 2,
        "hlc3": (h + l + c) / 3,
        "ohlc4": (o + h + l + c) / 4,
        "open": o,
        "high": h,
        "low": l,
        "volume": a["volume"],
    }
    for src, x in series.items():
        ind = build("sma", {"period": 10}, src)
        got = feed(ind, a, ("value",))["value"]
        check(got, pd.Series(x).rolling(10).mean(), 9, atol=1e-9 * max(1, np.abs(x).max()))
