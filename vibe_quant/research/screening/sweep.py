"""Screening sweep: many parameter combinations of one strategy, in a process pool.

``run_sweep`` creates (or finds and resumes) a sweep in the state database, runs every
combination not yet recorded in ``sweep_results`` in a spawn-started ``ProcessPoolExecutor``
(``workers`` processes, default the CPU count), and writes each result in its own transaction as
it arrives. Resuming after Ctrl-C or SIGKILL therefore continues where it stopped, without
duplicates (a unique key on ``(sweep_id, combo_idx)``) or holes (every index of the stored combo
list is either recorded or still to run).

At most ``workers`` combinations are in flight, one per worker, so when a worker process dies
(``BrokenProcessPool``) the combinations it may have been running are known: the pool is
rebuilt and each is retried once; a combination that kills its worker twice is recorded as
failed ("worker died"). A combination that raises is recorded as failed with its error and the
sweep goes on.

A worker that cannot start (strategy does not build, market data does not load) is not a worker
death: it answers every task with ``startup_failed`` and the sweep stops at once with
:class:`SweepStartupError` carrying the worker's real error, recording nothing. Before any
worker starts, the parent checks that the catalog holds bars for the window
(:func:`vibe_quant.data.coverage.require_bars`), so missing data is refused with the
``data ingest`` command to run and no sweep row is created.

After the last combination the rows are ranked (:mod:`vibe_quant.research.screening.ranking`): hard
filters and the Pareto front over (Sharpe, 1 − max drawdown, profit factor).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm import tqdm

from vibe_quant.research.screening.grid import select_combos, sweep_identity
from vibe_quant.research.screening.worker import STARTUP_FAILED, WorkerSetup, init_worker, run_combo
from vibe_quant.store.state import StateStore

MAX_WORKER_DEATHS = 2


class SweepStartupError(RuntimeError):
    """The sweep's worker processes could not start; the message carries their real error."""


@dataclass
class SweepSpec:
    """What to sweep. Times are UTC epoch ns (bars with ``start_ns < close ≤ end_ns``)."""

    yaml_text: str
    symbol: str
    start_ns: int
    end_ns: int
    interval: str = "5m"
    mode: str = "screening"
    sample: str = "grid"
    max_combos: int | None = None
    seed: int = 0
    leverage: float | None = None
    starting_balance: float = 10_000.0
    strategy_ref: str | None = None  # "module:attr" hand-written strategy (tests, benchmarks)
    grid: list[dict[str, Any]] | None = None  # explicit combos (with strategy_ref)


@dataclass
class SweepReport:
    sweep_id: int
    combos: int
    completed: int
    failed: int
    resumed: bool
    ran_now: int
    seconds: float
    combos_per_s: float
    pareto: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _spec_combos(spec: SweepSpec) -> tuple[list[dict[str, Any]], str, float]:
    """(combos, strategy name, account leverage) for a sweep spec.

    A YAML strategy gives its name, its sweep grid (unless ``spec.grid`` is given) and its
    ``sizing.leverage`` (unless ``spec.leverage`` is given); a hand-written ``strategy_ref``
    needs an explicit grid and defaults to leverage 1.
    """
    if spec.strategy_ref:
        if spec.grid is None:
            raise ValueError("a strategy_ref sweep needs an explicit grid")
        name, lev, grid = spec.strategy_ref, spec.leverage or 1.0, spec.grid
    else:
        from vibe_quant.dsl import load_strategy, sweep_grid

        s = load_strategy(spec.yaml_text)
        name = s.name
        grid = spec.grid if spec.grid is not None else sweep_grid(s)
        lev = spec.leverage if spec.leverage is not None else float(
            getattr(getattr(s, "sizing", None), "leverage", None) or 1.0)
    return select_combos(grid, sample=spec.sample, max_combos=spec.max_combos,
                         seed=spec.seed), name, lev


