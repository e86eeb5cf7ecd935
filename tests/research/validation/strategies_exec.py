"""Strategies of the fine-execution tests (issue 11): fixed levels passed as parameters, so a
test can work out from the raw 1m bars where a stop or a take-profit must fill."""

from __future__ import annotations

from tests.research.validation.strategies import OneShot


class EntryThenLevel(OneShot):
    """Buy ``qty`` at market on the first tradable bar (:class:`OneShot` with ``side`` 1); once
    filled, rest a stop at ``stop`` and/or a take-profit limit at ``tp`` (absolute USDT prices,
    0 = none)."""

    name = "entry_then_level"

    def on_position_update(self, event):
        if self.position_qty > 0 and type(event).__name__ == "PositionOpened":
            if float(self.params.get("tp", 0)):
                self.set_take_profit(float(self.params["tp"]))
            if float(self.params.get("stop", 0)):
                self.set_stop_loss(float(self.params["stop"]))
