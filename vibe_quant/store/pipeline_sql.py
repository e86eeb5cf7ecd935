"""State table of ``vibe-quant pipeline`` runs (migration 5): one row per pipeline identity,
recording which stage each finished, so a re-run resumes after the last completed stage.

Functions take a :class:`~vibe_quant.store.state.StateStore` and return
:class:`~vibe_quant.store.records.PipelineRun` records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vibe_quant.core.errors import NotFoundError
from vibe_quant.core.jsonpolicy import loads, now_iso, to_json
from vibe_quant.store.records import PipelineRun

if TYPE_CHECKING:
    from vibe_quant.store.state import StateStore

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


class PipelineNotFoundError(NotFoundError, LookupError):
    """No pipeline row has this identity."""


def get_or_create(store: StateStore, *, identity: str, strategy_name: str, symbol: str,
                  start_ns: int, end_ns: int, config: dict[str, Any]) -> PipelineRun:
    """The pipeline row of this identity, created at stage ``created`` when new."""
    with store.transaction() as c:
        c.execute(
            "INSERT OR IGNORE INTO pipeline_runs (identity, strategy_name, symbol, start_ns,"
            " end_ns, config, stage, stage_seconds, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,'created','{}',?,?)",
            (identity, strategy_name, symbol, start_ns, end_ns, to_json(config),
             now_iso(), now_iso()))
    return get(store, identity)


def get(store: StateStore, identity: str) -> PipelineRun:
    """The pipeline row of ``identity`` (``config``, ``stage_seconds`` decoded).

    Raises:
        PipelineNotFoundError: no row has this identity.
    """
    rows = store.query(f"SELECT {PipelineRun.columns()} FROM pipeline_runs WHERE identity=?",
                       (identity,))
    if not rows:
        raise PipelineNotFoundError(f"no pipeline run with identity {identity}",
                                    identity=identity)
    r = rows[0]
    return PipelineRun.from_row(  # type: ignore[return-value]
        r, config=loads(r["config"]), stage_seconds=loads(r["stage_seconds"]))


def advance(store: StateStore, identity: str, stage: str, seconds: float, **ids: Any) -> None:
    """Mark ``stage`` finished (adding ``seconds`` of wall time to it) and store the ids it
    produced (``sweep_id=``, ``filter_run_id=``, ``validation_run_id=``, ``report_path=``)."""
    row = get(store, identity)
    secs = dict(row["stage_seconds"])
    secs[stage] = round(secs.get(stage, 0.0) + seconds, 3)
    sets = ", ".join(f"{k}=?" for k in ids)
    with store.transaction() as c:
        c.execute(f"UPDATE pipeline_runs SET stage=?, stage_seconds=?, updated_at=?"
                  f"{', ' + sets if sets else ''} WHERE identity=?",
                  (stage, to_json(secs), now_iso(), *ids.values(), identity))
