"""Sweep workers are replaced after ``max_combos_per_worker`` combinations, or once their results
carry ``max_fills_per_worker`` fills (issue 15).

Nautilus keeps native memory for every fill a process made, and neither ``engine.reset()`` nor
``dispose()`` gives it back (SPEC §3 "Where a run's time goes", Memory), so the default pool
replaces its worker processes after K combinations, or F fills, each. What must hold: the worker
process really changes every K combinations / once F fills are reached (the pid in each result),
every combination is stored exactly once, an interrupted sweep resumes across a replacement,
and the stored results are digit for digit those of a sweep whose single worker ran everything.
"""

from __future__ import annotations

import pytest

from vibe_quant.backtest.run import to_ns
from vibe_quant.research.screening.sweep import SweepSpec, run_sweep
from vibe_quant.store.state import StateStore

GRID = [{"fast": f, "slow": s, "qty": 0.01} for f, s in
        ((5, 34), (8, 55), (13, 89), (21, 55), (8, 144), (5, 89), (13, 34))]


class _Stop(Exception):
    pass


def _spec() -> SweepSpec:
    return SweepSpec(yaml_text="", symbol="BTCUSDT", start_ns=to_ns("2024-01-05"),
                     end_ns=to_ns("2024-01-31", end=True),
                     strategy_ref="tests.research.screening.strategies:EmaFlip", grid=GRID)


def _stored(store: StateStore, sweep_id: int) -> list[tuple]:
    return [(r["combo_idx"], dict(r["params"]), r["status"], dict(r["metrics"]),
             list(r["daily_returns"] or []), r["daily_start"])
            for r in store.sweep_results(sweep_id, with_returns=True)]


def _counts(store: StateStore, sweep_id: int) -> tuple[int, int]:
    return store.conn.execute("SELECT COUNT(*), COUNT(DISTINCT combo_idx) FROM sweep_results"
                              " WHERE sweep_id=?", (sweep_id,)).fetchone()


@pytest.fixture(scope="module")
def never(tmp_path_factory, jan_2024_dir) -> tuple[list[tuple], list[dict]]:
    """(stored rows, result dicts in order) of the 7 combinations run by ONE worker process
    (no replacement by combinations or fills)."""
    seen: list[dict] = []
    path = tmp_path_factory.mktemp("never") / "never.db"
    with StateStore.open(path) as store:
        ref = run_sweep(store, _spec(), data_dir=str(jan_2024_dir.root), workers=1,
                        progress=None, on_result=seen.append, max_combos_per_worker=0,
                        max_fills_per_worker=0)
        expected = _stored(store, ref.sweep_id)
    assert len({r["pid"] for r in seen}) == 1
    assert [r["combo_idx"] for r in seen] == list(range(7))
    assert sum(r[3]["trades"] for r in expected) > 0
    return expected, seen


def test_one_worker_is_replaced_every_k_combinations_and_resumes(tmp_path, jan_2024_dir,
                                                                 never):
    dd = str(jan_2024_dir.root)
    expected = never[0]

    pids: list[int] = []

    def interrupt(res: dict) -> None:
        pids.append(res["pid"])
        if len(pids) == 4:
            raise _Stop  # Ctrl-C in the parent after the first result of the second worker

    with StateStore.open(tmp_path / "k3.db") as store:
        with pytest.raises(_Stop):
            run_sweep(store, _spec(), data_dir=dd, workers=1, progress=None,
                      on_result=interrupt, max_combos_per_worker=3, max_fills_per_worker=0)
        sid = store.sweeps()[0]["id"]
        assert store.sweep_done_indices(sid) == {0, 1, 2, 3}
        rep = run_sweep(store, _spec(), data_dir=dd, workers=1, progress=None,
                        on_result=lambda r: pids.append(r["pid"]), max_combos_per_worker=3,
                        max_fills_per_worker=0)
        got = _stored(store, sid)
        assert _counts(store, sid) == (7, 7)
    assert rep.sweep_id == sid and rep.resumed and rep.ran_now == 3
    # processes: combos 0-2, combo 3 (interrupted), then combos 4-6 after the resume
    assert [pids.index(p) for p in pids] == [0, 0, 0, 3, 4, 4, 4]
    assert got == expected


