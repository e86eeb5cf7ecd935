"""``vibe-quant data {ingest,rebuild,verify,status,query}``."""

from __future__ import annotations

import argparse

from vibe_quant.cli.common import add_common, data_dir, emit_json, eprint, progress_bars


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="market data: ingest, catalog, verify, query")
    dsub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    ing = dsub.add_parser("ingest", help="download klines + funding into the archive and catalog")
    ing.add_argument("--symbols", default="BTCUSDT", help="comma-separated (default BTCUSDT)")
    ing.add_argument(
        "--interval", default="5m", help="kline interval(s), comma-separated (default 5m)"
    )
    ing.add_argument("--start", help="first month YYYY-MM (default: 24 full months back)")
    ing.add_argument("--end", help="last month YYYY-MM (default: last full month)")
    ing.add_argument("--no-funding", action="store_true", help="skip funding rates")
    ing.add_argument("--base-url", help="bulk site (env VIBE_QUANT_BINANCE_VISION_URL)")
    ing.add_argument("--rest-url", help="futures REST API (env VIBE_QUANT_BINANCE_REST_URL)")
    ing.add_argument(
        "--no-rest",
        action="store_true",
        help="never call the REST API (offline mirror): unpublished months are reported as missing",
    )
    ing.add_argument(
        "--brackets",
        metavar="FILE",
        help="leverage brackets JSON (Binance GET /fapi/v1/leverageBracket response, or the "
        "ccxt/freqtrade leverage-tiers shape); used when no signed fetch has the symbol "
        "(env VIBE_QUANT_BINANCE_API_KEY/_SECRET enable the signed fetch)",
    )
    ing.add_argument("--workers", type=int, default=4, help="parallel downloads (default 4)")
    ing.add_argument("--no-catalog", action="store_true", help="archive only")
    ing.add_argument("--now", help=argparse.SUPPRESS)  # pin "now" (ISO UTC) for tests
    add_common(ing)
    ing.set_defaults(func=_ingest)

    rb = dsub.add_parser("rebuild", help="recreate the catalog from the archive")
    rb.add_argument(
        "--brackets", metavar="FILE", help="archive this leverage brackets JSON first (as ingest)"
    )
    add_common(rb)
    rb.set_defaults(func=_rebuild)

    v = dsub.add_parser("verify", help="gaps, duplicates, OHLC violations, funding gaps")
    v.add_argument("--symbols", help="comma-separated (default: all archived)")
    add_common(v)
    v.set_defaults(func=_verify)

    st = dsub.add_parser("status", help="what is archived and catalogued")
    add_common(st)
    st.set_defaults(func=_status)

    q = dsub.add_parser("query", help="DuckDB SQL over views bars, funding, raw_klines")
    q.add_argument("sql")
    add_common(q)
    q.set_defaults(func=_query)


def _syms(text: str | None) -> list[str] | None:
    return [s.strip().upper() for s in text.split(",") if s.strip()] if text else None


def _ingest(args: argparse.Namespace) -> int:
    from vibe_quant.services.data import ingest

    with progress_bars(args) as progress:
        out = ingest(
            data_dir(args),
            symbols=_syms(args.symbols) or ["BTCUSDT"],
            intervals=[i.strip() for i in args.interval.split(",") if i.strip()],
            start=args.start,
            end=args.end,
            now=args.now,
            funding=not args.no_funding,
            base_url=args.base_url,
            rest_url=args.rest_url,
            use_rest=not args.no_rest,
            workers=args.workers,
            build_catalog=not args.no_catalog,
            brackets_file=args.brackets,
            progress=progress,
        )
    report = out.report
    for reason in report.not_catalogued.values():
        eprint(f"error: {reason}")
    if args.json:
        emit_json(report.to_dict())
    else:
        eprint(
            f"ingest {','.join(report.symbols)} {','.join(report.intervals)} "
            f"{out.start}..{out.end}: {report.files_archived} files archived, "
            f"{report.files_skipped} already archived, {report.kline_rows_new} new bars, "
            f"{report.funding_rows_new} new funding records ({report.seconds:.1f}s)"
        )
        for m in report.missing:
            eprint(f"  missing on the bulk site (404): {m}")
        for r in report.rest_filled:
            eprint(
                f"  filled from REST: {r['kind']} {r['symbol']} {r['period']}: "
                f"{r['rows_new']} new rows"
            )
        for sym, t in report.contract_terms.items():
            eprint(
                f"  {sym}: specs from {t['spec_source']}, leverage brackets from "
                f"{t['brackets_source']}"
            )
        for w in report.warnings:
            eprint(f"  warning: {w}")
        for f in report.failed:
            eprint(f"  FAILED: {f['error']}")
    return 0 if report.ok else 1


