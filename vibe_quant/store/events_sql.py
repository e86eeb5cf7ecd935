"""State tables and queries of risk presets and the structured event log (migration 4).

Tables:

* ``risk_presets`` — one row per (name, version); ``body`` is the preset's JSON
  (``{"description", "sizing", "breakers"}``, see :mod:`vibe_quant.risk.presets`). Adding a preset
  with changed content makes version max+1; identical content is a no-op.
* ``events`` — the structured event log of a run (:mod:`vibe_quant.backtest.events`): one row per
  event, ``(run_id, seq)`` unique, ``kind`` ∈ order | order_denied | fill | liquidation | funding
  | risk_trip | risk_deny | risk_blocked, ``ts_ns`` UTC epoch ns, ``payload`` the full JSON line
  (identical to the JSONL file's line). Indexed on (run_id, kind, ts_ns).

Functions take a :class:`~vibe_quant.store.state.StateStore`: writes run in
``store.transaction()``, reads use ``store.conn``. Bodies and payloads are JSON under
:mod:`vibe_quant.core.jsonpolicy`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vibe_quant.core.jsonpolicy import loads, now_iso, to_json
from vibe_quant.store.records import Preset, PresetSummary, ReadOnlyDict, freeze

if TYPE_CHECKING:
    from vibe_quant.store.state import StateStore

#: ``events_fn(run_id) -> events``: builds a run's event dicts once its id is known.
EventsFn = Callable[[int], list[dict[str, Any]]]

MIGRATION = (
    4,
    """
    CREATE TABLE risk_presets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        body TEXT NOT NULL,            -- JSON object with description, sizing, breakers
        source TEXT,                   -- the YAML text it was added from
        created_at TEXT NOT NULL,
        UNIQUE (name, version)
    );
    CREATE TABLE events (
        run_id INTEGER NOT NULL REFERENCES backtest_runs (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,          -- order of the event in the run's log (0-based)
        ts_ns INTEGER NOT NULL,        -- UTC epoch ns
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,         -- JSON object, the same as the JSONL line
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID;
    CREATE INDEX events_run_kind_ts ON events (run_id, kind, ts_ns)
    """,
)


# ---------------------------------------------------------------------- presets
def add_preset(store: StateStore, name: str, body: dict[str, Any], source: str | None = None
               ) -> tuple[int, bool]:
    """Store preset ``name`` with ``body``; returns ``(version, created)``. Identical content
    to the latest version returns that version with ``created=False``."""
    text = to_json(body)
    with store.transaction() as c:
        row = c.execute("SELECT version, body FROM risk_presets WHERE name=? "
                        "ORDER BY version DESC LIMIT 1", (name,)).fetchone()
        if row is not None and row[1] == text:
            return int(row[0]), False
        ver = (int(row[0]) + 1) if row is not None else 1
        c.execute("INSERT INTO risk_presets (name, version, body, source, created_at) "
                  "VALUES (?,?,?,?,?)", (name, ver, text, source, now_iso()))
        return ver, True


def get_preset(store: StateStore, name: str, version: int | None = None) -> Preset | None:
    """Row of preset ``name`` (latest version unless ``version``): name, version, body (JSON
    text, read it with :func:`vibe_quant.core.jsonpolicy.loads`), source, created_at; None if
    absent."""
    q = "SELECT name, version, body, source, created_at FROM risk_presets WHERE name=?"
    args: tuple = (name,)
    if version is not None:
        q += " AND version=?"
        args += (int(version),)
    row = store.conn.execute(q + " ORDER BY version DESC LIMIT 1", args).fetchone()
    return Preset(*row) if row is not None else None


def list_presets(store: StateStore) -> list[PresetSummary]:
    """Latest version of every preset, by name: name, version, body (decoded), created_at."""
    rows = store.conn.execute(
        "SELECT p.name, p.version, p.body, p.created_at FROM risk_presets p "
        "WHERE p.version = (SELECT MAX(version) FROM risk_presets q WHERE q.name = p.name) "
        "ORDER BY p.name").fetchall()
    return [PresetSummary(n, v, loads(b), t) for n, v, b, t in rows]


# ---------------------------------------------------------------------- events
def _insert_events(conn: sqlite3.Connection, run_id: int, events: list[dict[str, Any]]) -> int:
    conn.executemany(
        "INSERT INTO events (run_id, seq, ts_ns, kind, payload) VALUES (?,?,?,?,?)",
        [(int(run_id), int(e["seq"]), int(e["ts"]), str(e["kind"]), to_json(e))
         for e in events])
    return len(events)


def record_events(store: StateStore, run_id: int, events: list[dict[str, Any]]) -> int:
    """Insert a run's events (dicts from :func:`vibe_quant.backtest.events.build_events`, each with
    ``seq``, ``ts``, ``kind``) in ONE transaction, replacing any earlier events of that run.
    Returns the number written."""
    with store.transaction() as c:
        c.execute("DELETE FROM events WHERE run_id=?", (int(run_id),))
        return _insert_events(c, run_id, events)


def record_run_with_events(store: StateStore, result: Any, events_fn: EventsFn, *,
                           strategy_id: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    """Record a finished run (as ``StateStore.record_run``) AND its event log in ONE
    transaction. ``events_fn(run_id) -> events`` builds the events once the run id is known
    (e.g. :func:`vibe_quant.backtest.events.build_events`). Returns ``(run_id, events)``."""
    written: list[list[dict[str, Any]]] = []
    run_id = store.record_run(result, strategy_id=strategy_id,
                              within=_events_writer(events_fn, written, replace=False))
    return run_id, written[0]


def complete_run_with_events(store: StateStore, run_id: int, result: Any,
                             events_fn: EventsFn) -> list[dict[str, Any]]:
    """Like ``StateStore.complete_run`` (results + trades + equity, status ``completed``) AND
    the run's events (replacing any earlier ones), in ONE transaction, for a run row created
    earlier with ``create_run``. Returns the events written."""
    written: list[list[dict[str, Any]]] = []
    store.complete_run(run_id, result, within=_events_writer(events_fn, written, replace=True))
    return written[0]


def _events_writer(events_fn: EventsFn, written: list[list[dict[str, Any]]], *, replace: bool
                   ) -> Callable[[sqlite3.Connection, int], None]:
    """A ``within`` hook for ``StateStore.record_run`` / ``complete_run`` that builds the run's
    events, writes them in the run's transaction and keeps them in ``written``."""
    def write(c: sqlite3.Connection, run_id: int) -> None:
        if replace:
            c.execute("DELETE FROM events WHERE run_id=?", (int(run_id),))
        evs = events_fn(run_id)
        _insert_events(c, run_id, evs)
        written.append(evs)
    return write


def events(store: StateStore, run_id: int, kind: str | None = None,
           start_ns: int | None = None, end_ns: int | None = None) -> list[ReadOnlyDict]:
    """Events of a run (decoded, read-only payloads: the JSONL lines) ordered by seq,
    optionally one ``kind`` and ``start_ns ≤ ts ≤ end_ns`` (UTC epoch ns)."""
    q = "SELECT payload FROM events WHERE run_id=?"
    args: list[Any] = [int(run_id)]
    if kind is not None:
        q += " AND kind=?"
        args.append(kind)
    if start_ns is not None:
        q += " AND ts_ns>=?"
        args.append(int(start_ns))
    if end_ns is not None:
        q += " AND ts_ns<=?"
        args.append(int(end_ns))
    return [freeze(loads(p)) for (p,) in store.conn.execute(q + " ORDER BY seq", args)]


def event_counts(store: StateStore, run_id: int) -> dict[str, int]:
    """``{kind: count}`` of a run's events."""
    return {k: int(n) for k, n in store.conn.execute(
        "SELECT kind, COUNT(*) FROM events WHERE run_id=? GROUP BY kind", (int(run_id),))}
