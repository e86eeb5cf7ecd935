"""The ``vibe-quant`` command line.

Each module in this package that defines ``register(subparsers)`` adds its commands; the
handler it sets with ``set_defaults(func=...)`` returns the process exit code.
"""

from __future__ import annotations

import argparse
import importlib
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
