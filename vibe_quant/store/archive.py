"""The raw data archive (``archive/raw_data.db``): every byte we downloaded, as rows.

This module owns all SQL of the archive. The archive is insert-only: rows are keyed uniquely
(``raw_klines``: symbol, interval, open_time; ``raw_funding``: symbol, calc_time) and never
updated; a later file that repeats a key adds nothing. Each downloaded file is written in one
transaction together with its ``download_log`` row, so an interrupted ingest leaves whole files
or nothing, and a re-run skips every file already logged.

Contract terms: ``raw_exchange_info`` keeps each ``GET /fapi/v1/exchangeInfo`` payload with its
fetch time; ``raw_leverage_brackets`` keeps each signed ``GET /fapi/v1/leverageBracket`` response
(``source='signed'``, ``origin`` = the endpoint URL without its query, so neither the timestamp
nor the signature is stored; the API key never is) and each ``--brackets FILE`` a user named
(``source='file'``, ``origin`` = its absolute path).

Units: times are UTC epoch milliseconds; prices and volumes as in the source files (floats);
``last_funding_rate`` is a fraction per funding interval (0.0001 = 0.01 %).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vibe_quant.store.db import transaction
from vibe_quant.store.sqlite import connect

SCHEMA_VERSION = 3  # 2: download_log.path (site-relative path of bulk files)
#                    3: raw_leverage_brackets (signed leverageBracket responses, --brackets files)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS download_log (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('klines', 'funding', 'exchange_info')),
    source TEXT NOT NULL CHECK (source IN ('bulk', 'rest')),
    symbol TEXT NOT NULL,
    interval TEXT,
    period TEXT NOT NULL,
    path TEXT,
    url TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    rows INTEGER NOT NULL,
    rows_new INTEGER NOT NULL,
    n_columns INTEGER,
    downloaded_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS download_log_bulk
    ON download_log (path) WHERE source = 'bulk';
CREATE TABLE IF NOT EXISTS raw_klines (
    symbol TEXT NOT NULL,
    interval TEXT NOT NULL,
    open_time INTEGER NOT NULL,
    open REAL NOT NULL,
    high REAL NOT NULL,
    low REAL NOT NULL,
    close REAL NOT NULL,
    volume REAL NOT NULL,
    close_time INTEGER NOT NULL,
    quote_volume REAL,
    count INTEGER,
    taker_buy_volume REAL,
    taker_buy_quote_volume REAL,
    ignore REAL,
    file_id INTEGER NOT NULL REFERENCES download_log (id),
    PRIMARY KEY (symbol, interval, open_time)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS raw_funding (
    symbol TEXT NOT NULL,
    calc_time INTEGER NOT NULL,
    funding_interval_hours INTEGER NOT NULL,
    last_funding_rate REAL NOT NULL,
    file_id INTEGER NOT NULL REFERENCES download_log (id),
    PRIMARY KEY (symbol, calc_time)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS raw_exchange_info (
    id INTEGER PRIMARY KEY,
    fetched_at TEXT NOT NULL,
    url TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS raw_leverage_brackets (
    id INTEGER PRIMARY KEY,
    fetched_at TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('signed', 'file')),
    origin TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    payload TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class SeriesSummary:
    """One archived kline series: row count and first/last ``open_time`` (epoch ms)."""

    symbol: str
    interval: str
    rows: int
    first_open_ms: int
    last_open_ms: int


class Archive:
    """Access to the raw archive database. Not thread-safe: one instance per thread."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.conn = connect(self.path)
        self._migrate()

    def _migrate(self) -> None:
        c = self.conn
        cols = [r[1] for r in c.execute("PRAGMA table_info(download_log)")]
        if cols and "path" not in cols:  # version 1 archive: add and backfill the path
            with transaction(c):
                c.execute("ALTER TABLE download_log ADD COLUMN path TEXT")
                c.execute("UPDATE download_log SET path = substr(url, instr(url, 'data/futures/'))"
                          " WHERE source = 'bulk'")
                c.execute("DROP INDEX IF EXISTS download_log_bulk")
        c.executescript(_SCHEMA)
        c.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- download log -------------------------------------------------------------------

    def has_bulk_file(self, path: str) -> bool:
        """True when this bulk-site file (site-relative path, so any mirror of the site counts)
        is already archived (its transaction committed)."""
        row = self.conn.execute(
            "SELECT 1 FROM download_log WHERE source='bulk' AND path=?", (path,)
        ).fetchone()
        return row is not None

    def _log(
        self, *, kind, source, symbol, interval, period, path, url, sha256, rows, n_columns
    ) -> int:
        cur = self.conn.execute(
            "INSERT INTO download_log (kind, source, symbol, interval, period, path, url, sha256,"
            " rows, rows_new, n_columns, downloaded_at) VALUES (?,?,?,?,?,?,?,?,?,0,?,?)",
            (
                kind,
                source,
                symbol,
                interval,
                period,
                path,
                url,
                sha256,
                rows,
                n_columns,
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            ),
        )
        return int(cur.lastrowid)

    # ---- writes (one transaction per file) ----------------------------------------------

    def _add_file(self, insert_sql: str, values: Iterable[tuple], **log: object) -> int:
        """Log one downloaded file and insert its rows (each tuple without the trailing
        ``file_id``) in ONE transaction; returns how many rows were new."""
        with transaction(self.conn) as c:
            fid = self._log(**log)
            before = c.total_changes
            c.executemany(insert_sql, ((*v, fid) for v in values))
            new = c.total_changes - before
            c.execute("UPDATE download_log SET rows_new=? WHERE id=?", (new, fid))
        return new

    def add_klines_file(
        self,
        *,
        symbol: str,
        interval: str,
        period: str,
        url: str,
        sha256: str,
        source: str,
        rows: Sequence[tuple],
        n_columns: int,
        path: str | None = None,
    ) -> int:
        """Archive one kline file atomically; returns how many rows were new.

        ``rows`` are tuples in ``csvparse.KLINE_COLUMNS`` order.
        """
        return self._add_file(
            "INSERT OR IGNORE INTO raw_klines VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            ((symbol, interval, *r) for r in rows),
            kind="klines", source=source, symbol=symbol, interval=interval, period=period,
            path=path, url=url, sha256=sha256, rows=len(rows), n_columns=n_columns,
        )

    def add_funding_file(
        self,
        *,
        symbol: str,
        period: str,
        url: str,
        sha256: str,
        source: str,
        rows: Sequence[tuple[int, int, float]],
        path: str | None = None,
    ) -> int:
        """Archive one funding file atomically; returns how many rows were new."""
        return self._add_file(
            "INSERT OR IGNORE INTO raw_funding VALUES (?,?,?,?,?)",
            ((symbol, *r) for r in rows),
            kind="funding", source=source, symbol=symbol, interval=None, period=period,
            path=path, url=url, sha256=sha256, rows=len(rows), n_columns=3,
        )

    def add_exchange_info(self, *, url: str, sha256: str, payload: str) -> None:
        """Keep a raw ``GET /fapi/v1/exchangeInfo`` payload (deduplicated by sha256)."""
        self.conn.execute(
            "INSERT OR IGNORE INTO raw_exchange_info (fetched_at, url, sha256, payload)"
            " VALUES (?,?,?,?)",
            (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), url, sha256, payload),
        )

    def add_leverage_brackets(self, *, source: str, origin: str, payload: str) -> bool:
        """Keep a raw leverage-bracket document (``source`` 'signed' or 'file').

        Insert-only; nothing is added when the newest row of that source has the same bytes
        (so re-running with the same file keeps one row). Returns True when a row was added.
        """
        import hashlib

        sha = hashlib.sha256(payload.encode()).hexdigest()
        with transaction(self.conn) as c:
            last = c.execute(
                "SELECT sha256 FROM raw_leverage_brackets WHERE source=? ORDER BY id DESC LIMIT 1",
                (source,),
            ).fetchone()
            added = not (last and last[0] == sha)
            if added:
                c.execute(
                    "INSERT INTO raw_leverage_brackets"
                    " (fetched_at, source, origin, sha256, payload) VALUES (?,?,?,?,?)",
                    (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), source, origin, sha,
                     payload),
                )
        return added

    # ---- reads --------------------------------------------------------------------------

    def latest_exchange_info(self) -> str | None:
        row = self.conn.execute(
            "SELECT payload FROM raw_exchange_info ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return row[0] if row else None

    def exchange_info_payloads(self) -> Iterable[tuple[str, str]]:
        """``(fetched_at, payload)`` of every archived exchangeInfo, newest first (lazy)."""
        for (rid,) in self.conn.execute(
            "SELECT id FROM raw_exchange_info ORDER BY id DESC"
        ).fetchall():
            yield self.conn.execute(
                "SELECT fetched_at, payload FROM raw_exchange_info WHERE id=?", (rid,)
            ).fetchone()

    def leverage_bracket_payloads(self, source: str) -> Iterable[tuple[str, str, str]]:
        """``(fetched_at, origin, payload)`` of archived bracket documents of ``source``
        ('signed' or 'file'), newest first (lazy)."""
        for (rid,) in self.conn.execute(
            "SELECT id FROM raw_leverage_brackets WHERE source=? ORDER BY id DESC", (source,)
        ).fetchall():
            yield self.conn.execute(
                "SELECT fetched_at, origin, payload FROM raw_leverage_brackets WHERE id=?", (rid,)
            ).fetchone()

    def kline_series(self) -> list[SeriesSummary]:
        rows = self.conn.execute(
            "SELECT symbol, interval, COUNT(*), MIN(open_time), MAX(open_time) FROM raw_klines"
            " GROUP BY symbol, interval ORDER BY symbol, interval"
        ).fetchall()
        return [SeriesSummary(*r) for r in rows]

    def funding_symbols(self) -> list[tuple[str, int, int, int]]:
        """``(symbol, records, first_calc_ms, last_calc_ms)`` per symbol with funding."""
        return self.conn.execute(
            "SELECT symbol, COUNT(*), MIN(calc_time), MAX(calc_time) FROM raw_funding"
            " GROUP BY symbol ORDER BY symbol"
        ).fetchall()

    def last_open_time(self, symbol: str, interval: str) -> int | None:
        row = self.conn.execute(
            "SELECT MAX(open_time) FROM raw_klines WHERE symbol=? AND interval=?",
            (symbol, interval),
        ).fetchone()
        return row[0]

    def last_funding_time(self, symbol: str) -> int | None:
        row = self.conn.execute(
            "SELECT MAX(calc_time) FROM raw_funding WHERE symbol=?", (symbol,)
        ).fetchone()
        return row[0]

    def klines_array(self, symbol: str, interval: str) -> dict[str, np.ndarray]:
        """All archived bars of one series, ascending by ``open_time``, as numpy columns.

        Keys: ``open_time`` (int64 ms), ``open``, ``high``, ``low``, ``close``, ``volume``
        (float64), ``close_time`` (int64 ms).
        """
        rows = self.conn.execute(
            "SELECT open_time, open, high, low, close, volume, close_time FROM raw_klines"
            " WHERE symbol=? AND interval=? ORDER BY open_time",
            (symbol, interval),
        ).fetchall()
        if not rows:
            empty_i = np.empty(0, dtype=np.int64)
            empty_f = np.empty(0, dtype=np.float64)
            return {
                "open_time": empty_i,
                "open": empty_f,
                "high": empty_f,
                "low": empty_f,
                "close": empty_f,
                "volume": empty_f,
                "close_time": empty_i,
            }
        cols = list(zip(*rows))
        return {
            "open_time": np.asarray(cols[0], dtype=np.int64),
            "open": np.asarray(cols[1], dtype=np.float64),
            "high": np.asarray(cols[2], dtype=np.float64),
            "low": np.asarray(cols[3], dtype=np.float64),
            "close": np.asarray(cols[4], dtype=np.float64),
            "volume": np.asarray(cols[5], dtype=np.float64),
            "close_time": np.asarray(cols[6], dtype=np.int64),
        }

    def funding_rows(self, symbol: str) -> list[tuple[int, int, float]]:
        """``(calc_time_ms, funding_interval_hours, rate_fraction)`` ascending."""
        return self.conn.execute(
            "SELECT calc_time, funding_interval_hours, last_funding_rate FROM raw_funding"
            " WHERE symbol=? ORDER BY calc_time",
            (symbol,),
        ).fetchall()

    def table_fingerprint(self) -> dict[str, tuple[int, str]]:
        """Row count and an order-independent digest per data table (for equality tests)."""
        out = {}
        for table, cols in (
            (
                "raw_klines",
                "symbol, interval, open_time, open, high, low, close, volume,"
                " close_time, quote_volume, count, taker_buy_volume,"
                " taker_buy_quote_volume, ignore",
            ),
            ("raw_funding", "symbol, calc_time, funding_interval_hours, last_funding_rate"),
        ):
            import hashlib

            h = hashlib.sha256()
            n = 0
            for row in self.conn.execute(f"SELECT {cols} FROM {table} ORDER BY 1, 2, 3"):
                h.update(repr(row).encode())
                n += 1
            out[table] = (n, h.hexdigest())
        return out

    def execute(self, sql: str, params: Iterable = ()) -> sqlite3.Cursor:
        """Read-only helper for other data-layer modules (verify, status)."""
        return self.conn.execute(sql, tuple(params))
