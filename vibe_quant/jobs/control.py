"""Cancelling jobs and cleaning up stale ones.

:func:`cancel_job` marks the job ``cancelled`` and ends its whole process group, workers
included: SIGTERM, then SIGKILL after the grace period (:func:`vibe_quant.jobs.procs.
end_job_processes`). What the job already stored stays: a cancelled sweep resumes by identity
when the same command runs again, without duplicates or holes.

:func:`reap_stale` marks ``failed`` (with the reason) every active job whose main process is
gone — PID absent, a zombie, or a different process under a reused PID (start time differs) —
or whose heartbeat is older than the stale limit, and ends the job's remaining processes
(orphaned spawn workers keep running after their parent is SIGKILLed, CPython issue 111873).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from vibe_quant.core.errors import JobError, NotFoundError
from vibe_quant.jobs import CANCEL_GRACE_S, STALE_ENV, STALE_S, env_seconds
from vibe_quant.jobs.procs import end_job_processes, main_alive
from vibe_quant.store import jobs_sql

if TYPE_CHECKING:
    from vibe_quant.store.state import StateStore


class JobNotFoundError(JobError, NotFoundError, LookupError):
    """No job with that id in this data dir's state database (also a ``LookupError``)."""


class JobStateError(JobError, ValueError):
    """The job is not in a state that allows the request, e.g. cancelling a finished job
    (also a ``ValueError``)."""


def require_job(store: StateStore, job_id: int) -> dict[str, Any]:
    """The job row.

    Raises:
        JobNotFoundError: no such job.
    """
    job = jobs_sql.get_job(store, job_id)
    if job is None:
        raise JobNotFoundError(
            f"job {job_id} does not exist in this data dir; run `vibe-quant jobs list`"
        )
    return job


def cancel_job(
    store: StateStore, job_id: int, *, grace_s: float = CANCEL_GRACE_S
) -> dict[str, Any]:
    """Cancel an active job: mark it ``cancelled``, end all its processes, return the row with
    ``"ended_pids"`` (the PIDs signalled).

    Raises:
        JobNotFoundError: no such job.
        JobStateError: the job already finished (its state is given).
    """
    job = require_job(store, job_id)
    if not jobs_sql.finish_job(store, job_id, "cancelled", error="cancelled by the user"):
        job = require_job(store, job_id)
        raise JobStateError(f"job {job_id} is already {job['state']}: nothing to cancel")
    ended = end_job_processes(job, grace_s)
    return {**require_job(store, job_id), "ended_pids": ended}


def stale_reason(job: dict[str, Any], stale_after_s: float, now: float | None = None) -> str | None:
    """Why an active job is stale, or None when it is healthy (or not active)."""
    if job["state"] not in jobs_sql.ACTIVE_STATES:
        return None
    now = time.time() if now is None else now
    if job["pid"] and job["proc_start"] is not None and not main_alive(job):
        return f"its process {job['pid']} is gone (killed or crashed without recording an outcome)"
    last = jobs_sql.parse_ts(job["heartbeat_at"] or job["created_at"])
    age = now - last if last is not None else float("inf")
    if age > stale_after_s:
        what = "no heartbeat" if job["heartbeat_at"] else "not started"
        return f"{what} for {age:.1f} s (stale limit {stale_after_s:g} s)"
    return None


def reap_stale(
    store: StateStore, *, stale_after_s: float | None = None, grace_s: float = CANCEL_GRACE_S
) -> list[dict[str, Any]]:
    """Mark every stale active job ``failed`` with the reason and end its processes.

    ``stale_after_s`` defaults to ``$VIBE_QUANT_JOB_STALE_S`` or 120 s. Returns the rows of
    the jobs it marked failed.
    """
    limit = stale_after_s if stale_after_s is not None else env_seconds(STALE_ENV, STALE_S)
    reaped = []
    for job in jobs_sql.list_jobs(store, states=jobs_sql.ACTIVE_STATES):
        reason = stale_reason(job, limit)
        if reason is None:
            continue
        if jobs_sql.finish_job(store, job["id"], "failed", error=f"stale: {reason}"):
            end_job_processes(job, grace_s)
            reaped.append(require_job(store, job["id"]))
    return reaped
