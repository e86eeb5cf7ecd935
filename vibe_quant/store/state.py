"""The state database (``state/vibe_quant.db``): strategies, runs, results, trades, equity.

This module owns ALL SQL of the state database. SQLite in WAL mode with a busy timeout
(:func:`vibe_quant.store.sqlite.connect`). The schema is versioned with ``PRAGMA user_version``:
:data:`MIGRATIONS` is an append-only list of ``(version, sql)``; opening a store applies every
migration above the file's version, each in its own transaction. Later stages (sweep results,
filter results, validation, jobs, events) add their tables by appending migrations here.

Writing a finished run (:meth:`StateStore.record_run` / :meth:`StateStore.complete_run`) is ONE
transaction: the run's status becomes ``completed`` in the same commit that writes its metrics,
trades and daily equity, so a crash never leaves a half-written run marked complete.

Reads return frozen records (:mod:`vibe_quant.store.records`); JSON columns are written with
:func:`vibe_quant.core.jsonpolicy.to_json` and read with :func:`~vibe_quant.core.jsonpolicy.loads`
(NaN → None, ±inf kept), REAL columns hold finite numbers or NULL
(:func:`~vibe_quant.core.jsonpolicy.num`). Other modules of this package (``*_sql``) write
through :meth:`StateStore.transaction` and read through ``StateStore.conn`` /
:meth:`StateStore.query`.

Units: ``*_ns`` columns are UTC epoch nanoseconds; prices/PnL/fees/funding in USDT; returns and
drawdowns as fractions; ``*_at`` columns are ISO-8601 UTC text.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from vibe_quant.core.jsonpolicy import loads, now_iso, num, to_json
from vibe_quant.store import db
from vibe_quant.store import events_sql as _events_sql
from vibe_quant.store import jobs_sql as _jobs_sql
from vibe_quant.store import paper_sql as _paper_sql
from vibe_quant.store import pipeline_sql as _pipeline_sql
from vibe_quant.store import validation_sql as _validation_sql
from vibe_quant.store.records import (
    BacktestRun,
    EquityPoint,
    FilterResult,
    FilterRun,
    StrategyRow,
    Sweep,
    SweepResult,
    SweepSummary,
    Trade,
    freeze,
)
from vibe_quant.store.sqlite import connect

__all__ = ["MIGRATIONS", "RUN_STATUSES", "SCHEMA_VERSION", "StateStore", "StrategyRow",
           "yaml_hash"]

RUN_STATUSES = ("pending", "running", "completed", "failed")

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE strategies (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            yaml TEXT NOT NULL,
            hash TEXT NOT NULL,            -- sha256 of the yaml text
            created_at TEXT NOT NULL,
            UNIQUE (name, version),
            UNIQUE (name, hash)
        );
        CREATE TABLE backtest_runs (
            id INTEGER PRIMARY KEY,
            strategy_id INTEGER REFERENCES strategies (id),
            strategy_name TEXT NOT NULL,
            symbols TEXT NOT NULL,         -- JSON list, e.g. ["BTCUSDT"]
            interval TEXT NOT NULL,
            start_ns INTEGER NOT NULL,
            end_ns INTEGER NOT NULL,
            params TEXT NOT NULL,          -- JSON object
            mode TEXT NOT NULL CHECK (mode IN ('screening', 'validation')),
            leverage REAL NOT NULL,
            starting_balance REAL NOT NULL,
            seed INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed')),
            started_at TEXT NOT NULL,
            finished_at TEXT,
            error TEXT
        );
        CREATE INDEX backtest_runs_strategy ON backtest_runs (strategy_name, status);
        CREATE TABLE backtest_results (
            run_id INTEGER PRIMARY KEY REFERENCES backtest_runs (id) ON DELETE CASCADE,
            total_return REAL,
            cagr REAL,
            sharpe REAL,
            sortino REAL,
            max_drawdown REAL,
            calmar REAL,
            profit_factor REAL,
            win_rate REAL,
            trades INTEGER,
            fees REAL,
            funding REAL,
            liquidations INTEGER,
            engine_balance REAL,
            reconciliation_error REAL,
            bankrupt INTEGER NOT NULL DEFAULT 0,
            metrics TEXT NOT NULL          -- JSON object with every metric
        );
        CREATE TABLE trades (
            run_id INTEGER NOT NULL REFERENCES backtest_runs (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            entry_ns INTEGER NOT NULL,
            exit_ns INTEGER,
            side TEXT NOT NULL CHECK (side IN ('long', 'short')),
            qty REAL NOT NULL,
            entry_price REAL NOT NULL,
            exit_price REAL,
            notional REAL NOT NULL,
            fees REAL NOT NULL,
            funding REAL NOT NULL,
            realized_pnl REAL NOT NULL,
            net_pnl REAL NOT NULL,
            exit_reason TEXT,
            PRIMARY KEY (run_id, seq)
        ) WITHOUT ROWID;
        CREATE TABLE equity_curves (
            run_id INTEGER NOT NULL REFERENCES backtest_runs (id) ON DELETE CASCADE,
            date TEXT NOT NULL,            -- UTC day, YYYY-MM-DD
            equity REAL NOT NULL,          -- marked-to-market equity at the day's last bar
            PRIMARY KEY (run_id, date)
        ) WITHOUT ROWID;
        """,
    ),
    (
        2,
        """
    CREATE TABLE sweeps (
        id INTEGER PRIMARY KEY,
        identity TEXT NOT NULL,        -- sha256 of strategy text + settings (resume key)
        strategy_name TEXT NOT NULL,
        yaml TEXT NOT NULL,
        strategy_ref TEXT,             -- "module:attr" of a hand-written strategy, else NULL
        symbol TEXT NOT NULL,
        interval TEXT NOT NULL,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER NOT NULL,
        mode TEXT NOT NULL,
        sample TEXT NOT NULL,
        seed INTEGER NOT NULL,
        leverage REAL NOT NULL,
        starting_balance REAL NOT NULL,
        combos TEXT NOT NULL,          -- JSON list of parameter dicts, list index = combo_idx
        n_combos INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running', 'completed')),
        created_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE INDEX sweeps_identity ON sweeps (identity);
    CREATE TABLE sweep_results (
        sweep_id INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
        combo_idx INTEGER NOT NULL,
        params TEXT NOT NULL,          -- JSON object
        status TEXT NOT NULL CHECK (status IN ('completed', 'failed')),
        error TEXT,
        sharpe REAL,                   -- annualised (365 daily periods)
        sharpe_daily REAL,             -- per-period (daily)
        total_return REAL,
        max_drawdown REAL,
        profit_factor REAL,
        trades INTEGER,
        metrics TEXT,                  -- JSON: every metric of vibe_quant.backtest.metrics
        daily_returns TEXT,            -- JSON list of daily simple returns (fractions)
        daily_start TEXT,              -- UTC date of the first daily return
        engine_s REAL,
        total_s REAL,
        passes_filters INTEGER NOT NULL DEFAULT 0,
        is_pareto INTEGER NOT NULL DEFAULT 0,
        finished_at TEXT NOT NULL,
        PRIMARY KEY (sweep_id, combo_idx)
    ) WITHOUT ROWID;
    CREATE TABLE filter_runs (
        id INTEGER PRIMARY KEY,
        sweep_id INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
        config TEXT NOT NULL,          -- JSON: enabled filters and thresholds
        created_at TEXT NOT NULL
    );
    CREATE TABLE filter_results (
        filter_run_id INTEGER NOT NULL REFERENCES filter_runs (id) ON DELETE CASCADE,
        combo_idx INTEGER NOT NULL,    -- -1 for sweep-level filters (PBO)
        filter TEXT NOT NULL,          -- dsr | wfa | pkfold | pbo
        value REAL,
        threshold TEXT NOT NULL,       -- JSON (a number or an object of thresholds)
        passed INTEGER NOT NULL,
        details TEXT,                  -- JSON
        PRIMARY KEY (filter_run_id, combo_idx, filter)
    ) WITHOUT ROWID;
    CREATE TABLE filter_verdicts (
        filter_run_id INTEGER NOT NULL REFERENCES filter_runs (id) ON DELETE CASCADE,
        combo_idx INTEGER NOT NULL,
        passed_all INTEGER NOT NULL,   -- AND of the enabled candidate-level filters
        PRIMARY KEY (filter_run_id, combo_idx)
    ) WITHOUT ROWID;
        """,
    ),
    # Later stages keep their tables and queries in their own modules of this package.
    _validation_sql.MIGRATION,
    _events_sql.MIGRATION,
    _pipeline_sql.MIGRATION,
    (
        6,
        """
    -- Binance liquidation clearance fee (USDT kept from a liquidated isolated margin) and the
    -- loss beyond the isolated margin absorbed by the insurance fund (SPEC.md §3 Liquidation)
    ALTER TABLE trades ADD COLUMN liquidation_fee REAL NOT NULL DEFAULT 0;
    ALTER TABLE trades ADD COLUMN insurance_fund_absorbed REAL NOT NULL DEFAULT 0;
    ALTER TABLE backtest_results ADD COLUMN liquidation_fees REAL;
    ALTER TABLE backtest_results ADD COLUMN insurance_fund_absorbed REAL;
        """,
    ),
    _jobs_sql.MIGRATION,  # background_jobs (vibe_quant.jobs)
    _paper_sql.MIGRATION,  # paper_* journal (vibe_quant.paper)
    _validation_sql.MIGRATION_EXECUTION,  # execution resolution + impact sensitivity (9)
]

