"""``vibe-quant backtest STRATEGY.yaml``: run one backtest, store it, print its metrics.

The YAML is compiled by :func:`vibe_quant.strategy.compiler.compile_strategy`. Without
``--leverage`` the account leverage is the strategy's ``sizing.leverage`` (after ``--param``);
the warm-up fed before ``--start`` is the compiled strategy's ``warmup_for(params)``. An invalid
strategy or parameter prints its diagnostics and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from vibe_quant.cli.common import CliError, add_common, data_dir, emit_json, eprint, parse_window

METRIC_KEYS = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "calmar",
               "profit_factor", "win_rate", "trades", "fees", "funding", "liquidations")


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
    """``["fast=12", "mode=trend"]`` → ``{"fast": 12, "mode": "trend"}`` (JSON values)."""
    out: dict[str, Any] = {}
    for it in items:
        if "=" not in it:
            raise ValueError(f"--param needs NAME=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            out[k.strip()] = v
    return out


def _compiler():
    try:
        from vibe_quant.strategy.compiler import compile_strategy
    except ImportError:
        return None
    return compile_strategy


def _run(args: argparse.Namespace) -> int:
    compile_strategy = _compiler()
    if compile_strategy is None:
        eprint("vibe-quant backtest: the YAML strategy compiler is not available yet "
               "(vibe_quant.dsl.compile.compile_strategy, from the DSL issue). The backtest core "
               "is usable from Python: vibe_quant.backtest.run_backtest(...).")
        return 2
    try:
        params = parse_params(args.param)
    except ValueError as e:
        raise CliError(str(e), 2) from e
    from vibe_quant.backtest import run_backtest
    from vibe_quant.dsl.errors import StrategyError
    from vibe_quant.store.state import StateStore

    text = Path(args.strategy).read_text()
    start_ns, end_ns = parse_window(args.start, args.end)
    args.symbol = args.symbol.upper()
    try:
        spec = compile_strategy(Path(args.strategy))  # diagnostics name the file
        spec.resolve(params)  # bad --param keys/values fail here, before a run is recorded
    except StrategyError as e:
        for d in e.diagnostics:
            eprint(f"{d} [{args.strategy}]" if not d.file or d.file.startswith("<") else str(d))
        return 2
    if args.leverage is None:
        args.leverage = spec.leverage(params)
    interval = args.interval or getattr(spec, "interval", None) or "5m"
    dd = data_dir(args)
    from vibe_quant.data.coverage import require_bars

    require_bars(dd, args.symbol, interval, start_ns, end_ns)  # before a run is recorded
    with StateStore.open(dd) as store:
        srow = store.upsert_strategy(getattr(spec, "name", Path(args.strategy).stem), text)
        run_id = store.create_run(
            strategy_name=srow.name, symbols=[args.symbol], interval=interval,
            start_ns=start_ns, end_ns=end_ns, params=params,
            mode=args.mode, leverage=args.leverage, starting_balance=args.balance,
            seed=args.seed, strategy_id=srow.id)
        try:
            result = run_backtest(
                spec, args.symbol, args.start, args.end, args.mode, params, data_dir=dd,
                interval=interval, leverage=args.leverage, starting_balance=args.balance,
                seed=args.seed, warmup_bars=spec.warmup_for(params))
        except Exception as e:  # record the failure, then re-raise for the exit code
            store.fail_run(run_id, f"{type(e).__name__}: {e}")
            raise
        store.complete_run(run_id, result)
    if args.report:
        from vibe_quant.backtest.report import write_report

        write_report(result, args.report)
    m = result.metrics
    if args.json:
        emit_json({"run_id": run_id, "metrics": m, "engine_balance": result.engine_balance,
                   "report": args.report})
    else:
        print(f"run {run_id}: {result.strategy} {args.symbol} {args.start} → {args.end} "
              f"({args.mode}, {args.leverage:g}x)")
        for k in METRIC_KEYS:
            print(f"  {k:14s} {m.get(k)}")
        if args.report:
            print(f"  report         {args.report}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(2)
