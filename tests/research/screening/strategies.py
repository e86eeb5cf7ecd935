"""Hand-written strategies for sweep tests (importable by spawn workers as module:attr)."""

from __future__ import annotations

import os

from nautilus_trader.core.nautilus_pyo3.indicators import ExponentialMovingAverage

from vibe_quant.strategy.base import VQStrategy


class EmaFlip(VQStrategy):
    """Long when EMA(fast) > EMA(slow), short otherwise; ``qty`` BTC; flips with one order."""

    name = "ema_flip"

    def on_strategy_start(self):
        self._mk()

    def on_strategy_reset(self):
        self._mk()

    def _mk(self):
        self.fast = ExponentialMovingAverage(int(self.params["fast"]))
        self.slow = ExponentialMovingAverage(int(self.params["slow"]))

    def handle_bar(self, bar):
        c = bar.close.as_double()
        self.fast.update_raw(c)
        self.slow.update_raw(c)
        if not (self.can_trade and self.slow.initialized):
            return
        want = 1 if self.fast.value > self.slow.value else -1
        q = float(self.params.get("qty", 0.01))
        if self.position_qty * want <= 0:
            self.target(want * q)


class Troubled(EmaFlip):
    """EmaFlip that raises (``fast == 13``) or kills its process (``fast == 666``)."""

    name = "troubled"

    def handle_bar(self, bar):
        if int(self.params["fast"]) == 13:
            raise RuntimeError("unlucky parameter")
        if int(self.params["fast"]) == 666:
            os._exit(3)
        super().handle_bar(bar)
