"""State tables and queries of paper trading (:mod:`vibe_quant.paper`, SPEC.md §17).

The venue (Binance testnet or the local exchange) is the source of truth for orders and the
position; these tables are the journal of everything else, written by three processes (the CLI,
the supervisor, the trading child), each with its own connection (WAL, busy timeout):

* ``paper_runs`` — one row per paper run: settings (strategy YAML, symbol, params JSON,
  leverage, venue URLs, key *file path* — never a key), lifecycle ``status``
  (``starting`` → ``running`` → ``stopped`` | ``killed`` | ``failed``), control flags
  (``stop_requested``, ``kill_requested``, ``flatten_on_stop``), the latest heartbeat of the child
  (``heartbeat_at`` ISO-8601 UTC, ``heartbeat_ns``), last processed bar (``last_bar_ns``, the
  bar's close, UTC ns), the venue view (``position`` signed base units, ``avg_entry`` and
  ``balance``/``upnl`` USDT, ``open_orders`` JSON list), the circuit-breaker state
  (``breaker`` JSON), restart counter and the REST sync cursors (``last_trade_id``,
  ``last_income_ms``).
* ``paper_intents`` — write-ahead order intents: a row is committed BEFORE the order is submitted
  (client order id, role, exit-reason tag, the bar close that caused it, side, qty, type,
  price, reduce-only, ``sig`` JSON = the entry decision's sizing inputs).
* ``paper_fills`` — one row per venue trade (PRIMARY KEY (run_id, trade_id)): from the child's
  fill events (with tag and bar) and from the venue's ``userTrades`` (fills made while the child
  was down); whichever comes first inserts, the other completes.
* ``paper_funding`` — one row per venue funding payment (``incomeType=FUNDING_FEE``), amount USDT
  (+ received, − paid).
* ``paper_equity`` — equity points (USDT) per processed bar.
* ``paper_events`` — the structured event log of the run (kinds of SPEC.md §9 plus ``start``,
  ``restart``, ``stop``, ``kill``, ``alert``, ``error``, ``reconcile``); the same dicts go to
  ``<data-dir>/logs/events/paper-<run_id>.jsonl``.

Functions take an open :class:`sqlite3.Connection` from :func:`vibe_quant.store.sqlite.connect`
(autocommit; writes open ``BEGIN IMMEDIATE`` themselves with :func:`tx`) and return frozen
records (:mod:`vibe_quant.store.records`). Dict/list values are stored as JSON under
:mod:`vibe_quant.core.jsonpolicy`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from vibe_quant.core.errors import StoreError
from vibe_quant.core.jsonpolicy import loads, to_json
from vibe_quant.store.db import query, transaction
from vibe_quant.store.jobs_sql import now_ms
from vibe_quant.store.records import (
    PaperEquity,
    PaperEvent,
    PaperFill,
    PaperFlags,
    PaperFunding,
    PaperIntent,
    PaperRun,
    PaperRunSummary,
)

RUN_STATES = ("starting", "running", "stopping", "stopped", "killing", "killed", "failed")
ACTIVE_STATES = ("starting", "running", "stopping", "killing")

MIGRATION = (
    8,
    """
    CREATE TABLE paper_runs (
        id INTEGER PRIMARY KEY,
        strategy_name TEXT NOT NULL,
        strategy_yaml TEXT NOT NULL,
        symbol TEXT NOT NULL,
        interval TEXT NOT NULL,
        params TEXT NOT NULL,              -- JSON object (sweep keys)
        leverage REAL NOT NULL,
        starting_balance REAL,             -- USDT allotted (NULL = the venue balance at start)
        risk TEXT,                         -- JSON BreakerConfig fields (NULL = breakers off)
        exchange TEXT NOT NULL,            -- testnet | a base URL
        rest_url TEXT NOT NULL,
        ws_url TEXT NOT NULL,
        key_file TEXT,                     -- path of a 0600 key file (never the key)
        from_validation INTEGER,
        trader_id TEXT NOT NULL,
        strategy_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN
            ('starting', 'running', 'stopping', 'stopped', 'killing', 'killed', 'failed')),
        stop_requested INTEGER NOT NULL DEFAULT 0,
        kill_requested INTEGER NOT NULL DEFAULT 0,
        flatten_on_stop INTEGER NOT NULL DEFAULT 0,
        supervisor_pid INTEGER,
        child_pid INTEGER,
        restarts INTEGER NOT NULL DEFAULT 0,
        heartbeat_at TEXT,
        heartbeat_ns INTEGER,
        child_state TEXT,                  -- warming_up | trading | halted | exiting
        last_bar_ns INTEGER,
        trade_start_ns INTEGER,
        position REAL,
        avg_entry REAL,
        balance REAL,
        upnl REAL,
        open_orders TEXT,                  -- JSON list
        breaker TEXT,                      -- JSON object
        strategy_state TEXT,               -- JSON object (entry decision, trade flags)
        last_trade_id INTEGER NOT NULL DEFAULT 0,
        last_income_ms INTEGER NOT NULL DEFAULT 0,
        log_path TEXT NOT NULL,
        error TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        stopped_at TEXT
    );
    CREATE TABLE paper_intents (
        run_id INTEGER NOT NULL REFERENCES paper_runs (id) ON DELETE CASCADE,
        client_order_id TEXT NOT NULL,
        role TEXT NOT NULL,
        tag TEXT NOT NULL,
        bar_ns INTEGER NOT NULL,
        side INTEGER NOT NULL,
        qty REAL NOT NULL,
        order_type TEXT NOT NULL,
        price REAL,
        reduce_only INTEGER NOT NULL,
        sig TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (run_id, client_order_id)
    ) WITHOUT ROWID;
    CREATE TABLE paper_fills (
        run_id INTEGER NOT NULL REFERENCES paper_runs (id) ON DELETE CASCADE,
        trade_id INTEGER NOT NULL,
        client_order_id TEXT,
        ts_ns INTEGER NOT NULL,
        side INTEGER NOT NULL,
        qty REAL NOT NULL,
        price REAL NOT NULL,
        commission REAL NOT NULL,
        realized_pnl REAL,
        tag TEXT,
        bar_ns INTEGER,
        source TEXT NOT NULL,              -- child | venue
        PRIMARY KEY (run_id, trade_id)
    ) WITHOUT ROWID;
    CREATE TABLE paper_funding (
        run_id INTEGER NOT NULL REFERENCES paper_runs (id) ON DELETE CASCADE,
        ts_ns INTEGER NOT NULL,
        amount REAL NOT NULL,
        PRIMARY KEY (run_id, ts_ns)
    ) WITHOUT ROWID;
    CREATE TABLE paper_equity (
        run_id INTEGER NOT NULL REFERENCES paper_runs (id) ON DELETE CASCADE,
        ts_ns INTEGER NOT NULL,
        equity REAL NOT NULL,
        balance REAL,
        position REAL,
        PRIMARY KEY (run_id, ts_ns)
    ) WITHOUT ROWID;
    CREATE TABLE paper_events (
        run_id INTEGER NOT NULL REFERENCES paper_runs (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        ts_ns INTEGER NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID;
    CREATE INDEX paper_events_kind ON paper_events (run_id, kind, ts_ns)
    """,
)


#: Current UTC time, ISO-8601 with milliseconds and ``Z`` (the ``*_at`` columns).
now_iso = now_ms

#: ``with tx(conn):`` — ``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error).
tx = transaction


class PaperStateError(StoreError, ValueError):
    """A paper-run status outside :data:`RUN_STATES`."""


def _json_col(v: Any) -> Any:
    """A column value: dicts and lists as JSON text, anything else unchanged."""
    return to_json(v) if isinstance(v, (dict, list)) else v


_RUN_JSON = ("params", "open_orders", "breaker", "strategy_state", "risk")
_FLAGS = "status, stop_requested, kill_requested, flatten_on_stop"


# ------------------------------------------------------------------------------------ runs
RUN_FIELDS = (
    "strategy_name",
    "strategy_yaml",
    "symbol",
    "interval",
    "params",
    "leverage",
    "starting_balance",
    "risk",
    "exchange",
    "rest_url",
    "ws_url",
    "key_file",
    "from_validation",
    "trader_id",
    "strategy_id",
    "log_path",
)


def create_run(conn: sqlite3.Connection, **fields: Any) -> int:
    """Insert a run in state ``starting``; ``params`` may be a dict. Returns its id."""
    f = {k: to_json(v) if k in ("params", "risk") and isinstance(v, dict) else v
         for k, v in fields.items()}
    cols = [c for c in RUN_FIELDS if c in f]
    with tx(conn):
        cur = conn.execute(
            f"INSERT INTO paper_runs ({', '.join(cols)}, status, created_at) VALUES "
            f"({', '.join('?' for _ in cols)}, 'starting', ?)",
            (*[f[c] for c in cols], now_iso()),
        )
        return int(cur.lastrowid)


def update_run(conn: sqlite3.Connection, run_id: int, **fields: Any) -> None:
    """Set columns of a run (dict/list values stored as JSON)."""
    if not fields:
        return
    vals = [_json_col(v) for v in fields.values()]
    with tx(conn):
        conn.execute(
            f"UPDATE paper_runs SET {', '.join(f'{k}=?' for k in fields)} WHERE id=?",
            (*vals, int(run_id)),
        )


def set_status(
    conn: sqlite3.Connection,
    run_id: int,
    status: str,
    *,
    only_from: tuple[str, ...] | None = None,
    **fields: Any,
) -> bool:
    """Move a run to ``status`` (optionally only from one of ``only_from``); True if changed."""
    if status not in RUN_STATES:
        raise PaperStateError(f"unknown paper-run status {status!r}", status=status)
    sets = ["status=?"] + [f"{k}=?" for k in fields]
    vals: list[Any] = [status, *(_json_col(v) for v in fields.values())]
    sql = f"UPDATE paper_runs SET {', '.join(sets)} WHERE id=?"
    vals.append(int(run_id))
    if only_from:
        sql += f" AND status IN ({', '.join('?' for _ in only_from)})"
        vals += list(only_from)
    with tx(conn):
        return conn.execute(sql, vals).rowcount > 0


def run(conn: sqlite3.Connection, run_id: int) -> PaperRun | None:
    """One paper run (JSON columns decoded when set); None if absent."""
    r = query(conn, f"SELECT {PaperRun.columns()} FROM paper_runs WHERE id=?", (int(run_id),))
    if not r:
        return None
    return PaperRun.from_row(r[0], **{k: loads(r[0][k]) if r[0][k] else r[0][k]
                                      for k in _RUN_JSON})


def runs(conn: sqlite3.Connection) -> list[PaperRunSummary]:
    """Every run (newest first) without the YAML text."""
    return [PaperRunSummary.from_row(r) for r in query(  # type: ignore[misc]
        conn, f"SELECT {PaperRunSummary.columns()} FROM paper_runs ORDER BY id DESC")]


def _flags(r: tuple) -> PaperFlags:
    return PaperFlags(r[0], bool(r[1]), bool(r[2]), bool(r[3]))


def heartbeat(conn: sqlite3.Connection, run_id: int, ts_ns: int, **fields: Any) -> PaperFlags:
    """Write the child's heartbeat (+ venue view / breaker fields); returns the control flags
    ``{"status", "stop_requested", "kill_requested", "flatten_on_stop"}`` in the same
    transaction."""
    vals = [_json_col(v) for v in fields.values()]
    sets = ", ".join(["heartbeat_at=?", "heartbeat_ns=?"] + [f"{k}=?" for k in fields])
    with tx(conn):
        conn.execute(
            f"UPDATE paper_runs SET {sets} WHERE id=?", (now_iso(), int(ts_ns), *vals, int(run_id))
        )
        r = conn.execute(f"SELECT {_FLAGS} FROM paper_runs WHERE id=?", (int(run_id),)).fetchone()
    return _flags(r)


def flags(conn: sqlite3.Connection, run_id: int) -> PaperFlags | dict[str, Any]:
    """The run's status and control flags (an empty mapping when the run does not exist)."""
    r = conn.execute(f"SELECT {_FLAGS} FROM paper_runs WHERE id=?", (int(run_id),)).fetchone()
    return {} if r is None else _flags(r)


# ------------------------------------------------------------------------------------ intents
def write_intent(
    conn: sqlite3.Connection,
    run_id: int,
    *,
    client_order_id: str,
    role: str,
    tag: str,
    bar_ns: int,
    side: int,
    qty: float,
    order_type: str,
    price: float | None,
    reduce_only: bool,
    sig: Any = None,
) -> bool:
    """Journal an order intent BEFORE its submission (committed on return). Returns False when
    the same client order id was journalled before (a re-decision after a restart)."""
    with tx(conn):
        cur = conn.execute(
            "INSERT OR IGNORE INTO paper_intents (run_id, client_order_id, role, tag, bar_ns,"
            " side, qty, order_type, price, reduce_only, sig, created_at) VALUES"
            " (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                int(run_id),
                client_order_id,
                role,
                tag,
                int(bar_ns),
                int(side),
                float(qty),
                order_type,
                price,
                int(bool(reduce_only)),
                to_json(sig) if sig is not None else None,
                now_iso(),
            ),
        )
        return cur.rowcount > 0


def intents(conn: sqlite3.Connection, run_id: int) -> list[PaperIntent]:
    """Journalled order intents of a run by bar, then time (``sig`` decoded)."""
    return [
        PaperIntent.from_row(r, sig=loads(r["sig"]))  # type: ignore[misc]
        for r in query(
            conn,
            f"SELECT {PaperIntent.columns()} FROM paper_intents WHERE run_id=?"
            " ORDER BY bar_ns, created_at",
            (int(run_id),),
        )
    ]


# ------------------------------------------------------------------------------------ fills
def record_fill(
    conn: sqlite3.Connection,
    run_id: int,
    *,
    trade_id: int,
    ts_ns: int,
    side: int,
    qty: float,
    price: float,
    commission: float,
    source: str,
    client_order_id: str | None = None,
    realized_pnl: float | None = None,
    tag: str | None = None,
    bar_ns: int | None = None,
) -> bool:
    """Journal one venue trade; a second report of the same trade only fills in missing
    fields (tag, bar, client id, realized PnL). Returns True when the trade is new."""
    with tx(conn):
        cur = conn.execute(
            "INSERT OR IGNORE INTO paper_fills (run_id, trade_id, client_order_id, ts_ns, side,"
            " qty, price, commission, realized_pnl, tag, bar_ns, source) VALUES"
            " (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                int(run_id),
                int(trade_id),
                client_order_id,
                int(ts_ns),
                int(side),
                float(qty),
                float(price),
                float(commission),
                realized_pnl,
                tag,
                bar_ns,
                source,
            ),
        )
        new = cur.rowcount > 0
        if not new:
            conn.execute(
                "UPDATE paper_fills SET tag=COALESCE(tag, ?), bar_ns=COALESCE(bar_ns, ?),"
                " client_order_id=COALESCE(client_order_id, ?),"
                " realized_pnl=COALESCE(realized_pnl, ?) WHERE run_id=? AND trade_id=?",
                (tag, bar_ns, client_order_id, realized_pnl, int(run_id), int(trade_id)),
            )
        return new


