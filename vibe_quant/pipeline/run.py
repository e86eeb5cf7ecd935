"""``vibe-quant pipeline``: data → screening sweep → overfitting filters → validation → report.

Each stage stores its results (sweeps, filter runs, validation runs) and the pipeline row
(:mod:`vibe_quant.store.pipeline_sql`) records the last finished stage, so re-running the same
command resumes: the data stage skips archived files, the sweep resumes by identity, and
finished filter/validation stages are reused.

Validation candidates: the survivors of the enabled filters (``passed_all``), best screening
Sharpe first, at most ``top``; with every filter switched off, the ``top`` combinations by
screening Sharpe. A pipeline whose filters reject everything validates nothing and says so —
an empty short list is a result, and the report then shows the best screening candidates'
equity and drawdown labelled as rejected, with the filters that rejected each.

The short list and the report are always built from the stored stages (filter results,
validation results), so a resumed run prints the same short list and writes the same report as
the run that computed them.

``ok`` in the summary is true only when everything requested happened: every combination of
the sweep completed, every enabled filter could run (walk-forward needs a period of at least
in-sample + out-of-sample), every validation run completed and the report, when asked for, was
written. ``problems`` lists what did not happen, ``warnings`` what the user should know (e.g.
the pre-sweep warning that walk-forward cannot form a window).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from vibe_quant.core.config import FrozenConfig
from vibe_quant.core.errors import ConfigError, DataError
from vibe_quant.core.jsonpolicy import jsonable
from vibe_quant.core.paths import DataDir
from vibe_quant.core.progress import ProgressCallback, emit
from vibe_quant.store.state import StateStore

FILTERS = ("dsr", "wfa", "pkfold", "pbo")
WFA_IN_MONTHS = 9
WFA_OUT_MONTHS = 3
STAGES = ("data", "sweep", "filters", "validation", "done")
"""The pipeline's stages in order (``ProgressEvent("pipeline", i, 5, stage)`` after each)."""


class PipelineConfigError(ConfigError, ValueError):
    """A pipeline setting is invalid (e.g. ``end`` not after ``start``); also a ValueError."""


class DataStageError(DataError, RuntimeError):
    """The data stage could not download a file the run needs; also a RuntimeError."""


class PipelineConfig(FrozenConfig):
    """One pipeline run (frozen). Its :attr:`identity` finds the stored pipeline row again, so
    re-running the same command resumes it; ``workers``, ``report``, ``base_url``,
    ``rest_url`` and ``use_rest`` do not change results and are left out of the identity.

    Attributes:
        yaml_text: the strategy YAML. symbol: e.g. ``"BTCUSDT"``.
        start, end: the period as ISO dates/datetimes (UTC; a date-only ``end`` includes the
            day).
        workers: sweep processes (default the CPU count).
        top: validation candidates at most. filters: enabled filters (subset of
            :data:`FILTERS`). candidates: which combinations the filters consider.
        max_combos, sample, seed: which grid points the sweep runs.
        latency, fee_tier: validation execution settings (preset name, Binance VIP tier).
        base_url, rest_url, use_rest: where the data stage downloads from.
        report: HTML report path, or None for none.
        extra: free-form settings kept with the run.
        wfa_in_months, wfa_out_months: walk-forward in-sample / out-of-sample months.
        filter_preset: filter threshold preset name.
    """

    identity_exclude: ClassVar[frozenset[str]] = frozenset(
        {"workers", "report", "base_url", "rest_url", "use_rest"})

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
    extra: dict[str, Any] = {}
    wfa_in_months: int = WFA_IN_MONTHS
    wfa_out_months: int = WFA_OUT_MONTHS
    filter_preset: str = "default"


