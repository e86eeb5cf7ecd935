"""``vibe-quant backtest STRATEGY.yaml``: run one backtest, store it, print its metrics.

The work is :func:`vibe_quant.services.backtests.run_file_backtest`. Without ``--leverage``
the account leverage is the strategy's ``sizing.leverage`` (after ``--param``). An invalid
strategy or parameter prints its diagnostics and exits 2.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from vibe_quant.cli.common import CliError, add_common, data_dir, emit_json, eprint, parse_window
from vibe_quant.core.errors import StrategyDefinitionError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("backtest", help="run one backtest of a strategy YAML file")
    p.add_argument("strategy", help="strategy YAML file")
    p.add_argument("--symbol", required=True, help="e.g. BTCUSDT")
    p.add_argument("--start", required=True, help="UTC date/datetime, e.g. 2024-01-01")
    p.add_argument("--end", required=True, help="UTC date (inclusive day) or datetime")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="strategy parameter (repeatable; VALUE parsed as JSON, else string)")
    p.add_argument("--mode", choices=["screening", "validation"], default="screening")
    p.add_argument("--leverage", type=float, default=None,
                   help="account leverage (default: the strategy's sizing.leverage)")
    p.add_argument("--balance", type=float, default=10_000.0, help="starting USDT balance")
    p.add_argument("--interval", default=None, help="bar interval (default: the strategy's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report", default=None, metavar="PATH", help="write an HTML report")
    add_common(p)
    p.set_defaults(func=_run)



def parse_params(items: list[str]) -> dict[str, Any]:
    """``["fast=12", "mode=trend"]`` → ``{"fast": 12, "mode": "trend"}`` (JSON values).

    Raises:
        CliError: (exit 2; also a ``ValueError``) an item without ``=``.
    """
    out: dict[str, Any] = {}
    for it in items:
        if "=" not in it:
            raise CliError(f"--param needs NAME=VALUE, got {it!r}", 2)
        k, v = it.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            out[k.strip()] = v
    return out


def _compiler():
    """The strategy compiler (None when it is not installed)."""
    from vibe_quant.services.backtests import strategy_compiler

    return strategy_compiler()


def _run(args: argparse.Namespace) -> int:
    if _compiler() is None:
        eprint("vibe-quant backtest: the YAML strategy compiler is not available yet "
               "(vibe_quant.dsl.compile.compile_strategy, from the DSL issue). The backtest core "
               "is usable from Python: vibe_quant.backtest.run_backtest(...).")
        return 2
    from vibe_quant.services.backtests import METRIC_KEYS, BacktestConfig, run_file_backtest

    params = parse_params(args.param)
    parse_window(args.start, args.end)
    cfg = BacktestConfig(strategy=args.strategy, symbol=args.symbol.upper(), start=args.start,
                         end=args.end, params=params, mode=args.mode, leverage=args.leverage,
                         balance=args.balance, interval=args.interval, seed=args.seed,
                         report=args.report)
    try:
        out = run_file_backtest(data_dir(args), cfg)
    except StrategyDefinitionError as e:
        diags = getattr(e, "diagnostics", None)
        if not diags:
            raise
        for d in diags:
            eprint(f"{d} [{args.strategy}]" if not d.file or d.file.startswith("<") else str(d))
        return 2
    m = out.metrics
    if args.json:
        emit_json({"run_id": out.run_id, "metrics": m, "engine_balance": out.engine_balance,
                   "report": out.report})
    else:
        print(f"run {out.run_id}: {out.strategy} {out.symbol} {out.start} → {out.end} "
              f"({out.mode}, {out.leverage:g}x)")
        for k in METRIC_KEYS:
            print(f"  {k:14s} {m.get(k)}")
        if out.report:
            print(f"  report         {out.report}")
    return 0
