"""Background jobs as use cases: launch, list, show, read the log, cancel; and what a job's
own process needs (run under a heartbeat, report progress, find its sweep).

A job is a vibe-quant command run detached from the terminal (:mod:`vibe_quant.jobs`). Rows
come back as :class:`Job` (a :class:`vibe_quant.store.records.Job`: a frozen record that is
also a read-only mapping; its ``to_dict()`` leaves out the process token). Errors:
``JobNotFoundError`` (exit 1, also a ``LookupError``), ``JobStateError`` (cancelling a
finished job), ``NotAJobCommandError`` (the command cannot run as a job), ``JobSettingError``
(a bad ``VIBE_QUANT_JOB_*`` value) — all :class:`~vibe_quant.core.errors.JobError` — and
``JobOptionError`` (a :class:`~vibe_quant.core.errors.ConfigError`, exit 2: a stale limit or
grace period that is not positive).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vibe_quant.core.errors import ConfigError, JobError
from vibe_quant.core.paths import DataDir
from vibe_quant.core.progress import ProgressCallback
from vibe_quant.jobs import CANCEL_GRACE_S, JOB_COMMANDS, JOB_ID_ENV, JobSettingError
from vibe_quant.jobs.control import JobNotFoundError, JobStateError
from vibe_quant.jobs.launch import BACKGROUND_FLAG, NotAJobCommandError, job_command
from vibe_quant.jobs.runner import Probe, is_job_process
from vibe_quant.store import records

if TYPE_CHECKING:
    from vibe_quant.store.state import StateStore

__all__ = [
    "ACTIVE_STATES", "BACKGROUND_FLAG", "CANCEL_GRACE_S", "CancelledJob", "JOB_COMMANDS",
    "JOB_ID_ENV", "JOB_STATES", "Job", "JobError",
    "JobNotFoundError", "JobOptionError", "JobSettingError", "JobStateError", "NotAJobCommandError",
    "cancel", "get", "is_active", "is_job_process", "job_command", "launch", "list_jobs",
    "log_chunks", "public", "reporting", "run_as_job", "show", "sweep_probe",
]

JOB_STATES = ("pending", "running", "completed", "failed", "cancelled")
"""Every job state; ``pending`` and ``running`` (:data:`ACTIVE_STATES`) are active."""
ACTIVE_STATES = ("pending", "running")


@dataclass(frozen=True, eq=False)
class Job(records.Job):
    """A background job as the services return it: the stored record (fields, units and
    states in :class:`vibe_quant.store.records.Job`), whose :meth:`to_dict` leaves out the
    process token (it only identifies the job's processes)."""

    @classmethod
    def of(cls, row: Any) -> Job:
        """The job of a ``jobs_sql`` record (or any mapping of its columns)."""
        return cls.from_row(row)  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field but ``token``."""
        d = super().to_dict()
        d.pop("token", None)
        return d


def public(job: Job) -> dict[str, Any]:
    """``job.to_dict()``: the job without its token."""
    return job.to_dict()


def is_active(job: Job) -> bool:
    """True while the job is ``pending`` or ``running``."""
    return job.state in ACTIVE_STATES


@dataclass(frozen=True)
class CancelledJob:
    """Result of :func:`cancel`: the job (now ``cancelled``) and the PIDs signalled."""

    job: Job
    ended_pids: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """The job's :meth:`Job.to_dict` with ``"ended_pids"`` (a list)."""
        return {**self.job.to_dict(), "ended_pids": list(self.ended_pids)}


@dataclass(frozen=True)
class JobListing:
    """Result of :func:`list_jobs` / :func:`show`: the jobs asked for and the stale jobs that
    were marked failed on the way (their ``error`` says why)."""

    jobs: tuple[Job, ...]
    reaped: tuple[Job, ...]


class JobOptionError(ConfigError, ValueError):
    """A job option (stale limit, grace period) is out of range (exit 2, also a ValueError)."""


def _open(dd: DataDir):
    from vibe_quant.store.state import StateStore

    return StateStore.open(dd)


def _check_positive(flag: str, v: float | None) -> None:
    if v is not None and not v > 0:
        raise JobOptionError(f"{flag} {v:g} must be a positive number of seconds")


def _reap(store: StateStore, stale_after_s: float | None) -> tuple[Job, ...]:
    from vibe_quant.jobs.control import reap_stale

    _check_positive("--stale-after", stale_after_s)
    return tuple(Job.of(j) for j in reap_stale(store, stale_after_s=stale_after_s))


def launch(
    dd: DataDir, argv: list[str], *, cwd: str | os.PathLike[str] | None = None
) -> Job:
    """Start ``vibe-quant <argv>`` as a detached background job of data dir ``dd`` (see
    :func:`vibe_quant.jobs.launch.launch_job`); ``--background`` in ``argv`` is dropped.

    Raises:
        NotAJobCommandError: ``argv`` is not one of :data:`JOB_COMMANDS`.
        OSError: the log file or the process could not be created (the job is marked failed).
    """
    from vibe_quant.jobs.launch import launch_job

    return Job.of(launch_job(dd, argv, cwd=cwd))


def list_jobs(
    dd: DataDir, *, states: tuple[str, ...] | None = None, limit: int | None = 50,
    stale_after_s: float | None = None,
) -> JobListing:
    """Jobs newest first (only ``states`` when given, at most ``limit``), after marking stale
    jobs failed (heartbeat older than ``stale_after_s``, default ``$VIBE_QUANT_JOB_STALE_S``
    or 120 s, or main process gone).

    Raises:
        JobOptionError: ``stale_after_s`` is not positive.
    """
    from vibe_quant.store import jobs_sql

    with _open(dd) as store:
        reaped = _reap(store, stale_after_s)
        rows = jobs_sql.list_jobs(store, states=tuple(states or ()) or None, limit=limit)
    return JobListing(tuple(Job.of(r) for r in rows), reaped)


def show(dd: DataDir, job_id: int, *, stale_after_s: float | None = None) -> JobListing:
    """One job (``jobs[0]``), after marking stale jobs failed (as :func:`list_jobs`).

    Raises:
        JobNotFoundError: no such job. JobOptionError: ``stale_after_s`` is not positive.
    """
    from vibe_quant.jobs.control import require_job

    with _open(dd) as store:
        reaped = _reap(store, stale_after_s)
        job = Job.of(require_job(store, job_id))
    return JobListing((job,), reaped)


def get(dd: DataDir, job_id: int) -> Job:
    """One job as stored (no stale-job cleanup).

    Raises:
        JobNotFoundError: no such job.
    """
    from vibe_quant.jobs.control import require_job

    with _open(dd) as store:
        return Job.of(require_job(store, job_id))


def log_chunks(
    dd: DataDir, job_id: int, *, follow: bool = False, poll_s: float = 0.5
) -> Iterator[bytes]:
    """The job's log as byte chunks: what is written so far; with ``follow``, then new output
    every ``poll_s`` seconds until the job is no longer active (and what it wrote before it
    ended).

    Raises:
        JobNotFoundError: no such job.
        JobError: the job has no log file (yet).
    """
    job = get(dd, job_id)
    try:
        f = open(job.log_path, "rb")
    except FileNotFoundError as e:
        raise JobError(f"job {job_id} has no log file at {job.log_path} (yet)") from e
    with f:
        while True:
            chunk = f.read()
            if chunk:
                yield chunk
            if not follow:
                return
            if not chunk:
                if not is_active(get(dd, job_id)):
                    rest = f.read()
                    if rest:
                        yield rest
                    return
                time.sleep(poll_s)


def cancel(dd: DataDir, job_id: int, *, grace_s: float | None = None) -> CancelledJob:
    """Cancel an active job: mark it ``cancelled`` and end its whole process group (SIGTERM,
    SIGKILL after ``grace_s`` seconds, default 5).

    Raises:
        JobNotFoundError: no such job. JobStateError: it already finished.
        JobOptionError: ``grace_s`` is not positive.
    """
    from vibe_quant.jobs.control import cancel_job, require_job

    _check_positive("--grace", grace_s)
    with _open(dd) as store:
        row = cancel_job(store, job_id, grace_s=CANCEL_GRACE_S if grace_s is None else grace_s)
        job = Job.of(require_job(store, job_id))
    return CancelledJob(job=job, ended_pids=tuple(row["ended_pids"]))


# ---------------------------------------------------------------- inside the job's process
def run_as_job(command: Callable[[], int], *, probe: Callable[[], Probe | None] | None = None
               ) -> int:
    """Run ``command()`` as the background job this process was started as (state, heartbeat,
    outcome; :func:`vibe_quant.jobs.runner.run_job`). Returns its exit code."""
    from vibe_quant.jobs.runner import run_job

    return run_job(command, probe=probe)


def reporting(progress: ProgressCallback | None) -> ProgressCallback | None:
    """``progress`` extended to feed the job's heartbeat when this process is a background
    job (:func:`vibe_quant.jobs.progress.reporting`); unchanged otherwise."""
    if not is_job_process():
        return progress
    from vibe_quant.jobs.progress import reporting as job_reporting

    return job_reporting(progress)


def sweep_probe(strategy: str | Path, symbol: str, start_ns: int, end_ns: int,
                interval: str | None, resume: int | None) -> Probe | None:
    """The heartbeat probe of a ``sweep`` job (progress from the stored results, and the
    ``{"sweep_id": N}`` result reference); None when the strategy cannot be read or parsed
    (the sweep command reports its own input errors)."""
    from vibe_quant.dsl import load_strategy
    from vibe_quant.jobs.progress import SweepProbe

    try:
        text = Path(strategy).read_text()
        return SweepProbe(text, str(symbol).upper(), int(start_ns), int(end_ns),
                          interval or load_strategy(text).timeframe, resume)
    except Exception:  # the sweep command reports its own input errors
        return None
