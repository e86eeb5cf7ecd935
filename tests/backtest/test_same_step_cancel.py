"""An order cancelled in the engine step it was sent in, before the venue accepted it, is
cancelled when accepted (SPEC §3 "Where a run's time goes"): it never rests with its old size.

Real BTCUSDT 5m bars, 2024-03. ``AddAndTrim`` opens 0.05 long; two bars later, in ONE bar, it
adds 0.03 and sells the first 0.05 (reduce-only) — both market orders fill at that close, so
the stop and target decided for the add-on (tight, ±0.25 % of that close) are replaced in the
same engine step by wide ones (±1.2 %) for the 0.03 left. Before the fix
the tight pair kept resting (size 0.08) and closed the trade at the tight levels. Here every
trimmed trade must exit at the wide levels, on the first bar whose range reaches them
(computed from the raw archive klines), and at every bar every resting order of the strategy
is sized for the engine's position. ``ReOpen`` opens, closes and reopens (0.05, then 0.10) in
one bar: the first open's stop and target, still in flight when the position closes, must not
rest on the reopened position (here Nautilus's cancel-all covers them: the reopening order is
in flight too). Each run is also made with protective orders held back; the results are
equal, without a rerun for ``AddAndTrim``; ``ReOpen``'s held-back run is made again with every
order sent at once (``hold_back_reruns`` 1: a pair decided and cancelled in one step while no
position is open could be denied when sent at once).
"""

from __future__ import annotations

import numpy as np
import pytest

from vibe_quant.backtest.run import BacktestSession, to_ns
from vibe_quant.strategy.base import EXIT_EOD, EXIT_SIGNAL, EXIT_STOP, EXIT_TP, VQStrategy

from .conftest import archive_klines

START, END = "2024-03-01", "2024-03-31"
Q0, QA = 0.05, 0.03
FIRST, TIGHT, WIDE = 0.006, 0.0025, 0.012
NS_PER_MS = 1_000_000


class _Checked(VQStrategy):
    """Records, at every bar, the strategy's open orders whose quantity differs from the
    engine's position (``self.bad``: (bar ts, client id, order qty, position qty)), while a
    position is open."""

    def on_strategy_start(self):
        self.k = 0
        self.bad = []
        self.last = 0.0

    def on_strategy_reset(self):
        self.on_strategy_start()

    def on_bar(self, bar):
        sid = self.strategy_id
        pos = sum(abs(p.signed_qty) for p in self.cache.positions_open(strategy_id=sid))
        if pos > 0:
            for o in self.cache.orders_open(strategy_id=self.strategy_id):
                if abs(o.quantity.as_double() - pos) > 1e-9:
                    self.bad.append((bar.ts_event, str(o.client_order_id),
                                     o.quantity.as_double(), pos))
        VQStrategy.on_bar(self, bar)

    def _bracket(self, ref, frac):
        self.set_stop_loss(ref * (1 - frac))
        self.set_take_profit(ref * (1 + frac))


class AddAndTrim(_Checked):
    """Every 36 bars when flat: buy 0.05, stop/target ±0.6 % of the fill. Two bars later
    (still open): buy 0.03 and sell 0.05 reduce-only in one bar; the add-on's fill places a
    ±0.25 % pair around that close, the trim's fill a ±1.2 % pair around it."""

    name = "add_and_trim"

    def handle_bar(self, bar):
        self.k += self.can_trade
        if self.can_trade and self.position_qty == 0 and self.k % 36 == 0:
            self.held = 0
            self.buy(Q0)
        elif self.can_trade and self.position_qty != 0 and self.held == 1:
            self.held = 2
            self.trim_close = bar.close.as_double()
            self.buy(QA)
            self.market(-1, Q0, EXIT_SIGNAL, reduce_only=True)
        elif self.can_trade and self.position_qty != 0:
            self.held += 1

    def on_position_update(self, event):
        kind = type(event).__name__
        now = abs(self.position_qty)
        if kind == "PositionOpened":
            self._bracket(float(event.avg_px_open), FIRST)
        elif kind == "PositionChanged" and now > self.last:
            self._bracket(self.trim_close, TIGHT)
        elif kind == "PositionChanged":
            self._bracket(self.trim_close, WIDE)
        self.last = now


class ReOpen(_Checked):
    """Every 36 bars when flat, in one bar: buy 0.05, sell 0.05 reduce-only, buy 0.10; on each
    open a stop/target ±0.6 % of the fill."""

    name = "reopen"

    def handle_bar(self, bar):
        if not self.can_trade:
            return
        self.k += 1
        if self.position_qty == 0 and self.k % 36 == 0:
            self.buy(Q0)
            self.market(-1, Q0, EXIT_SIGNAL, reduce_only=True)
            self.buy(2 * Q0)

    def on_position_update(self, event):
        if type(event).__name__ == "PositionOpened":
            self._bracket(float(event.avg_px_open), FIRST)


