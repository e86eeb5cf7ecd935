"""The job process: run one command as the background job its environment names.

:func:`vibe_quant.jobs.launch.launch_job` starts ``python -m vibe_quant <argv>`` with
``VIBE_QUANT_JOB_ID``, ``VIBE_QUANT_JOB_TOKEN`` and ``VIBE_QUANT_DATA_DIR`` in its environment;
the CLI hands the command to :func:`run_job`. It records the process's PID, process group and
start time (state ``running``), runs the command — the same code path as the terminal — under a
heartbeat thread that stamps ``heartbeat_at`` and the progress every
``VIBE_QUANT_JOB_HEARTBEAT_S`` seconds (default 5), and finally records ``completed`` (exit code
0) or ``failed`` with the exit code and the command's last ``error: …`` line of the job's log.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vibe_quant.jobs import (
    HEARTBEAT_ENV,
    HEARTBEAT_S,
    JOB_ID_ENV,
    JOB_TOKEN_ENV,
    env_seconds,
)
from vibe_quant.jobs.progress import Progress, reported

if TYPE_CHECKING:
    from vibe_quant.store.state import StateStore

Probe = Callable[[Any, str], "tuple[Progress, dict[str, Any]] | None"]
"""``probe(store, since_iso)`` → ``(progress, result_ref)`` or None (e.g.
:class:`vibe_quant.jobs.progress.SweepProbe`)."""


def is_job_process() -> bool:
    """True when this process was started as a background job (its id is in the
    environment)."""
    return bool(os.environ.get(JOB_ID_ENV))


class Heartbeat(threading.Thread):
    """Daemon thread stamping the job's heartbeat and progress every ``interval_s`` seconds
    (own SQLite connection). :meth:`stop` writes one last beat and joins."""

    def __init__(
        self, state_db: Path, job_id: int, interval_s: float, probe: Probe | None, since: str
    ) -> None:
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.state_db, self.job_id, self.interval_s = state_db, job_id, interval_s
        self.probe, self.since = probe, since
        self._stop_evt = threading.Event()

    def run(self) -> None:
        from vibe_quant.store.state import StateStore

        with StateStore.open(self.state_db) as store:
            while True:
                stopping = self._stop_evt.wait(self.interval_s)
                try:
                    self.beat(store)
                except Exception as e:  # a missed beat must not kill the job
                    print(f"job {self.job_id}: heartbeat not written: {e}", file=sys.stderr)
                if stopping:
                    return

    def beat(self, store: StateStore) -> bool:
        """Write one heartbeat with the current progress (probe first, then reported)."""
        from vibe_quant.store import jobs_sql

        progress, ref = None, None
        if self.probe is not None:
            found = self.probe(store, self.since)
            if found is not None:
                progress, ref = found
        progress = progress or reported()
        return jobs_sql.heartbeat(store, self.job_id, progress=progress, result_ref=ref)

    def stop(self) -> None:
        self._stop_evt.set()
        self.join(timeout=30)


def last_error_line(log_path: str) -> str | None:
    """The last ``error: …`` line of the job's log (a command's one-line user error)."""
    try:
        with open(log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 65536))
            tail = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    lines = [ln.strip() for ln in tail.replace("\r", "\n").splitlines()]
    errs = [ln for ln in lines if ln.startswith("error:")]
    return errs[-1][len("error:") :].strip() if errs else None


def run_job(command: Callable[[], int], *, probe: Callable[[], Probe | None] | None = None) -> int:
    """Run ``command()`` (returns an exit code) as the job named by ``VIBE_QUANT_JOB_ID`` /
    ``VIBE_QUANT_JOB_TOKEN`` in data dir ``$VIBE_QUANT_DATA_DIR``, under a heartbeat.

    Args:
        command: runs the job's command; its exit code is the job's (``SystemExit`` is
            honoured; any other exception is an internal bug: traceback to the log, exit 1).
        probe: called once the job is ``running``; returns the heartbeat's progress probe or
            None.

    Returns:
        The command's exit code; 2 when the environment names no job of this data dir, 1 when
        the job was cancelled before it started.
    """
    import psutil

    from vibe_quant.core.paths import DataDir
    from vibe_quant.store import jobs_sql
    from vibe_quant.store.state import StateStore

    try:
        job_id, token = int(os.environ[JOB_ID_ENV]), os.environ[JOB_TOKEN_ENV]
    except (KeyError, ValueError):
        print(
            f"error: {JOB_ID_ENV}/{JOB_TOKEN_ENV} are not set: start jobs with "
            "`vibe-quant <command> --background`",
            file=sys.stderr,
        )
        return 2
    dd = DataDir.resolve(None).ensure()
    with StateStore.open(dd) as store:
        job = jobs_sql.get_job(store, job_id)
        if job is None or job["token"] != token:
            print(f"error: job {job_id} is not in {dd.state_db}", file=sys.stderr)
            return 2
        jobs_sql.set_process(
            store,
            job_id,
            pid=os.getpid(),
            pgid=os.getpgrp(),
            proc_start=psutil.Process().create_time(),
            started=True,
        )
        job = jobs_sql.get_job(store, job_id)
        if job is None or job["state"] != "running":  # cancelled before it started
            print(f"job {job_id} is {job and job['state']}: not started", file=sys.stderr)
            return 1
        print(
            f"job {job_id}: vibe-quant {' '.join(job['args'])} (pid {os.getpid()})",
            file=sys.stderr,
            flush=True,
        )
        beat = Heartbeat(
            dd.state_db,
            job_id,
            env_seconds(HEARTBEAT_ENV, HEARTBEAT_S),
            probe() if probe is not None else None,
            job["started_at"] or jobs_sql.now_ms(),
        )
        beat.start()
        error = None
        try:
            rc = int(command() or 0)
        except SystemExit as e:  # e.g. argparse refused the arguments
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException as e:  # an internal bug: keep its traceback in the log
            traceback.print_exc()
            rc, error = 1, f"{type(e).__name__}: {e}"
        finally:
            beat.stop()
            sys.stdout.flush()
            sys.stderr.flush()
        if rc != 0 and error is None:
            error = last_error_line(job["log_path"]) or f"exit code {rc}"
        jobs_sql.finish_job(
            store, job_id, "completed" if rc == 0 else "failed", exit_code=rc, error=error
        )
    return rc
