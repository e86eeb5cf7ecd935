"""Screening sweep: many parameter combinations of one strategy, in a pool of workers.

``run_sweep`` creates (or finds and resumes) a sweep in the state database, runs every
combination not yet recorded in ``sweep_results`` on an executor, and writes each result in its
own transaction as it arrives. Resuming after Ctrl-C or SIGKILL therefore continues where it
stopped, without duplicates (a unique key on ``(sweep_id, combo_idx)``) or holes (every index of
the stored combo list is either recorded or still to run). A sweep is found again by the
:attr:`~vibe_quant.core.config.FrozenConfig.identity` of its :class:`SweepSpec` (the
``sweeps.identity`` column), so re-running the same command resumes it.

Executors: by default a spawn-started ``ProcessPoolExecutor`` of ``workers`` processes (default
the CPU count) whose workers end with their parent
(:func:`vibe_quant.core.process.die_with_parent`). At most
``workers`` combinations are in flight, one per worker, so when a worker process dies
(``BrokenProcessPool``) the combinations it may have been running are known: the pool is
rebuilt and each is retried once; a combination that kills its worker twice is recorded as
failed ("worker died"). A worker process is also replaced after
:data:`MAX_COMBOS_PER_WORKER` combinations (``max_combos_per_worker``) or once its results carry
:data:`MAX_FILLS_PER_WORKER` fills (``max_fills_per_worker``), because Nautilus's native
memory grows with every fill a process makes and ``engine.reset()`` / ``dispose()`` give none
of it back (SPEC §3 "Where a run's time goes", Memory): a pool takes ``workers × K``
combinations, or fewer once the results it returned carry ``workers × F`` fills, then gets no
more, its in-flight results are stored, it is shut down and a fresh pool takes the rest of the
queue — no combination is lost or run twice, and resume is
unchanged (every result is stored as it arrives). Python's own ``max_tasks_per_child`` is not
used: on 3.12 a pool with it can stop replacing workers and hang (CPython gh-115634).

Any other ``concurrent.futures.Executor``-like object may be passed as ``executor`` (its
``submit`` returns ``concurrent.futures.Future`` objects; a ``ThreadPoolExecutor`` works): each
task carries the worker setup (:func:`~.worker.run_task`), the caller keeps ownership (it is
never shut down here) and, as it cannot be rebuilt, a broken injected executor stops the sweep
with :class:`SweepExecutorError` (the results stored so far stay; a re-run resumes). A combination
that raises is recorded as failed with its error and the sweep goes on.

A worker that cannot start (strategy does not build, market data does not load) is not a worker
death: it answers every task with ``startup_failed`` and the sweep stops at once with
:class:`SweepStartupError` carrying the worker's real error, recording nothing. Before any
worker starts, the parent checks that the catalog holds bars for the window
(:func:`vibe_quant.data.coverage.require_bars`), so missing data is refused with the
``data ingest`` command to run and no sweep row is created.

After the last combination the rows are ranked (:mod:`vibe_quant.research.screening.ranking`):
hard filters and the Pareto front over (Sharpe, 1 − max drawdown, profit factor).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
    wait,
)
from dataclasses import asdict, dataclass, field
from typing import Any

from vibe_quant.core.config import FrozenConfig
from vibe_quant.core.errors import StrategyRunError
from vibe_quant.core.progress import ProgressCallback, emit
from vibe_quant.research.screening.grid import SweepConfigError, select_combos
from vibe_quant.research.screening.worker import STARTUP_FAILED, WorkerSetup, init_worker, run_task
from vibe_quant.store.state import StateStore

MAX_WORKER_DEATHS = 2
MAX_COMBOS_PER_WORKER = 100
"""Combinations a default-pool worker process runs before it is replaced (``K``). Measured
(2026-11-30): Nautilus keeps ≈ 65–80 bytes of native memory per fill a process ever made, so a
two-year ``ema_cross`` worker (≈ 5,000 fills per combination, ≈ 500 MB) grows ≈ 0.4 MB per
combination (estimated); 100 keep it within ≈ 7 % of its RSS after its 10th combination, and
over half-year bars the 1,000th stays within 8 % (measured), while a replacement (spawn,
imports, compile, loading the bars: ≈ 1.1 s measured) costs ≈ 0.5–2.5 % of the 100
combinations it amortises over (SPEC §12)."""
MAX_FILLS_PER_WORKER = 1_000_000
"""Fills a default-pool worker's results carry before it is replaced (``F``; a pool takes no
more combinations once its results carry ``workers × F``): a bound on Nautilus's per-fill native
memory (≈ 69 B per fill, measured 2026-11-30 with the indicator cache off: 22 MB over 321k fills,
arriving in steps at ≈ 120k and ≈ 200k fills a process made) for fill-heavy strategies, which
:data:`MAX_COMBOS_PER_WORKER` alone lets grow ≈ 70 MB per million fills. It does not bind for
two-year ``ema_cross`` combinations (≈ 4,000 fills each; 100 of them ≈ 400k). A tighter budget
was measured and not kept: with F = 150k a worker is replaced after 25–43 two-year combinations;
RSS after the 100th / 10th of a one-worker loop went 1.078 → 1.023, but each replacement costs
≈ 3.4 s (spawn, imports, loading two years of bars ≈ 1.8 s; the fresh process's first
combination + 0.5 s; ≈ 13 indicator arrays computed again ≈ 1.1 s), the worker overhead per
combination of ``bench_sweep.py --combos 100`` was 44.5 ms and 2-worker scaling 1.87×, and the
1,000-combination sweep took 19.7 min with the highest per-process RSS ratio still 1.109 — each
fresh process's indicator cache (≤ 64 MB by design, :mod:`vibe_quant.strategy.runtime.vector`)
fills again after its 10th combination (SPEC §3 Memory, §12)."""


class SweepStartupError(StrategyRunError, RuntimeError):
    """The sweep's workers could not start; the message carries their real error."""


