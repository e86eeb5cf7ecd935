"""A strategy that raises must fail its run (the Rust engine alone would log and go on)."""

import pytest

from vibe_quant.backtest.run import StrategyRunError, run_backtest
from vibe_quant.backtest.strategy import VQStrategy


class RaisesLater(VQStrategy):
    name = "raises_later"

    def on_strategy_start(self):
        self.n = 0

    def handle_bar(self, bar):
        self.n += 1
        if self.can_trade and self.n == 50:
            raise ZeroDivisionError("bad maths in the strategy")
        if self.can_trade and self.n == 10:
            self.buy(0.01)


def test_an_exception_in_handle_bar_fails_the_run(real_data_dir):
    with pytest.raises(StrategyRunError, match="ZeroDivisionError at bar .*bad maths"):
        run_backtest(RaisesLater, "BTCUSDT", "2024-01-01", "2024-01-03",
                     data_dir=real_data_dir)
