"""One backtest of a strategy YAML file, stored in the state database.

:func:`run_file_backtest` compiles the YAML (:func:`vibe_quant.strategy.compiler.
compile_strategy`), resolves ``params`` (a bad key or value fails before a run is recorded),
checks that the catalog holds the bars of the window (``MissingDataError`` names the
``vibe-quant data ingest`` command that fetches them), records the run, runs the engine and
stores metrics, trades and daily equity; a failed engine run is recorded as ``failed`` and its
error re-raised. Without ``leverage`` the account leverage is the strategy's
``sizing.leverage`` (after ``params``); the warm-up fed before ``start`` is the compiled
strategy's ``warmup_for(params)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibe_quant.backtest.run import to_ns
from vibe_quant.core.config import FrozenConfig
from vibe_quant.core.paths import DataDir

__all__ = ["BacktestConfig", "BacktestOutcome", "METRIC_KEYS", "run_file_backtest",
           "strategy_compiler", "to_ns"]

METRIC_KEYS = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "calmar",
               "profit_factor", "win_rate", "trades", "fees", "funding", "liquidations")
"""The headline metrics a transport shows, in order."""


class BacktestConfig(FrozenConfig):
    """One backtest of a strategy file.

    Attributes:
        strategy: path of the strategy YAML file.
        symbol: e.g. ``"BTCUSDT"`` (upper-cased).
        start, end: UTC date or datetime text (a date-only ``end`` includes that day).
        params: strategy parameters (dotted names → values).
        mode: ``"screening"`` or ``"validation"`` (fill model, latency, fees).
        leverage: account leverage; None = the strategy's ``sizing.leverage``.
        balance: starting balance, USDT.
        interval: bar interval; None = the strategy's timeframe (else ``"5m"``).
        seed: random seed of the engine's models.
        report: path of an HTML report to write, or None.
    """

    strategy: str
    symbol: str
    start: str
    end: str
    params: dict[str, Any] = {}
    mode: str = "screening"
    leverage: float | None = None
    balance: float = 10_000.0
    interval: str | None = None
    seed: int = 0
    report: str | None = None


@dataclass(frozen=True)
class BacktestOutcome:
    """A stored backtest.

    Attributes:
        run_id: the run's id in the state database.
        strategy: the strategy's name; symbol, interval, start, end, mode: as run.
        leverage: the account leverage used.
        metrics: every metric of the run (``METRIC_KEYS`` among them; units as in
            :mod:`vibe_quant.backtest.metrics`).
        engine_balance: the engine's final account balance, USDT.
        report: the HTML report written, or None.
    """

    run_id: int
    strategy: str
    symbol: str
    interval: str
    start: str
    end: str
    mode: str
    leverage: float
    metrics: dict[str, Any]
    engine_balance: float | None
    report: str | None


def strategy_compiler() -> Callable[..., Any] | None:
    """The YAML strategy compiler, or None when it is not installed."""
    try:
        from vibe_quant.strategy.compiler import compile_strategy
    except ImportError:
        return None
    return compile_strategy


def run_file_backtest(dd: DataDir, cfg: BacktestConfig) -> BacktestOutcome:
    """Run and store one backtest of ``cfg.strategy`` (see the module doc).

    Raises:
        OSError: the strategy file cannot be read.
        StrategyError: invalid strategy or parameter (its ``diagnostics`` list every problem).
        MissingDataError: the catalog lacks the window's bars (no run is recorded).
        StrategyRunError / any engine error: the run failed (recorded as ``failed``).
    """
    from vibe_quant.backtest import run_backtest
    from vibe_quant.data.coverage import require_bars
    from vibe_quant.store.state import StateStore
    from vibe_quant.strategy.compiler import compile_strategy

    path = Path(cfg.strategy)
    text = path.read_text()
    start_ns, end_ns = to_ns(cfg.start), to_ns(cfg.end, end=True)
    symbol, params = cfg.symbol.upper(), dict(cfg.params)
    spec = compile_strategy(path)  # diagnostics name the file
    spec.resolve(params)  # bad keys/values fail here, before a run is recorded
    leverage = spec.leverage(params) if cfg.leverage is None else cfg.leverage
    interval = cfg.interval or getattr(spec, "interval", None) or "5m"
    require_bars(dd, symbol, interval, start_ns, end_ns)  # before a run is recorded
    with StateStore.open(dd) as store:
        srow = store.upsert_strategy(getattr(spec, "name", path.stem), text)
        run_id = store.create_run(
            strategy_name=srow.name, symbols=[symbol], interval=interval,
            start_ns=start_ns, end_ns=end_ns, params=params, mode=cfg.mode, leverage=leverage,
            starting_balance=cfg.balance, seed=cfg.seed, strategy_id=srow.id)
        try:
            result = run_backtest(
                spec, symbol, cfg.start, cfg.end, cfg.mode, params, data_dir=dd,
                interval=interval, leverage=leverage, starting_balance=cfg.balance,
                seed=cfg.seed, warmup_bars=spec.warmup_for(params))
        except Exception as e:  # record the failure, then re-raise for the caller
            store.fail_run(run_id, f"{type(e).__name__}: {e}")
            raise
        store.complete_run(run_id, result)
    if cfg.report:
        from vibe_quant.backtest.report import write_report

        write_report(result, cfg.report)
    return BacktestOutcome(
        run_id=run_id, strategy=result.strategy, symbol=symbol, interval=interval,
        start=cfg.start, end=cfg.end, mode=cfg.mode, leverage=leverage,
        metrics=dict(result.metrics), engine_balance=result.engine_balance, report=cfg.report)
