"""``vibe-quant strategy validate FILE [--json]`` and ``vibe-quant strategy schema``."""

from __future__ import annotations

import argparse
import json
import sys

from vibe_quant.cli.common import emit_json, eprint


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``strategy`` command group."""
    p = subparsers.add_parser("strategy", help="validate strategy YAML files, export the schema")
    sub = p.add_subparsers(dest="strategy_command", metavar="SUBCOMMAND")

    v = sub.add_parser("validate", help="report every error in a strategy file (exit 1 if any)")
    v.add_argument("file", help="strategy YAML file")
    v.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    v.set_defaults(func=_validate)

    s = sub.add_parser("schema", help="print the JSON Schema of strategy files")
    s.set_defaults(func=_schema)

    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])


def _validate(args: argparse.Namespace) -> int:
    from vibe_quant.services.strategies import check_strategy_file

    res = check_strategy_file(args.file)
    if args.json:
        emit_json(res.to_dict())
    else:
        for d in res.diagnostics:
            eprint(str(d))
        if res.errors:
            eprint(f"{args.file}: {res.errors} error(s), {res.warnings} warning(s)")
        else:
            print(f"{args.file}: ok ({res.warnings} warning(s))")
    return 0 if res.ok else 1


def _schema(args: argparse.Namespace) -> int:
    from vibe_quant.services.strategies import strategy_schema

    sys.stdout.write(json.dumps(strategy_schema(), indent=2) + "\n")
    return 0
