"""``vibe-quant pipeline STRATEGY.yaml`` — the main job."""

from __future__ import annotations

import argparse
from pathlib import Path

from vibe_quant.cli.common import add_common, data_dir, emit_json, eprint


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
    p.add_argument("--max-combos", type=int, default=None)
    p.add_argument("--sample", choices=("grid", "random"), default="grid")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--latency", default="retail")
    p.add_argument("--fee-tier", type=int, default=0)
    p.add_argument("--candidates", default="pareto", help="pareto, passed, all, top:N")
    p.add_argument("--base-url", help="bulk site (env VIBE_QUANT_BINANCE_VISION_URL)")
    p.add_argument("--rest-url", help="futures REST API (env VIBE_QUANT_BINANCE_REST_URL)")
    p.add_argument("--no-rest", action="store_true", help="never call the REST API")
    p.add_argument("--report", help="write the HTML report here")
    add_common(p)
    p.set_defaults(func=_pipeline)


def _pipeline(args: argparse.Namespace) -> int:
    from vibe_quant.dsl import StrategyError
    from vibe_quant.pipeline.run import FILTERS, PipelineConfig, run_pipeline

    try:
        text = Path(args.strategy).read_text()
    except OSError as e:
        eprint(f"error: {e}")
        return 2
    filters = tuple(f.strip() for f in args.filters.split(",") if f.strip())
    bad = [f for f in filters if f not in FILTERS]
    if bad:
        eprint(f"error: unknown filter(s) {bad}; choose from {', '.join(FILTERS)}")
        return 2
    cfg = PipelineConfig(yaml_text=text, symbol=args.symbol.upper(), start=args.start,
                         end=args.end, workers=args.workers, top=args.top, filters=filters,
                         max_combos=args.max_combos, sample=args.sample, seed=args.seed,
                         latency=args.latency, fee_tier=args.fee_tier,
                         candidates=args.candidates, base_url=args.base_url,
                         rest_url=args.rest_url, use_rest=not args.no_rest, report=args.report)
    try:
        doc = run_pipeline(data_dir(args), cfg, progress=not args.json, log=eprint)
    except StrategyError as e:
        eprint(str(e))
        return 1
    except (RuntimeError, ValueError) as e:
        eprint(f"error: {e}")
        return 1
    if args.json:
        emit_json(doc)
        return 0
    sw = doc["sweep"]
    print(f"pipeline {doc['pipeline_id']}: {doc['strategy']} on {doc['symbol']} "
          f"{doc['start']} → {doc['end']}")
    print(f"  sweep {sw['sweep_id']}: {sw['completed']}/{sw['combos']} completed, "
          f"{sw['failed']} failed, Pareto front {sw['pareto']}")
    if doc["filters"]:
        f = doc["filters"]
        sl = ", ".join(f"{k} {v['value'] if v['value'] is None else round(v['value'], 3)} "
                       f"{'ok' if v['passed'] else 'FAIL'}" for k, v in f["sweep_level"].items())
        print(f"  filters ({', '.join(f['enabled'])}): {len(f['passed'])} of {f['candidates']} "
              f"candidates passed all" + (f"; {sl}" if sl else ""))
    if not doc["shortlist"]:
        print("  short list: empty — no candidate survived the filters")
    for s in doc["shortlist"]:
        print(f"  #{s['combo_idx']} {s['params']}: Sharpe screening "
              f"{s['screening_sharpe']:.2f} → validation {s['validation_sharpe']:.2f}, return "
              f"{s['validation_return']:.1%}, max DD {s['validation_max_drawdown']:.1%}"
              + (f" [{', '.join(s['flags'])}]" if s["flags"] else ""))
    if doc["report"]:
        print(f"  report: {doc['report']}")
    print(f"  stage seconds: {doc['stage_seconds']}")
    return 0
