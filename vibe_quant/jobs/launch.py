"""Starting background jobs: :func:`launch_job` (through :mod:`vibe_quant.services.jobs`: the
CLI's ``--background`` flag, the dashboard, scripts)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from vibe_quant.core.errors import JobError
from vibe_quant.core.paths import DATA_DIR_ENV, DataDir
from vibe_quant.jobs import JOB_COMMANDS, JOB_ID_ENV, JOB_TOKEN_ENV

BACKGROUND_FLAG = "--background"
"""The CLI flag that runs a command as a job; dropped from a job's own argv."""


class NotAJobCommandError(JobError, ValueError):
    """The command cannot run as a background job (also a ``ValueError``)."""


def job_command(argv: list[str]) -> str:
    """The job command of a vibe-quant argv (``"sweep"``, ``"data ingest"`` …).

    Raises:
        NotAJobCommandError: the argv is not one of :data:`vibe_quant.jobs.JOB_COMMANDS`.
    """
    words = [a for a in argv[:2] if not a.startswith("-")]
    for n in (2, 1):
        cmd = " ".join(words[:n])
        if len(words) >= n and cmd in JOB_COMMANDS:
            return cmd
    raise NotAJobCommandError(
        f"`vibe-quant {' '.join(argv[:2])}` cannot run as a background job; "
        f"background jobs run: {', '.join(JOB_COMMANDS)}"
    )


def launch_job(
    dd: DataDir, argv: list[str], *, cwd: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Start ``vibe-quant <argv>`` as a detached background job of data dir ``dd``.

    The process is ``python -m vibe_quant <argv>`` with the job's id and token in its
    environment (the CLI then runs the command as this job). It runs in a new session (its
    own process group, no controlling terminal), with stdin ``/dev/null`` and stdout + stderr
    appended to ``<data-dir>/logs/jobs/job-<id>.log``;
    relative paths in ``argv`` are resolved against ``cwd`` (default: this process's).
    A thread of this process reaps the child when it exits (long-lived launchers such as the
    dashboard leave no zombie); a launcher that exits first hands it to init.

    Returns the job row (:func:`vibe_quant.store.jobs_sql.get_job`).

    Raises:
        NotAJobCommandError: ``argv`` is not a job command (also a ``ValueError``).
        OSError: the log file or the process could not be created (the job is marked failed).
    """
    import psutil

    from vibe_quant.store import jobs_sql
    from vibe_quant.store.state import StateStore

    argv = [a for a in argv if a != BACKGROUND_FLAG]
    command = job_command(argv)
    dd = dd.ensure()
    log_dir = dd.logs / "jobs"
    log_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    with StateStore.open(dd) as store:
        job_id = jobs_sql.insert_job(
            store, command=command, argv=argv, token=token, log_dir=str(log_dir)
        )
        log_path = Path(jobs_sql.get_job(store, job_id)["log_path"])  # type: ignore[index]
        env = {k: v for k, v in os.environ.items() if k not in (JOB_ID_ENV, JOB_TOKEN_ENV)}
        env.update(
            {
                JOB_ID_ENV: str(job_id),
                JOB_TOKEN_ENV: token,
                DATA_DIR_ENV: str(dd.root),
                "PYTHONUNBUFFERED": "1",
            }
        )
        try:
            with open(log_path, "ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "vibe_quant", *argv],
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    close_fds=True,
                )
        except OSError as e:
            jobs_sql.finish_job(store, job_id, "failed", error=f"could not start: {e}")
            raise
        threading.Thread(target=proc.wait, name=f"reap-job-{job_id}", daemon=True).start()
        try:
            start = psutil.Process(proc.pid).create_time()
        except psutil.Error:  # already exited: the job process recorded what happened
            start = None
        if start is not None:
            jobs_sql.set_process(
                store, job_id, pid=proc.pid, pgid=proc.pid, proc_start=start, started=False
            )
        return jobs_sql.get_job(store, job_id)  # type: ignore[return-value]
