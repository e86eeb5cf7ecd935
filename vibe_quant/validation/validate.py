"""``validate_sweep``: re-run the top candidates of a screening sweep with realistic execution.

For each candidate (a completed combination of the sweep) the strategy is rebuilt exactly as
the sweep's workers built it (:func:`vibe_quant.screening.worker.build_strategy`, via the
filters' runner: YAML compiled by the DSL compiler, or ``strategy_ref``), the market data is
loaded once, and the combination is run again over the sweep's window with
``mode="validation"`` — the same ``run_backtest`` code path, with the ``validation`` preset
(:mod:`.presets`: square-root fill model, latency preset, VIP-tier fees; funding and
liquidation unchanged). The full run is stored (``backtest_runs`` + results, trades, equity),
then a consistency row (:mod:`.consistency`) comparing it with the sweep's screening metrics.

Candidates: completed rows sorted by screening Sharpe (descending; non-finite last), the first
``top``; with ``only_passed`` only those whose verdict in the sweep's latest filter run
(``vibe-quant filter``) is ``passed_all``.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm import tqdm

from vibe_quant.store import validation_sql as vsql
from vibe_quant.store.state import StateStore
from vibe_quant.validation.consistency import consistency
from vibe_quant.validation.fill import ImpactParams
from vibe_quant.validation.params import DEFAULT_TOP
from vibe_quant.validation.presets import MODE, ValidationSettings, use_validation


@dataclass
class ValidateConfig:
    """Which candidates, and the execution settings of their validation runs."""

    top: int = DEFAULT_TOP
    only_passed: bool = False
    settings: ValidationSettings = field(default_factory=ValidationSettings)

    def to_dict(self) -> dict[str, Any]:
        return {"top": self.top, "only_passed": self.only_passed, **self.settings.to_dict()}


@dataclass
class ValidationReport:
    sweep_id: int
    validation_run_id: int
    config: dict[str, Any]
    candidates: list[dict[str, Any]]
    execution_sensitive: list[int]
    failed: list[int]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sharpe_key(r: dict[str, Any]) -> float:
    try:
        v = float(r["metrics"].get("sharpe"))
    except (TypeError, ValueError):
        return -math.inf
    return v if not math.isnan(v) else -math.inf


def select_candidates(store: StateStore, sweep_id: int, top: int, only_passed: bool
                      ) -> list[dict[str, Any]]:
    """The sweep rows to validate (see module doc).

    Raises:
        ValueError: ``only_passed`` on a sweep without a filter run; ``top`` < 1.
    """
    if top < 1:
        raise ValueError(f"--top must be ≥ 1, got {top}")
    rows = [r for r in store.sweep_results(sweep_id) if r["status"] == "completed"]
    if only_passed:
        fr = store.latest_filter_run(sweep_id)
        if fr is None:
            raise ValueError(f"sweep {sweep_id} has no filter run: run `vibe-quant filter "
                             f"{sweep_id}` first, or drop --only-passed")
        verdicts = store.filter_verdicts(fr["id"])
        rows = [r for r in rows if verdicts.get(r["combo_idx"])]
    rows.sort(key=lambda r: (-_sharpe_key(r), r["combo_idx"]))
    return rows[:top]


def validate_sweep(store: StateStore, sweep_id: int, *, data_dir: str,
                   config: ValidateConfig | None = None, progress: bool = True
                   ) -> ValidationReport:
    """Validate a sweep's top candidates; store runs and consistency rows; return the report.

    Raises:
        LookupError: unknown sweep. ValueError: no candidate to validate / bad options.
    """
    from vibe_quant.screening.rerun import SweepRunner

    cfg = config or ValidateConfig()
    t0 = time.perf_counter()
    sweep = store.sweep(sweep_id)
    if sweep is None:
        raise LookupError(f"no sweep {sweep_id}")
    cands = select_candidates(store, sweep_id, cfg.top, cfg.only_passed)
    if not cands:
        raise ValueError(f"sweep {sweep_id} has no completed candidate to validate"
                         + (" that passed its filters" if cfg.only_passed else ""))
    runner = SweepRunner(sweep, str(data_dir))
    vrun = vsql.create_validation_run(store, sweep_id, cfg.to_dict())
    out: list[dict[str, Any]] = []
    it = tqdm(cands, desc=f"validate {sweep_id}", unit="cand", disable=not progress)
    with use_validation(cfg.settings) as preset:
        for r in it:
            row = _validate_one(store, runner, r, preset)
            vsql.record_validation_result(store, vrun, row)
            out.append(row)
    vsql.finish_validation_run(store, vrun)
    return ValidationReport(
        sweep_id=sweep_id, validation_run_id=vrun, config=cfg.to_dict(), candidates=out,
        execution_sensitive=[c["combo_idx"] for c in out if c.get("execution_sensitive")],
        failed=[c["combo_idx"] for c in out if c["status"] != "completed"],
        seconds=round(time.perf_counter() - t0, 3))


def _validate_one(store: StateStore, runner: Any, r: dict[str, Any], preset: Any
                  ) -> dict[str, Any]:
    params, sm = r["params"], r["metrics"]
    base = {"combo_idx": r["combo_idx"], "params": params}
    try:
        res = runner.run(params, mode=MODE)
        model = preset.fill_model.last
        if model is not None and model.errors:
            raise RuntimeError(f"fill model failed on {len(model.errors)} order(s), which the "
                               f"engine left unfilled; first: {model.errors[0]}")
        run_id = store.record_run(res)
    except Exception as e:  # one failing candidate does not stop the others
        return {**base, "status": "failed", "error": f"{type(e).__name__}: {e}",
                **consistency(sm, {}), "execution_sensitive": None}
    vm = res.metrics
    slipped = model.log if model is not None else []
    details = {
        "screening": {k: sm.get(k) for k in ("trades", "fees", "funding", "profit_factor",
                                             "win_rate", "sharpe_daily")},
        "validation": {k: vm.get(k) for k in ("trades", "fees", "funding", "profit_factor",
                                              "win_rate", "sharpe_daily", "liquidations")},
        "market_orders_slipped": len(slipped),
        "avg_slippage_per_unit": (sum(f.price - f.ref_price if f.side > 0
                                      else f.ref_price - f.price for f in slipped) / len(slipped)
                                  if slipped else 0.0),
        "denied": len(res.denied),
        "reconciliation_error": res.reconciliation_error,
    }
    return {**base, "status": "completed", "run_id": run_id, **consistency(sm, vm),
            "slippage_cost": model.slippage_cost() if model is not None else 0.0,
            "details": details}


def settings_from(latency: str, fee_tier: int, k: float, spread_ticks: float,
                  window: int) -> ValidationSettings:
    """:class:`ValidationSettings` from CLI-style values (validated)."""
    return ValidationSettings(latency=latency, fee_tier=int(fee_tier),
                              impact=ImpactParams(k=float(k), spread_ticks=float(spread_ticks),
                                                  window=int(window)))
