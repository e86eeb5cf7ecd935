"""No look-ahead: a 1h indicator used on 5m bars only ever sees 1h bars closed at or before the
decision bar's close — over the full year 2024 — and a deliberately leaky indicator is caught by
the same check.

Reference (independent of Nautilus and of the compiler): hourly bars built here with pandas from
the 5m closes (right-closed, right-labelled: the 12:00–13:00 hour is labelled 13:00 = its close
time), EMA(20) of their closes by ``ewm(span=20, adjust=False)`` seeded on the first complete
hour fed. At a 5m decision time t the only admissible value is the EMA of the last hour whose
close ≤ t.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vibe_quant.backtest import run_backtest
from vibe_quant.backtest.run import to_ns
from vibe_quant.strategy.compiler import DSLStrategy, compile_strategy

HOUR_NS = 3_600_000_000_000

YAML = """
name: mtf_probe
timeframe: 5m
indicators:
  trend: {type: ema, params: {period: 20}, timeframe: 1h}
entry:
  long: [close crosses_above trend]
  short: [close crosses_below trend]
exit:
  long: [close < trend]
  short: [close > trend]
sizing: {method: fixed_notional, notional: 1000}
"""


def hourly_reference(md, rule="1h", period=20):
    """(bar close ts ns, EMA(period) of the closes) of ``rule`` bars resampled from the 5m bars
    fed to the run (right-closed, right-labelled; starting at the first complete bar)."""
    ts = md.close_ts
    close = md.close
    per = pd.Timedelta(rule) // pd.Timedelta("5min")
    s = pd.Series(close, index=pd.to_datetime(ts, unit="ns", utc=True))
    hc = s.resample(rule, closed="right", label="right").last()
    counts = s.resample(rule, closed="right", label="right").count()
    first_complete = counts.index[np.flatnonzero(counts.to_numpy() == per)[0]]
    hc = hc[hc.index >= first_complete].dropna()
    ema = hc.ewm(span=period, adjust=False).mean()
    return hc.index.asi8.astype(np.int64), ema.to_numpy()


def check_no_lookahead(trace, ref_ts, ref_val, tf_ns=HOUR_NS):
    """Assert every traced value (decision ts, name, source bar close ts, value) used only
    higher-timeframe bars closed at or before the decision, was the latest such bar, and equals
    the reference."""
    t = np.array([r[0] for r in trace], dtype=np.int64)
    src = np.array([r[2] for r in trace], dtype=np.int64)
    val = np.array([r[3] for r in trace], dtype=float)
    fed = src > 0
    assert (src[fed] <= t[fed]).all(), (
        f"{int((src[fed] > t[fed]).sum())} decisions used an hour bar closing after them")
    # the latest closed bar at t is floor(t / tf) * tf (once the reference has started)
    latest = (t // tf_ns) * tf_ns
    started = latest >= ref_ts[0]
    assert (src[started] == latest[started]).all(), "a stale (not the latest) hour bar was used"
    idx = np.searchsorted(ref_ts, src[started])
    np.testing.assert_allclose(val[started], ref_val[idx], rtol=1e-12)


@pytest.fixture(scope="module")
def year(btc_2024_md):
    cs = compile_strategy(YAML, trace=True)
    wu = cs.warmup_bars
    start_ns = to_ns("2024-01-01")
    md = btc_2024_md.slice(start_ns - wu * 300 * 10**9, to_ns("2024-12-31", end=True))
    holder = {}

    class Keep(DSLStrategy):
        def on_stop(self):
            holder["s"] = self

    cs.strategy_class = Keep
    r = run_backtest(cs, "BTCUSDT", "2024-01-01", "2024-12-31", data=md, warmup_bars=wu)
    return r, holder["s"], md


def test_one_hour_values_never_from_the_future(year):
    r, strat, md = year
    trace = strat.trace
    assert len(trace) >= 366 * 288 - 2  # every 5m decision of the year (+ warm-up)
    assert strat.htf_missing == 0
    assert len(r.trades) > 100  # the condition on the 1h value really traded
    ref_ts, ref_val = hourly_reference(md)
    check_no_lookahead(trace, ref_ts, ref_val)


def test_value_visible_on_the_bar_with_the_same_close(year):
    """On the 5m bar closing at 13:00 the 12:00–13:00 hour is already visible (not 5 min
    late): the source close equals the decision time on every full hour."""
    _, strat, _ = year
    on_hour = [(t, s) for t, _, s, _ in strat.trace if t % HOUR_NS == 0 and s]
    assert len(on_hour) > 8000
    assert all(t == s for t, s in on_hour)


class Leaky(DSLStrategy):
    """Deliberately wrong: feeds the 1h EMA, at each 5m bar, the hour bar CONTAINING that bar
    (taken from the full series, i.e. from the future) and ignores Nautilus's closed hours."""

    future: dict[int, float] = {}

    def _feed_htf(self, feed, bar):  # Nautilus's closed hour bars: ignored
        feed.first = False
        feed.base_count = 0

    def handle_bar(self, bar):
        ts = bar.ts_event
        close_of_hour = -(-ts // HOUR_NS) * HOUR_NS
        for feed in self._rt.htf:
            if feed.last_ts != close_of_hour and close_of_hour in self.future:
                c = self.future[close_of_hour]
                feed.update(c, c, c, c, 0.0, close_of_hour)
        super().handle_bar(bar)


def test_leaky_indicator_is_caught(btc_2024_md):
    cs = compile_strategy(YAML, trace=True, strategy_class=Leaky)
    md = btc_2024_md.slice(to_ns("2024-03-01") - cs.warmup_bars * 300 * 10**9,
                           to_ns("2024-03-31", end=True))
    s = pd.Series(md.close, index=pd.to_datetime(md.close_ts, unit="ns", utc=True))
    hc = s.resample("1h", closed="right", label="right").last().dropna()
    Leaky.future = dict(zip(hc.index.asi8.tolist(), hc.to_numpy().tolist()))
    holder = {}

    class Keep(Leaky):
        def on_stop(self):
            holder["s"] = self

    cs.strategy_class = Keep
    run_backtest(cs, "BTCUSDT", "2024-03-01", "2024-03-31", data=md,
                 warmup_bars=cs.warmup_bars)
    ref_ts, ref_val = hourly_reference(md)
    with pytest.raises(AssertionError, match="closing after them"):
        check_no_lookahead(holder["s"].trace, ref_ts, ref_val)


YAML2 = """
name: mtf_probe2
timeframe: 5m
indicators:
  h1: {type: ema, params: {period: 10}, timeframe: 1h}
  h4: {type: ema, params: {period: 5}, timeframe: 4h}
  d1: {type: ema, params: {period: 3}, timeframe: 1d}
entry:
  long: [h1 > h4, close > d1]
  short: [h1 < h4, close < d1]
exit:
  long: [h1 < h4]
  short: [h1 > h4]
sizing: {method: fixed_notional, notional: 1000}
"""


def test_three_higher_timeframes_due_together(btc_2024_md):
    """1h, 4h and 1d feeds at once (at 00:00 all three close on the same 5m bar): each value
    comes from its latest closed bar and equals its pandas reference."""
    cs = compile_strategy(YAML2, trace=True)
    wu = cs.warmup_bars
    md = btc_2024_md.slice(to_ns("2024-04-01") - wu * 300 * 10**9, to_ns("2024-06-30", end=True))
    holder = {}

    class Keep(DSLStrategy):
        def on_stop(self):
            holder["s"] = self

    cs.strategy_class = Keep
    r = run_backtest(cs, "BTCUSDT", "2024-04-01", "2024-06-30", data=md, warmup_bars=wu)
    s = holder["s"]
    assert s.htf_missing == 0 and len(r.trades) > 10
    for name, rule, period, tf_ns in (("h1", "1h", 10, HOUR_NS), ("h4", "4h", 5, 4 * HOUR_NS),
                                      ("d1", "1D", 3, 24 * HOUR_NS)):
        ref_ts, ref_val = hourly_reference(md, rule, period)
        check_no_lookahead([x for x in s.trace if x[1] == name], ref_ts, ref_val, tf_ns)
