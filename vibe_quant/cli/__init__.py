"""The ``vibe-quant`` command line.

Each module in this package that defines ``register(subparsers)`` adds its commands; the
handler it sets with ``set_defaults(func=...)`` returns the process exit code.

User errors never print a traceback: :func:`main` turns every exception that
:func:`vibe_quant.cli.common.user_error` recognises (missing data, unknown ids, unreadable
files, invalid input, a failed stage) into one ``error: …`` line on stderr — and, with
``--json``, one ``{"ok": false, "error": …}`` document on stdout — with a non-zero exit code.
Any other exception is an internal bug and keeps its traceback; ``VIBE_QUANT_DEBUG=1`` shows the
traceback of user errors too.

Commands reach the system only through :mod:`vibe_quant.services` (and :mod:`vibe_quant.core`):
each handler parses its arguments, calls one use case, prints the result (human text on
stderr/stdout, or one JSON document with ``--json``) and draws progress bars from the use
case's progress events (:func:`vibe_quant.cli.common.progress_bars`).

``--background`` on the long commands (:data:`vibe_quant.services.jobs.JOB_COMMANDS`) starts the
command as a detached job (:mod:`vibe_quant.services.jobs`); the job's process runs
``python -m vibe_quant <argv>`` again and :mod:`vibe_quant.cli.job_entry` runs it as that job.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from typing import Any

from vibe_quant import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vibe-quant",
        description="Research pipeline for crypto perpetual-futures strategies.",
    )
    parser.add_argument("--version", action="version", version=f"vibe-quant {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in ("common", "job_entry"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        reg = getattr(mod, "register", None)
        if reg is not None:
            reg(sub)
    add_background_flag(sub)  # --background on the long commands (vibe_quant.services.jobs)
    return parser


def add_background_flag(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``--background`` to the parser of every job command present (``data ingest``
    descends into ``data``)."""
    from vibe_quant.services.jobs import BACKGROUND_FLAG, JOB_COMMANDS

    for cmd in JOB_COMMANDS:
        parser: Any = sub
        for word in cmd.split():
            choices = getattr(parser, "choices", None)
            if choices is None:  # a parser: descend into its sub-commands
                choices = next(
                    (
                        a.choices
                        for a in parser._actions
                        if isinstance(a, argparse._SubParsersAction)
                    ),
                    {},
                )
            parser = choices.get(word)
            if parser is None:
                break
        if parser is not None:
            parser.add_argument(
                BACKGROUND_FLAG,
                action="store_true",
                help="run as a detached background job: print its id and return at once "
                "(see `vibe-quant jobs`)",
            )


def background(argv: list[str]):
    """The handler replacing a command given ``--background``: launch ``argv`` as a job, print
    its id on stdout (or one JSON document with ``--json``) and return 0."""

    def run(args: argparse.Namespace) -> int:
        from vibe_quant.cli.common import data_dir, emit_json, eprint
        from vibe_quant.services.jobs import launch

        job = launch(data_dir(args), argv)
        if getattr(args, "json", False):
            emit_json({"ok": True, "job_id": job.id, "command": job.command,
                       "state": job.state, "pid": job.pid, "log": job.log_path})
        else:
            print(job.id)
            eprint(f"job {job.id} started (pid {job.pid}): {job.command}; log {job.log_path}; "
                   f"follow with `vibe-quant jobs logs {job.id} --follow`")
        return 0

    return run


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["filter", "calibrate"]:  # `filter calibrate` → cli/calibrate.py
        argv = ["filter-calibrate", *argv[2:]]
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    if getattr(args, "background", False):  # run it as a detached job
        func = background(argv)
    from vibe_quant.cli.common import DEBUG_ENV, emit_json, user_error

    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        mapped = user_error(e)
        if mapped is None or os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            raise
        message, code = mapped
        print(f"error: {message}", file=sys.stderr)
        if getattr(args, "json", False):
            emit_json({"ok": False, "error": message})
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
