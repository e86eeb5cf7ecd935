"""The process of a background job: ``python -m vibe_quant <argv>`` started by the jobs
launcher with ``VIBE_QUANT_JOB_ID``/``VIBE_QUANT_JOB_TOKEN`` in its environment.

:func:`main` runs ``vibe_quant.cli.main(argv)`` — the same code path as the terminal — as that
job (:func:`vibe_quant.services.jobs.run_as_job`: state, heartbeat, outcome); a ``sweep`` job's
heartbeat also reads its progress and sweep id from the stored results.
"""

from __future__ import annotations

import contextlib
import io
import sys


def _sweep_probe(argv: list[str]):
    """The heartbeat probe of a ``sweep`` command line; None for other commands or arguments
    the command itself will refuse."""
    from vibe_quant.cli import build_parser
    from vibe_quant.cli.common import parse_window
    from vibe_quant.services.jobs import sweep_probe

    try:
        with contextlib.redirect_stderr(io.StringIO()):  # the command reports bad arguments
            args = build_parser().parse_args(argv)
        if getattr(args, "command", None) != "sweep":
            return None
        start_ns, end_ns = parse_window(args.start, args.end)
    except (SystemExit, Exception):
        return None
    return sweep_probe(args.strategy, args.symbol, start_ns, end_ns, args.interval, args.resume)


def is_job_process() -> bool:
    """True when this process was started as a background job."""
    from vibe_quant.services.jobs import is_job_process as in_job

    return in_job()


def main(argv: list[str] | None = None) -> int:
    """Run ``vibe-quant <argv>`` as this process's background job; returns its exit code (2
    when the environment names no job of the data dir)."""
    from vibe_quant.cli import main as cli_main
    from vibe_quant.services.jobs import run_as_job

    argv = list(sys.argv[1:] if argv is None else argv)
    return run_as_job(lambda: cli_main(argv), probe=lambda: _sweep_probe(argv))
