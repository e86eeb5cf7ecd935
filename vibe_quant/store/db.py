"""Connections, transactions and migrations of vibe-quant's SQLite databases.

* :func:`connect` (from :mod:`vibe_quant.store.sqlite`): WAL mode, busy timeout, foreign keys,
  autocommit, so that every write opens its own transaction;
* :func:`transaction`: ``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any exception), the
  one way a repository writes (one logical write = one transaction);
* :func:`migrate`: apply an append-only list of ``(version, sql)`` migrations above the
  database's ``PRAGMA user_version``, each in its own transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from vibe_quant.store.sqlite import connect

__all__ = ["Connected", "connect", "migrate", "query", "statements", "transaction", "version"]


class Connected(Protocol):
    """Anything that holds an open state-database connection (a ``StateStore``)."""

    conn: sqlite3.Connection


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` on an autocommit connection; ``ROLLBACK`` and re-raise
    on any exception. Yields the connection."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def query(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    """Rows of a read as :class:`sqlite3.Row` (by column name), without changing the
    connection's own row factory."""
    cur = conn.cursor()
    cur.row_factory = sqlite3.Row
    return cur.execute(sql, tuple(params)).fetchall()


def version(conn: sqlite3.Connection) -> int:
    """The database's schema version (``PRAGMA user_version``)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[tuple[int, str]]) -> int:
    """Apply every migration above the current version, in list order, each atomically with
    its ``PRAGMA user_version`` bump (a migration another process applied meanwhile is skipped).
    Returns the resulting version."""
    for ver, sql in migrations:
        if ver <= version(conn):
            continue
        with transaction(conn):
            if version(conn) >= ver:  # another process migrated meanwhile
                continue
            for stmt in statements(sql):
                conn.execute(stmt)
            conn.execute(f"PRAGMA user_version={int(ver)}")
    return version(conn)


def statements(sql: str) -> Iterator[str]:
    """Split a migration script on ';' (migrations contain no ';' inside literals), dropping
    ``--`` comments."""
    for part in sql.split(";"):
        lines = [ln.split("--", 1)[0] for ln in part.splitlines()]
        s = "\n".join(lines).strip()
        if s:
            yield s
