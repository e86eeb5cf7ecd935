"""``strategies/ema_cross.yaml`` written by hand as a plain VQStrategy — no compiler code.

Rules (from the YAML and docs/dsl.md §9, §10, §12, SPEC.md §4):
EMA(12) and EMA(48) of the close (Nautilus EMA, valid once ``initialized``). A cross compares
the previous bar's values with this bar's (only bars on which both EMAs were valid count).
Flat: long on fast crossing above slow, short on crossing below (never both). Long: exit on a
cross below (reduce-only market), short: on a cross above. Size = 1 % of equity (account
balance) / (close × 1.5 %), capped at 3 × equity / close and at 0.98 × equity /
(1/leverage + 0.0005) / close (margin + taker fee must fit the free balance). After the entry
fills: stop at fill × (1 ∓ 1.5 %), target at fill × (1 ± 3 %).
"""

from __future__ import annotations

from nautilus_trader.core import nautilus_pyo3 as n3

from vibe_quant.strategy.base import VQStrategy


class HandEmaCross(VQStrategy):
    name = "hand_ema_cross"

    FAST, SLOW = 12, 48
    RISK, STOP, TARGET, CAP = 0.01, 0.015, 0.03, 3.0

    def on_strategy_start(self):
        self.fast = n3.ExponentialMovingAverage(self.FAST)
        self.slow = n3.ExponentialMovingAverage(self.SLOW)
        self.prev = None
        self.side = 0
        self.venue = self.ctx.instrument_id.venue
        self.usdt = n3.Currency.from_str("USDT")

    def on_strategy_reset(self):
        self.on_strategy_start()

    def handle_bar(self, bar):
        c = bar.close.as_double()
        self.fast.update_raw(c)
        self.slow.update_raw(c)
        if not self.slow.initialized:
            return
        f, s = self.fast.value, self.slow.value
        prev, self.prev = self.prev, (f, s)
        if prev is None or not self.can_trade:
            return
        up = prev[0] <= prev[1] and f > s
        down = prev[0] >= prev[1] and f < s
        pos = self.position_qty
        if pos > 0:
            if down:
                self.flatten()
            return
        if pos < 0:
            if up:
                self.flatten()
            return
        if up == down:
            return
        equity = self.cache.account_for_venue(self.venue).balance_total(self.usdt).as_double()
        qty = equity * self.RISK / (c * self.STOP)
        qty = min(qty, self.CAP * equity / c,
                  0.98 * equity / (1 / self.ctx.leverage + 0.0005) / c)
        self.side = 1 if up else -1
        self.market(self.side, qty)

    def on_position_update(self, event):
        if type(event).__name__ != "PositionOpened":
            return
        px = float(event.avg_px_open)
        side = 1 if self.position_qty > 0 else -1
        self.set_stop_loss(px * (1 - side * self.STOP))
        self.set_take_profit(px * (1 + side * self.TARGET))