class SweepExecutorError(StrategyRunError, RuntimeError):
    """An executor passed to :func:`run_sweep` broke (it cannot be rebuilt); the results stored
    before it broke are kept and a re-run resumes the sweep."""


class SweepSpec(FrozenConfig):
    """What to sweep (frozen; its ``identity`` finds the sweep again to resume it).

    Attributes:
        yaml_text: the strategy YAML ("" with ``strategy_ref``).
        symbol: e.g. ``"BTCUSDT"``.
        start_ns, end_ns: the window, UTC epoch ns (bars with ``start_ns < close ≤ end_ns``).
        interval: bar interval, e.g. ``"5m"``.
        mode: backtest fidelity (``"screening"`` …).
        sample, max_combos, seed: which grid points run (:func:`.grid.select_combos`).
        leverage: account leverage; ``None`` = the strategy's ``sizing.leverage`` (1 for a
            ``strategy_ref``).
        starting_balance: USDT.
        strategy_ref: ``"module:attr"`` of a hand-written strategy (tests, benchmarks).
        grid: explicit combinations (required with ``strategy_ref``; default the YAML's grid).
    """

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
    strategy_ref: str | None = None
    grid: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class SweepReport:
    """What one :func:`run_sweep` call did.

    Attributes:
        sweep_id: the stored sweep. combos: its combinations in all.
        completed, failed: stored results by status (this call and earlier ones).
        resumed: the sweep existed before this call. ran_now: results stored by this call.
        seconds: wall time of this call. combos_per_s: ``ran_now / seconds``.
        pareto: the Pareto rows (:func:`rank_stored_sweep`). best: the first of them or None.
    """

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
        """Plain dict of every field."""
        return asdict(self)


