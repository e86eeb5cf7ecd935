"""A strategy that raises must fail its run (the Rust engine alone would log and go on)."""

import pytest

from vibe_quant.backtest.run import StrategyRunError, run_backtest
from vibe_quant.strategy.base import VQStrategy


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


def test_a_run_left_open_is_reported_not_crashed(real_data_dir):
    """If the end-of-data close never filled, the result still assembles: the open position is
    reported in ``denied`` and the ledger counts only what was realized."""
    from tests.backtest.strategies import HoldLong
    from vibe_quant.backtest.marketdata import load_market_data
    from vibe_quant.backtest.run import BacktestSession, assemble_result, to_ns

    data = load_market_data(real_data_dir, "BTCUSDT", "5m", to_ns("2024-01-01"),
                            to_ns("2024-01-31", end=True))
    s = BacktestSession(data, trade_start_ns=to_ns("2024-01-01"))
    full = s.run(HoldLong, {"qty": 0.01})
    entry = full.fills[0]
    assert len(full.fills) == 2 and full.fills[1].tag == "end_of_data"
    cut = assemble_result(strategy="hold_long", data=data, ctx=s.context(), mode="screening",
                          params={"qty": 0.01}, seed=0, fills=full.fills[:1], denied=[],
                          engine_balance=float("nan"), elapsed=0.0)
    s.dispose()
    assert cut.trades == [] and cut.denied[-1][1] == "position still open at end of data"
    funding = sum(p.amount for p in cut.funding_payments)
    assert cut.ledger_balance == pytest.approx(10_000 - entry.commission + funding, abs=1e-9)
