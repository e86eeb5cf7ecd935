"""Re-run combinations of a stored sweep in this process (filters and validation use it).

The sweep's strategy is rebuilt from its stored YAML (or ``strategy_ref``) exactly as the sweep
workers did, and the bars are loaded once with the longest warm-up any combination needs, so a
re-run of a combination over the sweep window reproduces its screening run.
"""

from __future__ import annotations

from typing import Any

from vibe_quant.research.screening.worker import WorkerSetup, build_strategy, combo_leverage


class SweepRunner:
    """Strategy + market data of one stored sweep (a ``StateStore.sweep`` row), loaded once.

    Attributes:
        spec: the strategy factory (compiled YAML or hand-written class).
        warmup: base bars fed before any window (max over the sweep's combinations).
        data: the loaded ``MarketData`` covering the sweep window plus warm-up.
    """

    def __init__(self, sweep: dict[str, Any], data_dir: str):
        from vibe_quant.backtest.marketdata import load_market_data
        from vibe_quant.core.intervals import interval_ms
        from vibe_quant.core.paths import DataDir

        self.sweep = sweep
        setup = WorkerSetup(yaml_text=sweep["yaml"], symbol=sweep["symbol"],
                            interval=sweep["interval"], start_ns=sweep["start_ns"],
                            end_ns=sweep["end_ns"], data_dir=data_dir, mode=sweep["mode"],
                            leverage=sweep["leverage"], seed=sweep["seed"],
                            starting_balance=sweep["starting_balance"],
                            strategy_ref=sweep["strategy_ref"])
        self.spec, warm = build_strategy(setup)
        wfor = getattr(self.spec, "warmup_for", None)
        self.warmup = max([warm] + ([wfor(c) for c in sweep["combos"]] if callable(wfor) else []))
        step_ns = interval_ms(sweep["interval"]) * 1_000_000
        self.data = load_market_data(DataDir.resolve(data_dir), sweep["symbol"],
                                     sweep["interval"],
                                     sweep["start_ns"] - self.warmup * step_ns, sweep["end_ns"])

    def run(self, params: dict[str, Any], start_ns: int | None = None,
            end_ns: int | None = None, mode: str | None = None):
        """Backtest ``params`` over ``(start_ns, end_ns]`` (default: the sweep window) in
        ``mode`` (default: the sweep's) with the combination's own leverage."""
        from vibe_quant.backtest.run import run_backtest

        s = self.sweep
        return run_backtest(self.spec, s["symbol"],
                            s["start_ns"] if start_ns is None else start_ns,
                            s["end_ns"] if end_ns is None else end_ns, mode or s["mode"], params,
                            data=self.data, interval=s["interval"],
                            leverage=combo_leverage(self.spec, params, s["leverage"]),
                            starting_balance=s["starting_balance"], seed=s["seed"],
                            warmup_bars=self.warmup)
