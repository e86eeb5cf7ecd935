"""Hand-written strategies for the validation tests (importable by spawned sweep workers as
``tests.research.validation.strategies:<Class>``)."""

from __future__ import annotations

from vibe_quant.strategy.base import VQStrategy
from vibe_quant.testing.strategies import EmaCross


class PendingAware(VQStrategy):
    """Base: at most one market order in flight (latency-safe: with a latency model the next
    ``on_bar`` runs before the previous order fills)."""

    def on_strategy_start(self):
        self.pending = None  # client order id of the market order in flight

    def on_strategy_reset(self):
        self.on_strategy_start()

    def send(self, signed_qty: float):
        if self.pending is not None:
            return None
        self.pending = self.target(signed_qty)
        return self.pending

    def _done(self, event):
        if self.pending is not None and event.client_order_id == self.pending:
            self.pending = None

    def on_order_filled(self, event):
        super().on_order_filled(event)
        self._done(event)

    def on_order_denied(self, event):
        super().on_order_denied(event)
        self._done(event)

    def on_order_rejected(self, event):
        super().on_order_rejected(event)
        self._done(event)


class OneShot(PendingAware):
    """On the first tradable bar send ONE market order of ``side`` (+1/−1) × ``qty``; hold."""

    name = "one_shot"

    def on_strategy_start(self):
        super().on_strategy_start()
        self.sent = False

    def handle_bar(self, bar):
        if self.can_trade and not self.sent:
            self.sent = True
            self.send(int(self.params.get("side", 1)) * float(self.params["qty"]))


class EntryWithBracket(PendingAware):
    """Buy ``qty`` at market on the first tradable bar; once filled, place a take-profit limit
    and a stop at ``±tp``/``sl`` fractions of THAT SIGNAL BAR'S CLOSE (not of the fill price),
    so screening and validation rest the same orders at the same prices."""

    name = "entry_with_bracket"

    def on_strategy_start(self):
        super().on_strategy_start()
        self.ref = None

    def handle_bar(self, bar):
        if self.can_trade and self.ref is None:
            self.ref = bar.close.as_double()
            self.send(float(self.params["qty"]))

    def on_position_update(self, event):
        if self.position_qty > 0 and type(event).__name__ == "PositionOpened":
            self.set_take_profit(self.ref * (1 + float(self.params["tp"])))
            self.set_stop_loss(self.ref * (1 - float(self.params["sl"])))


class EmaCrossPA(PendingAware, EmaCross):
    """EMA(fast/slow) cross with ``qty``: long when fast > slow, else short (flat with
    ``long_only``), the opposite with ``contrarian``; one order in flight at most."""

    name = "ema_cross_pa"

    def on_strategy_start(self):
        super().on_strategy_start()  # PendingAware's: no order in flight
        EmaCross.on_strategy_start(self)  # the two EMAs

    def handle_bar(self, bar):
        side = self.ema_side(bar)
        if not side:
            return
        q = float(self.params["qty"])
        want = q if side > 0 else (0.0 if self.params.get("long_only") else -q)
        if self.params.get("contrarian"):
            want = -want
        if want != self.position_qty:
            self.send(want)