def _ensure_data(dd: DataDir, cfg: PipelineConfig, interval: str, warmup_bars: int,
                 progress: ProgressCallback | None) -> dict[str, Any]:
    """Ingest (and catalogue) every month the run needs; files already archived are skipped."""
    from vibe_quant.backtest.run import to_ns
    from vibe_quant.core.intervals import interval_ms, month_of_ms
    from vibe_quant.data.ingest import ingest

    start_ms = to_ns(cfg.start) // 1_000_000 - warmup_bars * interval_ms(interval)
    end_ms = to_ns(cfg.end, end=True) // 1_000_000 - 1
    rep = ingest(dd, symbols=[cfg.symbol], intervals=[interval], start=month_of_ms(start_ms),
                 end=month_of_ms(end_ms), base_url=cfg.base_url, rest_url=cfg.rest_url,
                 use_rest=cfg.use_rest, progress=progress)
    return {"files_archived": rep.files_archived, "files_skipped": rep.files_skipped,
            "missing": rep.missing, "failed": rep.failed}


def wfa_precheck(cfg: PipelineConfig) -> str | None:
    """The reason walk-forward cannot form a window over the pipeline period, or None."""
    import pandas as pd

    from vibe_quant.backtest.run import to_ns
    from vibe_quant.research.overfitting.walk_forward import generate_windows, no_window_reason

    if "wfa" not in cfg.filters:
        return None
    start = pd.Timestamp(to_ns(cfg.start), unit="ns", tz="UTC")
    end = pd.Timestamp(to_ns(cfg.end, end=True), unit="ns", tz="UTC")
    if generate_windows(start, end, in_sample=pd.DateOffset(months=cfg.wfa_in_months),
                        out_of_sample=pd.DateOffset(months=cfg.wfa_out_months)):
        return None
    why = no_window_reason(start, end, cfg.wfa_in_months, cfg.wfa_out_months)
    return (f"{why['reason']}; until then the walk-forward filter rejects every candidate "
            "(--filters dsr,pkfold,pbo leaves it out)")


