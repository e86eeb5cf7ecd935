"""``vibe-quant risk preset {add,list,show}``: sizing and risk presets in the state DB.

    vibe-quant risk preset add NAME --file preset.yaml [--json]
    vibe-quant risk preset list [--json]
    vibe-quant risk preset show NAME [--version N] [--json]

File format and units: :mod:`vibe_quant.services.risk` and ``SPEC.md §9``.
Exit codes: 0 ok, 1 not found, 2 invalid preset / unreadable file.
"""

from __future__ import annotations

import argparse
import json

from vibe_quant.cli.common import add_common, data_dir, emit_json, eprint


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("risk", help="sizing and risk presets")
    rsub = p.add_subparsers(dest="risk_command", metavar="SUBCOMMAND", required=True)
    pre = rsub.add_parser("preset", help="named sizing / circuit-breaker presets")
    psub = pre.add_subparsers(dest="preset_command", metavar="ACTION", required=True)

    a = psub.add_parser("add", help="store a preset from a YAML file (new version if changed)")
    a.add_argument("name")
    a.add_argument("--file", required=True, help="preset YAML (sizing and/or breakers)")
    add_common(a)
    a.set_defaults(func=_add)

    ls = psub.add_parser("list", help="list presets (latest versions)")
    add_common(ls)
    ls.set_defaults(func=_list)

    sh = psub.add_parser("show", help="show one preset")
    sh.add_argument("name")
    sh.add_argument("--version", type=int, default=None)
    add_common(sh)
    sh.set_defaults(func=_show)


def _add(args: argparse.Namespace) -> int:
    from vibe_quant.services.risk import add_preset

    p = add_preset(data_dir(args), args.name, args.file)
    doc = {"name": p.name, "version": p.version, "created": p.created, **p.body}
    if args.json:
        emit_json(doc)
    else:
        what = "added" if p.created else "unchanged"
        eprint(f"preset {p.name} v{p.version} {what}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from vibe_quant.services.risk import list_presets

    rows = list_presets(data_dir(args))
    if args.json:
        emit_json({"presets": [{"name": r.name, "version": r.version, "body": r.body,
                                "created_at": r.created_at} for r in rows]})
        return 0
    if not rows:
        eprint("no presets")
        return 0
    for r in rows:
        sizing = (r.body.get("sizing") or {}).get("method", "-")
        breakers = ",".join(sorted((r.body.get("breakers") or {}).keys())) or "-"
        print(f"{r.name:<24} v{r.version:<3} sizing={sizing:<16} breakers={breakers}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from vibe_quant.services.risk import show_preset

    p = show_preset(data_dir(args), args.name, args.version)
    doc = {"name": p.name, "version": p.version, "created_at": p.created_at, **p.body}
    if args.json:
        emit_json(doc)
    else:
        print(json.dumps(doc, indent=2, sort_keys=True))
    return 0
