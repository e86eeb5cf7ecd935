"""``vibe-quant pipeline``: data → screening sweep → overfitting filters → validation → report.

Each stage stores its results (sweeps, filter runs, validation runs) and the pipeline row
(:mod:`vibe_quant.store.pipeline_sql`) records the last finished stage, so re-running the same
command resumes: the data stage skips archived files, the sweep resumes by identity, and
finished filter/validation stages are reused.

Validation candidates: the survivors of the enabled filters (``passed_all``), best screening
Sharpe first, at most ``top``; with every filter switched off, the ``top`` combinations by
screening Sharpe. A pipeline whose filters reject everything validates nothing and says so —
an empty short list is a result.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vibe_quant.paths import DataDir

FILTERS = ("dsr", "wfa", "pkfold", "pbo")


@dataclass
class PipelineConfig:
    yaml_text: str
    symbol: str
    start: str
    end: str
    workers: int | None = None
    top: int = 5
    filters: tuple[str, ...] = FILTERS
    max_combos: int | None = None
    sample: str = "grid"
    seed: int = 0
    latency: str = "retail"
    fee_tier: int = 0
    candidates: str = "pareto"
    base_url: str | None = None
    rest_url: str | None = None
    use_rest: bool = True
    report: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> str:
        d = asdict(self)
        for k in ("workers", "report", "base_url", "rest_url", "use_rest"):
            d.pop(k)
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()


def _ensure_data(dd: DataDir, cfg: PipelineConfig, interval: str, warmup_bars: int,
                 progress: bool) -> dict[str, Any]:
    """Ingest (and catalogue) every month the run needs; files already archived are skipped."""
    from vibe_quant.backtest.run import to_ns
    from vibe_quant.data.ingest import ingest
    from vibe_quant.data.intervals import interval_ms, month_of_ms

    start_ms = to_ns(cfg.start) // 1_000_000 - warmup_bars * interval_ms(interval)
    end_ms = to_ns(cfg.end, end=True) // 1_000_000 - 1
    rep = ingest(dd, symbols=[cfg.symbol], intervals=[interval], start=month_of_ms(start_ms),
                 end=month_of_ms(end_ms), base_url=cfg.base_url, rest_url=cfg.rest_url,
                 use_rest=cfg.use_rest, progress=progress)
    return {"files_archived": rep.files_archived, "files_skipped": rep.files_skipped,
            "missing": rep.missing, "failed": rep.failed}


def run_pipeline(dd: DataDir, cfg: PipelineConfig, *, progress: bool = True,
                 log=lambda msg: None) -> dict[str, Any]:
    """Run (or resume) the pipeline; returns the summary document printed by ``--json``."""
    from vibe_quant.backtest.run import to_ns
    from vibe_quant.dsl import load_strategy, warmup_bars
    from vibe_quant.overfitting.filters import FilterConfig, run_filters
    from vibe_quant.screening.sweep import SweepSpec, run_sweep
    from vibe_quant.store import pipeline_sql as psql
    from vibe_quant.store import validation_sql as vsql
    from vibe_quant.store.state import StateStore
    from vibe_quant.validation.validate import ValidateConfig, settings_from, validate_sweep

    spec = load_strategy(cfg.yaml_text)
    interval = spec.timeframe
    ident = cfg.identity()
    start_ns, end_ns = to_ns(cfg.start), to_ns(cfg.end, end=True)
    dd.ensure()
    store = StateStore.open(dd)
    try:
        row = psql.get_or_create(store, identity=ident, strategy_name=spec.name,
                                 symbol=cfg.symbol, start_ns=start_ns, end_ns=end_ns,
                                 config=asdict(cfg))
        resumed = row["stage"] != "created"
        if resumed:
            log(f"resuming pipeline {row['id']} after stage '{row['stage']}'")

        # 1. data (always checked: cheap when everything is archived)
        t0 = time.perf_counter()
        data_info = _ensure_data(dd, cfg, interval, warmup_bars(spec), progress)
        if data_info["failed"]:
            raise RuntimeError(f"data ingest failed: {data_info['failed'][0]['error']}")
        psql.advance(store, ident, "data", time.perf_counter() - t0)

        # 2. screening sweep (resumes by identity)
        t0 = time.perf_counter()
        log("screening sweep …")
        sweep = run_sweep(store, SweepSpec(yaml_text=cfg.yaml_text, symbol=cfg.symbol,
                                           start_ns=start_ns, end_ns=end_ns, interval=interval,
                                           sample=cfg.sample, max_combos=cfg.max_combos,
                                           seed=cfg.seed),
                          data_dir=str(dd.root), workers=cfg.workers, progress=progress)
        psql.advance(store, ident, "sweep", time.perf_counter() - t0, sweep_id=sweep.sweep_id)
        row = psql.get(store, ident)

        # 3. overfitting filters (reused when already run for this pipeline)
        enabled = [f for f in cfg.filters if f in FILTERS]
        filt = None
        if enabled:
            fcfg = FilterConfig(dsr="dsr" in enabled, wfa="wfa" in enabled,
                                pkfold="pkfold" in enabled, pbo="pbo" in enabled,
                                candidates=cfg.candidates)
            t0 = time.perf_counter()
            if row["filter_run_id"] is None:
                log("overfitting filters …")
                filt = run_filters(store, sweep.sweep_id, data_dir=str(dd.root), config=fcfg,
                                   progress=progress).to_dict()
                psql.advance(store, ident, "filters", time.perf_counter() - t0,
                             filter_run_id=filt["filter_run_id"])
            else:
                filt = _stored_filter_report(store, row["filter_run_id"])
        verdicts = (store.filter_verdicts(filt["filter_run_id"]) if filt else None)

        # 4. validation of the survivors
        row = psql.get(store, ident)
        survivors = ([c for c, ok in verdicts.items() if ok] if verdicts is not None else None)
        val = None
        if row["validation_run_id"] is not None:
            val = {"validation_run_id": row["validation_run_id"],
                   "candidates": vsql.validation_results(store, row["validation_run_id"])}
        elif survivors is None or survivors:
            t0 = time.perf_counter()
            log("validation …")
            settings = settings_from(cfg.latency, cfg.fee_tier, 0.1, 1.0, 20)
            rep = validate_sweep(store, sweep.sweep_id, data_dir=str(dd.root),
                                 config=ValidateConfig(top=cfg.top,
                                                       only_passed=survivors is not None,
                                                       settings=settings),
                                 progress=progress)
            val = {"validation_run_id": rep.validation_run_id, "candidates": rep.candidates}
            psql.advance(store, ident, "validation", time.perf_counter() - t0,
                         validation_run_id=rep.validation_run_id)

        shortlist = _shortlist(store, sweep.sweep_id, filt, val)
        report_path = None
        t0 = time.perf_counter()
        if cfg.report:
            report_path = str(_write_report(store, cfg, spec.name, sweep.sweep_id, filt, val,
                                            shortlist))
        psql.advance(store, ident, "done", time.perf_counter() - t0, report_path=report_path)
        row = psql.get(store, ident)
        return {
            "pipeline_id": row["id"], "resumed": resumed, "strategy": spec.name,
            "symbol": cfg.symbol, "start": cfg.start, "end": cfg.end, "data": data_info,
            "sweep": {"sweep_id": sweep.sweep_id, "combos": sweep.combos,
                      "completed": sweep.completed, "failed": sweep.failed,
                      "pareto": len(sweep.pareto)},
            "filters": ({"filter_run_id": filt["filter_run_id"], "enabled": enabled,
                         "sweep_level": {k: {"value": v.get("value"), "passed": v.get("passed")}
                                         for k, v in filt["sweep_level"].items()},
                         "candidates": len(filt["candidates"]),
                         "passed": filt["passed"]} if filt else None),
            "validation_run_id": val["validation_run_id"] if val else None,
            "shortlist": shortlist, "report": report_path, "stage_seconds": row["stage_seconds"],
        }
    finally:
        store.close()


def _stored_filter_report(store: Any, filter_run_id: int) -> dict[str, Any]:
    """Rebuild the parts of a FilterReport the pipeline needs from stored rows."""
    rows = store.filter_results(filter_run_id)
    verdicts = store.filter_verdicts(filter_run_id)
    sweep_level = {r["filter"]: {"value": r["value"], "passed": r["passed"], **r["details"]}
                   for r in rows if r["combo_idx"] == -1}
    cands: dict[int, dict[str, Any]] = {}
    for r in rows:
        if r["combo_idx"] == -1:
            continue
        c = cands.setdefault(r["combo_idx"], {"combo_idx": r["combo_idx"], "filters": {},
                                              "passed_all": verdicts.get(r["combo_idx"])})
        c["filters"][r["filter"]] = {"value": r["value"], "passed": r["passed"]}
    return {"filter_run_id": filter_run_id, "sweep_level": sweep_level,
            "candidates": list(cands.values()), "passed": [c for c, v in verdicts.items() if v]}


def _shortlist(store: Any, sweep_id: int, filt: dict | None, val: dict | None
               ) -> list[dict[str, Any]]:
    if not val:
        return []
    rows = {r["combo_idx"]: r for r in store.sweep_results(sweep_id)}
    fby = {c["combo_idx"]: c for c in (filt or {}).get("candidates", [])}
    out = []
    for v in val["candidates"]:
        if v.get("status") != "completed":
            continue
        ci = v["combo_idx"]
        flags = ["execution_sensitive"] if v.get("execution_sensitive") else []
        out.append({
            "combo_idx": ci, "params": rows[ci]["params"],
            "screening_sharpe": v.get("screening_sharpe"),
            "validation_sharpe": v.get("validation_sharpe"),
            "sharpe_degradation_pct": v.get("sharpe_degradation_pct"),
            "screening_return": v.get("screening_return"),
            "validation_return": v.get("validation_return"),
            "validation_max_drawdown": v.get("validation_max_drawdown"),
            "validation_trades": v.get("validation_trades"),
            "filters": {k: {"value": f.get("value"), "passed": f.get("passed")}
                        for k, f in fby.get(ci, {}).get("filters", {}).items()},
            "passed_all": fby.get(ci, {}).get("passed_all"),
            "run_id": v.get("run_id"), "flags": flags,
        })
    return out


def _write_report(store: Any, cfg: PipelineConfig, name: str, sweep_id: int,
                  filt: dict | None, val: dict | None, shortlist: list[dict]) -> Path:
    import pandas as pd

    from vibe_quant.pipeline.report import write_pipeline_report

    validations = []
    for v in (val or {}).get("candidates", []):
        if v.get("status") != "completed" or v.get("run_id") is None:
            continue
        eq = store.equity(v["run_id"])
        s = pd.Series([e for _, e in eq], index=pd.to_datetime([d for d, _ in eq], utc=True))
        validations.append({"combo_idx": v["combo_idx"], "params": v.get("params"),
                            "consistency": v, "equity": s})
    notes = [f"Strategy {name} on {cfg.symbol}, {cfg.start} → {cfg.end}; filters "
             f"{', '.join(cfg.filters) or 'none'}; validation latency {cfg.latency}, "
             f"VIP {cfg.fee_tier}. Sharpe ratios are annualised from daily marked-to-market "
             "returns with 365 periods per year."]
    return write_pipeline_report(cfg.report, title=f"vibe-quant pipeline — {name}",
                                 sweep_rows=store.sweep_results(sweep_id), filters=filt,
                                 validations=validations, shortlist=shortlist, notes=notes)
