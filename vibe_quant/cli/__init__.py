"""The ``vibe-quant`` command line.

Each module in this package that defines ``register(subparsers)`` adds its commands; the
handler it sets with ``set_defaults(func=...)`` returns the process exit code.

User errors never print a traceback: :func:`main` turns every exception that
:func:`vibe_quant.cli.common.user_error` recognises (missing data, unknown ids, unreadable
files, invalid input, a failed stage) into one ``error: …`` line on stderr — and, with
``--json``, one ``{"ok": false, "error": …}`` document on stdout — with a non-zero exit code.
Any other exception is an internal bug and keeps its traceback; ``VIBE_QUANT_DEBUG=1`` shows the
traceback of user errors too.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from vibe_quant import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vibe-quant",
        description="Research pipeline for crypto perpetual-futures strategies.",
    )
    parser.add_argument("--version", action="version", version=f"vibe-quant {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name == "common":
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        reg = getattr(mod, "register", None)
        if reg is not None:
            reg(sub)
    from vibe_quant.jobs.launch import add_background_flag

    add_background_flag(sub)  # --background on the long commands (vibe_quant.jobs)
    return parser


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
    if getattr(args, "background", False):  # run it as a detached job (vibe_quant.jobs)
        from vibe_quant.jobs.launch import background

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
