"""SQLite connection settings shared by every vibe-quant database (WAL, busy timeout)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY_TIMEOUT_MS = 30_000


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open a database in WAL mode with a busy timeout and foreign keys on.

    Autocommit mode (``isolation_level=None``): callers open transactions explicitly with
    ``BEGIN IMMEDIATE`` so that each logical write (one downloaded file, one run) is atomic.
    """
    p = Path(path)
    if readonly:
        conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    else:
        p.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(p, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn
