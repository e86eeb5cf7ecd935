"""Every read of the dashboard (:mod:`vibe_quant.dashboard`): one module, read-only connections.

:func:`connect_ro` opens the state database (or the archive) with a ``file:…?mode=ro`` URI: the
connection can never write, takes no write lock, and in WAL mode reads a consistent snapshot
while a sweep, filter or job writes (SQLite WAL: readers do not block writers and writers do not
block readers, https://sqlite.org/wal.html). A busy timeout covers the rare checkpoint moment.

Every query function takes such a connection and returns plain Python values (lists of dicts,
JSON columns decoded under :mod:`vibe_quant.core.jsonpolicy`). Units are the stored ones
(``vibe_quant.store.state``): ``*_ns`` UTC epoch nanoseconds, prices/PnL/fees in USDT, returns
and drawdowns as fractions, Sharpe annualised over 365 daily periods, degradations in percent,
``*_at`` ISO-8601 UTC text.

Tables that a later stage adds (e.g. paper trading's ``paper_runs``) are read only when present:
:func:`table_exists` lets a page say plainly that none exists yet.
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

from vibe_quant.core.errors import StoreError
from vibe_quant.core.jsonpolicy import loads

BUSY_TIMEOUT_MS = 5_000


class StoreMissingError(StoreError, LookupError):
    """The database file does not exist (nothing has been stored in this data dir yet)."""


def connect_ro(path: str | Path) -> sqlite3.Connection:
    """A read-only connection (``mode=ro`` URI) to an existing SQLite file; rows as dicts.

    Raises:
        StoreMissingError: the file does not exist.
    """
    p = Path(path).resolve()
    if not p.exists():
        raise StoreMissingError(f"{p} does not exist yet")
    conn = sqlite3.connect(
        p.as_uri() + "?mode=ro",
        uri=True,
        timeout=BUSY_TIMEOUT_MS / 1000,
        check_same_thread=False,
        isolation_level=None,  # autocommit: never keeps a read transaction (a stale snapshot)
    )
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.row_factory = _dict_row
    return conn


def _dict_row(cur: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    return {d[0]: v for d, v in zip(cur.description, row)}


def _loads(text: str | None, default: Any = None) -> Any:
    """A JSON column decoded under :mod:`vibe_quant.core.jsonpolicy`; ``default`` when empty."""
    if text is None or text == "":
        return default
    return loads(text)


def _q(conn: sqlite3.Connection, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
    return conn.execute(sql, args).fetchall()


def table_exists(conn: sqlite3.Connection, name: str) -> bool:
    return bool(_q(conn, "SELECT 1 AS x FROM sqlite_master WHERE type='table' AND name=?", (name,)))


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """``{table: row count}`` of every table of the database."""
    names = [
        r["name"]
        for r in _q(
            conn,
            "SELECT name FROM sqlite_master WHERE type='table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
    ]
    return {n: int(_q(conn, f'SELECT COUNT(*) AS n FROM "{n}"')[0]["n"]) for n in names}


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()["user_version"])


# ---------------------------------------------------------------------- strategies
def strategy_versions(conn: sqlite3.Connection, name: str) -> list[dict[str, Any]]:
    """Stored versions of strategy ``name`` (id, version, yaml, hash, created_at), newest
    first."""
    return _q(
        conn,
        "SELECT id, name, version, yaml, hash, created_at FROM strategies "
        "WHERE name=? ORDER BY version DESC",
        (name,),
    )


def strategy_names(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every stored strategy name with its latest version and version count."""
    return _q(
        conn,
        "SELECT name, MAX(version) AS latest, COUNT(*) AS versions, "
        "MAX(created_at) AS updated_at FROM strategies GROUP BY name ORDER BY name",
    )


