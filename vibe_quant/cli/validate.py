"""``vibe-quant validate SWEEP_ID``: re-run a sweep's top candidates with realistic execution."""

from __future__ import annotations

import argparse

from vibe_quant.cli.common import add_common, data_dir, emit_json, progress_bars


def register(sub: argparse._SubParsersAction) -> None:
    from vibe_quant.services import validation as v

    p = sub.add_parser(
        "validate",
        help="re-run a sweep's top candidates with fill model, latency and VIP fees",
        description="Re-run the top candidates of a finished screening sweep in validation mode "
                    "(square-root market impact, latency preset, Binance VIP-tier fees), store "
                    "the full runs and a screening-vs-validation consistency row per candidate.")
    p.add_argument("sweep_id", type=int, metavar="SWEEP_ID")
    p.add_argument("--top", type=int, default=v.DEFAULT_TOP,
                   help=f"candidates by screening Sharpe (default {v.DEFAULT_TOP})")
    p.add_argument("--only-passed", action="store_true",
                   help="only candidates that passed the sweep's latest filter run")
    p.add_argument("--latency", default=v.DEFAULT_LATENCY, choices=sorted(v.LATENCY_PRESETS),
                   help=f"latency preset (default {v.DEFAULT_LATENCY}); a market order is matched "
                        "at its arrival time (decision + latency) against the newest bar then")
    p.add_argument("--fee-tier", type=int, default=v.DEFAULT_TIER, choices=sorted(v.VIP_FEES),
                   help=f"Binance USDⓈ-M VIP tier (default {v.DEFAULT_TIER})")
    p.add_argument("--k", type=float, default=v.DEFAULT_K,
                   help=f"square-root impact prefactor (default {v.DEFAULT_K:g}); every candidate "
                        "is also run at 0.5x and 2x")
    p.add_argument("--spread-ticks", type=float, default=v.DEFAULT_SPREAD_TICKS,
                   help=f"bid/ask spread in ticks (default {v.DEFAULT_SPREAD_TICKS:g})")
    p.add_argument("--window", type=int, default=v.DEFAULT_WINDOW,
                   help=f"bars for volatility and average volume (default {v.DEFAULT_WINDOW})")
    p.add_argument("--own-bars", action="store_true",
                   help="execute on the strategy's own bars instead of the finest archived "
                        "bars covering the period (e.g. 1m under a 5m strategy)")
    add_common(p)
    p.set_defaults(func=_validate)


def _fmt(x, spec: str = ".2f") -> str:
    return "—" if x is None else format(x, spec)


def _validate(args: argparse.Namespace) -> int:
    from vibe_quant.services.validation import validate

    with progress_bars(args) as progress:
        out = validate(data_dir(args), args.sweep_id, top=args.top, only_passed=args.only_passed,
                       own_bars=getattr(args, "own_bars", False), latency=args.latency,
                       fee_tier=args.fee_tier, k=args.k, spread_ticks=args.spread_ticks,
                       window=args.window, progress=progress)
    rep, cfg = out.report, out.config
    if args.json:
        emit_json(rep.to_dict())
    else:
        print(f"sweep {rep.sweep_id}: validation run {rep.validation_run_id} "
              f"(latency {cfg.settings.latency}, VIP {cfg.settings.fee_tier}, "
              f"k {cfg.settings.impact.k:g}, spread {cfg.settings.impact.spread_ticks:g} tick, "
              f"window {cfg.settings.impact.window}) in {rep.seconds:.1f} s")
        print(f"execution: {rep.config.get('execution_interval')} bars — "
              f"{rep.config.get('note')}")
        print(f"{'combo':>5}  {'Sharpe scr→val':>17}  {'ΔS %':>7}  {'return scr→val':>17}  "
              f"{'ΔR %':>7}  {'maxDD scr→val':>15}  {'ΔDD %':>7}  flag  params")
        for c in rep.candidates:
            if c["status"] != "completed":
                print(f"{c['combo_idx']:>5}  FAILED: {c.get('error')}")
                continue
            flag = {True: "EXEC", False: "ok", None: "n/a"}[c["execution_sensitive"]]
            print(f"{c['combo_idx']:>5}  {_fmt(c['screening_sharpe']):>7} → "
                  f"{_fmt(c['validation_sharpe']):>7}  "
                  f"{_fmt(c['sharpe_degradation_pct'], '.1f'):>7}"
                  f"  {_fmt(c['screening_return'], '.2%'):>7} → "
                  f"{_fmt(c['validation_return'], '.2%'):>7}  "
                  f"{_fmt(c['return_degradation_pct'], '.1f'):>7}  "
                  f"{_fmt(c['screening_max_drawdown'], '.1%'):>6} → "
                  f"{_fmt(c['validation_max_drawdown'], '.1%'):>6}  "
                  f"{_fmt(c['drawdown_degradation_pct'], '.1f'):>7}  {flag:>4}  {c['params']}")
        print("impact sensitivity (validation Sharpe at 0.5k / 1k / 2k):")
        for c in rep.candidates:
            sens = c.get("impact_sensitivity") or []
            print(f"{c['combo_idx']:>5}  " + "  ".join(
                f"k={x['k']:g}: {_fmt(x['sharpe'])} ({_fmt(x['total_return'], '.2%')}, "
                f"slippage {_fmt(x['slippage_cost'], '.2f')} USDT)" for x in sens))
        if rep.execution_sensitive:
            print(f"execution_sensitive (lost > 50 % of screening Sharpe): "
                  f"{rep.execution_sensitive}")
    return 1 if rep.failed else 0
