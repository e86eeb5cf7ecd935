"""``vibe-quant filter SWEEP_ID`` — deflated Sharpe, walk-forward, purged K-fold, PBO."""

from __future__ import annotations

import argparse

from vibe_quant.cli.common import add_common, data_dir, emit_json, eprint


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("filter", help="overfitting filters over a finished sweep")
    p.add_argument("sweep_id", type=int)
    b = argparse.BooleanOptionalAction
    p.add_argument("--dsr", action=b, default=True, help="deflated Sharpe ratio (default on)")
    p.add_argument("--dsr-threshold", type=float, default=0.95)
    p.add_argument("--wfa", action=b, default=True, help="walk-forward analysis (default on)")
    p.add_argument("--wfa-in", type=int, default=9, help="in-sample months (default 9)")
    p.add_argument("--wfa-out", type=int, default=3, help="out-of-sample months (default 3)")
    p.add_argument("--wfa-step", type=int, default=1, help="step months (default 1)")
    p.add_argument("--wfa-anchored", action="store_true", help="anchored (expanding) windows")
    p.add_argument("--min-wfe", type=float, default=0.5)
    p.add_argument("--min-profitable", type=float, default=0.5,
                   help="share of profitable OOS windows that must be exceeded (default 0.5)")
    p.add_argument("--pkfold", action=b, default=True, help="purged K-fold CV (default on)")
    p.add_argument("--k", type=int, default=5, help="folds (default 5)")
    p.add_argument("--embargo", type=float, default=0.01,
                   help="embargo after each test fold, fraction of observations (default 0.01)")
    p.add_argument("--pkfold-min-mean", type=float, default=0.5)
    p.add_argument("--pkfold-max-std", type=float, default=1.0)
    p.add_argument("--pbo", action=b, default=True, help="probability of backtest overfitting")
    p.add_argument("--pbo-blocks", type=int, default=16)
    p.add_argument("--pbo-threshold", type=float, default=0.5)
    p.add_argument("--candidates", default="pareto",
                   help="pareto (default), passed, all, or top:N by Sharpe")
    add_common(p)
    p.set_defaults(func=_filter)


def config_from_args(args: argparse.Namespace):
    from vibe_quant.overfitting.filters import FilterConfig

    return FilterConfig(
        dsr=args.dsr, dsr_threshold=args.dsr_threshold, wfa=args.wfa, wfa_in_months=args.wfa_in,
        wfa_out_months=args.wfa_out, wfa_step_months=args.wfa_step,
        wfa_anchored=args.wfa_anchored, wfa_min_wfe=args.min_wfe,
        wfa_min_profitable=args.min_profitable, pkfold=args.pkfold, pkfold_k=args.k,
        pkfold_embargo_pct=args.embargo, pkfold_min_mean=args.pkfold_min_mean,
        pkfold_max_std=args.pkfold_max_std, pbo=args.pbo, pbo_blocks=args.pbo_blocks,
        pbo_threshold=args.pbo_threshold, candidates=args.candidates)


def _filter(args: argparse.Namespace) -> int:
    from vibe_quant.overfitting.filters import run_filters
    from vibe_quant.store.state import StateStore

    dd = data_dir(args)
    with StateStore.open(dd) as store:
        try:
            rep = run_filters(store, args.sweep_id, data_dir=str(dd.root),
                              config=config_from_args(args), progress=not args.json)
        except (LookupError, ValueError) as e:
            eprint(f"error: {e}")
            return 1
    if args.json:
        emit_json(rep.to_dict())
        return 0
    sl = rep.sweep_level
    if "pbo" in sl:
        pbo = sl["pbo"]
        flag = "FLAGGED (overfit)" if not pbo["passed"] else "ok"
        print(f"PBO = {pbo['value'] if pbo['value'] is None else round(pbo['value'], 3)} "
              f"[{flag}]")
    if "wfa" in sl:
        w = sl["wfa"]
        print(f"walk-forward: WFE {w.get('wfe')}, profitable windows "
              f"{w.get('profitable_share')}, stitched OOS Sharpe {w.get('stitched_sharpe')} "
              f"[{'pass' if w['passed'] else 'FAIL'}]")
    for c in rep.candidates:
        parts = [f"{k} {v['value'] if v['value'] is None else round(v['value'], 3)} "
                 f"{'ok' if v['passed'] else 'FAIL'}" for k, v in c["filters"].items()]
        print(f"#{c['combo_idx']} {c['params']}: {'; '.join(parts)} → "
              f"{'PASSED' if c['passed_all'] else 'rejected'}")
    print(f"filter run {rep.filter_run_id}: {len(rep.passed)} of {len(rep.candidates)} "
          "candidates passed every enabled filter")
    return 0
