"""The square-root fill model acts inside the simulation: market fills equal the formula
computed here by hand from the same bars; bigger orders pay more; limit and stop orders are
untouched; runs are deterministic and reconcile."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vibe_quant.backtest import BacktestSession, run_backtest
from vibe_quant.backtest.models.fill import ImpactParams
from vibe_quant.backtest.models.presets import ValidationSettings, validation_preset
from vibe_quant.backtest.run import to_ns

from .conftest import volumes
from .strategies import EmaCrossPA, EntryWithBracket, OneShot

TICK = 0.1  # BTCUSDT price increment
NO_LATENCY = ValidationSettings(latency="none")


def by_hand(md, ts: int, side: int, qty: float, k=1.0, spread_ticks=1.0, window=20) -> float:
    """The documented formula, written out independently of vibe_quant.research.validation. The
    reference bar is the newest bar at the fill time ``ts`` (a latency fill arrives after it)."""
    i = int(np.searchsorted(md.close_ts, ts, side="right")) - 1
    assert 0 <= ts - md.close_ts[i] < 300 * 10**9
    c = md.close[i - window: i + 1]  # window + 1 closes -> window log returns
    v = volumes(md)[i - window + 1: i + 1]
    r = np.diff(np.log(c))
    sigma = r.std(ddof=1) * md.close[i]  # USDT
    slip = spread_ticks * TICK / 2 + k * sigma * math.sqrt(qty / v.mean())
    raw = md.close[i] + side * slip
    steps = math.ceil(raw / TICK - 1e-9) if side > 0 else math.floor(raw / TICK + 1e-9)
    return steps * TICK


def _one_shot(md, side, qty, settings=NO_LATENCY, balance=100_000.0, start="2024-01-10"):
    preset = validation_preset(settings)
    res = run_backtest(OneShot, "BTCUSDT", start, "2024-01-11", preset,
                       {"side": side, "qty": qty}, data=md, starting_balance=balance,
                       warmup_bars=50)
    model = preset.fill_model.last
    assert model.errors == []
    return res, model


@pytest.mark.parametrize("side", [1, -1])
def test_market_fill_equals_hand_formula(btc_q1, side):
    res, model = _one_shot(btc_q1, side, 0.5)
    entry = res.fills[0]
    assert entry.ts == to_ns("2024-01-10") + 300 * 10**9  # first tradable bar, no latency
    assert entry.side == side and entry.liquidity == "TAKER"
    expected = by_hand(btc_q1, entry.ts, side, 0.5)
    close = btc_q1.close[np.searchsorted(btc_q1.close_ts, entry.ts)]
    assert entry.price == pytest.approx(expected, abs=1e-6)
    assert side * (entry.price - close) > 0  # worse than the close
    # the end-of-data close is a market order too: same formula at the last bar
    last = res.fills[-1]
    assert last.tag == "end_of_data"
    assert last.price == pytest.approx(by_hand(btc_q1, last.ts, -side, 0.5), abs=1e-6)
    # the engine's balance reconciles with the trade ledger at slipped prices
    assert abs(res.reconciliation_error) < 1e-6
    assert len(model.log) == 2


def test_parameters_enter_the_formula(btc_q1):
    """A large k makes the impact term span many ticks, so σ, V̄ and the window must each be
    exactly as documented for the tick-rounded price to match."""
    s = ValidationSettings(latency="none", impact=ImpactParams(k=2.0, spread_ticks=4, window=50))
    for side in (1, -1):
        res, _ = _one_shot(btc_q1, side, 5.0, settings=s, balance=1_000_000.0)
        f = res.fills[0]
        hand = by_hand(btc_q1, f.ts, side, 5.0, k=2.0, spread_ticks=4, window=50)
        assert f.price == pytest.approx(hand, abs=1e-6)
        close = btc_q1.close[np.searchsorted(btc_q1.close_ts, f.ts)]
        assert abs(f.price - close) > 50 * TICK  # the impact term dominates the rounding
        assert f.price != pytest.approx(by_hand(btc_q1, f.ts, side, 5.0), abs=1e-6)


def test_larger_order_pays_more(btc_q1):
    small, _ = _one_shot(btc_q1, 1, 0.01, balance=5_000_000.0)
    big, _ = _one_shot(btc_q1, 1, 50.0, balance=5_000_000.0)
    s, b = small.fills[0], big.fills[0]
    assert s.ts == b.ts
    close = btc_q1.close[np.searchsorted(btc_q1.close_ts, s.ts)]
    assert close < s.price < b.price
    assert b.price == pytest.approx(by_hand(btc_q1, b.ts, 1, 50.0), abs=1e-6)
    # per-unit impact grows like sqrt(size): (b − close − half spread)/(s − close − half spread)
    # is about sqrt(5000) before tick rounding
    assert (b.price - close) / (s.price - close) > 10


def test_limit_and_stop_orders_pay_for_execution(btc_q1):
    """Same resting take-profit limit and stop in both modes (issue 11 replaced the old rule
    "limits and stops keep the engine's fills"): a stop fills at the same time but lower (the
    impact model), a take-profit at its limit price as maker, never earlier (touch ≠ fill)."""
    p = {"qty": 0.2, "tp": 0.004, "sl": 0.004}
    kw = dict(data=btc_q1, warmup_bars=50)
    out = {}
    for start in ("2024-01-10", "2024-01-15", "2024-02-05", "2024-02-12"):
        scr = run_backtest(EntryWithBracket, "BTCUSDT", start, "2024-02-28", "screening", p, **kw)
        val = run_backtest(EntryWithBracket, "BTCUSDT", start, "2024-02-28",
                           validation_preset(NO_LATENCY), p, **kw)
        assert scr.fills[0].price < val.fills[0].price  # market entry slipped
        s_exit, v_exit = scr.fills[1], val.fills[1]
        assert s_exit.tag in ("take_profit", "stop_loss")
        assert (s_exit.tag, s_exit.liquidity) == (v_exit.tag, v_exit.liquidity)
        if s_exit.tag == "stop_loss":
            assert v_exit.ts == s_exit.ts and v_exit.price < s_exit.price
        else:
            assert v_exit.ts >= s_exit.ts and v_exit.price == s_exit.price
        out[s_exit.tag] = True
    assert out == {"take_profit": True, "stop_loss": True}  # both kinds were exercised


def test_mode_validation_uses_the_preset_and_is_deterministic(btc_q1):
    """``run_backtest(mode="validation")`` with the default validation preset (retail latency,
    VIP 0, k 1): fills differ from screening; fresh runs and ``reset()`` re-runs agree."""
    p = {"qty": 0.05, "fast": 12, "slow": 26}
    kw = dict(data=btc_q1, warmup_bars=50)
    a = run_backtest(EmaCrossPA, "BTCUSDT", "2024-02-01", "2024-02-10", "validation", p, **kw)
    b = run_backtest(EmaCrossPA, "BTCUSDT", "2024-02-01", "2024-02-10", "validation", p, **kw)
    scr = run_backtest(EmaCrossPA, "BTCUSDT", "2024-02-01", "2024-02-10", "screening", p, **kw)
    key = lambda r: [(f.ts, f.side, f.qty, f.price, f.commission) for f in r.fills]  # noqa: E731
    assert len(a.fills) > 20 and key(a) == key(b) and key(a) != key(scr)
    assert a.mode == "validation" and abs(a.reconciliation_error) < 1e-6
    md = btc_q1.slice(to_ns("2024-02-01") - 50 * 300 * 10**9, to_ns("2024-02-11"))
    s = BacktestSession(md, trade_start_ns=to_ns("2024-02-01"), mode="validation")
    try:
        c = s.run(EmaCrossPA, p)
        d = s.run(EmaCrossPA, p)  # engine.reset() + a fresh fill model; the bar feed is reset
    finally:
        s.dispose()
    assert key(c) == key(d) == key(a)
