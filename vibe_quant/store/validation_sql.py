"""State tables and queries of the validation stage (migration 3).

* ``validation_runs``: one ``vibe-quant validate`` invocation on a sweep (its settings).
* ``validation_results``: one consistency row per candidate — screening (the sweep's stored
  metrics) vs validation (the full validation-mode run stored in ``backtest_runs``, id
  ``run_id``): Sharpe, total return and max drawdown, degradation in percent, the
  ``execution_sensitive`` flag (definitions: :mod:`vibe_quant.research.validation.consistency`).

Units: Sharpe annualised (365 daily periods), returns and drawdowns fractions, degradations
percent (positive = validation worse), ``slippage_cost`` and ``fees`` USDT.

Functions take a :class:`~vibe_quant.store.state.StateStore` and return
:class:`~vibe_quant.store.records.ValidationRun` / ``ValidationResult`` records.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from vibe_quant.core.jsonpolicy import loads, now_iso, num, to_json
from vibe_quant.store.records import ValidationResult, ValidationRun

if TYPE_CHECKING:
    from vibe_quant.store.state import StateStore

MIGRATION = (
    3,
    """
    CREATE TABLE validation_runs (
        id INTEGER PRIMARY KEY,
        sweep_id INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
        config TEXT NOT NULL,          -- JSON: candidates, latency, fee tier, impact params
        status TEXT NOT NULL CHECK (status IN ('running', 'completed')),
        created_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE INDEX validation_runs_sweep ON validation_runs (sweep_id);
    CREATE TABLE validation_results (
        validation_run_id INTEGER NOT NULL REFERENCES validation_runs (id) ON DELETE CASCADE,
        combo_idx INTEGER NOT NULL,
        run_id INTEGER REFERENCES backtest_runs (id),   -- the stored validation-mode run
        params TEXT NOT NULL,          -- JSON object
        status TEXT NOT NULL CHECK (status IN ('completed', 'failed')),
        error TEXT,
        screening_sharpe REAL,
        validation_sharpe REAL,
        sharpe_degradation_pct REAL,
        screening_return REAL,
        validation_return REAL,
        return_degradation_pct REAL,
        screening_max_drawdown REAL,
        validation_max_drawdown REAL,
        drawdown_degradation_pct REAL,
        screening_trades INTEGER,
        validation_trades INTEGER,
        execution_sensitive INTEGER,   -- 1 or 0, NULL when the screening Sharpe is not positive
        slippage_cost REAL,            -- USDT paid to the fill model over the run
        details TEXT,                  -- JSON: trades, fees, latency, tier, other metrics
        finished_at TEXT NOT NULL,
        PRIMARY KEY (validation_run_id, combo_idx)
    ) WITHOUT ROWID
    """,
)

#: Migration 9 (issue 11): which bars the exchange walked and the impact-coefficient
#: sensitivity. ``execution_interval``: e.g. ``1m`` (finer than the strategy's bars) or the
#: strategy's own interval; ``execution_note``: one line saying why (finer bars missing …);
#: ``impact_sensitivity``: JSON list, one object per k multiplier (0.5, 1, 2) with ``k``,
#: ``run_id`` (the stored run), ``sharpe``, ``total_return``, ``slippage_cost`` (USDT),
#: ``trades``.
MIGRATION_EXECUTION = (
    9,
    """
    ALTER TABLE validation_results ADD COLUMN execution_interval TEXT;
    ALTER TABLE validation_results ADD COLUMN execution_note TEXT;
    ALTER TABLE validation_results ADD COLUMN impact_sensitivity TEXT;
    """,
)

_COLS = ("screening_sharpe", "validation_sharpe", "sharpe_degradation_pct", "screening_return",
         "validation_return", "return_degradation_pct", "screening_max_drawdown",
         "validation_max_drawdown", "drawdown_degradation_pct", "screening_trades",
         "validation_trades")


def create_validation_run(store: StateStore, sweep_id: int, config: dict[str, Any]) -> int:
    """Insert a validation run (status ``running``) with its settings; returns its id."""
    with store.transaction() as c:
        cur = c.execute(
            "INSERT INTO validation_runs (sweep_id, config, status, created_at) VALUES"
            " (?,?,'running',?)", (sweep_id, to_json(config), now_iso()))
        return int(cur.lastrowid)


def finish_validation_run(store: StateStore, validation_run_id: int) -> None:
    """Mark a validation run ``completed``."""
    with store.transaction() as c:
        c.execute("UPDATE validation_runs SET status='completed', finished_at=? WHERE id=?",
                  (now_iso(), validation_run_id))


def record_validation_result(store: StateStore, validation_run_id: int,
                             row: dict[str, Any]) -> None:
    """Write one candidate's consistency row (one transaction).

    ``row``: ``combo_idx``, ``params``, ``status``, optional ``error``, ``run_id``, the keys of
    :func:`vibe_quant.research.validation.consistency.consistency`, ``slippage_cost``, ``details``,
    ``execution_interval``, ``execution_note``, ``impact_sensitivity``.
    """
    es = row.get("execution_sensitive")
    with store.transaction() as c:
        c.execute(
            "INSERT INTO validation_results (validation_run_id, combo_idx, run_id, params,"
            " status, error, " + ", ".join(_COLS) + ", execution_sensitive, slippage_cost,"
            " details, finished_at) VALUES (" + ",".join("?" * (6 + len(_COLS) + 4)) + ")",
            (validation_run_id, int(row["combo_idx"]), row.get("run_id"), to_json(row["params"]),
             row["status"], row.get("error"), *[num(row.get(k)) for k in _COLS],
             None if es is None else int(bool(es)), num(row.get("slippage_cost")),
             to_json(row.get("details") or {}), now_iso()))
        c.execute(
            "UPDATE validation_results SET execution_interval=?, execution_note=?,"
            " impact_sensitivity=? WHERE validation_run_id=? AND combo_idx=?",
            (row.get("execution_interval"), row.get("execution_note"),
             to_json(row["impact_sensitivity"]) if row.get("impact_sensitivity") is not None
             else None, validation_run_id, int(row["combo_idx"])))


def _validation_run(r: sqlite3.Row) -> ValidationRun:
    return ValidationRun.from_row(r, config=loads(r["config"]))  # type: ignore[return-value]


def validation_run(store: StateStore, validation_run_id: int) -> ValidationRun | None:
    """One validation run (``config`` decoded); None if absent."""
    rows = store.query(f"SELECT {ValidationRun.columns()} FROM validation_runs WHERE id=?",
                       (validation_run_id,))
    return _validation_run(rows[0]) if rows else None


def validation_runs(store: StateStore, sweep_id: int) -> list[ValidationRun]:
    """Every validation run of a sweep, oldest first."""
    return [_validation_run(r) for r in store.query(
        f"SELECT {ValidationRun.columns()} FROM validation_runs WHERE sweep_id=? ORDER BY id",
        (sweep_id,))]


def latest_validation_run(store: StateStore, sweep_id: int) -> ValidationRun | None:
    """The newest validation run of a sweep; None if none."""
    runs = validation_runs(store, sweep_id)
    return runs[-1] if runs else None


def validation_results(store: StateStore, validation_run_id: int) -> list[ValidationResult]:
    """Consistency rows of a validation run, by screening Sharpe descending (``params``,
    ``details``, ``impact_sensitivity`` decoded; ``execution_sensitive`` a bool or None)."""
    out = []
    for r in store.query(
            f"SELECT {ValidationResult.columns()} FROM validation_results"
            " WHERE validation_run_id=? ORDER BY screening_sharpe DESC, combo_idx",
            (validation_run_id,)):
        es = r["execution_sensitive"]
        out.append(ValidationResult.from_row(
            r, params=loads(r["params"]), details=loads(r["details"]) or {},
            impact_sensitivity=loads(r["impact_sensitivity"]),
            execution_sensitive=None if es is None else bool(es)))
    return out