def _spec_combos(spec: SweepSpec) -> tuple[list[dict[str, Any]], str, float]:
    """(combos, strategy name, account leverage) for a sweep spec.

    A YAML strategy gives its name, its sweep grid (unless ``spec.grid`` is given) and its
    ``sizing.leverage`` (unless ``spec.leverage`` is given); a hand-written ``strategy_ref``
    needs an explicit grid and defaults to leverage 1.
    """
    if spec.strategy_ref:
        if spec.grid is None:
            raise SweepConfigError("a strategy_ref sweep needs an explicit grid",
                                   strategy_ref=spec.strategy_ref)
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
    progress: ProgressCallback | None = None,
    resume_id: int | None = None,
    fresh: bool = False,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    executor: Executor | None = None,
    fills_digest: bool = False,
    max_combos_per_worker: int | None = MAX_COMBOS_PER_WORKER,
    max_fills_per_worker: int | None = MAX_FILLS_PER_WORKER,
) -> SweepReport:
    """Create or resume a sweep and run what is missing. See the module docstring.

    Args:
        data_dir: the data directory holding the catalog.
        workers: combinations in flight (default the CPU count): the size of the default
            process pool, or the bound on tasks submitted at once to ``executor``.
        progress: called with ``ProgressEvent("sweep", done, total, "combo <i>")`` after each
            stored result (``done`` counts results stored by earlier runs too).
        resume_id: continue this sweep id; ``fresh``: never resume (a new sweep row).
        on_result: called with each result dict right after it is stored.
        executor: any ``concurrent.futures.Executor``-like object (``submit`` returning
            ``concurrent.futures.Future``); default a spawn process pool, see above.
        fills_digest: each result dict handed to ``on_result`` also carries ``fills_sha256``
            (:func:`.worker.fills_digest`, ≈ 8 ms per two-year combination; the identity test).
        max_combos_per_worker: the default pool's processes are replaced after about this many
            combinations each (a pool takes ``workers × max_combos_per_worker``); ``None`` or
            0: never. Ignored with ``executor`` (the caller's).
        max_fills_per_worker: a default pool also takes no more combinations once the results
            it returned carry ``workers × max_fills_per_worker`` fills (their ``"fills"``), and
            is replaced like after ``max_combos_per_worker``; ``None`` or 0: no fill budget.
            Ignored with ``executor``.

    Raises:
        MissingDataError: the catalog holds no bars for the window (nothing is created).
        SweepStartupError: the workers could not start (nothing is recorded).
        SweepExecutorError: the injected ``executor`` broke.
        SweepConfigError: a ``strategy_ref`` without ``grid``, an unknown ``sample``.
        StrategyError: the strategy YAML is invalid.
    """
    from vibe_quant.core.paths import DataDir
    from vibe_quant.data.coverage import require_bars

    t0 = time.perf_counter()
    workers = max(1, workers or os.cpu_count() or 1)
    combos, name, leverage = _spec_combos(spec)
    require_bars(DataDir.resolve(str(data_dir)), spec.symbol, spec.interval, spec.start_ns,
                 spec.end_ns)
    existing = store.sweep(resume_id) if resume_id else (
        None if fresh else store.find_sweep(spec.identity))
    resumed = existing is not None
    if existing is None:
        sweep_id = store.create_sweep(
            identity=spec.identity, strategy_name=name, yaml_text=spec.yaml_text,
            symbol=spec.symbol, interval=spec.interval, start_ns=spec.start_ns,
            end_ns=spec.end_ns, mode=spec.mode, sample=spec.sample, seed=spec.seed,
            leverage=leverage, starting_balance=spec.starting_balance, combos=combos,
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
                        strategy_ref=spec.strategy_ref, fills_digest=fills_digest)
    emit(progress, "sweep", len(done), len(combos))

    def stored(res: dict[str, Any], from_worker: bool) -> None:
        store.record_sweep_result(sweep_id, res)
        done.add(res["combo_idx"])
        emit(progress, "sweep", len(done), len(combos), f"combo {res['combo_idx']}")
        if on_result and from_worker:
            on_result(res)

    ran = _execute(sweep_id, setup, todo, workers, stored, executor,
                   max_combos_per_worker or 0, max_fills_per_worker or 0)
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


