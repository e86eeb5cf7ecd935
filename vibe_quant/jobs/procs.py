"""Which live processes belong to a job, and ending them (POSIX; uses psutil).

A PID alone is never trusted (PIDs are reused). The job's main process is recognised by its PID
*and* its start time (:func:`main_alive`); every process of the job — main, spawn workers, the
multiprocessing resource tracker, orphans whose parent was SIGKILLed — by the job's random token
in its environment (:func:`job_processes`), which child processes inherit. Zombies count as
gone.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import psutil

from vibe_quant.core.errors import JobError
from vibe_quant.jobs import JOB_TOKEN_ENV

START_TOLERANCE_S = 0.05
"""Largest difference between two readings of one process's start time (s)."""


class JobProcessError(JobError, RuntimeError):
    """Processes of a job could not be ended (also a ``RuntimeError``)."""


def process_start(pid: int) -> float | None:
    """Start time of process ``pid`` (UTC epoch seconds), None when it does not exist."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def main_alive(job: dict[str, Any]) -> bool:
    """True when the job's recorded main process still runs: same PID, same start time, not a
    zombie. False when nothing is recorded."""
    pid, start = job.get("pid"), job.get("proc_start")
    if not pid or start is None:
        return False
    try:
        p = psutil.Process(int(pid))
        return (
            abs(p.create_time() - float(start)) <= START_TOLERANCE_S
            and p.status() != psutil.STATUS_ZOMBIE
        )
    except psutil.Error:
        return False


def job_processes(job: dict[str, Any]) -> list[psutil.Process]:
    """Live (non-zombie) processes carrying the job's token in their environment, this process
    excluded."""
    token, me = job["token"], os.getpid()
    found = []
    for p in psutil.process_iter():
        if p.pid == me:
            continue
        try:
            if p.environ().get(JOB_TOKEN_ENV) != token:
                continue
            if p.status() == psutil.STATUS_ZOMBIE:
                continue
        except psutil.Error:  # gone, or another user's process
            continue
        found.append(p)
    return found


def end_job_processes(job: dict[str, Any], grace_s: float, *, poll_s: float = 0.05) -> list[int]:
    """End every process of the job: SIGTERM (+ SIGCONT, so a stopped process acts on it), then
    SIGKILL once ``grace_s`` seconds have passed, until none is left. While any process of the
    job is still in the job's process group the whole group is signalled with ``killpg`` (a
    group id cannot be reused while its group has members, and the group catches workers started
    in the meantime); each process is also signalled by itself (psutil checks its start time).

    Returns the PIDs that were signalled.

    Raises:
        JobProcessError: processes of the job survive SIGKILL for 10 s (uninterruptible sleep).
    """
    pgid = job.get("pgid")
    t0 = time.monotonic()
    signalled: set[int] = set()
    while True:
        procs = job_processes(job)
        if not procs:
            return sorted(signalled)
        waited = time.monotonic() - t0
        if waited > grace_s + 10:
            raise JobProcessError(
                f"job {job['id']}: processes {[p.pid for p in procs]} survive "
                "SIGKILL; end them by hand"
            )
        sig = signal.SIGTERM if waited < grace_s else signal.SIGKILL
        if pgid and pgid != os.getpgrp() and any(_pgid(p) == pgid for p in procs):
            for s in (sig, signal.SIGCONT):
                try:
                    os.killpg(int(pgid), s)
                except OSError:
                    pass
        for p in procs:
            try:
                p.send_signal(sig)
                p.send_signal(signal.SIGCONT)
            except psutil.Error:
                pass
            signalled.add(p.pid)
        time.sleep(poll_s)


def _pgid(p: psutil.Process) -> int | None:
    try:
        return os.getpgid(p.pid)
    except OSError:
        return None
