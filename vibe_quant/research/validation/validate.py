"""``validate_sweep``: re-run the top candidates of a screening sweep with realistic execution.

For each candidate (a completed combination of the sweep) the strategy is rebuilt exactly as
the sweep's workers built it (:func:`vibe_quant.research.screening.worker.build_strategy`, via the
filters' runner: YAML compiled by the DSL compiler, or ``strategy_ref``), the market data is
loaded once, and the combination is run again over the sweep's window with
``mode="validation"`` — the same ``run_backtest`` code path, with the ``validation`` preset
(:func:`vibe_quant.backtest.models.presets.validation_preset`, one fresh preset value per
run: square-root fill model, latency preset, VIP-tier fees; funding and liquidation
unchanged). The full run is stored (``backtest_runs`` + results, trades, equity),
then a consistency row (:mod:`.consistency`) comparing it with the sweep's screening metrics.

Execution resolution (:func:`choose_execution`): the exchange walks the FINEST archived bars
that cover the whole fed window (1m under a 5m strategy when the catalog holds them); the
strategy's own bars are then aggregated from them inside Nautilus, so its decisions equal the
screening run's. When finer bars are missing or incomplete the run uses the strategy's own bars
and every row says so (``execution_interval``, ``execution_note``).

Impact sensitivity: each candidate is run at 0.5×, 1× and 2× the impact coefficient k
(:data:`K_MULTIPLIERS`); all three runs are stored; the consistency row is the 1× run and
``impact_sensitivity`` lists the three results.

Candidates: completed rows sorted by screening Sharpe (descending; non-finite last), the first
``top``; with ``only_passed`` only those whose verdict in the sweep's latest filter run
(``vibe-quant filter``) is ``passed_all``.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import ValidationError

from vibe_quant.backtest.models.fill import ImpactParams
from vibe_quant.backtest.models.params import DEFAULT_TOP
from vibe_quant.backtest.models.presets import (
    ValidationSettings,
    settings_error,
    validation_preset,
)
from vibe_quant.backtest.venue import FidelityPreset
from vibe_quant.core.config import FrozenConfig
from vibe_quant.core.errors import ConfigError, StrategyRunError
from vibe_quant.core.progress import ProgressCallback, emit
from vibe_quant.research.filters import SweepNotFoundError
from vibe_quant.research.validation.consistency import consistency
from vibe_quant.store import validation_sql as vsql
from vibe_quant.store.state import StateStore

#: multiples of k at which every candidate is run (the 1× run is the consistency row)
K_MULTIPLIERS = (0.5, 1.0, 2.0)


class ValidateError(ConfigError, ValueError):
    """A validation run cannot start: bad option, no candidate, no filter run for
    ``only_passed``; still a ``ValueError``."""


class FillModelError(StrategyRunError, RuntimeError):
    """The validation fill model failed on orders the engine then left unfilled; still a
    ``RuntimeError``."""


class ValidateConfig(FrozenConfig):
    """Which candidates, and the execution settings of their validation runs (a frozen config).

    Attributes:
        top: validate the first ``top`` candidates by screening Sharpe (≥ 1).
        only_passed: only candidates whose latest filter verdict is ``passed_all``.
        settings: latency preset, VIP tier, impact parameters (:class:`ValidationSettings`).
        finest: walk the finest archived bars covering the window (default); False = the
            strategy's own bars (as screening).
    """

    top: int = DEFAULT_TOP
    only_passed: bool = False
    settings: ValidationSettings = ValidationSettings()
    finest: bool = True

    def record(self) -> dict[str, Any]:
        """The flat config stored with a validation run: ``top``, ``only_passed``, the
        settings with their meaning (:meth:`ValidationSettings.describe`), ``finest`` and
        ``k_multipliers``."""
        return {"top": self.top, "only_passed": self.only_passed, **self.settings.describe(),
                "finest": self.finest, "k_multipliers": list(K_MULTIPLIERS)}


@dataclass(frozen=True)
class ExecutionChoice:
    """Which bars the exchange walks in the validation runs of a sweep.

    ``interval``: the execution interval (``"1m"`` …); ``strategy_interval``: the strategy's;
    ``finer``: True when finer than the strategy's; ``note``: one line for the user (what was
    used and, when finer bars could not be used, why); ``data``: the finer ``MarketData`` or
    None."""

    interval: str
    strategy_interval: str
    finer: bool
    note: str
    data: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"execution_interval": self.interval, "strategy_interval": self.strategy_interval,
                "finer": self.finer, "note": self.note}


def choose_execution(data_dir: Any, data: Any, *, finest: bool = True) -> ExecutionChoice:
    """The finest catalogued interval that divides ``data.interval`` and covers every bar of
    ``data`` (the fed window, warm-up included) with bars aggregating to the same OHLC
    (:func:`vibe_quant.backtest.marketdata.execution_check`); else ``data``'s own interval,
    with a note saying what is missing and what to run."""
    from vibe_quant.backtest.marketdata import execution_check, load_market_data
    from vibe_quant.core.intervals import CATALOG_INTERVALS, interval_ms
    from vibe_quant.core.paths import DataDir

    own = data.interval
    if not finest:
        return ExecutionChoice(own, own, False, f"executed on the strategy's {own} bars "
                               "(finer execution not requested)")
    step = interval_ms(own)
    finer = sorted((iv for iv in CATALOG_INTERVALS
                    if interval_ms(iv) < step and step % interval_ms(iv) == 0), key=interval_ms)
    if not finer:
        return ExecutionChoice(own, own, False, f"executed on {own} bars: the strategy's bars "
                               "are the finest the catalog holds")
    lo = int(data.close_ts[0]) - data.interval_ns
    hi = int(data.close_ts[-1])
    notes = []
    dd = data_dir if isinstance(data_dir, DataDir) else DataDir.resolve(data_dir)
    for iv in finer:
        try:
            fine = load_market_data(dd, data.symbol, iv, lo, hi)
        except Exception as e:  # an absent interval is a note, not an error
            notes.append(f"no {iv} bars ({type(e).__name__})")
            continue
        if len(fine.bars) == 0:
            notes.append(f"no {iv} bars for the period")
            continue
        ok, why = execution_check(data, fine)
        if ok:
            return ExecutionChoice(iv, own, True, why, fine)
        notes.append(why)
    from datetime import UTC, datetime

    def month(ns: int) -> str:
        return f"{datetime.fromtimestamp(ns / 1e9, UTC):%Y-%m}"

    return ExecutionChoice(
        own, own, False,
        f"executed on the strategy's {own} bars, NOT on finer bars: {'; '.join(notes)}; "
        f"to execute on {finer[0]} run `vibe-quant data ingest --symbols {data.symbol} "
        f"--interval {finer[0]},{own} --start {month(lo)} --end {month(hi - 1)}`")


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
        ValidateError (a ``ValueError``): ``only_passed`` on a sweep without a filter run;
            ``top`` < 1.
    """
    if top < 1:
        raise ValidateError(f"--top must be ≥ 1, got {top}", top=top)
    rows = [r for r in store.sweep_results(sweep_id) if r["status"] == "completed"]
    if only_passed:
        fr = store.latest_filter_run(sweep_id)
        if fr is None:
            raise ValidateError(f"sweep {sweep_id} has no filter run: run `vibe-quant filter "
                                f"{sweep_id}` first, or drop --only-passed", sweep_id=sweep_id)
        verdicts = store.filter_verdicts(fr["id"])
        rows = [r for r in rows if verdicts.get(r["combo_idx"])]
    rows.sort(key=lambda r: (-_sharpe_key(r), r["combo_idx"]))
    return rows[:top]