def test_two_workers_replaced_every_k_combinations_store_each_once(tmp_path, jan_2024_dir):
    dd = str(jan_2024_dir.root)
    with StateStore.open(tmp_path / "never.db") as store:
        ref = run_sweep(store, _spec(), data_dir=dd, workers=2, progress=None,
                        max_combos_per_worker=0, max_fills_per_worker=0)
        expected = _stored(store, ref.sweep_id)
    seen: list[dict] = []
    with StateStore.open(tmp_path / "k2.db") as store:
        rep = run_sweep(store, _spec(), data_dir=dd, workers=2, progress=None,
                        on_result=seen.append, max_combos_per_worker=2, max_fills_per_worker=0)
        got = _stored(store, rep.sweep_id)
        assert _counts(store, rep.sweep_id) == (7, 7)
    assert (rep.combos, rep.completed, rep.failed) == (7, 7, 0)
    # pools of 2 workers take 2 × 2 combinations: 0-3 on the first pool's processes, 4-6 on
    # the second's; no process ran more than a pool's share
    first = {r["pid"] for r in seen if r["combo_idx"] < 4}
    second = {r["pid"] for r in seen if r["combo_idx"] >= 4}
    assert first and second and not first & second
    assert max(sum(r["pid"] == p for r in seen) for p in first | second) <= 4
    assert sorted(r["combo_idx"] for r in seen) == list(range(7))
    assert got == expected


def _process_starts(fills: list[int], budget: int, restart: int) -> list[int]:
    """For each combination run in order by one worker slot, the index of the first combination
    its process ran: a process takes combinations until the fills of its results reach
    ``budget``; the sweep is interrupted before combination ``restart`` (a fresh process)."""
    starts, first, acc = [], 0, 0
    for i, n in enumerate(fills):
        if i == restart:
            first, acc = i, 0
        starts.append(first)
        acc += n
        if acc >= budget:
            first, acc = i + 1, 0
    return starts


def test_fill_budget_replaces_the_worker_and_resumes(tmp_path, jan_2024_dir, never):
    dd = str(jan_2024_dir.root)
    expected, ref = never
    fills = [r["fills"] for r in ref]
    assert min(fills) > 0
    budget = fills[0] + fills[1]  # the first process ends exactly at the budget (>=)
    starts = _process_starts(fills, budget, restart=3)
    assert len(set(starts)) >= 3 and max(starts.count(s) for s in starts) >= 2  # meaningful

    pids: list[int] = []

    def interrupt(res: dict) -> None:
        pids.append(res["pid"])
        if len(pids) == 3:
            raise _Stop

    with StateStore.open(tmp_path / "f.db") as store:
        with pytest.raises(_Stop):
            run_sweep(store, _spec(), data_dir=dd, workers=1, progress=None,
                      on_result=interrupt, max_combos_per_worker=0,
                      max_fills_per_worker=budget)
        sid = store.sweeps()[0]["id"]
        rep = run_sweep(store, _spec(), data_dir=dd, workers=1, progress=None,
                        on_result=lambda r: pids.append(r["pid"]), max_combos_per_worker=0,
                        max_fills_per_worker=budget)
        got = _stored(store, sid)
        assert _counts(store, sid) == (7, 7)
    assert rep.resumed and rep.ran_now == 4
    # the same process exactly where the hand-worked budget says so, a fresh one elsewhere
    assert [pids.index(p) for p in pids] == starts
    assert got == expected


def test_two_workers_fill_budget_stores_each_once(tmp_path, jan_2024_dir, never):
    dd = str(jan_2024_dir.root)
    expected, ref = never
    budget = min(r["fills"] for r in ref)
    seen: list[dict] = []
    with StateStore.open(tmp_path / "f2.db") as store:
        rep = run_sweep(store, _spec(), data_dir=dd, workers=2, progress=None,
                        on_result=seen.append, max_combos_per_worker=0,
                        max_fills_per_worker=budget)
        got = _stored(store, rep.sweep_id)
        assert _counts(store, rep.sweep_id) == (7, 7)
    assert (rep.combos, rep.completed, rep.failed) == (7, 7, 0)
    # a pool of 2 takes no more once its results carry 2 × budget fills, i.e. after its first
    # two results (each carries ≥ budget): it takes 2 combinations, plus 1 when the first
    # result alone was under 2 × budget — at most 3, so 7 combinations need ≥ 3 pools
    per_pid = [sum(r["pid"] == p for r in seen) for p in {r["pid"] for r in seen}]
    assert max(per_pid) <= 3 and len(per_pid) >= 3
    assert sorted(r["combo_idx"] for r in seen) == list(range(7))
    assert got == expected