# ---------------------------------------------------------------------- sweeps
def sweeps(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every sweep, newest first: id, strategy, symbol, interval, window (ns), mode, n_combos,
    status, created/finished, ``done`` (stored results), ``failed``."""
    return _q(
        conn,
        "SELECT s.id, s.strategy_name, s.symbol, s.interval, s.start_ns, s.end_ns, s.mode,"
        " s.sample, s.n_combos, s.status, s.created_at, s.finished_at,"
        " (SELECT COUNT(*) FROM sweep_results r WHERE r.sweep_id = s.id) AS done,"
        " (SELECT COUNT(*) FROM sweep_results r WHERE r.sweep_id = s.id"
        "   AND r.status = 'failed') AS failed"
        " FROM sweeps s ORDER BY s.id DESC",
    )


def sweep(conn: sqlite3.Connection, sweep_id: int) -> dict[str, Any] | None:
    """One sweep row (``combos`` decoded), None if absent."""
    rows = _q(conn, "SELECT * FROM sweeps WHERE id=?", (int(sweep_id),))
    if not rows:
        return None
    d = rows[0]
    d["combos"] = _loads(d["combos"], [])
    return d


def sweep_results(conn: sqlite3.Connection, sweep_id: int) -> list[dict[str, Any]]:
    """Results of a sweep by combo_idx: params and metrics decoded, flags as bool. The
    stored metric columns (sharpe, total_return, max_drawdown, profit_factor, trades) are
    kept as stored (NULL for non-finite values)."""
    out = []
    for r in _q(
        conn,
        "SELECT combo_idx, params, status, error, sharpe, sharpe_daily, total_return,"
        " max_drawdown, profit_factor, trades, metrics, engine_s, total_s,"
        " passes_filters, is_pareto, finished_at FROM sweep_results WHERE sweep_id=?"
        " ORDER BY combo_idx",
        (int(sweep_id),),
    ):
        r["params"] = _loads(r["params"], {})
        r["metrics"] = _loads(r["metrics"], {})
        r["passes_filters"] = bool(r["passes_filters"])
        r["is_pareto"] = bool(r["is_pareto"])
        out.append(r)
    return out


def sweep_result_count(conn: sqlite3.Connection, sweep_id: int | None = None) -> int:
    if sweep_id is None:
        return int(_q(conn, "SELECT COUNT(*) AS n FROM sweep_results")[0]["n"])
    return int(
        _q(conn, "SELECT COUNT(*) AS n FROM sweep_results WHERE sweep_id=?", (int(sweep_id),))[0][
            "n"
        ]
    )


# ---------------------------------------------------------------------- filters
def filter_runs(conn: sqlite3.Connection, sweep_id: int) -> list[dict[str, Any]]:
    """Filter runs of a sweep, newest first (``config`` decoded)."""
    out = _q(conn, "SELECT * FROM filter_runs WHERE sweep_id=? ORDER BY id DESC", (int(sweep_id),))
    for r in out:
        r["config"] = _loads(r["config"], {})
    return out


def filter_results(conn: sqlite3.Connection, filter_run_id: int) -> list[dict[str, Any]]:
    """Every filter result of a filter run (``combo_idx`` -1 = sweep-level: PBO, WFA), by
    combo and filter; threshold and details decoded, passed as bool."""
    out = _q(
        conn,
        "SELECT * FROM filter_results WHERE filter_run_id=? ORDER BY combo_idx, filter",
        (int(filter_run_id),),
    )
    for r in out:
        r["threshold"] = _loads(r["threshold"])
        r["details"] = _loads(r["details"], {})
        r["passed"] = bool(r["passed"])
    return out


def filter_verdicts(conn: sqlite3.Connection, filter_run_id: int) -> dict[int, bool]:
    """``{combo_idx: passed every enabled filter}`` of a filter run."""
    return {
        int(r["combo_idx"]): bool(r["passed_all"])
        for r in _q(
            conn,
            "SELECT combo_idx, passed_all FROM filter_verdicts WHERE filter_run_id=?",
            (int(filter_run_id),),
        )
    }


# ---------------------------------------------------------------------- validation
def validation_runs(conn: sqlite3.Connection, sweep_id: int) -> list[dict[str, Any]]:
    """Validation runs of a sweep, newest first (``config`` decoded)."""
    out = _q(
        conn, "SELECT * FROM validation_runs WHERE sweep_id=? ORDER BY id DESC", (int(sweep_id),)
    )
    for r in out:
        r["config"] = _loads(r["config"], {})
    return out


def validation_results(conn: sqlite3.Connection, validation_run_id: int) -> list[dict[str, Any]]:
    """Screening-vs-validation rows of a validation run, by screening Sharpe descending."""
    out = _q(
        conn,
        "SELECT * FROM validation_results WHERE validation_run_id=?"
        " ORDER BY screening_sharpe DESC, combo_idx",
        (int(validation_run_id),),
    )
    for r in out:
        r["params"] = _loads(r["params"], {})
        r["details"] = _loads(r["details"], {})
        es = r["execution_sensitive"]
        r["execution_sensitive"] = None if es is None else bool(es)
    return out


# ---------------------------------------------------------------------- pipelines
def pipeline_runs(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every pipeline row, newest first (config and stage_seconds decoded)."""
    out = _q(
        conn,
        "SELECT id, strategy_name, symbol, start_ns, end_ns, config, stage, sweep_id,"
        " filter_run_id, validation_run_id, report_path, stage_seconds, created_at,"
        " updated_at FROM pipeline_runs ORDER BY id DESC",
    )
    for r in out:
        r["config"] = _loads(r["config"], {})
        r["stage_seconds"] = _loads(r["stage_seconds"], {})
    return out


# ---------------------------------------------------------------------- runs
_RUN_COLS = (
    "r.id, r.strategy_name, r.symbols, r.interval, r.start_ns, r.end_ns, r.params,"
    " r.mode, r.leverage, r.starting_balance, r.seed, r.status, r.started_at,"
    " r.finished_at, r.error, m.total_return, m.cagr, m.sharpe, m.sortino,"
    " m.max_drawdown, m.calmar, m.profit_factor, m.win_rate, m.trades, m.fees,"
    " m.funding, m.liquidations, m.bankrupt"
)


def _run_row(r: dict[str, Any]) -> dict[str, Any]:
    r["symbols"] = _loads(r["symbols"], [])
    r["params"] = _loads(r["params"], {})
    return r


def runs(conn: sqlite3.Connection, limit: int = 500) -> list[dict[str, Any]]:
    """Backtest runs with their headline metrics (NULL until completed), newest first."""
    return [
        _run_row(r)
        for r in _q(
            conn,
            f"SELECT {_RUN_COLS} FROM backtest_runs r LEFT JOIN backtest_results m"
            " ON m.run_id = r.id ORDER BY r.id DESC LIMIT ?",
            (int(limit),),
        )
    ]


def run(conn: sqlite3.Connection, run_id: int) -> dict[str, Any] | None:
    """One run with headline metrics and ``metrics`` (every metric, decoded); None if absent."""
    rows = _q(
        conn,
        f"SELECT {_RUN_COLS}, m.metrics FROM backtest_runs r LEFT JOIN"
        " backtest_results m ON m.run_id = r.id WHERE r.id=?",
        (int(run_id),),
    )
    if not rows:
        return None
    r = _run_row(rows[0])
    r["metrics"] = _loads(r["metrics"], {})
    return r


def trades(conn: sqlite3.Connection, run_id: int) -> list[dict[str, Any]]:
    """Trades of a run by seq (entry/exit ns, side, qty, prices, USDT amounts)."""
    return _q(conn, "SELECT * FROM trades WHERE run_id=? ORDER BY seq", (int(run_id),))


def equity(conn: sqlite3.Connection, run_id: int) -> list[dict[str, Any]]:
    """Daily marked-to-market equity (USDT) of a run: ``[{date, equity}]`` by date."""
    return _q(
        conn, "SELECT date, equity FROM equity_curves WHERE run_id=? ORDER BY date", (int(run_id),)
    )


# ---------------------------------------------------------------------- jobs
_JOB_COLS = (
    "id, command, args, state, pid, pgid, progress_done, progress_total,"
    " progress_unit, heartbeat_at, log_path, result_ref, exit_code, error, created_at,"
    " started_at, finished_at"
)


def jobs(
    conn: sqlite3.Connection, limit: int = 100, active_only: bool = False
) -> list[dict[str, Any]]:
    """Background jobs, newest first, without their token; args/result_ref decoded. Empty
    when the jobs table does not exist in this store."""
    if not table_exists(conn, "background_jobs"):
        return []
    where = " WHERE state IN ('pending','running')" if active_only else ""
    out = _q(
        conn,
        f"SELECT {_JOB_COLS} FROM background_jobs{where} ORDER BY id DESC LIMIT ?",
        (int(limit),),
    )
    for r in out:
        r["args"] = _loads(r["args"], [])
        r["result_ref"] = _loads(r["result_ref"])
    return out


def job(conn: sqlite3.Connection, job_id: int) -> dict[str, Any] | None:
    """One background job (no token), None if absent."""
    if not table_exists(conn, "background_jobs"):
        return None
    rows = _q(conn, f"SELECT {_JOB_COLS} FROM background_jobs WHERE id=?", (int(job_id),))
    if not rows:
        return None
    r = rows[0]
    r["args"] = _loads(r["args"], [])
    r["result_ref"] = _loads(r["result_ref"])
    return r


# ---------------------------------------------------------------------- presets
def presets(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Latest version of every risk preset: name, version, body (decoded), created_at."""
    out = _q(
        conn,
        "SELECT p.name, p.version, p.body, p.created_at FROM risk_presets p WHERE"
        " p.version = (SELECT MAX(version) FROM risk_presets q WHERE q.name = p.name)"
        " ORDER BY p.name",
    )
    for r in out:
        r["body"] = _loads(r["body"], {})
    return out


def preset_versions(conn: sqlite3.Connection, name: str) -> list[dict[str, Any]]:
    """Every version of preset ``name`` (body decoded, source YAML text), newest first."""
    out = _q(
        conn,
        "SELECT name, version, body, source, created_at FROM risk_presets WHERE "
        "name=? ORDER BY version DESC",
        (name,),
    )
    for r in out:
        r["body"] = _loads(r["body"], {})
    return out


# ---------------------------------------------------------------------- paper trading
PAPER_TABLE = "paper_runs"


def paper_runs(conn: sqlite3.Connection) -> list[dict[str, Any]] | None:
    """Paper runs, newest first (no strategy text, no key-file path): status, child state,
    position (signed base units), avg_entry/balance/upnl (USDT), open_orders (decoded list),
    breaker (decoded object), heartbeat_at (ISO UTC), last_bar_ns, restarts, error. None when
    paper trading has never created its tables in this store."""
    if not table_exists(conn, PAPER_TABLE):
        return None
    out = _q(
        conn,
        "SELECT id, strategy_name, symbol, interval, params, leverage,"
        " starting_balance, exchange, status, child_state, position, avg_entry,"
        " balance, upnl, open_orders, breaker, heartbeat_at, last_bar_ns, restarts,"
        " stop_requested, kill_requested, error, created_at, started_at, stopped_at"
        f" FROM {PAPER_TABLE} ORDER BY id DESC",
    )
    for r in out:
        r["params"] = _loads(r["params"], {})
        r["open_orders"] = _loads(r["open_orders"], [])
        r["breaker"] = _loads(r["breaker"], {})
    return out


def paper_equity(conn: sqlite3.Connection, run_id: int) -> list[dict[str, Any]]:
    """Equity points (USDT) of a paper run by time (``ts_ns`` UTC ns)."""
    if not table_exists(conn, "paper_equity"):
        return []
    return _q(
        conn,
        "SELECT ts_ns, equity, balance, position FROM paper_equity WHERE run_id=? ORDER BY ts_ns",
        (int(run_id),),
    )


def paper_fills(conn: sqlite3.Connection, run_id: int, limit: int = 500) -> list[dict[str, Any]]:
    """Latest venue fills of a paper run, newest first (side +1 buy / −1 sell, qty base units,
    price and commission USDT)."""
    if not table_exists(conn, "paper_fills"):
        return []
    return _q(
        conn,
        "SELECT trade_id, client_order_id, ts_ns, side, qty, price, commission,"
        " realized_pnl, tag, source FROM paper_fills WHERE run_id=?"
        " ORDER BY ts_ns DESC LIMIT ?",
        (int(run_id), int(limit)),
    )


# ---------------------------------------------------------------------- archive (prices)
def bars(
    conn: sqlite3.Connection,
    symbol: str,
    interval: str,
    start_ms: int,
    end_ms: int,
    max_rows: int = 20_000,
) -> list[dict[str, Any]]:
    """Archived OHLCV bars of one series with ``start_ms <= open_time < end_ms`` (UTC epoch
    ms), oldest first, from the archive database (a :func:`connect_ro` connection to
    ``archive/raw_data.db``). At most ``max_rows`` bars: a longer window is thinned to every
    n-th bar (a chart cannot show more points than it has pixels)."""
    n = int(
        _q(
            conn,
            "SELECT COUNT(*) AS n FROM raw_klines WHERE symbol=? AND interval=? AND"
            " open_time>=? AND open_time<?",
            (symbol, interval, int(start_ms), int(end_ms)),
        )[0]["n"]
    )
    step = max(1, math.ceil(n / max_rows))
    return _q(
        conn,
        "SELECT open_time, open, high, low, close, volume FROM (SELECT *,"
        " ROW_NUMBER() OVER (ORDER BY open_time) AS rn FROM raw_klines WHERE"
        " symbol=? AND interval=? AND open_time>=? AND open_time<?)"
        " WHERE (rn - 1) % ? = 0 ORDER BY open_time",
        (symbol, interval, int(start_ms), int(end_ms), step),
    )


def archive_series(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Archived kline series: symbol, interval, bars, first/last open time (UTC epoch ms)."""
    return _q(
        conn,
        "SELECT symbol, interval, COUNT(*) AS bars, MIN(open_time) AS first_ms,"
        " MAX(open_time) AS last_ms FROM raw_klines GROUP BY symbol, interval"
        " ORDER BY symbol, interval",
    )


def archive_funding(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Archived funding per symbol: records, first/last calc time (UTC epoch ms)."""
    return _q(
        conn,
        "SELECT symbol, COUNT(*) AS records, MIN(calc_time) AS first_ms,"
        " MAX(calc_time) AS last_ms FROM raw_funding GROUP BY symbol ORDER BY symbol",
    )