def validate_sweep(store: StateStore, sweep_id: int, *, data_dir: str,
                   config: ValidateConfig | None = None,
                   progress: ProgressCallback | None = None) -> ValidationReport:
    """Validate a sweep's top candidates; store runs and consistency rows; return the report.

    ``progress`` gets one :class:`~vibe_quant.core.progress.ProgressEvent` (task
    ``"validation"``, label ``combo <idx>``) after each candidate.

    Raises:
        SweepNotFoundError (a ``LookupError``): unknown sweep.
        ValidateError (a ``ValueError``): no candidate to validate / bad options.
    """
    from vibe_quant.research.screening.rerun import SweepRunner

    cfg = config or ValidateConfig()
    t0 = time.perf_counter()
    sweep = store.sweep(sweep_id)
    if sweep is None:
        raise SweepNotFoundError(f"no sweep {sweep_id}", sweep_id=sweep_id)
    cands = select_candidates(store, sweep_id, cfg.top, cfg.only_passed)
    if not cands:
        raise ValidateError(f"sweep {sweep_id} has no completed candidate to validate"
                            + (" that passed its filters" if cfg.only_passed else ""),
                            sweep_id=sweep_id)
    runner = SweepRunner(sweep, str(data_dir))
    choice = choose_execution(data_dir, runner.data, finest=cfg.finest)
    config = {**cfg.record(), **choice.to_dict()}
    vrun = vsql.create_validation_run(store, sweep_id, config)
    out: list[dict[str, Any]] = []
    emit(progress, "validation", 0, len(cands))
    for i, r in enumerate(cands, 1):
        row = _validate_candidate(store, runner, r, cfg.settings, choice)
        vsql.record_validation_result(store, vrun, row)
        out.append(row)
        emit(progress, "validation", i, len(cands), f"combo {r['combo_idx']}")
    vsql.finish_validation_run(store, vrun)
    return ValidationReport(
        sweep_id=sweep_id, validation_run_id=vrun, config=config, candidates=out,
        execution_sensitive=[c["combo_idx"] for c in out if c.get("execution_sensitive")],
        failed=[c["combo_idx"] for c in out if c["status"] != "completed"],
        seconds=round(time.perf_counter() - t0, 3))