def fills(conn: sqlite3.Connection, run_id: int) -> list[PaperFill]:
    """Journalled venue trades of a run by trade id."""
    return _records(PaperFill, conn, "paper_fills WHERE run_id=? ORDER BY trade_id", run_id)


def _records(cls: Any, conn: sqlite3.Connection, rest: str, run_id: int) -> list[Any]:
    """``cls`` records of ``SELECT <cls columns> FROM <rest>`` with ``run_id`` bound."""
    return [cls.from_row(r) for r in query(conn, f"SELECT {cls.columns()} FROM {rest}",
                                           (int(run_id),))]


def record_funding(conn: sqlite3.Connection, run_id: int, ts_ns: int, amount: float) -> bool:
    """Journal one funding payment (USDT); True when it is new."""
    with tx(conn):
        return (
            conn.execute(
                "INSERT OR IGNORE INTO paper_funding VALUES (?,?,?)",
                (int(run_id), int(ts_ns), float(amount)),
            ).rowcount
            > 0
        )


def funding(conn: sqlite3.Connection, run_id: int) -> list[PaperFunding]:
    """Funding payments of a run by time."""
    return _records(PaperFunding, conn, "paper_funding WHERE run_id=? ORDER BY ts_ns", run_id)


def record_equity(
    conn: sqlite3.Connection,
    run_id: int,
    ts_ns: int,
    equity: float,
    balance: float | None,
    position: float | None,
) -> None:
    """Write (or replace) the equity point (USDT) of a run at ``ts_ns``."""
    with tx(conn):
        conn.execute(
            "INSERT OR REPLACE INTO paper_equity VALUES (?,?,?,?,?)",
            (int(run_id), int(ts_ns), float(equity), balance, position),
        )