def _execute(sweep_id: int, setup: WorkerSetup, todo: list[tuple[int, dict[str, Any]]],
             workers: int, stored: Callable[[dict[str, Any], bool], None],
             executor: Executor | None, per_worker: int = 0, fills_per_worker: int = 0) -> int:
    """Run ``todo`` on ``executor`` (default: spawn pools, rebuilt after a worker death, after
    ``per_worker`` combinations per worker and once its results carry ``fills_per_worker``
    fills per worker; 0 = never), passing each result to ``stored``; returns how many results
    were stored."""
    own = executor is None
    ctx = mp.get_context("spawn")
    queue = list(todo)
    deaths: dict[int, int] = {}
    solo = 0  # after a pool death, the suspects at the queue front run one at a time
    ran = 0
    while queue:
        pool = executor if executor is not None else ProcessPoolExecutor(
            max_workers=min(workers, len(queue)), mp_context=ctx, initializer=init_worker,
            initargs=(setup,))
        # what this pool may still take: its processes are replaced after it (own pools only)
        budget = workers * per_worker if own and per_worker > 0 else len(queue)
        # fills its results may still carry before it takes no more (None: no fill budget)
        fill_budget = workers * fills_per_worker if own and fills_per_worker > 0 else None
        inflight: dict[Future, tuple[int, dict[str, Any]]] = {}
        suspects: list[tuple[int, dict[str, Any]]] = []
        try:
            while (queue and budget > 0 or inflight) and not suspects:
                while queue and budget > 0 and len(inflight) < (1 if solo else workers):
                    item = queue.pop(0)
                    budget -= 1
                    inflight[pool.submit(run_task, setup, *item)] = item
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    item = inflight.pop(fut)
                    solo = max(0, solo - 1)
                    try:
                        res = fut.result()
                    except BrokenExecutor as e:
                        if not own:
                            raise SweepExecutorError(
                                f"sweep {sweep_id}: the executor broke while running "
                                f"combination {item[0]} ({type(e).__name__}: {e}); the results "
                                "stored so far are kept, re-run to resume",
                                sweep_id=sweep_id) from e
                        suspects.append(item)
                        continue
                    if res.get("status") == STARTUP_FAILED:
                        raise SweepStartupError(
                            f"sweep {sweep_id}: the worker processes could not start, so no "
                            f"combination ran ({setup.symbol} {setup.interval}): "
                            f"{res['error']}", sweep_id=sweep_id)
                    stored(res, True)
                    ran += 1
                    if fill_budget is not None:
                        fill_budget -= res.get("fills") or 0
                        if fill_budget <= 0:
                            budget = 0  # the in-flight results are still stored
        finally:
            if own:
                pool.shutdown(wait=not suspects, cancel_futures=True)
            else:  # the caller's executor: only what this sweep queued is cancelled
                for fut in inflight:
                    fut.cancel()
        if suspects:
            # The pool died: every combination in flight may have killed it. Each is retried
            # alone; one that kills its worker MAX_WORKER_DEATHS times is recorded as failed.
            suspects += list(inflight.values())
            retry = []
            for item in sorted(suspects):
                deaths[item[0]] = deaths.get(item[0], 0) + 1
                if deaths[item[0]] >= MAX_WORKER_DEATHS:
                    stored({"combo_idx": item[0], "params": item[1], "status": "failed",
                            "error": "the worker process died while running this combination "
                                     f"({MAX_WORKER_DEATHS} times)"}, False)
                    ran += 1
                else:
                    retry.append(item)
            queue = retry + queue
            solo = len(retry)
    return ran