def _validate_candidate(store: StateStore, runner: Any, r: dict[str, Any],
                        settings: ValidationSettings, choice: ExecutionChoice) -> dict[str, Any]:
    """The 1× row with ``impact_sensitivity`` from the 0.5×, 1×, 2× k runs (all stored)."""
    rows = {}
    for m in K_MULTIPLIERS:
        imp = settings.impact
        s = settings.replace(impact=imp.replace(k=imp.k * m))
        rows[m] = _validate_one(store, runner, r, validation_preset(s), choice)
    main = rows[1.0]
    main["impact_sensitivity"] = [
        {"k_multiplier": m, "k": settings.impact.k * m, "status": x["status"],
         "run_id": x.get("run_id"), "sharpe": x.get("validation_sharpe"),
         "total_return": x.get("validation_return"), "slippage_cost": x.get("slippage_cost"),
         "trades": x.get("validation_trades"), "error": x.get("error")}
        for m, x in rows.items()]
    if main["status"] == "completed" and any(x["status"] != "completed" for x in rows.values()):
        bad = next(x for x in rows.values() if x["status"] != "completed")
        main.update(status="failed", error=f"sensitivity run failed: {bad.get('error')}")
    return main


def _run(runner: Any, params: dict[str, Any], choice: ExecutionChoice,
         preset: FidelityPreset) -> Any:
    """One run of ``params`` with the validation ``preset`` over the sweep window (the sweep's
    leverage, balance, seed, warm-up), on ``choice``'s execution bars."""
    from vibe_quant.backtest.run import run_backtest
    from vibe_quant.research.screening.worker import combo_leverage

    s = runner.sweep
    return run_backtest(runner.spec, s["symbol"], s["start_ns"], s["end_ns"], preset, params,
                        data=runner.data, interval=s["interval"],
                        leverage=combo_leverage(runner.spec, params, s["leverage"]),
                        starting_balance=s["starting_balance"], seed=s["seed"],
                        warmup_bars=runner.warmup, execution_data=choice.data)


def _validate_one(store: StateStore, runner: Any, r: dict[str, Any], preset: FidelityPreset,
                  choice: ExecutionChoice) -> dict[str, Any]:
    params, sm = r["params"], r["metrics"]
    base = {"combo_idx": r["combo_idx"], "params": params,
            "execution_interval": choice.interval, "execution_note": choice.note}
    try:
        res = _run(runner, params, choice, preset)
        model = preset.fill_model.last
        if model is not None and model.errors:
            raise FillModelError(f"fill model failed on {len(model.errors)} order(s), which "
                                 f"the engine left unfilled; first: {model.errors[0]}")
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
        "market_orders_slipped": sum(1 for f in slipped if f.order_type == "MARKET"),
        "stop_orders_slipped": sum(1 for f in slipped if f.order_type == "STOP_MARKET"),
        "execution_interval": res.execution_interval,
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
    """:class:`ValidationSettings` from CLI-style values (validated).

    Raises:
        BacktestConfigError (a ``ValueError``): unknown latency preset or tier, impact
            parameter out of range (one line naming it).
    """
    try:
        return ValidationSettings(
            latency=latency, fee_tier=int(fee_tier),
            impact=ImpactParams(k=float(k), spread_ticks=float(spread_ticks), window=int(window)))
    except ValidationError as e:
        raise settings_error(e) from None
