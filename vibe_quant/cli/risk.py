"""``vibe-quant risk preset {add,list,show}``: sizing and risk presets in the state DB.

    vibe-quant risk preset add NAME --file preset.yaml [--json]
    vibe-quant risk preset list [--json]
    vibe-quant risk preset show NAME [--version N] [--json]

File format and units: :mod:`vibe_quant.risk.presets` and ``SPEC.md §9``.
Exit codes: 0 ok, 1 not found, 2 invalid preset / unreadable file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vibe_quant.cli.common import add_common, data_dir, emit_json, eprint

MAX_FILE_BYTES = 1_000_000


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


def _store(args: argparse.Namespace):
    from vibe_quant.store.state import StateStore

    return StateStore.open(data_dir(args))


def _add(args: argparse.Namespace) -> int:
    from vibe_quant.risk.presets import PresetError, parse_preset
    from vibe_quant.store import events_sql

    path = Path(args.file)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise PresetError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        raw = path.read_bytes()
        preset = parse_preset(raw, name=args.name, file=str(path))
    except OSError as exc:
        eprint(f"error: cannot read {path}: {exc.strerror or exc}")
        return 2
    except PresetError as exc:
        eprint(f"error: invalid preset:\n{exc}")
        return 2
    with _store(args) as store:
        ver, created = events_sql.add_preset(store, preset.name, preset.body(),
                                             source=raw.decode("utf-8"))
    doc = {"name": preset.name, "version": ver, "created": created, **preset.body()}
    if args.json:
        emit_json(doc)
    else:
        what = "added" if created else "unchanged"
        eprint(f"preset {preset.name} v{ver} {what}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from vibe_quant.store import events_sql

    with _store(args) as store:
        rows = events_sql.list_presets(store)
    if args.json:
        emit_json({"presets": rows})
        return 0
    if not rows:
        eprint("no presets")
        return 0
    for r in rows:
        b = r["body"]
        sizing = (b.get("sizing") or {}).get("method", "-")
        breakers = ",".join(sorted((b.get("breakers") or {}).keys())) or "-"
        print(f"{r['name']:<24} v{r['version']:<3} sizing={sizing:<16} breakers={breakers}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from vibe_quant.store import events_sql

    with _store(args) as store:
        row = events_sql.get_preset(store, args.name, args.version)
    if row is None:
        eprint(f"error: no preset named {args.name!r}"
               + (f" with version {args.version}" if args.version else ""))
        return 1
    doc = {"name": row["name"], "version": row["version"], "created_at": row["created_at"],
           **json.loads(row["body"])}
    if args.json:
        emit_json(doc)
    else:
        print(json.dumps(doc, indent=2, sort_keys=True))
    return 0
