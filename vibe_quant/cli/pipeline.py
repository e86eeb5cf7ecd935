"""``vibe-quant pipeline STRATEGY.yaml`` — the main job."""

from __future__ import annotations

import argparse

from vibe_quant.cli import common
from vibe_quant.cli.common import add_common, data_dir, emit_json, eprint, progress_bars


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pipeline", help="ingest → sweep → filters → validation → short list")
    p.add_argument("strategy")
    p.add_argument("--symbol", default="BTCUSDT")
    p.add_argument("--start", required=True, help="UTC date (exclusive bar close)")
    p.add_argument("--end", required=True, help="UTC date (inclusive day)")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--top", type=int, default=5, help="validate at most N survivors")
    p.add_argument("--filters", default="dsr,wfa,pkfold,pbo",
                   help="comma-separated subset of dsr,wfa,pkfold,pbo ('' = none)")
    p.add_argument("--filter-preset", choices=("default", "seed"), default="default",
                   help="filter thresholds: default (calibrated) or seed (SPEC.md §7)")
    p.add_argument("--max-combos", type=int, default=None)
    p.add_argument("--sample", choices=("grid", "random"), default="grid")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--latency", default="retail")
    p.add_argument("--fee-tier", type=int, default=0)
    p.add_argument("--candidates", default="pareto", help="pareto, passed, all, top:N")
    p.add_argument("--wfa-in", type=int, default=9, help="walk-forward in-sample months (9)")
    p.add_argument("--wfa-out", type=int, default=3,
                   help="walk-forward out-of-sample months (3)")
    p.add_argument("--base-url", help="bulk site (env VIBE_QUANT_BINANCE_VISION_URL)")
    p.add_argument("--rest-url", help="futures REST API (env VIBE_QUANT_BINANCE_REST_URL)")
    p.add_argument("--no-rest", action="store_true", help="never call the REST API")
    p.add_argument("--report", help="write the HTML report here")
    p.add_argument("--paper", action="store_true",
                   help="promote the best validated survivor to paper trading (SPEC.md §17)")
    p.add_argument("--paper-exchange", default="testnet",
                   help="venue of the paper run: 'testnet' or a REST base URL")
    p.add_argument("--paper-key-file", default=None, help="API key file (mode 0600)")
    add_common(p)
    p.set_defaults(func=_pipeline)


def _pipeline(args: argparse.Namespace) -> int:
    """Exit 0 when everything requested happened (``ok``), 1 otherwise — the summary, short
    list and report are still printed/written and ``problems`` says what did not happen. User
    errors (missing data, workers that cannot start, bad input) reach ``vibe_quant.cli.main``
    and print one line."""
    from vibe_quant.services.pipeline import PaperPromotion, run_pipeline

    filters = tuple(f.strip() for f in args.filters.split(",") if f.strip())
    common.parse_window(args.start, args.end)  # a bad window fails before any stage
    paper = (PaperPromotion(exchange=args.paper_exchange, key_file=args.paper_key_file)
             if args.paper else None)
    with progress_bars(args) as progress:
        out = run_pipeline(
            data_dir(args), args.strategy, symbol=args.symbol, start=args.start, end=args.end,
            workers=args.workers, top=args.top, filters=filters,
            filter_preset=args.filter_preset, max_combos=args.max_combos, sample=args.sample,
            seed=args.seed, latency=args.latency, fee_tier=args.fee_tier,
            candidates=args.candidates, wfa_in_months=args.wfa_in,
            wfa_out_months=args.wfa_out, base_url=args.base_url, rest_url=args.rest_url,
            use_rest=not args.no_rest, report=args.report, paper=paper, progress=progress,
            log=eprint)
    doc = out.summary
    code = 0 if out.ok else 1
    if args.json:
        emit_json(doc)
        return code
    sw = doc["sweep"]
    print(f"pipeline {doc['pipeline_id']}: {doc['strategy']} on {doc['symbol']} "
          f"{doc['start']} → {doc['end']}")
    print(f"  sweep {sw['sweep_id']}: {sw['completed']}/{sw['combos']} completed, "
          f"{sw['failed']} failed, Pareto front {sw['pareto']}")
    if doc["filters"]:
        f = doc["filters"]
        sl = ", ".join(f"{k} {'not run' if v.get('reason') else _r(v['value'])} "
                       f"{_verdict(k, v)}" for k, v in f["sweep_level"].items())
        print(f"  filters ({', '.join(f['enabled'])}): {len(f['passed'])} of {f['candidates']} "
              f"candidates passed all" + (f"; {sl}" if sl else ""))
    if not doc["shortlist"]:
        print("  short list: empty — no candidate survived the filters")
        for r in doc["rejected"]:
            print(f"    rejected #{r['combo_idx']} {r['params']} (screening Sharpe "
                  f"{_r(r['screening_sharpe'])}): {'; '.join(r['rejected_by'])}")
    for s in doc["shortlist"]:
        print(f"  #{s['combo_idx']} {s['params']}: Sharpe screening "
              f"{s['screening_sharpe']:.2f} → validation {s['validation_sharpe']:.2f}, return "
              f"{s['validation_return']:.1%}, max DD {s['validation_max_drawdown']:.1%}"
              + (f" [{', '.join(s['flags'])}]" if s["flags"] else ""))
    if doc["report"]:
        print(f"  report: {doc['report']}")
    if doc.get("paper"):
        print(f"  paper run {doc['paper']['id']} started with #{doc['paper']['combo_idx']} "
              f"on {doc['paper']['exchange']}: vibe-quant paper status {doc['paper']['id']}")
    print(f"  stage seconds: {doc['stage_seconds']}")
    for p in doc["problems"]:
        eprint(f"error: {p}")
    return code


def _verdict(name: str, v: dict) -> str:
    """``ok``/``FAIL`` of a sweep-level filter; CPCV is informational (no verdict)."""
    if name == "cpcv" or (v.get("details") or {}).get("verdict") is False:
        return "(informational)"
    return "ok" if v["passed"] else "FAIL"


def _r(v) -> str:
    return "—" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))
