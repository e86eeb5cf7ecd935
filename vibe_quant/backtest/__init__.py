"""Backtest core: one Nautilus (Rust engine) run on a simulated Binance USDⓈ-M venue.

Public API: :func:`run_backtest`, :class:`BacktestSession`, :class:`BacktestResult`,
:class:`VQStrategy`, :class:`RunContext`, :class:`MarketData`.
"""

from vibe_quant.backtest.marketdata import MarketData
from vibe_quant.backtest.result import BacktestResult
from vibe_quant.backtest.run import BacktestSession, run_backtest
from vibe_quant.strategy.base import RunContext, VQStrategy

__all__ = ["BacktestResult", "BacktestSession", "MarketData", "RunContext", "VQStrategy",
           "run_backtest"]
