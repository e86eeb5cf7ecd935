"""``BacktestResult``: everything one run produced, in plain Python/numpy/pandas objects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from vibe_quant.backtest.equity import EquityCurve
from vibe_quant.backtest.ledger import FundingPayment
from vibe_quant.backtest.trades import Trade
from vibe_quant.strategy.base import Fill


@dataclass
class BacktestResult:
    """Result of :func:`vibe_quant.backtest.run.run_backtest`.

    Attributes:
        strategy / symbol / interval / mode / params / seed / leverage / starting_balance: inputs.
        start_ns / end_ns: trading window, UTC epoch ns (bars with start < close ≤ end).
        fills: every execution (see :class:`~vibe_quant.strategy.base.Fill`).
        trades: closed round trips (the run closes everything on its last bar).
        funding_payments: settled funding payments (USDT, + received).
        equity: per-bar marked-to-market curve; ``daily_equity``: its daily resample (USDT).
        metrics: see :mod:`vibe_quant.backtest.metrics`.
        engine_balance: Nautilus's final USDT account balance.
        ledger_balance: final balance of our replay of fills + funding.
        reconciliation_error: engine_balance − ledger_balance (USDT; ~1e-8 when consistent).
        denied: (ts ns, reason) of orders the risk engine denied or the venue rejected.
        bars: bars in the trading window; elapsed_s: wall time of the engine run.
        risk_events: circuit-breaker events (:class:`vibe_quant.risk.breakers.RiskEvent`; empty
            when breakers are off); ``risk_blocked_entries``: entries refused during halts/pauses
            (all of them; only the first per halt/pause is an event).
        orders: orders sent through the strategy helpers
            (:class:`~vibe_quant.strategy.base.OrderRecord`; a sequence, built on first read).
        warnings: plain-text notes a user must see (e.g. the insurance fund absorbed a
            liquidation loss beyond the isolated margin).
    """

    strategy: str
    symbol: str
    interval: str
    mode: str
    params: dict[str, Any]
    seed: int
    leverage: float
    starting_balance: float
    start_ns: int
    end_ns: int
    fills: list[Fill]
    trades: list[Trade]
    funding_payments: list[FundingPayment]
    equity: EquityCurve
    daily_equity: pd.Series
    metrics: dict[str, float]
    engine_balance: float
    ledger_balance: float
    denied: list[tuple[int, str]] = field(default_factory=list)
    bars: int = 0
    elapsed_s: float = 0.0
    risk_events: list[Any] = field(default_factory=list)
    orders: Sequence[Any] = field(default_factory=list)
    risk_blocked_entries: int = 0
    warnings: list[str] = field(default_factory=list)
    #: bars the exchange walked (fills, stops, limits): ``interval`` itself, or a finer one
    #: (validation on 1m bars; the strategy's bars are then aggregated inside Nautilus)
    execution_interval: str = ""

    @property
    def liquidation_fees(self) -> float:
        """Σ liquidation clearance fees kept by Binance (USDT, ≥ 0)."""
        return sum(t.liquidation_fee for t in self.trades)

    @property
    def insurance_fund_absorbed(self) -> float:
        """Σ liquidation losses beyond the isolated margin absorbed by the insurance fund
        (USDT, ≥ 0; > 0 only when a liquidation filled beyond the bankruptcy price)."""
        return sum(t.insurance_fund_absorbed for t in self.trades)

    @property
    def halted(self) -> bool:
        """True when a halting breaker (max drawdown / portfolio drawdown) tripped."""
        return any(e.kind == "risk_trip" and e.action == "halt" for e in self.risk_events)

    @property
    def reconciliation_error(self) -> float:
        return self.engine_balance - self.ledger_balance

    @property
    def total_fees(self) -> float:
        return sum(f.commission for f in self.fills)

    @property
    def total_funding(self) -> float:
        return sum(p.amount for p in self.funding_payments)

    def trades_frame(self) -> pd.DataFrame:
        """Trades as a DataFrame with UTC datetime entry/exit columns."""
        df = pd.DataFrame([t.to_dict() for t in self.trades])
        if len(df):
            df["entry_time"] = pd.to_datetime(df["entry_ts"], unit="ns", utc=True)
            df["exit_time"] = pd.to_datetime(df["exit_ts"], unit="ns", utc=True)
        return df

    def summary(self) -> dict[str, Any]:
        """JSON-friendly summary (inputs + metrics + reconciliation)."""
        return {
            "strategy": self.strategy,
            "symbol": self.symbol,
            "interval": self.interval,
            "mode": self.mode,
            "params": self.params,
            "seed": self.seed,
            "leverage": self.leverage,
            "starting_balance": self.starting_balance,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "bars": self.bars,
            "metrics": self.metrics,
            "engine_balance": self.engine_balance,
            "reconciliation_error": self.reconciliation_error,
            "bankrupt": self.equity.bankrupt,
            "liquidation_fees": self.liquidation_fees,
            "insurance_fund_absorbed": self.insurance_fund_absorbed,
            "warnings": list(self.warnings),
            "execution_interval": self.execution_interval or self.interval,
            "denied_orders": len(self.denied),
            "risk_trips": sum(1 for e in self.risk_events if e.kind == "risk_trip"),
            "risk_denied_orders": sum(1 for e in self.risk_events if e.kind == "risk_deny"),
            "risk_blocked_entries": self.risk_blocked_entries,
            "halted": self.halted,
        }