def _run(md, spec, hold_back):
    box = []

    def build(ctx, p):
        box.append(spec(ctx, p))
        return box[-1]

    build.name = spec.name
    s = BacktestSession(md, trade_start_ns=to_ns(START), leverage=3)
    s.hold_back = hold_back
    try:
        return s.run(build, {}), box[-1], s.hold_back_reruns
    finally:
        s.dispose()


@pytest.fixture(scope="module")
def md(btc_2024):
    return btc_2024.slice(to_ns("2024-02-25"), to_ns(END, end=True))


@pytest.fixture(scope="module")
def bars(archive):
    """Raw archive klines of the span: close time (ns), open, high, low, close."""
    k = archive_klines(archive, "BTCUSDT", "5m", to_ns("2024-02-25") // NS_PER_MS,
                       to_ns(END, end=True) // NS_PER_MS)
    k["ts"] = (k["open_time"] + 300_000) * NS_PER_MS
    return k


def _same(a, b):
    """Run ``a`` (held back) equals run ``b`` (sent at once); returns ``a``'s reruns."""
    held, _, n = a
    sent, _, _ = b
    assert held.fills == sent.fills  # every field, order ids included
    assert held.orders == sent.orders
    assert held.denied == sent.denied
    assert held.engine_balance == sent.engine_balance
    return n


def test_replaced_in_flight_stop_and_target_never_rest(md, bars):
    sent = _run(md, AddAndTrim, False)
    res, strat, _ = sent
    assert strat.bad == []  # no order sized for an earlier position rested at any bar
    ts, o, h, lo, c = bars["ts"], bars["open"], bars["high"], bars["low"], bars["close"]
    fills = res.fills
    trims = [i for i in range(len(fills) - 1)
             if fills[i].side > 0 and abs(fills[i].qty - QA) < 1e-9
             and fills[i + 1].ts == fills[i].ts and fills[i + 1].side < 0]
    assert len(trims) >= 8
    checked = 0
    for i in trims:
        k = int(np.searchsorted(ts, fills[i].ts))
        assert ts[k] == fills[i].ts and fills[i].price == pytest.approx(c[k], abs=1e-6)
        assert fills[i + 1].qty == pytest.approx(Q0) and fills[i + 1].price == fills[i].price
        stop, target = round(c[k] * (1 - WIDE), 1), round(c[k] * (1 + WIDE), 1)
        ex = fills[i + 2]  # the next fill closes the 0.03 left
        assert ex.side < 0 and ex.qty == pytest.approx(QA)
        j = k + 1
        while j < len(ts) and lo[j] > stop and h[j] < target:
            j += 1
        if j == len(ts) or ts[j] > to_ns(END, end=True) - 300 * 10**9:
            assert ex.tag == EXIT_EOD
            continue
        assert ex.ts == ts[j], (fills[i].ts, ex)
        hits = {}
        if lo[j] <= stop:
            hits[EXIT_STOP] = min(stop, o[j])
        if h[j] >= target:
            hits[EXIT_TP] = max(target, o[j])
        assert ex.tag in hits and ex.price == pytest.approx(hits[ex.tag], abs=1e-6)
        checked += 1
    assert checked >= 8
    held = _run(md, AddAndTrim, True)
    assert _same(held, sent) == 0  # held back: equal, and no rerun needed
    assert held[1].engine_orders < len(res.orders)


def test_orders_sent_before_a_same_step_close_never_rest(md, bars):
    sent = _run(md, ReOpen, False)
    res, strat, _ = sent
    assert strat.bad == []
    ts, c = bars["ts"], bars["close"]
    fills = res.fills
    opens = [i for i in range(len(fills) - 2)
             if fills[i].side > 0 and abs(fills[i].qty - Q0) < 1e-9
             and fills[i + 2].ts == fills[i].ts and fills[i + 2].qty == pytest.approx(2 * Q0)]
    assert len(opens) >= 8
    for i in opens:
        k = int(np.searchsorted(ts, fills[i].ts))
        assert fills[i + 2].price == pytest.approx(c[k], abs=1e-6)
        ex = fills[i + 3]
        # one fill closes the whole 0.10 (the first open's 0.05 orders are gone), at a level of
        # the reopened position or the end of the data
        assert ex.side < 0 and ex.qty == pytest.approx(2 * Q0)
        levels = {EXIT_STOP: round(c[k] * (1 - FIRST), 1), EXIT_TP: round(c[k] * (1 + FIRST), 1)}
        assert ex.tag == EXIT_EOD or ex.tag in levels
    held = _run(md, ReOpen, True)
    assert _same(held, sent) == 1
