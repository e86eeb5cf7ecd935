"""DuckDB over the catalog and the archive, for research and ``vibe-quant data query``.

Views (created only when the SQL names them):

* ``bars``: every catalogued bar — ``symbol``, ``interval``, ``bar_type``, ``ts_event`` (UTC ns,
  bar close), ``open_time`` and ``close_time`` (TIMESTAMPTZ, UTC), ``open``, ``high``, ``low``,
  ``close``, ``volume`` (DOUBLE, decoded from Nautilus' 128-bit fixed-point columns);
* ``funding``: catalogued funding — ``symbol``, ``ts_event`` (ns), ``funding_time``
  (TIMESTAMPTZ), ``rate`` (DOUBLE, fraction per interval), ``interval_minutes``;
* ``raw_klines``, ``raw_funding``, ``download_log``: the archive tables as stored
  (times in epoch ms).
"""

from __future__ import annotations

import re
import sqlite3

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vibe_quant.core.paths import DataDir
from vibe_quant.data.catalog import FUNDING_DIR
from vibe_quant.venues.binance.instruments import parse_bar_type

FIXED_SCALAR = 10**16  # Nautilus high-precision fixed point (16 decimals, 128-bit)
_ARCHIVE_TABLES = ("raw_klines", "raw_funding", "download_log")


def decode_fixed128(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Nautilus ``fixed_size_binary[16]`` (little-endian int128 scaled by 1e16) → float64."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    raw = np.frombuffer(col.buffers()[1], dtype="<u8")[col.offset * 2 : (col.offset + len(col)) * 2]
    lo = raw[0::2].astype(np.float64)
    hi = raw[1::2].view(np.int64).astype(np.float64)
    return (hi * 2.0**64 + lo) / FIXED_SCALAR


def _bars_table(data_dir: DataDir) -> pa.Table:
    root = data_dir.catalog / "data" / "bars"
    parts = []
    for d in sorted(root.iterdir()) if root.exists() else []:
        bt = d.name
        sym, iv = parse_bar_type(bt)
        for f in sorted(d.glob("*.parquet")):
            t = pq.read_table(f)
            n = t.num_rows
            meta = t.schema.metadata or {}
            pp = int(meta.get(b"price_precision", b"9"))
            sp = int(meta.get(b"size_precision", b"9"))
            parts.append(
                pa.table(
                    {
                        "symbol": pa.array([sym] * n),
                        "interval": pa.array([iv] * n),
                        "bar_type": pa.array([bt] * n),
                        "ts_event": t["ts_event"],
                        **{
                            k: pa.array(
                                np.round(decode_fixed128(t[k]), sp if k == "volume" else pp)
                            )
                            for k in ("open", "high", "low", "close", "volume")
                        },
                    }
                )
            )
    if not parts:
        return pa.table(
            {
                "symbol": pa.array([], pa.string()),
                "interval": pa.array([], pa.string()),
                "bar_type": pa.array([], pa.string()),
                "ts_event": pa.array([], pa.uint64()),
                **{
                    k: pa.array([], pa.float64())
                    for k in ("open", "high", "low", "close", "volume")
                },
            }
        )
    return pa.concat_tables(parts)


def _funding_table(data_dir: DataDir) -> pa.Table:
    root = data_dir.catalog / "data" / FUNDING_DIR
    parts = []
    for d in sorted(root.iterdir()) if root.exists() else []:
        sym = d.name.split("-PERP.")[0]
        for f in sorted(d.glob("*.parquet")):
            t = pq.read_table(f)
            parts.append(
                pa.table(
                    {
                        "symbol": pa.array([sym] * t.num_rows),
                        "ts_event": t["ts_event"],
                        "rate": pa.array([float(x) for x in t["rate"].to_pylist()], pa.float64()),
                        "interval_minutes": t["interval"],
                    }
                )
            )
    if not parts:
        return pa.table(
            {
                "symbol": pa.array([], pa.string()),
                "ts_event": pa.array([], pa.uint64()),
                "rate": pa.array([], pa.float64()),
                "interval_minutes": pa.array([], pa.uint16()),
            }
        )
    return pa.concat_tables(parts)


def _archive_table(data_dir: DataDir, name: str) -> pa.Table:
    conn = sqlite3.connect(f"file:{data_dir.archive_db}?mode=ro", uri=True)
    try:
        cur = conn.execute(f"SELECT * FROM {name}")  # name is from _ARCHIVE_TABLES only
        cols = [c[0] for c in cur.description]
        rows = cur.fetchall()
    finally:
        conn.close()
    data = list(zip(*rows)) if rows else [[] for _ in cols]
    return pa.table({c: pa.array(list(v)) for c, v in zip(cols, data)})


def connect(data_dir: DataDir, sql: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the views above (all of them when ``sql`` is None,
    else only those it mentions)."""
    con = duckdb.connect()

    def wanted(name: str) -> bool:
        return sql is None or re.search(rf"\b{name}\b", sql, re.IGNORECASE) is not None

    if wanted("bars"):
        con.register("_bars", _bars_table(data_dir))
        con.execute(
            "CREATE VIEW bars AS SELECT symbol, interval, bar_type, ts_event,"
            " make_timestamptz((ts_event // 1000)::BIGINT) AS close_time,"
            " make_timestamptz((ts_event // 1000)::BIGINT) - to_microseconds(("
            "   CASE interval WHEN '1m' THEN 60 WHEN '5m' THEN 300 WHEN '15m' THEN 900"
            "   WHEN '1h' THEN 3600 WHEN '4h' THEN 14400 ELSE 86400 END)::BIGINT * 1000000)"
            "   AS open_time,"
            " open, high, low, close, volume FROM _bars"
        )
    if wanted("funding"):
        con.register("_funding", _funding_table(data_dir))
        con.execute(
            "CREATE VIEW funding AS SELECT symbol, ts_event,"
            " make_timestamptz((ts_event // 1000)::BIGINT) AS funding_time, rate,"
            " interval_minutes FROM _funding"
        )
    if data_dir.archive_db.exists():
        for name in _ARCHIVE_TABLES:
            if wanted(name):
                con.register(name, _archive_table(data_dir, name))
    return con


def query(data_dir: DataDir, sql: str) -> tuple[list[str], list[tuple]]:
    """Run ``sql``; returns (column names, rows). DuckDB errors propagate as duckdb.Error."""
    con = connect(data_dir, sql)
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description] if cur.description else []
        return cols, cur.fetchall()
    finally:
        con.close()


def query_df(data_dir: DataDir, sql: str):
    """Same as ``query`` but returns a pandas DataFrame (for notebooks)."""
    con = connect(data_dir, sql)
    try:
        return con.execute(sql).df()
    finally:
        con.close()