def run_pipeline(dd: DataDir, cfg: PipelineConfig, *,
                 progress: ProgressCallback | None = None,
                 log: Callable[[str], None] = lambda msg: None) -> dict[str, Any]:
    """Run (or resume) the pipeline; returns the summary document printed by ``--json``.

    ``progress`` receives the events of every stage (``"ingest"``, ``"sweep"``, ``"filters"``,
    ``"walk-forward"``, ``"validation"``) and ``ProgressEvent("pipeline", i, 5, stage)`` after
    each of :data:`STAGES`; ``log`` gets one line per stage start and per warning.

    Raises:
        MissingDataError: the catalog holds no bars for the period after the data stage.
        SweepStartupError: the sweep's workers could not start.
        DataStageError: (a RuntimeError) the data stage failed to download a file.
        PipelineConfigError: (a ValueError) ``end`` is not after ``start``.
        StrategyError: invalid strategy YAML.
    """
    from vibe_quant.backtest.models.params import (
        DEFAULT_K,
        DEFAULT_SPREAD_TICKS,
        DEFAULT_WINDOW,
    )
    from vibe_quant.backtest.run import to_ns
    from vibe_quant.data.coverage import MissingDataError, require_bars
    from vibe_quant.dsl import load_strategy, warmup_bars
    from vibe_quant.research.filters import FilterConfig, run_filters
    from vibe_quant.research.screening.sweep import SweepSpec, run_sweep
    from vibe_quant.research.validation.validate import (
        ValidateConfig,
        settings_from,
        validate_sweep,
    )
    from vibe_quant.store import pipeline_sql as psql
    from vibe_quant.store import validation_sql as vsql

    spec = load_strategy(cfg.yaml_text)
    interval = spec.timeframe
    ident = cfg.identity
    start_ns, end_ns = to_ns(cfg.start), to_ns(cfg.end, end=True)
    if end_ns <= start_ns:
        raise PipelineConfigError(f"--end {cfg.end} must be after --start {cfg.start}",
                                  start=cfg.start, end=cfg.end)
    warnings: list[str] = []
    problems: list[str] = []
    dd.ensure()
    store = StateStore.open(dd)
    try:
        row = psql.get_or_create(store, identity=ident, strategy_name=spec.name,
                                 symbol=cfg.symbol, start_ns=start_ns, end_ns=end_ns,
                                 config=cfg.to_dict())
        resumed = row["stage"] != "created"
        if resumed:
            log(f"resuming pipeline {row['id']} after stage '{row['stage']}'")

        # 1. data (always checked: cheap when everything is archived)
        t0 = time.perf_counter()
        data_info = _ensure_data(dd, cfg, interval, warmup_bars(spec), progress)
        if data_info["failed"]:
            raise DataStageError(f"data ingest failed for {cfg.symbol} {interval}: "
                                 f"{data_info['failed'][0]['error']}", symbol=cfg.symbol,
                                 interval=interval)
        try:
            require_bars(dd, cfg.symbol, interval, start_ns, end_ns)
        except MissingDataError as e:
            gone = ", ".join(map(str, data_info["missing"]))
            miss = (f"; the data stage found no file for {gone}"
                    if data_info["missing"] else "")
            raise MissingDataError(f"{e}{miss}") from None
        psql.advance(store, ident, "data", time.perf_counter() - t0)
        emit(progress, "pipeline", 1, len(STAGES), "data")

        # warn before the sweep when walk-forward cannot form a single window
        why = wfa_precheck(cfg)
        if why:
            warnings.append(why)
            log(f"warning: {why}")

        # 2. screening sweep (resumes by identity)
        t0 = time.perf_counter()
        log("screening sweep …")
        sweep = run_sweep(store, SweepSpec(yaml_text=cfg.yaml_text, symbol=cfg.symbol,
                                           start_ns=start_ns, end_ns=end_ns, interval=interval,
                                           sample=cfg.sample, max_combos=cfg.max_combos,
                                           seed=cfg.seed),
                          data_dir=str(dd.root), workers=cfg.workers, progress=progress)
        psql.advance(store, ident, "sweep", time.perf_counter() - t0, sweep_id=sweep.sweep_id)
        emit(progress, "pipeline", 2, len(STAGES), "sweep")
        row = psql.get(store, ident)
        if sweep.failed:
            first = next((r.get("error") or "" for r in store.sweep_results(sweep.sweep_id)
                          if r["status"] == "failed"), "")
            problems.append(f"sweep {sweep.sweep_id}: {sweep.failed} of {sweep.combos} "
                            f"combinations failed; first error: "
                            f"{(first.splitlines() or ['unknown'])[0]}")

        # 3. overfitting filters (reused when already run for this pipeline)
        enabled = [f for f in cfg.filters if f in FILTERS]
        filt = None
        if enabled:
            fcfg = FilterConfig.preset(cfg.filter_preset, dsr="dsr" in enabled,
                                wfa="wfa" in enabled,
                                pkfold="pkfold" in enabled, pbo="pbo" in enabled,
                                cpcv="pkfold" in enabled,
                                wfa_in_months=cfg.wfa_in_months,
                                wfa_out_months=cfg.wfa_out_months, candidates=cfg.candidates)
            t0 = time.perf_counter()
            filter_run_id = row["filter_run_id"]
            if filter_run_id is None:
                log("overfitting filters …")
                filter_run_id = run_filters(store, sweep.sweep_id, data_dir=str(dd.root),
                                            config=fcfg, progress=progress).filter_run_id
                psql.advance(store, ident, "filters", time.perf_counter() - t0,
                             filter_run_id=filter_run_id)
            filt = stored_filter_report(store, filter_run_id, sweep.sweep_id)
            for name, v in filt["sweep_level"].items():
                if v.get("value") is None and (v.get("reason") or v.get("error")):
                    problems.append(f"{name}: {v.get('reason') or v.get('error')}")
        verdicts = (store.filter_verdicts(filt["filter_run_id"]) if filt else None)
        emit(progress, "pipeline", 3, len(STAGES), "filters")

        # 4. validation of the survivors
        row = psql.get(store, ident)
        survivors = ([c for c, ok in verdicts.items() if ok] if verdicts is not None else None)
        val = None
        validation_run_id = row["validation_run_id"]
        if validation_run_id is None and (survivors is None or survivors):
            t0 = time.perf_counter()
            log("validation …")
            settings = settings_from(cfg.latency, cfg.fee_tier, DEFAULT_K, DEFAULT_SPREAD_TICKS,
                                     DEFAULT_WINDOW)
            rep = validate_sweep(store, sweep.sweep_id, data_dir=str(dd.root),
                                 config=ValidateConfig(top=cfg.top,
                                                       only_passed=survivors is not None,
                                                       settings=settings),
                                 progress=progress)
            validation_run_id = rep.validation_run_id
            psql.advance(store, ident, "validation", time.perf_counter() - t0,
                         validation_run_id=validation_run_id)
        if validation_run_id is not None:
            val = {"validation_run_id": validation_run_id,
                   "candidates": vsql.validation_results(store, validation_run_id)}
            for v in val["candidates"]:
                if v.get("status") != "completed":
                    problems.append(f"validation of #{v['combo_idx']} failed: "
                                    f"{((v.get('error') or '').splitlines() or ['?'])[0]}")

        emit(progress, "pipeline", 4, len(STAGES), "validation")

        shortlist = _shortlist(store, sweep.sweep_id, filt, val)
        rejected = (rejected_candidates(store, sweep.sweep_id, filt, cfg.top)
                    if filt and not shortlist else [])
        report_path = None
        t0 = time.perf_counter()
        if cfg.report:
            report_path = str(_write_report(store, cfg, spec.name, sweep.sweep_id, filt, val,
                                            shortlist, rejected,
                                            problems + [w for w in warnings
                                                        if w.split(";")[0] not in
                                                        " ".join(problems)]))
        psql.advance(store, ident, "done", time.perf_counter() - t0, report_path=report_path)
        emit(progress, "pipeline", 5, len(STAGES), "done")
        row = psql.get(store, ident)
        return {
            "ok": not problems, "problems": problems, "warnings": warnings,
            "pipeline_id": row["id"], "resumed": resumed, "strategy": spec.name,
            "symbol": cfg.symbol, "start": cfg.start, "end": cfg.end, "data": data_info,
            "sweep": {"sweep_id": sweep.sweep_id, "combos": sweep.combos,
                      "completed": sweep.completed, "failed": sweep.failed,
                      "pareto": len(sweep.pareto)},
            "filters": ({"filter_run_id": filt["filter_run_id"], "enabled": enabled,
                         "sweep_level": {k: {"value": v.get("value"), "passed": v.get("passed"),
                                             **({"reason": v["reason"]} if v.get("reason")
                                                else {})}
                                         for k, v in filt["sweep_level"].items()},
                         "candidates": len(filt["candidates"]),
                         "passed": filt["passed"]} if filt else None),
            "validation_run_id": val["validation_run_id"] if val else None,
            "shortlist": shortlist,
            "rejected": [{k: v for k, v in r.items() if k != "equity"} for r in rejected],
            "report": report_path, "stage_seconds": row["stage_seconds"],
        }
    finally:
        store.close()


