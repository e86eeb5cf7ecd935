"""``vibe-quant jobs list|show ID|logs ID [--follow]|cancel ID`` — background jobs.

``list`` and ``show`` first clean up stale jobs (marked failed with the reason; see
:func:`vibe_quant.services.jobs.list_jobs`).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from vibe_quant.cli.common import CliError, add_common, data_dir, emit_json, eprint

if TYPE_CHECKING:
    from vibe_quant.services.jobs import Job, JobListing


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


def _progress(job: Job) -> str:
    if job.progress_total is None:
        return "-"
    d, t = job.progress_done, job.progress_total
    pct = f" ({d / t:.0%})" if t else ""
    return f"{d:g}/{t:g} {job.progress_unit or ''}{pct}".strip()


def _age(job: Job) -> str:
    from datetime import datetime

    from vibe_quant.services.jobs import is_active

    if not job.heartbeat_at or not is_active(job):
        return "-"
    t = datetime.fromisoformat(job.heartbeat_at.replace("Z", "+00:00")).timestamp()
    return f"{time.time() - t:.0f}s ago"


def _said_reaped(listing: JobListing) -> None:
    for j in listing.reaped:
        eprint(f"job {j.id} marked failed: {j.error}")


def _list(args: argparse.Namespace) -> int:
    from vibe_quant.services.jobs import list_jobs, public

    listing = list_jobs(data_dir(args), states=tuple(args.state or ()) or None,
                        limit=args.limit, stale_after_s=args.stale_after)
    _said_reaped(listing)
    if args.json:
        emit_json({"ok": True, "jobs": [public(j) for j in listing.jobs]})
        return 0
    if not listing.jobs:
        eprint("no jobs (start one with `vibe-quant sweep … --background`)")
    for j in listing.jobs:
        ref = " ".join(f"{k}={v}" for k, v in (j.result_ref or {}).items())
        print(
            f"{j.id:>5}  {j.state:<9}  {j.command:<11}  {_progress(j):<22}  "
            f"heartbeat {_age(j):<8}  {j.created_at}  {ref}".rstrip()
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    from vibe_quant.services.jobs import public, show

    listing = show(data_dir(args), args.job_id, stale_after_s=args.stale_after)
    _said_reaped(listing)
    job = listing.jobs[0]
    if args.json:
        emit_json({"ok": True, "job": public(job)})
        return 0
    for k, v in public(job).items():
        if k == "args":
            v = "vibe-quant " + " ".join(v)
        print(f"{k:<15} {'-' if v is None else v}")
    print(f"{'progress':<15} {_progress(job)}")
    return 0


def _logs(args: argparse.Namespace) -> int:
    from vibe_quant.services.jobs import get, log_chunks

    if args.follow and args.json:
        raise CliError(
            "--follow cannot be combined with --json (one JSON document); drop one of them", 2
        )
    dd = data_dir(args)
    chunks = log_chunks(dd, args.job_id, follow=args.follow)
    if args.json:
        text = b"".join(chunks).decode("utf-8", "replace")
        job = get(dd, args.job_id)
        emit_json({"ok": True, "job_id": job.id, "state": job.state, "log": text})
        return 0
    out = sys.stdout.buffer
    for chunk in chunks:
        out.write(chunk)
        out.flush()
    if args.follow:
        eprint(f"job {args.job_id} {get(dd, args.job_id).state}")
    return 0


def _cancel(args: argparse.Namespace) -> int:
    from vibe_quant.services.jobs import cancel

    out = cancel(data_dir(args), args.job_id, grace_s=args.grace)
    ended = list(out.ended_pids)
    if args.json:
        emit_json({"ok": True, "job": out.to_dict()})
    else:
        eprint(f"job {out.job.id} cancelled; ended processes {ended or 'none'}")
    return 0
