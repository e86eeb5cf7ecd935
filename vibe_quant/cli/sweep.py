"""``vibe-quant sweep STRATEGY.yaml`` — the screening sweep."""

from __future__ import annotations

import argparse

from vibe_quant.cli.common import (
    add_common,
    data_dir,
    emit_json,
    eprint,
    parse_window,
    progress_bars,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="screening sweep of a strategy's parameters")
    p.add_argument("strategy", help="strategy YAML file")
    p.add_argument("--symbol", default="BTCUSDT")
    p.add_argument("--start", required=True, help="UTC date/datetime (exclusive bar close)")
    p.add_argument("--end", required=True, help="UTC date/datetime (a date includes the day)")
    p.add_argument("--interval", default=None, help="bar interval (default: the strategy's)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: CPU count)")
    p.add_argument("--max-combos", type=int, default=None)
    p.add_argument("--sample", choices=("grid", "random"), default="grid")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--leverage", type=float, default=None,
                   help="account leverage (default: the strategy's sizing.leverage)")
    p.add_argument("--balance", type=float, default=10_000.0, help="starting USDT")
    p.add_argument("--resume", type=int, default=None, metavar="SWEEP_ID",
                   help="continue this sweep (default: an unfinished identical sweep resumes)")
    p.add_argument("--fresh", action="store_true", help="never resume: start a new sweep")
    add_common(p)
    p.set_defaults(func=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    """Errors (missing data, workers that cannot start, invalid strategy) reach
    ``vibe_quant.cli.main`` and print one line with a non-zero exit."""
    from vibe_quant.services.sweeps import sweep_file

    start_ns, end_ns = parse_window(args.start, args.end)
    with progress_bars(args) as progress:
        out = sweep_file(data_dir(args), args.strategy, symbol=args.symbol, start_ns=start_ns,
                         end_ns=end_ns, interval=args.interval, workers=args.workers,
                         max_combos=args.max_combos, sample=args.sample, seed=args.seed,
                         leverage=args.leverage, balance=args.balance, resume=args.resume,
                         fresh=args.fresh, progress=progress)
    rep = out.report
    if args.json:
        emit_json({"ok": out.ok, **rep.to_dict()})
    else:
        eprint(f"sweep {rep.sweep_id}{' (resumed)' if rep.resumed else ''}: {rep.completed}/"
               f"{rep.combos} completed, {rep.failed} failed, {rep.ran_now} run now in "
               f"{rep.seconds:.1f}s ({rep.combos_per_s:.2f} combos/s)")
        if rep.best is None:
            print("no combination passed the hard filters (min trades, max drawdown, PF ≥ 1)")
        for r in rep.pareto[:10]:
            print(f"  pareto #{r['combo_idx']}: {r['params']} sharpe {r['sharpe']:.2f} "
                  f"maxDD {r['max_drawdown']:.1%} PF {r['profit_factor']:.2f} "
                  f"trades {r['trades']}")
    if rep.failed:  # a sweep with failed combinations did not do all that was asked
        eprint(f"error: {rep.failed} of {rep.combos} combinations of sweep {rep.sweep_id} "
               f"failed; first error: {out.first_error}")
    return 1 if rep.failed else 0
