"""A sweep whose workers cannot start stops at once with the workers' real error.

Before the fix every combination was recorded as "the worker process died … (2 times)", the
pool was rebuilt for each one and the sweep "succeeded" with 0 of N completed.
"""

from __future__ import annotations

import time

import pytest

from vibe_quant.backtest.run import to_ns
from vibe_quant.research.screening.sweep import SweepSpec, SweepStartupError, run_sweep
from vibe_quant.store.state import StateStore


def test_worker_startup_failure_stops_the_sweep_with_the_real_error(tmp_path, jan_2024_dir):
    # The data is there, so the parent's data check passes; the workers then fail to build the
    # strategy (a module that does not exist) — a start-up failure, not a combination's.
    grid = [{"fast": f} for f in range(6)]
    spec = SweepSpec(
        yaml_text="",
        symbol="BTCUSDT",
        start_ns=to_ns("2024-01-05"),
        end_ns=to_ns("2024-01-20", end=True),
        strategy_ref="tests.research.screening.no_such_module:Strategy",
        grid=grid,
    )
    t0 = time.perf_counter()
    with StateStore.open(tmp_path / "s.db") as store:
        with pytest.raises(SweepStartupError) as ei:
            run_sweep(store, spec, data_dir=str(jan_2024_dir.root), workers=2, progress=None)
        n = store.conn.execute("SELECT COUNT(*) FROM sweep_results").fetchone()[0]
    secs = time.perf_counter() - t0
    msg = str(ei.value)
    assert "ModuleNotFoundError" in msg and "tests.research.screening.no_such_module" in msg
    assert "could not start" in msg and "worker process died" not in msg
    assert n == 0  # nothing recorded: a re-run after the fix starts cleanly
    assert secs < 60, secs  # at once: no per-combination pool rebuilds


def test_missing_data_is_refused_before_any_worker_starts(tmp_path, jan_2024_dir):
    from vibe_quant.data.coverage import MissingDataError

    spec = SweepSpec(
        yaml_text="",
        symbol="BTCUSDT",
        start_ns=to_ns("2023-06-01"),
        end_ns=to_ns("2023-06-30", end=True),
        strategy_ref="tests.research.screening.strategies:EmaFlip",
        grid=[{"fast": 8, "slow": 55, "qty": 0.01}],
    )
    with StateStore.open(tmp_path / "s.db") as store:
        with pytest.raises(MissingDataError) as ei:
            run_sweep(store, spec, data_dir=str(jan_2024_dir.root), workers=1, progress=None)
        assert store.conn.execute("SELECT COUNT(*) FROM sweeps").fetchone()[0] == 0
    # January 2024 holds 31 × 288 bars closing 2024-01-01 00:05 … 2024-02-01 00:00
    assert (
        "0 BTCUSDT 5m bars in 2023-06-01 → 2023-06-30 (it holds 2024-01-01 00:05 → "
        "2024-02-01 00:00)"
    ) in str(ei.value)
    assert (
        "vibe-quant data ingest --symbols BTCUSDT --interval 5m --start 2023-06 --end 2023-06"
    ) in str(ei.value)
