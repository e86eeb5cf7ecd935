"""Hand-written strategies for the risk tests (plain VQStrategy subclasses; no DSL)."""

from __future__ import annotations

from vibe_quant.strategy.base import VQStrategy


class StubbornLong(VQStrategy):
    """Whenever flat, buy notional = starting balance × ``frac`` (re-enters after every exit,
    so a halt that did not block entries would show up as new fills)."""

    name = "stubborn_long"

    def handle_bar(self, bar):
        if self.can_trade and self.position_qty == 0:
            px = bar.close.as_double()
            self.buy(self.qty_for_notional(self.ctx.starting_balance * float(self.params["frac"]),
                                           px))


class CrossFlip(VQStrategy):
    """SMA(fast) vs SMA(slow) on closes, always in the market with ``qty`` (one-order flips)."""

    name = "cross_flip"

    def on_strategy_start(self):
        self.closes = []

    def on_strategy_reset(self):
        self.closes = []

    def handle_bar(self, bar):
        self.closes.append(bar.close.as_double())
        fast, slow = int(self.params.get("fast", 6)), int(self.params.get("slow", 24))
        if not self.can_trade or len(self.closes) < slow:
            return
        f = sum(self.closes[-fast:]) / fast
        s = sum(self.closes[-slow:]) / slow
        q = float(self.params["qty"])
        want = q if f > s else -q
        if want != self.position_qty:
            self.target(want)


class TightBracket(VQStrategy):
    """Every ``every`` bars when flat: enter long with a stop ``sl`` and a target ``tp`` (fractions
    of the entry price); tight stops give runs of losing trades."""

    name = "tight_bracket"

    def on_strategy_start(self):
        self.k = 0

    def on_strategy_reset(self):
        self.k = 0

    def handle_bar(self, bar):
        if not self.can_trade:
            return
        self.k += 1
        if self.position_qty == 0 and self.k % int(self.params.get("every", 6)) == 0:
            self.buy(float(self.params["qty"]))

    def on_position_update(self, event):
        if self.position_qty > 0 and type(event).__name__ == "PositionOpened":
            px = float(event.avg_px_open)
            self.set_stop_loss(px * (1 - float(self.params["sl"])))
            self.set_take_profit(px * (1 + float(self.params["tp"])))


class NotionalBuyer(VQStrategy):
    """Buys notional ``first`` × starting balance on the first tradable bar, then tries to ADD
    ``add`` × starting balance on every later bar (``add`` 0 = never)."""

    name = "notional_buyer"

    def handle_bar(self, bar):
        if not self.can_trade:
            return
        px = bar.close.as_double()
        frac = float(self.params["first"]) if self.position_qty == 0 else float(
            self.params.get("add", 0))
        if frac > 0:
            self.buy(self.qty_for_notional(self.ctx.starting_balance * frac, px))
