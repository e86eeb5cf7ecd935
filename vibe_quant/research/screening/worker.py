"""Sweep worker process: compile once, load bars once, run many combinations.

Workers are started with the *spawn* method and receive only plain data (YAML text, symbol,
window, settings) — never classes or strategy instances (see ``docs/engine-spike.md`` and
``../shared/notes/nautilus.md``: PyO3 strategy objects must not be pickled). The initializer
compiles the strategy and loads the market data into one
:class:`vibe_quant.backtest.run.BacktestSession`; each task then re-runs the engine with new
parameters (``reset()``), and returns a plain dict.

The loaded state is kept per thread (``threading.local``): a process-pool worker runs its
initializer and its tasks on one thread, and under a thread-pool executor
(:func:`run_task`) each thread compiles and loads its own copy, so no engine session is ever
shared between threads.
"""

from __future__ import annotations

import importlib
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from vibe_quant.core.process import die_with_parent

_LOCAL = threading.local()


class _ThreadState(dict):
    """One thread's worker state. The engine objects in it are PyO3 objects that must be freed
    on the thread that made them, so when the thread ends (its ``threading.local`` is dropped
    on that thread) the state is cleared and their reference cycles collected right there,
    not later by a garbage collection on another thread."""

    def __del__(self) -> None:
        import gc

        for session in (self.get("sessions") or {}).values():
            session.dispose()  # free the engine on the thread that built it
        self.clear()
        gc.collect()


def _state() -> dict[str, Any]:
    """This thread's worker state (``spec``, ``setup``, ``data``, ``sessions`` … or
    ``startup_error``); empty before :func:`load_state`."""
    st = getattr(_LOCAL, "state", None)
    if st is None:
        st = _LOCAL.state = _ThreadState()
    return st


@dataclass(frozen=True)
class WorkerSetup:
    """Everything a worker needs, as plain data.

    ``strategy_ref``: ``None`` to compile ``yaml_text`` with the DSL compiler, or
    ``"module:attr"`` naming an importable strategy factory (hand-written strategies in tests
    and benchmarks). ``warmup_bars``: bars fed before the window — the parent sets the largest
    warm-up any combination of the sweep needs, so every combination sees the same data.
    ``fills_digest``: add ``fills_sha256`` (:func:`fills_digest`) to every result.
    """

    yaml_text: str
    symbol: str
    interval: str
    start_ns: int
    end_ns: int
    data_dir: str
    mode: str = "screening"
    leverage: float = 1.0
    starting_balance: float = 10_000.0
    seed: int = 0
    warmup_bars: int = 0
    strategy_ref: str | None = None
    fills_digest: bool = False


def build_strategy(setup: WorkerSetup) -> tuple[Any, int]:
    """(strategy spec for ``BacktestSession.run``, warm-up bars) from the setup."""
    if setup.strategy_ref:
        mod, _, attr = setup.strategy_ref.partition(":")
        return getattr(importlib.import_module(mod), attr), setup.warmup_bars
    from vibe_quant.dsl import load_strategy, warmup_bars
    from vibe_quant.strategy.compiler import compile_strategy

    spec = load_strategy(setup.yaml_text)
    compiled = compile_strategy(spec)
    return compiled, max(setup.warmup_bars, warmup_bars(spec))


STARTUP_FAILED = "startup_failed"
"""``status`` of a result whose worker could not start (compile or data loading failed)."""


def init_worker(setup: WorkerSetup) -> None:
    """Process-pool initializer: end with the parent (:func:`die_with_parent`), then compile
    and load data once per worker (:func:`load_state`)."""
    die_with_parent()
    load_state(setup)


def load_state(setup: WorkerSetup) -> None:
    """Compile the strategy and load the market data of ``setup`` into this thread's state.

    Never raises: an exception here would break the whole pool and look like a worker death.
    It is kept instead, and every task of this worker returns it as a ``startup_failed``
    result, which stops the sweep with the real error (:func:`run_combo`).
    """
    state = _state()
    state.clear()
    state["setup"] = setup
    try:
        from vibe_quant.backtest.marketdata import load_market_data
        from vibe_quant.core.intervals import interval_ms
        from vibe_quant.core.paths import DataDir

        t0 = time.perf_counter()
        spec, warm = build_strategy(setup)
        feed_start = setup.start_ns - warm * interval_ms(setup.interval) * 1_000_000
        data = load_market_data(DataDir.resolve(setup.data_dir), setup.symbol, setup.interval,
                                feed_start, setup.end_ns)
        # other symbols' bars a compiled strategy reads as data (DSL ``informative``)
        informative = {
            sym: load_market_data(DataDir.resolve(setup.data_dir), sym, setup.interval,
                                  feed_start, setup.end_ns)
            for sym in getattr(spec, "informative_symbols", ()) or ()}
    except Exception as e:
        state["startup_error"] = f"{type(e).__name__}: {e}"
        return
    state.update(spec=spec, data=data, sessions={}, informative=informative,
                 init_s=time.perf_counter() - t0)
    # everything loaded so far lives as long as the worker: keep it out of the cyclic GC's
    # full collections (each traversed it: ≈ 40 ms spikes every second combination, measured)
    import gc

    gc.collect()
    gc.freeze()


