"""State table of ``vibe-quant pipeline`` runs (migration 5): one row per pipeline identity,
recording which stage each finished, so a re-run resumes after the last completed stage."""

from __future__ import annotations

import json
from typing import Any

from vibe_quant.core.jsonpolicy import now_iso as _now

MIGRATION = (
    5,
    """
    CREATE TABLE pipeline_runs (
        id INTEGER PRIMARY KEY,
        identity TEXT NOT NULL UNIQUE,    -- sha256 of strategy text + every setting
        strategy_name TEXT NOT NULL,
        symbol TEXT NOT NULL,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER NOT NULL,
        config TEXT NOT NULL,             -- JSON
        stage TEXT NOT NULL,              -- created | data | sweep | filters | validation | done
        sweep_id INTEGER REFERENCES sweeps (id),
        filter_run_id INTEGER REFERENCES filter_runs (id),
        validation_run_id INTEGER,
        report_path TEXT,
        stage_seconds TEXT NOT NULL,      -- JSON {stage: seconds}
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
)






def get_or_create(store: Any, *, identity: str, strategy_name: str, symbol: str, start_ns: int,
                  end_ns: int, config: dict[str, Any]) -> dict[str, Any]:
    """The pipeline row of this identity, created at stage ``created`` when new."""
    with store._tx() as c:
        c.execute(
            "INSERT OR IGNORE INTO pipeline_runs (identity, strategy_name, symbol, start_ns,"
            " end_ns, config, stage, stage_seconds, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,'created','{}',?,?)",
            (identity, strategy_name, symbol, start_ns, end_ns, json.dumps(config, default=str),
             _now(), _now()))
    return get(store, identity)


def get(store: Any, identity: str) -> dict[str, Any]:
    cur = store.conn.cursor()
    cur.row_factory = lambda c, r: {d[0]: v for d, v in zip(c.description, r)}
    row = cur.execute("SELECT * FROM pipeline_runs WHERE identity=?", (identity,)).fetchone()
    row["config"] = json.loads(row["config"])
    row["stage_seconds"] = json.loads(row["stage_seconds"])
    return row


def advance(store: Any, identity: str, stage: str, seconds: float, **ids: Any) -> None:
    """Mark ``stage`` finished (with its wall time) and store the ids it produced."""
    row = get(store, identity)
    secs = dict(row["stage_seconds"])
    secs[stage] = round(secs.get(stage, 0.0) + seconds, 3)
    sets = ", ".join(f"{k}=?" for k in ids)
    with store._tx() as c:
        c.execute(f"UPDATE pipeline_runs SET stage=?, stage_seconds=?, updated_at=?"
                  f"{', ' + sets if sets else ''} WHERE identity=?",
                  (stage, json.dumps(secs), _now(), *ids.values(), identity))