def equity(conn: sqlite3.Connection, run_id: int) -> list[PaperEquity]:
    """Equity points of a run by time."""
    return _records(PaperEquity, conn, "paper_equity WHERE run_id=? ORDER BY ts_ns", run_id)


# ------------------------------------------------------------------------------------ events
def add_event(
    conn: sqlite3.Connection, run_id: int, ts_ns: int, kind: str, payload: dict[str, Any]
) -> int:
    """Append one event; returns its ``seq`` (0-based, per run)."""
    with tx(conn):
        seq = conn.execute(
            "SELECT COALESCE(MAX(seq) + 1, 0) FROM paper_events WHERE run_id=?", (int(run_id),)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO paper_events VALUES (?,?,?,?,?)",
            (
                int(run_id),
                int(seq),
                int(ts_ns),
                kind,
                to_json(payload),
            ),
        )
    return int(seq)


def events(
    conn: sqlite3.Connection, run_id: int, kind: str | None = None, after_seq: int = -1
) -> list[PaperEvent]:
    """Events of a run after ``after_seq`` (optionally one ``kind``) by seq, payload decoded."""
    sql = f"SELECT {PaperEvent.columns()} FROM paper_events WHERE run_id=? AND seq>?"
    args: list[Any] = [int(run_id), int(after_seq)]
    if kind:
        sql += " AND kind=?"
        args.append(kind)
    return [
        PaperEvent.from_row(r, payload=loads(r["payload"]))  # type: ignore[misc]
        for r in query(conn, sql + " ORDER BY seq", tuple(args))
    ]


def validation_run_source(conn: sqlite3.Connection, run_id: int) -> tuple | None:
    """``(params JSON, symbols JSON, mode, strategy YAML)`` of stored backtest run ``run_id``,
    or ``None``. The YAML comes from the run's strategy row, else (validation runs of a sweep,
    which carry no strategy row) from the sweep the validation re-ran."""
    return conn.execute(
        "SELECT r.params, r.symbols, r.mode, COALESCE(s.yaml, sw.yaml) FROM backtest_runs r"
        " LEFT JOIN strategies s ON s.id = r.strategy_id"
        " LEFT JOIN validation_results vr ON vr.run_id = r.id"
        " LEFT JOIN validation_runs vrun ON vrun.id = vr.validation_run_id"
        " LEFT JOIN sweeps sw ON sw.id = vrun.sweep_id WHERE r.id=?",
        (int(run_id),),
    ).fetchone()