def _sharpe_key(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return -math.inf
    return -math.inf if math.isnan(f) else f


def stored_filter_report(store: StateStore, filter_run_id: int, sweep_id: int
                         ) -> dict[str, Any]:
    """A filter run rebuilt from its stored rows, shaped like ``FilterReport.to_dict()``.

    Candidates carry ``combo_idx``, ``params`` and ``sharpe`` (from the sweep row), per filter
    ``value``/``passed`` and the detail keys the report uses, and ``passed_all``; they come in
    the order ``run_filters`` selected them (screening Sharpe descending, ties by index), and
    ``passed`` lists the survivors in that order. Sweep-level filters are
    ``{"value", "passed", **details}``.
    """
    rows = store.filter_results(filter_run_id)
    verdicts = store.filter_verdicts(filter_run_id)
    sweep_rows = {r["combo_idx"]: r for r in store.sweep_results(sweep_id)}
    sweep_level = {r["filter"]: {"value": r["value"], "passed": r["passed"], **r["details"]}
                   for r in rows if r["combo_idx"] == -1}
    extra = {"dsr": ("psr", "sr0", "min_trl", "calibration"),
             "pkfold": ("std", "fold_sharpes", "candidate_mean_test_sharpe", "fold_sharpe_se",
                        "calibration")}
    cands: dict[int, dict[str, Any]] = {}
    for ci in verdicts:
        sr = sweep_rows[ci]
        cands[ci] = {"combo_idx": ci, "params": sr["params"],
                     "sharpe": jsonable(sr["metrics"].get("sharpe")), "filters": {},
                     "passed_all": verdicts[ci]}
    for r in rows:
        if r["combo_idx"] == -1 or r["combo_idx"] not in cands:
            continue
        cands[r["combo_idx"]]["filters"][r["filter"]] = {
            "value": r["value"], "passed": r["passed"],
            **{k: r["details"].get(k) for k in extra.get(r["filter"], ())}}
    order = sorted(cands.values(),
                   key=lambda c: (-_sharpe_key(sweep_rows[c["combo_idx"]]["metrics"]
                                               .get("sharpe")), c["combo_idx"]))
    return {"sweep_id": sweep_id, "filter_run_id": filter_run_id, "sweep_level": sweep_level,
            "candidates": order, "passed": [c["combo_idx"] for c in order if c["passed_all"]]}


def rejection_reasons(cand: dict[str, Any], sweep_level: dict[str, Any]) -> list[str]:
    """Why a candidate failed ``passed_all``: one short phrase per failed filter."""
    out = []
    for name, v in sweep_level.items():
        if not v.get("passed"):
            if v.get("not_run"):
                out.append(f"{name} (not run: period shorter than one window)")
            elif v.get("value") is None and v.get("no_value_reason"):
                out.append(f"{name} ({v['no_value_reason']})")
            elif name == "pbo" and v.get("value") is not None:
                out.append(f"pbo (PBO {v['value']:.2f} > threshold: sweep flagged as overfit)")
            else:
                out.append(f"{name} ({_fmt_value(v.get('value'))})")
    for name, f in cand.get("filters", {}).items():
        # a candidate's pkfold row repeats the sweep-level selection verdict: say it once
        if not f.get("passed") and sweep_level.get(name, {}).get("passed", True):
            out.append(f"{name} ({_fmt_value(f.get('value'))})")
    return out


def _fmt_value(v: Any) -> str:
    return "no value" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))


