"""``run_sweep(..., executor=...)`` runs on any ``concurrent.futures.Executor``.

The same small real sweep runs on the default spawn process pool and on an injected
``ThreadPoolExecutor`` (two threads, each compiling and loading its own copy of the data);
both store the same results, digit for digit.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from vibe_quant.backtest.run import to_ns
from vibe_quant.research.screening.sweep import SweepSpec, run_sweep
from vibe_quant.store.state import StateStore

GRID = [{"fast": f, "slow": s, "qty": 0.01} for f in (8, 21) for s in (55, 144)]


def _stored(store: StateStore, sweep_id: int) -> list[tuple]:
    return [(r["combo_idx"], dict(r["params"]), r["status"], dict(r["metrics"]),
             list(r["daily_returns"] or []), r["daily_start"], r["is_pareto"],
             r["passes_filters"])
            for r in store.sweep_results(sweep_id, with_returns=True)]


def test_a_thread_pool_executor_stores_the_same_results_as_the_process_pool(
        tmp_path, jan_2024_dir):
    spec = SweepSpec(yaml_text="", symbol="BTCUSDT", start_ns=to_ns("2024-01-05"),
                     end_ns=to_ns("2024-01-31", end=True),
                     strategy_ref="tests.research.screening.strategies:EmaFlip", grid=GRID)
    events = []
    with StateStore.open(tmp_path / "pool.db") as store:
        ref = run_sweep(store, spec, data_dir=str(jan_2024_dir.root), workers=2)
        expected = _stored(store, ref.sweep_id)
    with StateStore.open(tmp_path / "threads.db") as store, \
            ThreadPoolExecutor(max_workers=2) as pool:
        rep = run_sweep(store, spec, data_dir=str(jan_2024_dir.root), workers=2,
                        executor=pool, progress=events.append)
        got = _stored(store, rep.sweep_id)
        assert not pool._shutdown  # the caller's executor is left open
    assert (rep.combos, rep.completed, rep.failed) == (4, 4, 0)
    assert sum(r[3]["trades"] for r in got) > 0
    assert got == expected
    assert [e.done for e in events] == [0, 1, 2, 3, 4]
    assert {e.task for e in events} == {"sweep"} and events[-1].total == 4