def _rebuild(args: argparse.Namespace) -> int:
    from vibe_quant.services.data import rebuild

    with progress_bars(args) as progress:
        summary = rebuild(data_dir(args), brackets_file=args.brackets, progress=progress).summary
    for reason in summary["not_catalogued"].values():
        eprint(f"error: {reason}")
    if args.json:
        emit_json(summary)
    else:
        for sym, info in summary["symbols"].items():
            bars = ", ".join(f"{k} {v['rows']}" for k, v in info["bars"].items())
            eprint(f"{sym}: bars {bars}; funding {info['funding']}")
        for w in summary["warnings"]:
            eprint(f"warning: {w}")
    return 0 if summary["ok"] else 1


def _verify(args: argparse.Namespace) -> int:
    from vibe_quant.services.data import verify

    rep = verify(data_dir(args), _syms(args.symbols))
    if args.json:
        emit_json(rep)
    else:
        for s in rep["series"]:
            flag = "OK" if not (s["duplicates"] or s["ohlc_violations"]) else "VIOLATIONS"
            print(
                f"{s['symbol']} {s['interval']}: {s['bars']} bars {s['first']} → {s['last']}, "
                f"{len(s['gaps'])} gaps, {s['duplicates']} duplicates, "
                f"{s['ohlc_violations']} OHLC violations [{flag}]"
            )
            for g in s["gaps"]:
                print(f"    gap {g['start']} → {g['end']} ({g['missing_bars']} bars missing)")
        for f in rep["funding"]:
            print(
                f"{f['symbol']} funding: {f['records']} records {f['first']} → {f['last']}, "
                f"{len(f['gaps'])} gaps"
            )
            for g in f["gaps"]:
                print(f"    gap {g['start']} → {g['end']} ({g['missing']} missing)")
        print("usable" if rep["ok"] else "NOT usable: duplicates or OHLC violations")
    return 0 if rep["ok"] else 1


def _status(args: argparse.Namespace) -> int:
    from vibe_quant.services.data import status

    st = status(data_dir(args))
    if args.json:
        emit_json(st)
    else:
        print(f"data dir: {st['data_dir']}")
        if not st["series"]:
            print("nothing archived yet: run `vibe-quant data ingest`")
        for s in st["series"]:
            span = f" {s['first']} → {s['last']}" if "first" in s else " (aggregated)"
            print(
                f"{s['symbol']:>10} {s['interval']:>4}: archived {s['archived_bars']:>8}, "
                f"catalog {s['catalog_bars']:>8}{span}"
            )
        for f in st["funding"]:
            print(
                f"{f['symbol']:>10} funding: archived {f['archived_records']}, catalog "
                f"{f['catalog_records']} {f['first']} → {f['last']}"
            )
    return 0


def _query(args: argparse.Namespace) -> int:
    from vibe_quant.services.data import query

    res = query(data_dir(args), args.sql)
    if args.json:
        emit_json({"columns": list(res.columns), "rows": [list(r) for r in res.rows]})
    else:
        print("\t".join(res.columns))
        for r in res.rows:
            print("\t".join("" if v is None else str(v) for v in r))
    return 0
