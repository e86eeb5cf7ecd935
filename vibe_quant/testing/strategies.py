"""The hand-written EMA-cross strategies shared by the tests and the benchmarks.

Plain :class:`~vibe_quant.strategy.base.VQStrategy` subclasses (no DSL), importable by spawned
sweep workers as ``vibe_quant.testing.strategies:<Class>``; the tests' own ``strategies``
modules re-export them under their old ``module:Class`` references.

Parameters (``params`` of the run): ``fast`` / ``slow`` EMA periods in bars (default 12 / 26),
``qty`` position size in base units (BTC).
"""

from __future__ import annotations

from nautilus_trader.core.nautilus_pyo3 import ExponentialMovingAverage

from vibe_quant.strategy.base import VQStrategy

__all__ = ["EmaCross", "EmaFlip"]


class EmaCross(VQStrategy):
    """EMA(fast/slow) cross of the bar closes, always in the market once both EMAs are warm:
    long ``qty`` when fast > slow, else short ``qty``; a flip is one market order."""

    name = "ema_cross"

    def on_strategy_start(self):
        self.fast = ExponentialMovingAverage(int(self.params.get("fast", 12)))
        self.slow = ExponentialMovingAverage(int(self.params.get("slow", 26)))

    def on_strategy_reset(self):
        self.on_strategy_start()

    def ema_side(self, bar) -> int:
        """Feed ``bar`` to both EMAs; +1 (fast > slow) or −1 when trading is allowed and the
        slow EMA is warm, else 0 (no decision on this bar)."""
        self.fast.handle_bar(bar)
        self.slow.handle_bar(bar)
        if not (self.can_trade and self.slow.initialized):
            return 0
        return 1 if self.fast.value > self.slow.value else -1

    def handle_bar(self, bar):
        side = self.ema_side(bar)
        if not side:
            return
        want = side * float(self.params["qty"])
        if want != self.position_qty:
            self.target(want)


class EmaFlip(EmaCross):
    """The sweep tests' EMA cross: ``qty`` defaults to 0.01 BTC and an order is sent only when
    the position is flat or on the wrong side (never to resize a position on the right side)."""

    name = "ema_flip"

    def handle_bar(self, bar):
        side = self.ema_side(bar)
        if side and self.position_qty * side <= 0:
            self.target(side * float(self.params.get("qty", 0.01)))
