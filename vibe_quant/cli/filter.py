"""``vibe-quant filter SWEEP_ID`` — deflated Sharpe, walk-forward, purged K-fold CV of the
selection, CPCV, PBO; each verdict shown with its false-positive rate and power at the sweep's
N, T and ρ (SPEC.md §7)."""

from __future__ import annotations

import argparse

from vibe_quant.cli.common import add_common, data_dir, emit_json, eprint, progress_bars


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("filter", help="overfitting filters over a finished sweep")
    p.add_argument("sweep_id", type=int)
    b = argparse.BooleanOptionalAction
    p.add_argument("--preset", choices=("default", "seed"), default="default",
                   help="threshold preset: default (calibrated, SPEC.md §7) or seed (the seed "
                        "design's); single thresholds below override it")
    p.add_argument("--dsr", action=b, default=True, help="deflated Sharpe ratio (default on)")
    p.add_argument("--dsr-threshold", type=float, default=None,
                   help="pass when DSR >= this (default preset: 0.94; seed: 0.95)")
    p.add_argument("--wfa", action=b, default=True, help="walk-forward analysis (default on)")
    p.add_argument("--wfa-in", type=int, default=9, help="in-sample months (default 9)")
    p.add_argument("--wfa-out", type=int, default=3, help="out-of-sample months (default 3)")
    p.add_argument("--wfa-step", type=int, default=1, help="step months (default 1)")
    p.add_argument("--wfa-anchored", action="store_true", help="anchored (expanding) windows")
    p.add_argument("--min-wfe", type=float, default=None,
                   help="pass when WFE >= this (default preset: 0; seed: 0.5)")
    p.add_argument("--min-profitable", type=float, default=None,
                   help="share of profitable OOS windows that must be exceeded (default preset: "
                        "0.85; seed: 0.5)")
    p.add_argument("--pkfold", action=b, default=True,
                   help="purged K-fold CV of the selection procedure (default on)")
    p.add_argument("--k", type=int, default=5, help="folds (default 5)")
    p.add_argument("--embargo", type=float, default=0.01,
                   help="embargo after each test fold, fraction of observations (default 0.01)")
    p.add_argument("--pkfold-horizon", type=int, default=0,
                   help="label horizon in days purged around each test fold (default 0)")
    p.add_argument("--pkfold-min-mean", type=float, default=None,
                   help="pass when the selections' mean test-fold Sharpe > this (default "
                        "preset: 1.95; seed: 0.5)")
    p.add_argument("--pkfold-max-std", type=float, default=None,
                   help="and their std < this; inf = off (default preset: off; seed: 1.0)")
    p.add_argument("--cpcv", action=b, default=True,
                   help="combinatorial purged CV paths of the selection (default on)")
    p.add_argument("--cpcv-groups", type=int, default=10, help="CPCV groups (default 10)")
    p.add_argument("--cpcv-test-groups", type=int, default=2,
                   help="CPCV test groups per split (default 2)")
    p.add_argument("--pbo", action=b, default=True, help="probability of backtest overfitting")
    p.add_argument("--pbo-blocks", type=int, default=16)
    p.add_argument("--pbo-threshold", type=float, default=None,
                   help="flag the sweep when PBO > this (default preset: 0.23; seed: 0.5)")
    p.add_argument("--candidates", default="pareto",
                   help="pareto (default), passed, all, or top:N by Sharpe")
    add_common(p)
    p.set_defaults(func=_filter)


def config_from_args(args: argparse.Namespace):
    """The filter config of a parsed ``filter`` command line."""
    from vibe_quant.services.filters import filter_config

    return filter_config(
        args.preset, dsr_threshold=args.dsr_threshold, wfa_min_wfe=args.min_wfe,
        wfa_min_profitable=args.min_profitable, pkfold_min_mean=args.pkfold_min_mean,
        pkfold_max_std=args.pkfold_max_std, pbo_threshold=args.pbo_threshold,
        dsr=args.dsr, wfa=args.wfa, wfa_in_months=args.wfa_in,
        wfa_out_months=args.wfa_out, wfa_step_months=args.wfa_step,
        wfa_anchored=args.wfa_anchored, pkfold=args.pkfold, pkfold_k=args.k,
        pkfold_embargo_pct=args.embargo, pkfold_horizon_days=args.pkfold_horizon,
        cpcv=args.cpcv, cpcv_groups=args.cpcv_groups, cpcv_test_groups=args.cpcv_test_groups,
        pbo=args.pbo, pbo_blocks=args.pbo_blocks, candidates=args.candidates)


