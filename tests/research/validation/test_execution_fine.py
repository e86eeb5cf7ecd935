"""Validation on the finest archived bars (issue 11), on real BTCUSDT 1m + 5m klines of
2025-01-27 → 2025-02-26 (the window where the shared data holds 1m bars).

Expected values are worked out from the raw bars here (numpy), never read from the code under
test: the 5m strategy's decisions against a screening run on the archived 5m bars, fill times
against decision time + the preset's latency, and a stop fill against the square-root impact
formula written out by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.research.validation.strategies import EmaCrossPA
from tests.research.validation.strategies_exec import EntryThenLevel
from vibe_quant.backtest.marketdata import load_market_data
from vibe_quant.backtest.models.fill import ImpactParams
from vibe_quant.backtest.models.presets import ValidationSettings, validation_preset
from vibe_quant.backtest.run import run_backtest, to_ns

START, END = "2025-02-01", "2025-02-20"
TICK = 0.1


@pytest.fixture(scope="module")
def bars(fine_dd):
    lo, hi = to_ns("2025-01-30"), to_ns(END, end=True)
    return (
        load_market_data(fine_dd, "BTCUSDT", "5m", lo, hi),
        load_market_data(fine_dd, "BTCUSDT", "1m", lo, hi),
    )


def _settings(latency: str, k: float = 1.0) -> ValidationSettings:
    return ValidationSettings(latency=latency, impact=ImpactParams(k=k))


def _decisions(res, before_ns: int):
    return [
        (o.ts, o.side, o.qty, o.tag) for o in res.orders if o.tag == "signal" and o.ts < before_ns
    ]


def test_5m_strategy_on_1m_execution_same_decisions_presets_differ(bars):
    m5, m1 = bars
    p = {"qty": 0.05, "fast": 12, "slow": 48}
    kw = dict(data=m5, warmup_bars=100, leverage=3)
    scr = run_backtest(EmaCrossPA, "BTCUSDT", START, END, "screening", p, **kw)
    runs = {}
    for lat in ("colocated", "retail"):
        runs[lat] = run_backtest(
            EmaCrossPA, "BTCUSDT", START, END, validation_preset(_settings(lat)), p,
            execution_data=m1, **kw
        )
    # the latency runs send their end-of-data close one 5m bar early
    cut = int(m5.close_ts[-2])
    want = _decisions(scr, cut)
    assert len(want) > 30
    for lat, res in runs.items():
        assert res.execution_interval == "1m" and res.summary()["execution_interval"] == "1m"
        assert _decisions(res, cut) == want, lat  # bar for bar: time, side, size
        assert abs(res.reconciliation_error) < 1e-6
    # fills: decision time (a 5m close) + the preset's one-way latency, never a later bar
    for lat, ms in (("colocated", 1), ("retail", 200)):
        sig = [f for f in runs[lat].fills if f.tag == "signal"]
        assert [f.ts for f in sig] == [ts + ms * 1_000_000 for ts, *_ in want]
    assert [f.ts for f in runs["colocated"].fills] != [f.ts for f in runs["retail"].fills]


def _hand_impact_price(m1, i: int, ref: float, side: int, qty: float, k: float) -> float:
    """Square-root fill price of a stop triggered inside 1m bar ``i``: σ and V̄ from the 20
    bars before it (21 closes), slip = tick/2 + k·σ·√(Q/V̄), rounded against the trader."""
    closes = m1.close[i - 21 : i]
    r = np.diff(np.log(closes))
    sigma = float(np.std(r, ddof=1)) * ref
    vbar = float(np.mean([b.volume.as_double() for b in m1.bars[i - 20 : i]]))
    slip = TICK / 2 + k * sigma * math.sqrt(qty / vbar)
    steps = (ref - slip) / TICK if side < 0 else (ref + slip) / TICK
    return (math.floor(steps + 1e-9) if side < 0 else math.ceil(steps - 1e-9)) * TICK


@pytest.mark.parametrize("k", [1.0, 2.0])
def test_stop_fill_pays_the_impact_model(bars, k):
    m5, m1 = bars
    start = "2025-02-03"
    # the entry decision: the first tradable 5m bar closes 5 min after the start
    i0 = int(np.searchsorted(m1.close_ts, to_ns(start) + 300 * 10**9, side="right"))
    entry_close = m1.close[i0 - 1]
    stop = round(entry_close * 0.99, 1)
    p = {"qty": 0.25, "stop": stop}
    res = run_backtest(
        EntryThenLevel,
        "BTCUSDT",
        start,
        END,
        validation_preset(_settings("none", k)),
        p,
        data=m5,
        execution_data=m1,
        warmup_bars=30,
        leverage=3,
    )
    sl = [f for f in res.fills if f.tag == "stop_loss"]
    assert len(sl) == 1
    # the trigger bar from the raw 1m lows: the first bar after the entry reaching the stop
    lows = np.array([b.low.as_double() for b in m1.bars])
    j = i0 + int(np.argmax(lows[i0:] <= stop))
    assert sl[0].ts == m1.close_ts[j]
    ref = m1.open_[j] if m1.open_[j] <= stop else stop  # a gap fills from the open
    want = _hand_impact_price(m1, j, ref, -1, 0.25, k)
    assert sl[0].price == pytest.approx(want, abs=1e-6)
    assert sl[0].price < stop  # paid for: below the trigger


def test_take_profit_touch_is_not_a_fill(bars):
    m5, m1 = bars
    start = "2025-02-10"
    i0 = int(np.searchsorted(m1.close_ts, to_ns(start) + 300 * 10**9, side="right"))
    highs = np.array([b.high.as_double() for b in m1.bars])
    # a level some 1m bar only touches (its high, above every high before it since the entry)
    # and a later bar trades through
    run_max = np.maximum.accumulate(highs[i0:])
    j = None
    for a in range(i0 + 5, len(highs) - 1):
        h = highs[a]
        if (
            h > m1.close[i0 - 1] * 1.002
            and h > run_max[a - i0 - 1]
            and np.any(highs[a + 1 :] > h)
            and not np.any(highs[a + 1 : a + 2] > h)
        ):
            j = a
            break
    assert j is not None
    tp = highs[j]
    k_through = j + 1 + int(np.argmax(highs[j + 1 :] > tp))
    p = {"qty": 0.05, "tp": tp}
    val = run_backtest(
        EntryThenLevel,
        "BTCUSDT",
        start,
        END,
        validation_preset(_settings("none")),
        p,
        data=m5,
        execution_data=m1,
        warmup_bars=30,
        leverage=3,
    )
    fills = [f for f in val.fills if f.tag == "take_profit"]
    assert len(fills) == 1
    assert fills[0].ts == m1.close_ts[k_through] > m1.close_ts[j]
    assert fills[0].price == pytest.approx(tp) and fills[0].liquidity == "MAKER"


def test_missing_1m_says_which_resolution(real_data_dir, btc_q1):
    from vibe_quant.research.validation.validate import choose_execution

    ch = choose_execution(real_data_dir, btc_q1)  # the session catalog holds 5m only
    assert (ch.interval, ch.finer, ch.data) == ("5m", False, None)
    assert "NOT on finer bars" in ch.note and "--interval 1m,5m" in ch.note


def test_1m_chosen_where_it_exists(fine_dd, bars):
    from vibe_quant.research.validation.validate import choose_execution

    ch = choose_execution(fine_dd, bars[0])
    assert (ch.interval, ch.finer) == ("1m", True)
    assert len(ch.data.bars) == 5 * len(bars[0].bars)