def run_sweep(
    store: StateStore,
    spec: SweepSpec,
    *,
    data_dir: str,
    workers: int | None = None,
    progress: bool = True,
    resume_id: int | None = None,
    fresh: bool = False,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> SweepReport:
    """Create or resume a sweep and run what is missing. See the module docstring.

    Raises:
        MissingDataError: the catalog holds no bars for the window (nothing is created).
        SweepStartupError: the workers could not start (nothing is recorded).
        StrategyError: the strategy YAML is invalid.
    """
    from vibe_quant.core.paths import DataDir
    from vibe_quant.data.coverage import require_bars

    t0 = time.perf_counter()
    workers = max(1, workers or os.cpu_count() or 1)
    combos, name, leverage = _spec_combos(spec)
    require_bars(DataDir.resolve(str(data_dir)), spec.symbol, spec.interval, spec.start_ns,
                 spec.end_ns)
    identity = sweep_identity(spec.yaml_text, symbol=spec.symbol, start=spec.start_ns,
                              end=spec.end_ns, interval=spec.interval, mode=spec.mode,
                              sample=spec.sample, max_combos=spec.max_combos, seed=spec.seed,
                              leverage=leverage, balance=spec.starting_balance,
                              ref=spec.strategy_ref, combos=combos)
    existing = store.sweep(resume_id) if resume_id else (
        None if fresh else store.find_sweep(identity))
    resumed = existing is not None
    if existing is None:
        sweep_id = store.create_sweep(
            identity=identity, strategy_name=name, yaml_text=spec.yaml_text, symbol=spec.symbol,
            interval=spec.interval, start_ns=spec.start_ns, end_ns=spec.end_ns, mode=spec.mode,
            sample=spec.sample, seed=spec.seed, leverage=leverage,
            starting_balance=spec.starting_balance, combos=combos,
            strategy_ref=spec.strategy_ref)
    else:
        sweep_id = existing["id"]
        combos = existing["combos"]
    done = store.sweep_done_indices(sweep_id)
    todo = [(i, combos[i]) for i in range(len(combos)) if i not in done]
    store.set_sweep_status(sweep_id, "running")
    setup = WorkerSetup(warmup_bars=sweep_warmup(spec, combos),
                        yaml_text=spec.yaml_text, symbol=spec.symbol, interval=spec.interval,
                        start_ns=spec.start_ns, end_ns=spec.end_ns, data_dir=str(data_dir),
                        mode=spec.mode, leverage=leverage,
                        starting_balance=spec.starting_balance, seed=spec.seed,
                        strategy_ref=spec.strategy_ref)
    bar = tqdm(total=len(combos), initial=len(done), desc=f"sweep {sweep_id}", unit="combo",
               disable=not progress, smoothing=0.1)
    ran = 0
    try:
        ran = _execute(store, sweep_id, setup, todo, workers, bar, on_result)
    finally:
        bar.close()
    rows = store.sweep_results(sweep_id)
    completed = sum(1 for r in rows if r["status"] == "completed")
    failed = sum(1 for r in rows if r["status"] == "failed")
    pareto, best = rank_stored_sweep(store, sweep_id)
    status = "completed" if completed + failed == len(combos) else "running"
    store.set_sweep_status(sweep_id, status)
    secs = time.perf_counter() - t0
    return SweepReport(sweep_id=sweep_id, combos=len(combos), completed=completed, failed=failed,
                       resumed=resumed, ran_now=ran, seconds=round(secs, 3),
                       combos_per_s=round(ran / secs, 3) if secs > 0 else 0.0, pareto=pareto,
                       best=best)


def sweep_warmup(spec: SweepSpec, combos: list[dict[str, Any]]) -> int:
    """Largest warm-up (base bars) any combination needs (a swept period changes it)."""
    if spec.strategy_ref:
        return 0
    from vibe_quant.strategy.compiler import compile_strategy

    compiled = compile_strategy(spec.yaml_text)
    return max([compiled.warmup_for(None)] + [compiled.warmup_for(c) for c in combos])


def rank_stored_sweep(store: StateStore, sweep_id: int, **thresholds: Any
                      ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Apply the hard filters and Pareto front to a sweep's completed rows and store the flags.

    Returns (Pareto rows sorted by Sharpe descending, best row = highest Sharpe on the front or
    ``None`` when no combination passes the hard filters). Rows are
    ``{"combo_idx", "params", "sharpe", "max_drawdown", "profit_factor", "trades", ...}``.
    """
    import pandas as pd

    from vibe_quant.research.screening.ranking import rank_sweep

    rows = [r for r in store.sweep_results(sweep_id) if r["status"] == "completed"]
    if not rows:
        return [], None
    df = pd.DataFrame([{**r["metrics"], "combo_idx": r["combo_idx"]} for r in rows])
    ranked = rank_sweep(df, **thresholds)
    store.set_sweep_flags(sweep_id, {int(c): (bool(p), bool(f)) for c, p, f in zip(
        ranked["combo_idx"], ranked["is_pareto"], ranked["passes_filters"])})
    by_idx = {r["combo_idx"]: r for r in rows}
    front = ranked[ranked["is_pareto"]].sort_values("sharpe", ascending=False)
    keys = ("sharpe", "sharpe_daily", "total_return", "max_drawdown", "profit_factor", "trades",
            "win_rate", "fees", "funding", "liquidations")
    pareto = [{"combo_idx": int(i), "params": by_idx[int(i)]["params"],
               **{k: by_idx[int(i)]["metrics"].get(k) for k in keys}}
              for i in front["combo_idx"]]
    return pareto, (pareto[0] if pareto else None)


def _execute(store: StateStore, sweep_id: int, setup: WorkerSetup,
             todo: list[tuple[int, dict[str, Any]]], workers: int, bar: tqdm,
             on_result: Callable[[dict[str, Any]], None] | None) -> int:
    """Run ``todo`` in a spawn pool; returns how many results were recorded."""
    ctx = mp.get_context("spawn")
    queue = list(todo)
    deaths: dict[int, int] = {}
    solo = 0  # after a pool death, the suspects at the queue front run one at a time
    ran = 0
    while queue:
        pool = ProcessPoolExecutor(max_workers=min(workers, len(queue)), mp_context=ctx,
                                   initializer=init_worker, initargs=(setup,))
        inflight: dict[Future, tuple[int, dict[str, Any]]] = {}
        suspects: list[tuple[int, dict[str, Any]]] = []
        try:
            while (queue or inflight) and not suspects:
                while queue and len(inflight) < (1 if solo else workers):
                    item = queue.pop(0)
                    inflight[pool.submit(run_combo, *item)] = item
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    item = inflight.pop(fut)
                    solo = max(0, solo - 1)
                    try:
                        res = fut.result()
                    except BrokenProcessPool:
                        suspects.append(item)
                        continue
                    if res.get("status") == STARTUP_FAILED:
                        raise SweepStartupError(
                            f"sweep {sweep_id}: the worker processes could not start, so no "
                            f"combination ran ({setup.symbol} {setup.interval}): "
                            f"{res['error']}")
                    store.record_sweep_result(sweep_id, res)
                    ran += 1
                    bar.update(1)
                    if on_result:
                        on_result(res)
        finally:
            pool.shutdown(wait=not suspects, cancel_futures=True)
        if suspects:
            # The pool died: every combination in flight may have killed it. Each is retried
            # alone; one that kills its worker MAX_WORKER_DEATHS times is recorded as failed.
            suspects += list(inflight.values())
            retry = []
            for item in sorted(suspects):
                deaths[item[0]] = deaths.get(item[0], 0) + 1
                if deaths[item[0]] >= MAX_WORKER_DEATHS:
                    store.record_sweep_result(sweep_id, {
                        "combo_idx": item[0], "params": item[1], "status": "failed",
                        "error": "the worker process died while running this combination "
                                 f"({MAX_WORKER_DEATHS} times)"})
                    ran += 1
                    bar.update(1)
                else:
                    retry.append(item)
            queue = retry + queue
            solo = len(retry)
    return ran