def _r(x) -> str:
    """A number rounded for the summary (3 significant digits), or "—"."""
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    return f"{x:.3g}"


def _filter(args: argparse.Namespace) -> int:
    """Exit 0 when every enabled filter ran, 1 when one could not (it is reported, and the
    candidates it could not judge are rejected)."""
    from vibe_quant.services.filters import describe_power as describe
    from vibe_quant.services.filters import run_filters

    with progress_bars(args) as progress:
        out = run_filters(data_dir(args), args.sweep_id, config_from_args(args),
                          progress=progress)
    rep, problems = out.report, list(out.problems)
    if args.json:
        emit_json({"ok": not problems, "problems": problems, **rep.to_dict()})
        return 1 if problems else 0
    sl = rep.sweep_level
    cal = rep.calibration
    st = rep.sweep_stats
    rho = "n/a" if st.get("rho") is None else f"{st['rho']:.2f}"
    print(f"sweep {rep.sweep_id}: N = {st['n_trials']} combinations, T = {st['n_days']} days, "
          f"mean pairwise correlation rho = {rho}")

    def beside(name: str) -> str:
        return f"\n    {describe(cal.get(name))}" if cal.get(name) else ""

    if "pbo" in sl:
        pbo = sl["pbo"]
        flag = "FLAGGED (overfit)" if not pbo["passed"] else "ok"
        print(f"PBO = {pbo['value'] if pbo['value'] is None else round(pbo['value'], 3)} "
              f"[{flag}]" + (f" — not computed: {pbo['error']}" if pbo.get("error") else "")
              + beside("pbo"))
    if "wfa" in sl:
        w = sl["wfa"]
        if w.get("not_run"):
            print(f"walk-forward: NOT RUN [FAIL] — {w['reason']}")
        else:
            print(f"walk-forward: WFE {w.get('wfe')}, profitable windows "
                  f"{w.get('profitable_share')}, stitched OOS Sharpe {w.get('stitched_sharpe')} "
                  f"[{'pass' if w['passed'] else 'FAIL'}]" + beside("wfa"))
    if "pkfold" in sl:
        k = sl["pkfold"]
        if k.get("error"):
            print(f"purged K-fold CV of the selection: NOT RUN [FAIL] — {k['error']}")
        else:
            print(f"purged K-fold CV of the selection ({k['k']} folds): mean test-fold Sharpe "
                  f"{_r(k.get('mean'))} ± {_r(k.get('mean_sharpe_se'))} (one fold's SE "
                  f"{_r(k.get('fold_sharpe_se'))}), std {_r(k.get('std'))} "
                  f"[{'pass' if k['passed'] else 'FAIL'}]" + beside("pkfold"))
            for f in k.get("folds", []):
                print(f"    fold {f['fold']} {f['test_start']}→{f['test_end']}: chose "
                      f"#{f['selected_combo_idx']} {f['params']} (train Sharpe "
                      f"{_r(f['train_sharpe'])}) → test Sharpe {_r(f['test_sharpe'])} ± "
                      f"{_r(f['test_sharpe_se'])}, rank {f['test_rank']:g} of {k['n_strategies']}")
    if "cpcv" in sl:
        c = sl["cpcv"]
        if c.get("error"):
            print(f"CPCV: NOT RUN — {c['error']}")
        else:
            q = c.get("quantiles") or {}
            print(f"CPCV ({c['n_groups']} groups, {c['n_test_groups']} test, {c['n_paths']} "
                  f"paths): OOS Sharpe of the selection mean {_r(c.get('mean_sharpe'))}, "
                  f"5/50/95 % {_r(q.get('0.05'))}/{_r(q.get('0.5'))}/{_r(q.get('0.95'))}, "
                  f"{(c.get('share_below_zero') or 0) * 100:.0f} % of paths below 0 "
                  "(informational)")
    for c in rep.candidates:
        parts = [f"{k} {v['value'] if v['value'] is None else round(v['value'], 3)} "
                 f"{'ok' if v['passed'] else 'FAIL'}"
                 + (f" (own test folds: mean {_r(v.get('candidate_mean_test_sharpe'))})"
                    if k == "pkfold" else "") for k, v in c["filters"].items()]
        print(f"#{c['combo_idx']} {c['params']}: {'; '.join(parts)} → "
              f"{'PASSED' if c['passed_all'] else 'rejected'}")
    if "dsr" in cal:
        print(f"dsr: {describe(cal['dsr'])}")
    print(f"filter run {rep.filter_run_id}: {len(rep.passed)} of {len(rep.candidates)} "
          "candidates passed every enabled filter")
    for p in problems:
        eprint(f"error: {p}")
    return 1 if problems else 0
