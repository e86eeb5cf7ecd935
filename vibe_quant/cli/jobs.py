"""``vibe-quant jobs list|show ID|logs ID [--follow]|cancel ID`` — background jobs.

``list`` and ``show`` first clean up stale jobs (:func:`vibe_quant.jobs.control.reap_stale`).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from vibe_quant.cli.common import CliError, add_common, data_dir, emit_json, eprint


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("jobs", help="background jobs: list, show, logs, cancel")
    jsub = p.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)

    def stale_opt(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--stale-after",
            type=float,
            default=None,
            metavar="S",
            help="heartbeat age (s) after which an active job is marked failed "
            "(default $VIBE_QUANT_JOB_STALE_S or 120)",
        )

    ls = jsub.add_parser("list", help="jobs, newest first (marks stale jobs failed)")
    ls.add_argument(
        "--state",
        action="append",
        default=None,
        choices=("pending", "running", "completed", "failed", "cancelled"),
        help="only jobs in this state (repeatable)",
    )
    ls.add_argument("--limit", type=int, default=50)
    stale_opt(ls)
    add_common(ls)
    ls.set_defaults(func=_list)

    sh = jsub.add_parser("show", help="one job (marks stale jobs failed)")
    sh.add_argument("job_id", type=int, metavar="ID")
    stale_opt(sh)
    add_common(sh)
    sh.set_defaults(func=_show)

    lg = jsub.add_parser("logs", help="print a job's log")
    lg.add_argument("job_id", type=int, metavar="ID")
    lg.add_argument(
        "--follow", "-f", action="store_true", help="keep printing new output until the job ends"
    )
    add_common(lg)
    lg.set_defaults(func=_logs)

    cn = jsub.add_parser("cancel", help="stop a job and its whole process group")
    cn.add_argument("job_id", type=int, metavar="ID")
    cn.add_argument(
        "--grace",
        type=float,
        default=None,
        metavar="S",
        help="seconds between SIGTERM and SIGKILL (default 5)",
    )
    add_common(cn)
    cn.set_defaults(func=_cancel)


def _store(args: argparse.Namespace):
    from vibe_quant.store.state import StateStore

    return StateStore.open(data_dir(args))


def _check_positive(flag: str, v: float | None) -> None:
    if v is not None and not v > 0:
        raise CliError(f"{flag} {v:g} must be a positive number of seconds", 2)


def _public(job: dict[str, Any]) -> dict[str, Any]:
    """The row without its token (the token only identifies the job's processes)."""
    return {k: v for k, v in job.items() if k != "token"}


def _progress(job: dict[str, Any]) -> str:
    if job["progress_total"] is None:
        return "-"
    d, t = job["progress_done"], job["progress_total"]
    pct = f" ({d / t:.0%})" if t else ""
    return f"{d:g}/{t:g} {job['progress_unit'] or ''}{pct}".strip()


def _age(job: dict[str, Any]) -> str:
    from vibe_quant.store.jobs_sql import parse_ts

    t = parse_ts(job["heartbeat_at"])
    if t is None or job["state"] not in ("pending", "running"):
        return "-"
    return f"{time.time() - t:.0f}s ago"


def _reap(store: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    from vibe_quant.jobs.control import reap_stale

    _check_positive("--stale-after", args.stale_after)
    reaped = reap_stale(store, stale_after_s=args.stale_after)
    for j in reaped:
        eprint(f"job {j['id']} marked failed: {j['error']}")
    return reaped


def _list(args: argparse.Namespace) -> int:
    from vibe_quant.store import jobs_sql

    with _store(args) as store:
        _reap(store, args)
        jobs = jobs_sql.list_jobs(store, states=tuple(args.state or ()) or None, limit=args.limit)
    if args.json:
        emit_json({"ok": True, "jobs": [_public(j) for j in jobs]})
        return 0
    if not jobs:
        eprint("no jobs (start one with `vibe-quant sweep … --background`)")
    for j in jobs:
        ref = " ".join(f"{k}={v}" for k, v in (j["result_ref"] or {}).items())
        print(
            f"{j['id']:>5}  {j['state']:<9}  {j['command']:<11}  {_progress(j):<22}  "
            f"heartbeat {_age(j):<8}  {j['created_at']}  {ref}".rstrip()
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    from vibe_quant.jobs.control import require_job

    with _store(args) as store:
        _reap(store, args)
        job = require_job(store, args.job_id)
    if args.json:
        emit_json({"ok": True, "job": _public(job)})
        return 0
    for k, v in _public(job).items():
        if k == "args":
            v = "vibe-quant " + " ".join(v)
        print(f"{k:<15} {'-' if v is None else v}")
    print(f"{'progress':<15} {_progress(job)}")
    return 0


def _logs(args: argparse.Namespace) -> int:
    from vibe_quant.jobs.control import require_job

    if args.follow and args.json:
        raise CliError(
            "--follow cannot be combined with --json (one JSON document); drop one of them", 2
        )
    with _store(args) as store:
        job = require_job(store, args.job_id)
        path = job["log_path"]
        try:
            f = open(path, "rb")
        except FileNotFoundError as e:
            raise CliError(f"job {args.job_id} has no log file at {path} (yet)") from e
        with f:
            if args.json:
                emit_json(
                    {
                        "ok": True,
                        "job_id": job["id"],
                        "state": job["state"],
                        "log": f.read().decode("utf-8", "replace"),
                    }
                )
                return 0
            out = sys.stdout.buffer
            while True:
                chunk = f.read()
                if chunk:
                    out.write(chunk)
                    out.flush()
                if not args.follow:
                    return 0
                if not chunk:
                    from vibe_quant.store import jobs_sql

                    state = jobs_sql.get_job(store, args.job_id)["state"]  # type: ignore[index]
                    if state not in jobs_sql.ACTIVE_STATES:
                        out.write(f.read())  # what was written before it ended
                        out.flush()
                        eprint(f"job {args.job_id} {state}")
                        return 0
                    time.sleep(0.5)


def _cancel(args: argparse.Namespace) -> int:
    from vibe_quant.jobs import CANCEL_GRACE_S
    from vibe_quant.jobs.control import cancel_job

    _check_positive("--grace", args.grace)
    with _store(args) as store:
        job = cancel_job(
            store, args.job_id, grace_s=CANCEL_GRACE_S if args.grace is None else args.grace
        )
    if args.json:
        emit_json({"ok": True, "job": _public(job)})
    else:
        eprint(f"job {job['id']} cancelled; ended processes {job['ended_pids'] or 'none'}")
    return 0