SCHEMA_VERSION = MIGRATIONS[-1][0]

#: ``within(conn, run_id)``: more writes that belong to the same transaction as a run's results
#: (e.g. its event log, :mod:`vibe_quant.store.events_sql`).
AlsoWrite = Callable[[sqlite3.Connection, int], None]


def yaml_hash(text: str) -> str:
    """sha256 hex digest of a strategy's YAML text (the ``strategies.hash`` column)."""
    return hashlib.sha256(text.encode()).hexdigest()


class StateStore:
    """Handle on the state database; create with ``StateStore.open(data_dir_or_path)``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    def open(cls, where: Any) -> StateStore:
        """Open (and migrate) the state DB of a ``DataDir`` (its ``state_db``) or at a path."""
        path = Path(where.state_db) if hasattr(where, "state_db") else Path(where)
        store = cls(connect(path))
        store.migrate()
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ schema, transactions
    @property
    def version(self) -> int:
        """Schema version of the open database (``PRAGMA user_version``)."""
        return db.version(self.conn)

    def migrate(self) -> int:
        """Apply pending :data:`MIGRATIONS` (each atomically). Returns the resulting version."""
        return db.migrate(self.conn, MIGRATIONS)

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """``with store.transaction() as conn:`` — ``BEGIN IMMEDIATE`` … ``COMMIT``
        (``ROLLBACK`` on any exception): every write of the block commits together."""
        return db.transaction(self.conn)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of a read, addressable by column name."""
        return db.query(self.conn, sql, params)

    # ------------------------------------------------------------------ strategies
    def upsert_strategy(self, name: str, yaml_text: str) -> StrategyRow:
        """Store a strategy definition; identical text returns the existing version, changed
        text becomes version max+1."""
        h = yaml_hash(yaml_text)
        with self.transaction():
            row = self.conn.execute(
                "SELECT id, name, version, yaml, hash FROM strategies WHERE name=? AND hash=?",
                (name, h),
            ).fetchone()
            if row:
                return StrategyRow(*row)
            ver = self.conn.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM strategies WHERE name=?", (name,)
            ).fetchone()[0]
            cur = self.conn.execute(
                "INSERT INTO strategies (name, version, yaml, hash, created_at) VALUES (?,?,?,?,?)",
                (name, ver, yaml_text, h, now_iso()),
            )
            return StrategyRow(int(cur.lastrowid), name, int(ver), yaml_text, h)

    def strategy(self, name: str, version: int | None = None) -> StrategyRow | None:
        """Strategy ``name`` at ``version`` (default: the latest); None if absent."""
        q = "SELECT id, name, version, yaml, hash FROM strategies WHERE name=?"
        args: tuple = (name,)
        if version is not None:
            q += " AND version=?"
            args += (version,)
        row = self.conn.execute(q + " ORDER BY version DESC LIMIT 1", args).fetchone()
        return StrategyRow(*row) if row else None

    # ------------------------------------------------------------------ runs
    def create_run(
        self, *, strategy_name: str, symbols: list[str], interval: str, start_ns: int,
        end_ns: int, params: dict[str, Any], mode: str, leverage: float,
        starting_balance: float, seed: int, strategy_id: int | None = None,
        status: str = "running",
    ) -> int:
        """Insert a run row (committed at once, status ``running``); returns its id.

        Raises:
            sqlite3.IntegrityError: ``status`` or ``mode`` outside the allowed values.
        """
        with self.transaction():
            return self._insert_run(strategy_name, symbols, interval, start_ns, end_ns, params,
                                    mode, leverage, starting_balance, seed, strategy_id, status)

    def _insert_run(self, strategy_name: str, symbols: list[str], interval: str, start_ns: int,
                    end_ns: int, params: dict[str, Any], mode: str, leverage: float,
                    starting_balance: float, seed: int, strategy_id: int | None,
                    status: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO backtest_runs (strategy_id, strategy_name, symbols, interval, start_ns, "
            "end_ns, params, mode, leverage, starting_balance, seed, status, started_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (strategy_id, strategy_name, to_json(list(symbols)), interval, int(start_ns),
             int(end_ns), to_json(params), mode, float(leverage), float(starting_balance),
             int(seed), status, now_iso()),
        )
        return int(cur.lastrowid)

    def complete_run(self, run_id: int, result: Any, *, within: AlsoWrite | None = None
                     ) -> None:
        """Write metrics, trades and daily equity of a
        :class:`~vibe_quant.backtest.result.BacktestResult`, call ``within(conn, run_id)``
        when given, and mark the run completed — one transaction."""
        with self.transaction() as c:
            self._write_result(run_id, result)
            if within is not None:
                within(c, run_id)
            c.execute("UPDATE backtest_runs SET status='completed', finished_at=?, error=NULL "
                      "WHERE id=?", (now_iso(), run_id))

    def fail_run(self, run_id: int, error: str) -> None:
        """Mark a run ``failed`` with a one-line ``error``."""
        with self.transaction() as c:
            c.execute(
                "UPDATE backtest_runs SET status='failed', finished_at=?, error=? WHERE id=?",
                (now_iso(), error, run_id))

    def record_run(self, result: Any, *, strategy_id: int | None = None,
                   within: AlsoWrite | None = None) -> int:
        """Insert a finished :class:`~vibe_quant.backtest.result.BacktestResult` (run row +
        results + trades + equity, then ``within(conn, run_id)`` when given) in ONE
        transaction; returns the run id."""
        with self.transaction() as c:
            run_id = self._insert_run(
                result.strategy, [result.symbol], result.interval, result.start_ns,
                result.end_ns, result.params, result.mode, result.leverage,
                result.starting_balance, result.seed, strategy_id, "running")
            self._write_result(run_id, result)
            if within is not None:
                within(c, run_id)
            c.execute("UPDATE backtest_runs SET status='completed', finished_at=? WHERE id=?",
                      (now_iso(), run_id))
        return run_id

    def _write_result(self, run_id: int, r: Any) -> None:
        m = r.metrics
        self.conn.execute(
            "INSERT INTO backtest_results (run_id, total_return, cagr, sharpe, sortino, "
            "max_drawdown, calmar, profit_factor, win_rate, trades, fees, funding, liquidations, "
            "engine_balance, reconciliation_error, bankrupt, metrics, liquidation_fees, "
            "insurance_fund_absorbed) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (run_id, num(m.get("total_return")), num(m.get("cagr")), num(m.get("sharpe")),
             num(m.get("sortino")), num(m.get("max_drawdown")), num(m.get("calmar")),
             num(m.get("profit_factor")), num(m.get("win_rate")), int(m.get("trades", 0)),
             num(m.get("fees")), num(m.get("funding")), int(m.get("liquidations", 0)),
             num(r.engine_balance), num(r.reconciliation_error), int(bool(r.equity.bankrupt)),
             to_json(m), num(m.get("liquidation_fees", 0.0)),
             num(m.get("insurance_fund_absorbed", 0.0))),
        )
        self.conn.executemany(
            "INSERT INTO trades (run_id, seq, entry_ns, exit_ns, side, qty, entry_price, "
            "exit_price, notional, fees, funding, realized_pnl, net_pnl, exit_reason, "
            "liquidation_fee, insurance_fund_absorbed) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(run_id, i, t.entry_ts, t.exit_ts, t.side, t.qty, t.entry_price, t.exit_price,
              t.notional, t.fees, t.funding, t.realized_pnl, t.net_pnl, t.exit_reason,
              float(getattr(t, "liquidation_fee", 0.0)),
              float(getattr(t, "insurance_fund_absorbed", 0.0)))
             for i, t in enumerate(r.trades)],
        )
        d = r.daily_equity
        self.conn.executemany(
            "INSERT INTO equity_curves (run_id, date, equity) VALUES (?,?,?)",
            [(run_id, ts.strftime("%Y-%m-%d"), float(v)) for ts, v in d.items()],
        )

    # ------------------------------------------------------------------ reads
    def run(self, run_id: int) -> BacktestRun | None:
        """One run row (``symbols`` and ``params`` decoded); None if absent."""
        rows = self.query(f"SELECT {BacktestRun.columns()} FROM backtest_runs WHERE id=?",
                          (run_id,))
        return _backtest_run(rows[0]) if rows else None

    def runs(self, status: str | None = None) -> list[BacktestRun]:
        """Every run (optionally of one ``status``), by id."""
        q = f"SELECT {BacktestRun.columns()} FROM backtest_runs"
        args: tuple = ()
        if status:
            q += " WHERE status=?"
            args = (status,)
        return [_backtest_run(r) for r in self.query(q + " ORDER BY id", args)]

    def metrics(self, run_id: int) -> dict[str, Any] | None:
        """Every metric of a completed run (read-only; NaN → None, ±inf kept); None until
        the run's results are written."""
        row = self.conn.execute(
            "SELECT metrics FROM backtest_results WHERE run_id=?", (run_id,)).fetchone()
        return _frozen_json(row[0]) if row else None

    def trades(self, run_id: int) -> list[Trade]:
        """Trades of a run by ``seq``."""
        return [Trade.from_row(r) for r in self.query(  # type: ignore[misc]
            f"SELECT {Trade.columns()} FROM trades WHERE run_id=? ORDER BY seq", (run_id,))]

    def equity(self, run_id: int) -> list[EquityPoint]:
        """Daily marked-to-market equity of a run, ``(date, equity USDT)`` by date."""
        return [EquityPoint(*r) for r in self.conn.execute(
            "SELECT date, equity FROM equity_curves WHERE run_id=? ORDER BY date", (run_id,))]

    # ---------------------------------------------------------------- sweeps
    def create_sweep(self, *, identity: str, strategy_name: str, yaml_text: str, symbol: str,
                     interval: str, start_ns: int, end_ns: int, mode: str, sample: str,
                     seed: int, leverage: float, starting_balance: float,
                     combos: list[dict[str, Any]], strategy_ref: str | None = None) -> int:
        """Insert a new sweep (status ``running``) with its full combination list; returns
        its id."""
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO sweeps (identity, strategy_name, yaml, strategy_ref, symbol,"
                " interval, start_ns, end_ns, mode, sample, seed, leverage, starting_balance,"
                " combos, n_combos, status, created_at) VALUES"
                " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'running',?)",
                (identity, strategy_name, yaml_text, strategy_ref, symbol, interval, start_ns,
                 end_ns, mode, sample, seed, leverage, starting_balance, to_json(combos),
                 len(combos), now_iso()))
            return int(cur.lastrowid)

    def sweep(self, sweep_id: int) -> Sweep | None:
        """One sweep (``combos`` decoded); None if absent."""
        rows = self.query(f"SELECT {Sweep.columns()} FROM sweeps WHERE id=?", (sweep_id,))
        return _sweep(rows[0]) if rows else None

    def find_sweep(self, identity: str) -> Sweep | None:
        """The newest sweep with this identity (see ``screening.grid.sweep_identity``)."""
        rows = self.query(f"SELECT {Sweep.columns()} FROM sweeps WHERE identity=?"
                          " ORDER BY id DESC LIMIT 1", (identity,))
        return _sweep(rows[0]) if rows else None

    def sweeps(self) -> list[SweepSummary]:
        """Every sweep by id, with ``done`` = its stored results."""
        rows = self.query(
            "SELECT s.id, s.strategy_name, s.symbol, s.interval, s.start_ns, s.end_ns, s.mode,"
            " s.n_combos, s.status, s.created_at, s.finished_at,"
            " (SELECT COUNT(*) FROM sweep_results r WHERE r.sweep_id = s.id) AS done"
            " FROM sweeps s ORDER BY s.id")
        return [SweepSummary.from_row(r) for r in rows]  # type: ignore[misc]

    def set_sweep_status(self, sweep_id: int, status: str) -> None:
        """Set a sweep's status (``running`` | ``completed``, which stamps ``finished_at``)."""
        with self.transaction() as c:
            c.execute("UPDATE sweeps SET status=?, finished_at=? WHERE id=?",
                      (status, now_iso() if status == "completed" else None, sweep_id))

    def sweep_done_indices(self, sweep_id: int) -> set[int]:
        """``combo_idx`` of every stored result of a sweep."""
        return {r[0] for r in self.conn.execute(
            "SELECT combo_idx FROM sweep_results WHERE sweep_id=?", (sweep_id,))}

    def record_sweep_result(self, sweep_id: int, res: dict[str, Any]) -> None:
        """Write one combination's outcome (one transaction; a repeat is ignored).

        ``res``: ``combo_idx``, ``params``, ``status`` (completed | failed), optional ``error``,
        ``metrics`` (every metric), ``daily_returns`` (list of fractions), ``daily_start``
        (UTC date), ``engine_s``/``total_s`` (seconds).
        """
        m = res.get("metrics") or {}
        with self.transaction() as c:
            c.execute(
                "INSERT OR IGNORE INTO sweep_results (sweep_id, combo_idx, params, status, error,"
                " sharpe, sharpe_daily, total_return, max_drawdown, profit_factor, trades,"
                " metrics, daily_returns, daily_start, engine_s, total_s, finished_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (sweep_id, int(res["combo_idx"]), to_json(res["params"]), res["status"],
                 res.get("error"), num(m.get("sharpe")), num(m.get("sharpe_daily")),
                 num(m.get("total_return")), num(m.get("max_drawdown")),
                 num(m.get("profit_factor")), m.get("trades"), to_json(m) if m else None,
                 to_json(res["daily_returns"]) if res.get("daily_returns") is not None else None,
                 res.get("daily_start"), res.get("engine_s"), res.get("total_s"), now_iso()))

    def sweep_results(self, sweep_id: int, *, with_returns: bool = False) -> list[SweepResult]:
        """Rows ordered by combo_idx; ``metrics``/``params`` decoded (NaN → None, ±inf kept);
        ``daily_returns`` read only ``with_returns`` (else None)."""
        cols = SweepResult.columns() if with_returns else SweepResult.columns().replace(
            "daily_returns", "NULL AS daily_returns")
        rows = self.query(f"SELECT {cols} FROM sweep_results WHERE sweep_id=? ORDER BY combo_idx",
                          (sweep_id,))
        return [SweepResult.from_row(  # type: ignore[misc]
            r, params=loads(r["params"]), metrics=loads(r["metrics"]) or {},
            daily_returns=loads(r["daily_returns"])) for r in rows]

    def set_sweep_flags(self, sweep_id: int, flags: dict[int, tuple[bool, bool]]) -> None:
        """Store ``{combo_idx: (is_pareto, passes_filters)}``."""
        with self.transaction() as c:
            c.executemany(
                "UPDATE sweep_results SET is_pareto=?, passes_filters=? WHERE sweep_id=? AND"
                " combo_idx=?",
                [(int(p), int(f), sweep_id, i) for i, (p, f) in flags.items()])

    # ---------------------------------------------------------------- filters
    def create_filter_run(self, sweep_id: int, config: dict[str, Any]) -> int:
        """Insert a filter run of a sweep with its settings; returns its id."""
        with self.transaction() as c:
            cur = c.execute("INSERT INTO filter_runs (sweep_id, config, created_at) VALUES"
                            " (?,?,?)", (sweep_id, to_json(config), now_iso()))
            return int(cur.lastrowid)

    def record_filter_results(self, filter_run_id: int, rows: list[dict[str, Any]],
                              verdicts: dict[int, bool]) -> None:
        """Write every filter result (``combo_idx``, ``filter``, ``value``, ``threshold``,
        ``passed``, ``details``) and candidate verdict of one filter run atomically."""
        with self.transaction() as c:
            c.executemany(
                "INSERT INTO filter_results (filter_run_id, combo_idx, filter, value, threshold,"
                " passed, details) VALUES (?,?,?,?,?,?,?)",
                [(filter_run_id, r["combo_idx"], r["filter"], num(r.get("value")),
                  to_json(r.get("threshold")), int(bool(r["passed"])),
                  to_json(r.get("details") or {})) for r in rows])
            c.executemany(
                "INSERT INTO filter_verdicts (filter_run_id, combo_idx, passed_all) VALUES"
                " (?,?,?)", [(filter_run_id, i, int(v)) for i, v in verdicts.items()])

    def filter_results(self, filter_run_id: int) -> list[FilterResult]:
        """Every result of a filter run by combo and filter. ``threshold``/``details`` are the
        report's JSON as written (a switched-off bound stays the text ``"inf"``, as the filter
        report shows it), not restored to floats."""
        rows = self.query(f"SELECT {FilterResult.columns()} FROM filter_results"
                          " WHERE filter_run_id=? ORDER BY combo_idx, filter", (filter_run_id,))
        return [FilterResult.from_row(  # type: ignore[misc]
            r, threshold=loads(r["threshold"], restore_inf=False),
            details=loads(r["details"], restore_inf=False) or {},
            passed=bool(r["passed"])) for r in rows]

    def filter_verdicts(self, filter_run_id: int) -> dict[int, bool]:
        """``{combo_idx: passed every enabled candidate-level filter}``."""
        return {r[0]: bool(r[1]) for r in self.conn.execute(
            "SELECT combo_idx, passed_all FROM filter_verdicts WHERE filter_run_id=?",
            (filter_run_id,))}

    def latest_filter_run(self, sweep_id: int) -> FilterRun | None:
        """The newest filter run of a sweep (``config`` decoded); None if none."""
        rows = self.query(f"SELECT {FilterRun.columns()} FROM filter_runs WHERE sweep_id=?"
                          " ORDER BY id DESC LIMIT 1", (sweep_id,))
        return FilterRun.from_row(rows[0], config=loads(rows[0]["config"])) if rows else None


def _frozen_json(text: str | None) -> Any:
    return freeze(loads(text))


def _backtest_run(r: sqlite3.Row) -> BacktestRun:
    return BacktestRun.from_row(  # type: ignore[return-value]
        r, symbols=loads(r["symbols"]), params=loads(r["params"]))


def _sweep(r: sqlite3.Row) -> Sweep:
    return Sweep.from_row(r, combos=loads(r["combos"]))  # type: ignore[return-value]

