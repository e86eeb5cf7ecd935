"""The paper run's journal: one object over the state database (:mod:`vibe_quant.store.paper_sql`)
and the run's JSON-lines event log ``<data-dir>/logs/events/paper-<run_id>.jsonl``.

Each event is one SQLite row (``paper_events``) and one line in the file, with the common keys
of SPEC.md §9 (``run_id, seq, ts`` UTC ns, ``time`` ISO-8601 Z, ``kind, strategy, symbol``) plus
the kind's fields. The file is appended line by line (``O_APPEND``; each line one ``write``), so
the supervisor and the child can both log. Secrets never reach it: callers pass no credential,
and :func:`vibe_quant.alerts.redact` scrubs ``message`` fields of the known secrets.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from vibe_quant.backtest.events import events_dir
from vibe_quant.core.intervals import iso_ns
from vibe_quant.core.jsonpolicy import dumps, jsonable, to_json
from vibe_quant.core.paths import DataDir
from vibe_quant.store import paper_sql as Q


def events_path(data_dir: DataDir, run_id: int) -> Path:
    """The run's event log ``<data-dir>/logs/events/paper-<run_id>.jsonl``."""
    return events_dir(data_dir) / f"paper-{int(run_id)}.jsonl"


class Journal:
    """Journal of run ``run_id`` on connection ``conn``; ``secrets`` are scrubbed from text."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        data_dir: DataDir,
        run_id: int,
        *,
        strategy: str = "",
        symbol: str = "",
        secrets: tuple[str, ...] = (),
    ):
        self.conn, self.run_id = conn, int(run_id)
        self.strategy, self.symbol = strategy, symbol
        self.path = events_path(data_dir, run_id)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._secrets = tuple(s for s in secrets if s)

    # ------------------------------------------------------------------ events
    def event(self, ts_ns: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        payload = jsonable(payload)
        if self._secrets:
            from vibe_quant.alerts.redact import redact

            payload = json.loads(redact(dumps(payload), self._secrets))
        seq = Q.add_event(self.conn, self.run_id, int(ts_ns), kind, payload)
        ev = {
            "run_id": self.run_id,
            "seq": seq,
            "ts": int(ts_ns),
            "time": iso_ns(int(ts_ns)),
            "kind": kind,
            "strategy": self.strategy,
            "symbol": self.symbol,
            **payload,
        }
        line = (dumps(ev) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        return ev

    # ------------------------------------------------------------------ run row
    def run(self) -> dict[str, Any] | None:
        return Q.run(self.conn, self.run_id)

    def set(self, **fields: Any) -> None:
        Q.update_run(self.conn, self.run_id, **fields)

    def heartbeat(self, ts_ns: int, **fields: Any) -> dict[str, Any]:
        return Q.heartbeat(self.conn, self.run_id, ts_ns, **fields)

    def bar_done(
        self,
        ts_ns: int,
        equity: float,
        position: float,
        state: dict[str, Any],
        breaker: dict[str, Any] | None,
    ) -> None:
        """One transaction per processed bar: last bar, equity point, strategy/breaker state."""
        with Q.tx(self.conn):
            self.conn.execute(
                "UPDATE paper_runs SET last_bar_ns=?, strategy_state=?, breaker=COALESCE(?,"
                " breaker) WHERE id=?",
                (
                    int(ts_ns),
                    to_json(state),
                    to_json(breaker) if breaker is not None else None,
                    self.run_id,
                ),
            )
            self.conn.execute(
                "INSERT OR REPLACE INTO paper_equity VALUES (?,?,?,?,?)",
                (self.run_id, int(ts_ns), float(equity), None, float(position)),
            )

    # ------------------------------------------------------------------ orders and fills
    def intent(self, client_order_id: str, **fields: Any) -> bool:
        return Q.write_intent(self.conn, self.run_id, client_order_id=client_order_id, **fields)

    def intents(self) -> list[dict[str, Any]]:
        return Q.intents(self.conn, self.run_id)

    def fill(self, *, source: str = "child", **fields: Any) -> bool:
        return Q.record_fill(self.conn, self.run_id, source=source, **fields)
