"""The state database (``state/vibe_quant.db``): strategies, runs, results, trades, equity.

This module owns ALL SQL of the state database. SQLite in WAL mode with a busy timeout
(:func:`vibe_quant.store.sqlite.connect`). The schema is versioned with ``PRAGMA user_version``:
:data:`MIGRATIONS` is an append-only list of ``(version, sql)``; opening a store applies every
migration above the file's version, each in its own transaction. Later stages (sweep results,
filter results, validation, jobs, events) add their tables by appending migrations here.

Writing a finished run (:meth:`StateStore.record_run` / :meth:`StateStore.complete_run`) is ONE
transaction: the run's status becomes ``completed`` in the same commit that writes its metrics,
trades and daily equity, so a crash never leaves a half-written run marked complete.

Units: ``*_ns`` columns are UTC epoch nanoseconds; prices/PnL/fees/funding in USDT; returns and
drawdowns as fractions; ``*_at`` columns are ISO-8601 UTC text.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibe_quant.core.jsonpolicy import now_iso, num, to_json
from vibe_quant.store import events_sql as _events_sql
from vibe_quant.store import jobs_sql as _jobs_sql
from vibe_quant.store import paper_sql as _paper_sql
from vibe_quant.store import pipeline_sql as _pipeline_sql
from vibe_quant.store import validation_sql as _validation_sql
from vibe_quant.store.sqlite import connect

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


_now, _num, _json = now_iso, num, to_json


def yaml_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class StrategyRow:
    id: int
    name: str
    version: int
    yaml: str
    hash: str


class StateStore:
    """Handle on the state database; create with ``StateStore.open(data_dir_or_path)``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    def open(cls, where: Any) -> StateStore:
        """Open (and migrate) the state DB of a ``DataDir`` or at a file path."""
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

    # ------------------------------------------------------------------ schema
    @property
    def version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> int:
        """Apply pending migrations (each atomically). Returns the resulting version."""
        for ver, sql in MIGRATIONS:
            if ver <= self.version:
                continue
            with self._tx():
                if self.version >= ver:  # another process migrated meanwhile
                    continue
                for stmt in _statements(sql):
                    self.conn.execute(stmt)
                self.conn.execute(f"PRAGMA user_version={int(ver)}")
        return self.version

    def _tx(self) -> _Tx:
        return _Tx(self.conn)

    # ------------------------------------------------------------------ strategies
    def upsert_strategy(self, name: str, yaml_text: str) -> StrategyRow:
        """Store a strategy definition; identical text returns the existing version, changed
        text becomes version max+1."""
        h = yaml_hash(yaml_text)
        with self._tx():
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
                (name, ver, yaml_text, h, _now()),
            )
            return StrategyRow(int(cur.lastrowid), name, int(ver), yaml_text, h)

    def strategy(self, name: str, version: int | None = None) -> StrategyRow | None:
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
        """Insert a run row (committed at once, status ``running``); returns its id."""
        with self._tx():
            return self._insert_run(strategy_name, symbols, interval, start_ns, end_ns, params,
                                    mode, leverage, starting_balance, seed, strategy_id, status)

    def _insert_run(self, strategy_name, symbols, interval, start_ns, end_ns, params, mode,
                    leverage, starting_balance, seed, strategy_id, status) -> int:
        cur = self.conn.execute(
            "INSERT INTO backtest_runs (strategy_id, strategy_name, symbols, interval, start_ns, "
            "end_ns, params, mode, leverage, starting_balance, seed, status, started_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (strategy_id, strategy_name, _json(list(symbols)), interval, int(start_ns),
             int(end_ns), _json(params), mode, float(leverage), float(starting_balance),
             int(seed), status, _now()),
        )
        return int(cur.lastrowid)

    def complete_run(self, run_id: int, result: Any) -> None:
        """Write metrics, trades and daily equity and mark the run completed — one transaction."""
        with self._tx():
            self._write_result(run_id, result)
            self.conn.execute(
                "UPDATE backtest_runs SET status='completed', finished_at=?, error=NULL "
                "WHERE id=?", (_now(), run_id))

    def fail_run(self, run_id: int, error: str) -> None:
        with self._tx():
            self.conn.execute(
                "UPDATE backtest_runs SET status='failed', finished_at=?, error=? WHERE id=?",
                (_now(), error, run_id))

    def record_run(self, result: Any, *, strategy_id: int | None = None) -> int:
        """Insert a finished :class:`~vibe_quant.backtest.result.BacktestResult` (run row +
        results + trades + equity) in ONE transaction; returns the run id."""
        with self._tx():
            run_id = self._insert_run(
                result.strategy, [result.symbol], result.interval, result.start_ns,
                result.end_ns, result.params, result.mode, result.leverage,
                result.starting_balance, result.seed, strategy_id, "running")
            self._write_result(run_id, result)
            self.conn.execute(
                "UPDATE backtest_runs SET status='completed', finished_at=? WHERE id=?",
                (_now(), run_id))
        return run_id

    def _write_result(self, run_id: int, r: Any) -> None:
        m = r.metrics
        self.conn.execute(
            "INSERT INTO backtest_results (run_id, total_return, cagr, sharpe, sortino, "
            "max_drawdown, calmar, profit_factor, win_rate, trades, fees, funding, liquidations, "
            "engine_balance, reconciliation_error, bankrupt, metrics, liquidation_fees, "
            "insurance_fund_absorbed) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (run_id, _num(m.get("total_return")), _num(m.get("cagr")), _num(m.get("sharpe")),
             _num(m.get("sortino")), _num(m.get("max_drawdown")), _num(m.get("calmar")),
             _num(m.get("profit_factor")), _num(m.get("win_rate")), int(m.get("trades", 0)),
             _num(m.get("fees")), _num(m.get("funding")), int(m.get("liquidations", 0)),
             _num(r.engine_balance), _num(r.reconciliation_error), int(bool(r.equity.bankrupt)),
             _json(m), _num(m.get("liquidation_fees", 0.0)),
             _num(m.get("insurance_fund_absorbed", 0.0))),
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
    def run(self, run_id: int) -> dict[str, Any] | None:
        cur = self.conn.execute("SELECT * FROM backtest_runs WHERE id=?", (run_id,))
        row = cur.fetchone()
        if row is None:
            return None
        d = dict(zip([c[0] for c in cur.description], row))
        d["symbols"] = json.loads(d["symbols"])
        d["params"] = json.loads(d["params"])
        return d

    def runs(self, status: str | None = None) -> list[dict[str, Any]]:
        q = "SELECT id FROM backtest_runs"
        args: tuple = ()
        if status:
            q += " WHERE status=?"
            args = (status,)
        return [self.run(i) for (i,) in self.conn.execute(q + " ORDER BY id", args)]  # type: ignore[misc]

    def metrics(self, run_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT metrics FROM backtest_results WHERE run_id=?", (run_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def trades(self, run_id: int) -> list[dict[str, Any]]:
        cur = self.conn.execute("SELECT * FROM trades WHERE run_id=? ORDER BY seq", (run_id,))
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur]

    def equity(self, run_id: int) -> list[tuple[str, float]]:
        return self.conn.execute(
            "SELECT date, equity FROM equity_curves WHERE run_id=? ORDER BY date", (run_id,)
        ).fetchall()


    # ---------------------------------------------------------------- sweeps
    def create_sweep(self, *, identity: str, strategy_name: str, yaml_text: str, symbol: str,
                     interval: str, start_ns: int, end_ns: int, mode: str, sample: str,
                     seed: int, leverage: float, starting_balance: float,
                     combos: list[dict[str, Any]], strategy_ref: str | None = None) -> int:
        """Insert a new sweep (status ``running``) with its full combination list."""
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO sweeps (identity, strategy_name, yaml, strategy_ref, symbol,"
                " interval, start_ns, end_ns, mode, sample, seed, leverage, starting_balance,"
                " combos, n_combos, status, created_at) VALUES"
                " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'running',?)",
                (identity, strategy_name, yaml_text, strategy_ref, symbol, interval, start_ns,
                 end_ns, mode, sample, seed, leverage, starting_balance, _json(combos),
                 len(combos), _now()))
            return int(cur.lastrowid)

    @staticmethod
    def _sweep_row(row: sqlite3.Row | None) -> dict[str, Any] | None:
        if row is None:
            return None
        d = dict(row)
        d["combos"] = json.loads(d["combos"])
        return d

    def sweep(self, sweep_id: int) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM sweeps WHERE id=?", (sweep_id,))
        return self._sweep_row(rows[0] if rows else None)

    def find_sweep(self, identity: str) -> dict[str, Any] | None:
        """The newest sweep with this identity (see ``screening.grid.sweep_identity``)."""
        rows = self._rows("SELECT * FROM sweeps WHERE identity=? ORDER BY id DESC LIMIT 1",
                          (identity,))
        return self._sweep_row(rows[0] if rows else None)

    def sweeps(self) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT s.id, s.strategy_name, s.symbol, s.interval, s.start_ns, s.end_ns, s.mode,"
            " s.n_combos, s.status, s.created_at, s.finished_at,"
            " (SELECT COUNT(*) FROM sweep_results r WHERE r.sweep_id = s.id) AS done"
            " FROM sweeps s ORDER BY s.id")
        return [dict(r) for r in rows]

    def set_sweep_status(self, sweep_id: int, status: str) -> None:
        with self._tx() as c:
            c.execute("UPDATE sweeps SET status=?, finished_at=? WHERE id=?",
                      (status, _now() if status == "completed" else None, sweep_id))

    def sweep_done_indices(self, sweep_id: int) -> set[int]:
        return {r[0] for r in self.conn.execute(
            "SELECT combo_idx FROM sweep_results WHERE sweep_id=?", (sweep_id,))}

    def record_sweep_result(self, sweep_id: int, res: dict[str, Any]) -> None:
        """Write one combination's outcome (one transaction; a repeat is ignored)."""
        m = res.get("metrics") or {}
        with self._tx() as c:
            c.execute(
                "INSERT OR IGNORE INTO sweep_results (sweep_id, combo_idx, params, status, error,"
                " sharpe, sharpe_daily, total_return, max_drawdown, profit_factor, trades,"
                " metrics, daily_returns, daily_start, engine_s, total_s, finished_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (sweep_id, int(res["combo_idx"]), _json(res["params"]), res["status"],
                 res.get("error"), _num(m.get("sharpe")), _num(m.get("sharpe_daily")),
                 _num(m.get("total_return")), _num(m.get("max_drawdown")),
                 _num(m.get("profit_factor")), m.get("trades"),
                 json.dumps(m, sort_keys=True, default=float) if m else None,
                 _json(res["daily_returns"]) if res.get("daily_returns") is not None else None,
                 res.get("daily_start"), res.get("engine_s"), res.get("total_s"), _now()))

    def sweep_results(self, sweep_id: int, *, with_returns: bool = False) -> list[dict[str, Any]]:
        """Rows ordered by combo_idx; ``metrics``/``params`` decoded (non-finite → None/inf)."""
        cols = "*" if with_returns else (
            "sweep_id, combo_idx, params, status, error, metrics, daily_start, engine_s,"
            " total_s, passes_filters, is_pareto")
        out = []
        for r in self._rows(
                f"SELECT {cols} FROM sweep_results WHERE sweep_id=? ORDER BY combo_idx",
                (sweep_id,)):
            d = dict(r)
            d["params"] = json.loads(d["params"])
            d["metrics"] = json.loads(d["metrics"]) if d["metrics"] else {}  # keeps inf/NaN
            if with_returns:
                d["daily_returns"] = json.loads(d["daily_returns"]) if d["daily_returns"] else None
            out.append(d)
        return out

    def set_sweep_flags(self, sweep_id: int, flags: dict[int, tuple[bool, bool]]) -> None:
        """Store ``{combo_idx: (is_pareto, passes_filters)}``."""
        with self._tx() as c:
            c.executemany(
                "UPDATE sweep_results SET is_pareto=?, passes_filters=? WHERE sweep_id=? AND"
                " combo_idx=?",
                [(int(p), int(f), sweep_id, i) for i, (p, f) in flags.items()])

    # ---------------------------------------------------------------- filters
    def create_filter_run(self, sweep_id: int, config: dict[str, Any]) -> int:
        with self._tx() as c:
            cur = c.execute("INSERT INTO filter_runs (sweep_id, config, created_at) VALUES"
                            " (?,?,?)", (sweep_id, _json(config), _now()))
            return int(cur.lastrowid)

    def record_filter_results(self, filter_run_id: int, rows: list[dict[str, Any]],
                              verdicts: dict[int, bool]) -> None:
        """Write every filter result and candidate verdict of one filter run atomically."""
        with self._tx() as c:
            c.executemany(
                "INSERT INTO filter_results (filter_run_id, combo_idx, filter, value, threshold,"
                " passed, details) VALUES (?,?,?,?,?,?,?)",
                [(filter_run_id, r["combo_idx"], r["filter"], _num(r.get("value")),
                  _json(r.get("threshold")), int(bool(r["passed"])),
                  _json(r.get("details") or {})) for r in rows])
            c.executemany(
                "INSERT INTO filter_verdicts (filter_run_id, combo_idx, passed_all) VALUES"
                " (?,?,?)", [(filter_run_id, i, int(v)) for i, v in verdicts.items()])

    def filter_results(self, filter_run_id: int) -> list[dict[str, Any]]:
        out = []
        for r in self._rows(
                "SELECT * FROM filter_results WHERE filter_run_id=? ORDER BY combo_idx, filter",
                (filter_run_id,)):
            d = dict(r)
            d["threshold"] = json.loads(d["threshold"])
            d["details"] = json.loads(d["details"]) if d["details"] else {}
            d["passed"] = bool(d["passed"])
            out.append(d)
        return out

    def filter_verdicts(self, filter_run_id: int) -> dict[int, bool]:
        return {r[0]: bool(r[1]) for r in self.conn.execute(
            "SELECT combo_idx, passed_all FROM filter_verdicts WHERE filter_run_id=?",
            (filter_run_id,))}

    def latest_filter_run(self, sweep_id: int) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM filter_runs WHERE sweep_id=? ORDER BY id DESC LIMIT 1",
                          (sweep_id,))
        if not rows:
            return None
        d = dict(rows[0])
        d["config"] = json.loads(d["config"])
        return d

    def _rows(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        cur = self.conn.cursor()
        cur.row_factory = sqlite3.Row
        return cur.execute(sql, params).fetchall()


class _Tx:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any exception)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, et: object, ev: object, tb: object) -> None:
        if et is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def _statements(sql: str) -> Iterator[str]:
    """Split a migration script on ';' (migrations contain no ';' inside literals)."""
    for part in sql.split(";"):
        # strip SQL comments line by line
        lines = [ln.split("--", 1)[0] for ln in part.splitlines()]
        s = "\n".join(lines).strip()
        if s:
            yield s
