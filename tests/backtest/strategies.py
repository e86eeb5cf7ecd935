"""Hand-written test strategies (plain VQStrategy subclasses; no DSL). ``EmaCross`` is the
shared one of :mod:`vibe_quant.testing.strategies`."""

from __future__ import annotations

from vibe_quant.strategy.base import VQStrategy
from vibe_quant.testing.strategies import EmaCross

__all__ = ["AllInLong", "AllInShort", "BracketTrader", "EmaCross", "Flipper", "HoldLong"]


class HoldLong(VQStrategy):
    """Buy ``qty`` BTC on the first tradable bar and hold to the end."""

    name = "hold_long"

    def handle_bar(self, bar):
        if self.can_trade and not self.fills:
            self.buy(float(self.params["qty"]))


class AllInLong(VQStrategy):
    """Buy notional = balance × leverage × ``frac`` at the first tradable bar; hold."""

    name = "all_in_long"
    entry_side = 1  # +1 buy, −1 sell

    def handle_bar(self, bar):
        if self.can_trade and not self.fills:
            px = bar.close.as_double()
            frac = float(self.params.get("frac", 0.95))
            qty = self.qty_for_notional(self.ctx.starting_balance * self.ctx.leverage * frac, px)
            if self.entry_side > 0:
                self.buy(qty)
            else:
                self.sell(qty)


class Flipper(VQStrategy):
    """Alternate long/short ``qty`` every ``every`` bars with ONE market order (a flip)."""

    name = "flipper"

    def on_strategy_start(self):
        self.k = 0

    def on_strategy_reset(self):
        self.k = 0

    def handle_bar(self, bar):
        if not self.can_trade:
            return
        self.k += 1
        if self.k % int(self.params.get("every", 288)) == 0:
            q = float(self.params["qty"])
            self.target(q if self.position_qty <= 0 else -q)


class BracketTrader(VQStrategy):
    """Every ``every`` bars when flat: enter long (or short on odd entries) with a stop loss and
    a take profit at ±``sl``/``tp`` fractions of the entry price (reduce-only orders)."""

    name = "bracket_trader"

    def on_strategy_start(self):
        self.k = 0
        self.entries = 0

    def on_strategy_reset(self):
        self.on_strategy_start()

    def handle_bar(self, bar):
        if not self.can_trade:
            return
        self.k += 1
        if self.position_qty == 0 and self.k % int(self.params.get("every", 12)) == 0:
            self.entries += 1
            q = float(self.params["qty"])
            if self.entries % 2:
                self.buy(q)
            else:
                self.sell(q)

    def on_position_update(self, event):
        if self.position_qty == 0 or type(event).__name__ != "PositionOpened":
            return
        px = float(event.avg_px_open)
        sl, tp = float(self.params["sl"]), float(self.params["tp"])
        if self.position_qty > 0:
            self.set_stop_loss(px * (1 - sl))
            self.set_take_profit(px * (1 + tp))
        else:
            self.set_stop_loss(px * (1 + sl))
            self.set_take_profit(px * (1 - tp))


class AllInShort(AllInLong):
    """Mirror of AllInLong: sell notional = balance × leverage × ``frac`` on the first bar."""

    name = "all_in_short"
    entry_side = -1
