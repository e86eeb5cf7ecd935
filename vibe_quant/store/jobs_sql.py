"""State table and queries of background jobs (:mod:`vibe_quant.jobs`).

Table ``background_jobs``: one row per job launched with ``--background`` (or from the
dashboard). Columns:

* ``command`` — the CLI command (``sweep``, ``data ingest``, ``filter`` …); ``args`` — JSON list,
  the whole argv after ``vibe-quant`` with the values of secret-looking options
  (``--*token*``, ``--*secret*``, ``--*password*``, ``--*key*``) replaced by ``"***"``.
* ``state`` — ``pending`` (row written, process not yet confirmed) → ``running`` →
  ``completed`` | ``failed`` | ``cancelled``. Only ``pending``/``running`` rows change state.
* ``token`` — random hex put in the job's environment (``VIBE_QUANT_JOB_TOKEN``); every process
  of the job (its spawn workers inherit the environment) carries it, which is how cleanup
  recognises the job's processes without trusting a PID alone.
* ``pid``/``pgid`` — the job's main process and its process group (= its own session);
  ``proc_start`` — the main process's start time (UTC epoch seconds, ``psutil.create_time``),
  compared with the live process before a PID is trusted (PIDs are reused).
* ``progress_done``/``progress_total``/``progress_unit`` — e.g. 3 / 6 ``combo``;
  ``heartbeat_at`` — last heartbeat of the job process; ``result_ref`` — JSON object naming
  what the job produced (``{"sweep_id": 7}``) or NULL.
* ``exit_code``, ``error`` (one line), ``log_path``; ``created_at``/``started_at``/
  ``finished_at``/``heartbeat_at`` are ISO-8601 UTC text with milliseconds (``…T12:00:00.123Z``).

Functions take a :class:`~vibe_quant.store.state.StateStore`: writes run in
``store.transaction()``; reads need only its ``conn`` (so any
:class:`~vibe_quant.store.db.Connected` holder works, e.g. over a read-only connection).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from vibe_quant.core.errors import StoreError
from vibe_quant.core.jsonpolicy import loads, to_json
from vibe_quant.store.db import Connected
from vibe_quant.store.records import Job

if TYPE_CHECKING:
    from vibe_quant.store.state import StateStore

JOB_STATES = ("pending", "running", "completed", "failed", "cancelled")
ACTIVE_STATES = ("pending", "running")

MIGRATION = (
    7,
    """
    CREATE TABLE background_jobs (
        id INTEGER PRIMARY KEY,
        command TEXT NOT NULL,            -- e.g. "sweep", "data ingest"
        args TEXT NOT NULL,               -- JSON list: argv after `vibe-quant` (secrets masked)
        state TEXT NOT NULL CHECK (state IN
            ('pending', 'running', 'completed', 'failed', 'cancelled')),
        token TEXT NOT NULL,              -- VIBE_QUANT_JOB_TOKEN in the job's processes
        pid INTEGER,                      -- main process
        pgid INTEGER,                     -- its process group (= session id)
        proc_start REAL,                  -- main process start, UTC epoch seconds
        progress_done REAL,
        progress_total REAL,
        progress_unit TEXT,
        heartbeat_at TEXT,
        log_path TEXT NOT NULL,
        result_ref TEXT,                  -- JSON object, e.g. {"sweep_id": 7}
        exit_code INTEGER,
        error TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
    );
    CREATE INDEX background_jobs_state ON background_jobs (state, id)
    """,
)



class JobStateError(StoreError, ValueError):
    """A job state outside :data:`JOB_STATES` (or not a final one where one is required)."""


_SECRET_FLAG = re.compile(r"^--[\w-]*(token|secret|password|passwd|key)[\w-]*$", re.I)


def now_ms() -> str:
    """Current time as ISO-8601 UTC text with milliseconds and a ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_ts(text: str | None) -> float | None:
    """UTC epoch seconds of an ISO-8601 ``…Z`` timestamp (``None`` stays ``None``)."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def mask_secrets(argv: list[str]) -> list[str]:
    """argv with the value of every secret-looking option replaced by ``"***"``."""
    out: list[str] = []
    mask_next = False
    for a in argv:
        if mask_next:
            out.append("***")
            mask_next = False
            continue
        flag, eq, _ = a.partition("=")
        if _SECRET_FLAG.match(flag):
            if eq:
                out.append(f"{flag}=***")
            else:
                out.append(a)
                mask_next = True
            continue
        out.append(a)
    return out


# ---------------------------------------------------------------------- writes
def insert_job(
    store: StateStore, *, command: str, argv: list[str], token: str, log_dir: str
) -> int:
    """Insert a ``pending`` job; its log path is ``<log_dir>/job-<id>.log``. Returns the id."""
    with store.transaction() as c:
        cur = c.execute(
            "INSERT INTO background_jobs (command, args, state, token, log_path, created_at) "
            "VALUES (?,?,?,?,?,?)",
            (command, to_json(mask_secrets(list(argv))), "pending", token, "", now_ms()),
        )
        job_id = int(cur.lastrowid)
        c.execute(
            "UPDATE background_jobs SET log_path=? WHERE id=?",
            (f"{log_dir}/job-{job_id}.log", job_id),
        )
    return job_id


def set_process(
    store: StateStore, job_id: int, *, pid: int, pgid: int, proc_start: float, started: bool
) -> None:
    """Record the job's main process (PID, group, start time). ``started=True`` (written by the
    job process itself) also moves ``pending`` → ``running`` and sets the first heartbeat."""
    with store.transaction() as c:
        c.execute(
            "UPDATE background_jobs SET pid=?, pgid=?, proc_start=? WHERE id=? "
            "AND state IN ('pending','running')",
            (pid, pgid, proc_start, job_id),
        )
        if started:
            t = now_ms()
            c.execute(
                "UPDATE background_jobs SET state='running', started_at=?, "
                "heartbeat_at=? WHERE id=? AND state='pending'",
                (t, t, job_id),
            )


def heartbeat(
    store: StateStore,
    job_id: int,
    *,
    progress: tuple[float, float, str] | None = None,
    result_ref: dict[str, Any] | None = None,
) -> bool:
    """Stamp the heartbeat (and progress / result reference when given) of a running job.
    Returns False when the job is no longer running (cancelled or marked failed meanwhile)."""
    sets, vals = ["heartbeat_at=?"], [now_ms()]
    if progress is not None:
        sets += ["progress_done=?", "progress_total=?", "progress_unit=?"]
        vals += [float(progress[0]), float(progress[1]), str(progress[2])]
    if result_ref is not None:
        sets.append("result_ref=?")
        vals.append(to_json(result_ref))
    with store.transaction() as c:
        cur = c.execute(
            f"UPDATE background_jobs SET {', '.join(sets)} WHERE id=? AND state='running'",
            (*vals, job_id),
        )
        return cur.rowcount == 1


def finish_job(
    store: StateStore,
    job_id: int,
    state: str,
    *,
    exit_code: int | None = None,
    error: str | None = None,
) -> bool:
    """Move an active job to ``state`` (completed | failed | cancelled). Returns False (and
    changes nothing) when the job already left ``pending``/``running``."""
    if state not in JOB_STATES[2:]:
        raise JobStateError(f"not a final job state: {state!r}", state=state)
    with store.transaction() as c:
        cur = c.execute(
            "UPDATE background_jobs SET state=?, exit_code=COALESCE(?, exit_code), error=?, "
            "finished_at=? WHERE id=? AND state IN ('pending','running')",
            (state, exit_code, error, now_ms(), job_id),
        )
        return cur.rowcount == 1


# ---------------------------------------------------------------------- reads
def _job(r: tuple | None) -> Job | None:
    if r is None:
        return None
    return Job(*r[:2], loads(r[2]), *r[3:13], loads(r[13]), *r[14:])


def get_job(store: Connected, job_id: int) -> Job | None:
    """One job (``args`` a list, ``result_ref`` an object or None); None if absent."""
    return _job(
        store.conn.execute(
            f"SELECT {Job.columns()} FROM background_jobs WHERE id=?", (int(job_id),)
        ).fetchone()
    )


def list_jobs(
    store: Connected, *, states: tuple[str, ...] | None = None, limit: int | None = None
) -> list[Job]:
    """Jobs, newest first, optionally only those in ``states``."""
    q = f"SELECT {Job.columns()} FROM background_jobs"
    args: tuple = ()
    if states:
        q += f" WHERE state IN ({','.join('?' * len(states))})"
        args = tuple(states)
    q += " ORDER BY id DESC"
    if limit:
        q += f" LIMIT {int(limit)}"
    return [_job(r) for r in store.conn.execute(q, args)]  # type: ignore[misc]


def sweep_progress(
    store: Connected,
    *,
    yaml_text: str,
    symbol: str,
    start_ns: int,
    end_ns: int,
    interval: str,
    since: str,
    sweep_id: int | None = None,
) -> tuple[int, int, int] | None:
    """``(sweep_id, stored results, n_combos)`` of the sweep a ``sweep`` job is running: the
    newest sweep of that strategy text, symbol, window and interval (or ``sweep_id``) that is
    running or finished at/after ``since`` (ISO UTC). None when it does not exist yet."""
    q = (
        "SELECT s.id, (SELECT COUNT(*) FROM sweep_results r WHERE r.sweep_id = s.id), "
        "s.n_combos FROM sweeps s WHERE s.yaml=? AND s.symbol=? AND s.start_ns=? "
        "AND s.end_ns=? AND s.interval=? AND (s.status='running' OR s.finished_at>=?)"
    )
    args: tuple = (yaml_text, symbol, int(start_ns), int(end_ns), interval, since[:19] + "Z")
    if sweep_id is not None:
        q += " AND s.id=?"
        args += (int(sweep_id),)
    row = store.conn.execute(q + " ORDER BY s.id DESC LIMIT 1", args).fetchone()
    return (int(row[0]), int(row[1]), int(row[2])) if row else None
