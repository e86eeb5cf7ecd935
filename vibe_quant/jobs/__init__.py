"""Background jobs: long commands run detached from the terminal, tracked in SQLite.

A job is ``python -m vibe_quant <vibe-quant argv>`` with ``VIBE_QUANT_JOB_ID`` and
``VIBE_QUANT_JOB_TOKEN`` in its environment (the CLI then runs the command as that job, through
:func:`vibe_quant.jobs.runner.run_job`), started in its own session and process group
(``start_new_session=True``), stdin ``/dev/null``, stdout + stderr appended to
``<data-dir>/logs/jobs/job-<id>.log``, so closing (SIGHUP) or killing the terminal that started
it does not reach it. Its row in ``background_jobs`` (:mod:`vibe_quant.store.jobs_sql`) holds
state, PID, process group, process start time, progress, heartbeat, log path, result reference,
exit code and error.

Modules, one job each:

* :mod:`~vibe_quant.jobs.launch` — start a job (``--background`` on the CLI, the dashboard).
* :mod:`~vibe_quant.jobs.runner` — the job process: runs the command under a heartbeat.
* :mod:`~vibe_quant.jobs.progress` — progress the job reports (the command's progress events,
  the sweep's stored results).
* :mod:`~vibe_quant.jobs.procs` — which live processes belong to a job, and ending them.
* :mod:`~vibe_quant.jobs.control` — cancel, stale-job cleanup.
"""

from __future__ import annotations

from vibe_quant.core.errors import JobError

JOB_ID_ENV = "VIBE_QUANT_JOB_ID"
"""Set in a job's environment: its row id in ``background_jobs``."""
JOB_TOKEN_ENV = "VIBE_QUANT_JOB_TOKEN"
"""Set in a job's environment: its random token; inherited by every process of the job."""
HEARTBEAT_ENV = "VIBE_QUANT_JOB_HEARTBEAT_S"
"""Seconds between heartbeats of a job process (default :data:`HEARTBEAT_S`)."""
STALE_ENV = "VIBE_QUANT_JOB_STALE_S"
"""Heartbeat age in seconds after which a job counts as stale (default :data:`STALE_S`)."""

HEARTBEAT_S = 5.0
STALE_S = 120.0
CANCEL_GRACE_S = 5.0

JOB_COMMANDS = ("data ingest", "backtest", "sweep", "filter", "validate", "pipeline")
"""Commands that can run as background jobs (``--background``)."""


class JobSettingError(JobError, ValueError):
    """An environment setting of the jobs machinery (``VIBE_QUANT_JOB_*``) is invalid."""


def env_seconds(name: str, default: float) -> float:
    """A positive number of seconds from environment variable ``name``, else ``default``.

    Raises:
        JobSettingError: (also a ValueError) the variable is set but not a positive number.
    """
    import os

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        v = float(raw)
    except ValueError:
        v = -1.0
    if not v > 0:
        raise JobSettingError(f"{name}={raw!r} must be a positive number of seconds")
    return v
