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
import math
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
]

SCHEMA_VERSION = MIGRATIONS[-1][0]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _num(x: Any) -> float | None:
    """SQLite-friendly float (NaN/inf → NULL)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _json(o: Any) -> str:
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if hasattr(v, "item"):
            return clean(v.item())
        return v

    return json.dumps(clean(o), sort_keys=True, allow_nan=False)


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
            "engine_balance, reconciliation_error, bankrupt, metrics) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (run_id, _num(m.get("total_return")), _num(m.get("cagr")), _num(m.get("sharpe")),
             _num(m.get("sortino")), _num(m.get("max_drawdown")), _num(m.get("calmar")),
             _num(m.get("profit_factor")), _num(m.get("win_rate")), int(m.get("trades", 0)),
             _num(m.get("fees")), _num(m.get("funding")), int(m.get("liquidations", 0)),
             _num(r.engine_balance), _num(r.reconciliation_error), int(bool(r.equity.bankrupt)),
             _json(m)),
        )
        self.conn.executemany(
            "INSERT INTO trades (run_id, seq, entry_ns, exit_ns, side, qty, entry_price, "
            "exit_price, notional, fees, funding, realized_pnl, net_pnl, exit_reason) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(run_id, i, t.entry_ts, t.exit_ts, t.side, t.qty, t.entry_price, t.exit_price,
              t.notional, t.fees, t.funding, t.realized_pnl, t.net_pnl, t.exit_reason)
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