def run_task(setup: WorkerSetup, combo_idx: int, params: dict[str, Any]) -> dict[str, Any]:
    """One combination under any executor: loads ``setup`` first when this thread holds
    another setup (or none), then :func:`run_combo`. Never raises."""
    if _state().get("setup") != setup:
        load_state(setup)
    return run_combo(combo_idx, params)


def combo_leverage(spec: Any, params: dict[str, Any], default: float) -> float:
    """Venue leverage of one combination: a compiled strategy's ``sizing.leverage`` with these
    params (it may be swept), else the sweep's."""
    fn = getattr(spec, "leverage", None)
    return float(fn(params)) if callable(fn) else default


def _session(leverage: float) -> Any:
    """One engine session per leverage value (a swept leverage changes the venue)."""
    from vibe_quant.backtest.run import BacktestSession

    state = _state()
    sessions = state["sessions"]
    if leverage not in sessions:
        st = state["setup"]
        sessions[leverage] = BacktestSession(
            state["data"], trade_start_ns=st.start_ns, mode=st.mode, leverage=leverage,
            starting_balance=st.starting_balance, seed=st.seed,
            informative=state.get("informative"))
    return sessions[leverage]


def fills_digest(fills: list[Any]) -> str:
    """sha256 (hex) of a run's fill log: every fill's ts (ns), side, qty, price, commission
    (``repr`` of the floats, i.e. every digit), tag and liquidity, in order. Two runs with the
    same digest filled identically (the sweep identity test compares it)."""
    import hashlib

    return hashlib.sha256("".join([
        f"{f.ts},{f.side},{f.qty!r},{f.price!r},{f.commission!r},{f.tag},"
        f"{f.liquidity},{f.liquidation_adjustment!r};" for f in fills]).encode()).hexdigest()


def _proc_stats() -> dict[str, Any]:
    import os
    import resource

    rss = None
    try:  # resident set size now (MB): statm's 2nd field, in pages
        with open("/proc/self/statm") as fh:
            rss = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):  # not Linux
        pass
    return {"pid": os.getpid(), "rss_mb": rss,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_combo(combo_idx: int, params: dict[str, Any]) -> dict[str, Any]:
    """Run one combination; never raises (errors come back as ``status='failed'``, and a
    worker that could not start answers ``status='startup_failed'`` with its error)."""
    t0 = time.perf_counter()
    state = _state()
    if "startup_error" in state:
        return {"combo_idx": combo_idx, "params": params, "status": STARTUP_FAILED,
                "error": state["startup_error"]}
    try:
        from vibe_quant.backtest.metrics import daily_returns

        lev = combo_leverage(state["spec"], params, state["setup"].leverage)
        res = _session(lev).run(state["spec"], params)
        rets = daily_returns(np.asarray(res.daily_equity, dtype=float))
        out = {
            "combo_idx": combo_idx, "params": params, "status": "completed",
            "metrics": dict(res.metrics), "daily_returns": rets.tolist(),
            "daily_start": (str(res.daily_equity.index[1].date())
                            if len(res.daily_equity) > 1 else None),
            "engine_s": res.elapsed_s,
            "bars": res.bars, "init_s": state.pop("init_s", 0.0), **_proc_stats(),
            "fills": len(res.fills),
            "fills_sha256": (fills_digest(res.fills) if state["setup"].fills_digest
                             else None),
        }
        out["total_s"] = time.perf_counter() - t0  # everything this combination cost here
        return out
    except Exception as e:  # a failing combination is recorded, the sweep goes on
        return {"combo_idx": combo_idx, "params": params, "status": "failed",
                "error": f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}",
                "total_s": time.perf_counter() - t0}