def rejected_candidates(store: StateStore, sweep_id: int, filt: dict[str, Any], top: int
                        ) -> list[dict[str, Any]]:
    """The best ``top`` filter candidates by screening Sharpe that were rejected, each with
    ``rejected_by`` (:func:`rejection_reasons`) and its screening ``equity`` (daily USDT,
    rebuilt from the stored daily returns from the sweep's starting balance)."""
    import numpy as np
    import pandas as pd

    sweep = store.sweep(sweep_id)
    rows = {r["combo_idx"]: r for r in store.sweep_results(sweep_id, with_returns=True)}
    out = []
    for c in filt["candidates"]:
        if c["passed_all"]:
            continue
        r = rows[c["combo_idx"]]
        eq = None
        if r.get("daily_returns") and r.get("daily_start"):
            vals = sweep["starting_balance"] * np.cumprod(
                np.concatenate([[1.0], 1.0 + np.asarray(r["daily_returns"], dtype=float)]))
            idx = pd.date_range(pd.Timestamp(r["daily_start"], tz="UTC") - pd.Timedelta(days=1),
                                periods=len(vals), freq="D")
            eq = pd.Series(vals, index=idx)
        out.append({"combo_idx": c["combo_idx"], "params": c["params"],
                    "screening_sharpe": c.get("sharpe"),
                    "screening_return": jsonable(r["metrics"].get("total_return")),
                    "screening_max_drawdown": jsonable(r["metrics"].get("max_drawdown")),
                    "rejected_by": rejection_reasons(c, filt["sweep_level"]), "equity": eq})
        if len(out) >= top:
            break
    return out


def _shortlist(store: StateStore, sweep_id: int, filt: dict | None, val: dict | None
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


def _write_report(store: StateStore, cfg: PipelineConfig, name: str, sweep_id: int,
                  filt: dict | None, val: dict | None, shortlist: list[dict],
                  rejected: list[dict], problems: list[str]) -> Path:
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
                                 validations=validations, shortlist=shortlist, notes=notes,
                                 rejected=rejected, problems=problems)
