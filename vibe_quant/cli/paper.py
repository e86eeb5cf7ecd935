"""``vibe-quant paper …``: paper trading on Binance USDⓈ-M testnet or the local exchange
(SPEC.md §17).

    vibe-quant paper start STRATEGY.yaml --symbol BTCUSDT [--param k=v …] [--leverage N]
        [--balance USDT] [--from-validation RUN_ID] [--exchange testnet|URL] [--json]
    vibe-quant paper list | status ID | logs ID | stop ID [--flatten] | kill ID | resume ID

API keys: ``VIBE_QUANT_BINANCE_API_KEY`` / ``VIBE_QUANT_BINANCE_API_SECRET`` or ``--key-file``
(mode 0600). They are never stored, logged or printed.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from vibe_quant.cli.common import CliError, add_common, data_dir, emit_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("paper", help="paper trading: start, list, status, logs, stop, kill, resume")
    ps = p.add_subparsers(dest="paper_command", metavar="SUBCOMMAND", required=True)
    s = ps.add_parser("start", help="start a supervised paper run; prints its id")
    s.add_argument("strategy", nargs="?", help="strategy YAML (omit with --from-validation)")
    s.add_argument("--symbol", default=None, help="e.g. BTCUSDT")
    s.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="sweep-key value, repeatable (e.g. --param ema_fast.period=5)",
    )
    s.add_argument(
        "--leverage",
        type=float,
        default=None,
        help="venue leverage (default the strategy's sizing.leverage)",
    )
    s.add_argument(
        "--balance",
        type=float,
        default=None,
        help="USDT allotted to the run: the circuit breakers' starting equity "
        "(default the venue wallet balance at start)",
    )
    s.add_argument(
        "--from-validation",
        type=int,
        default=None,
        metavar="RUN_ID",
        help="take strategy, params and symbol from a stored validation run",
    )
    s.add_argument(
        "--exchange",
        default="testnet",
        help="'testnet' (Binance USDⓈ-M testnet, default) or the REST base URL of a "
        "Binance-compatible venue, e.g. `vibe-quant exchange serve`'s",
    )
    s.add_argument("--ws-url", default=None, help="WebSocket base URL (default URL/ws)")
    s.add_argument(
        "--key-file",
        default=None,
        help="file with the API key and secret (mode 0600); default the env vars",
    )
    s.add_argument("--risk-preset", default=None, help="stored risk preset (breakers + sizing)")
    add_common(s)
    s.set_defaults(func=_start)
    for name, fn, hlp in (
        ("status", _status, "position, orders, balance, heartbeat, breakers"),
        ("logs", _logs, "the run's process log (or --events)"),
        ("stop", _stop, "graceful stop (nothing flattened unless --flatten)"),
        ("kill", _kill, "kill switch: cancel every order, flatten, halt"),
        ("resume", _resume, "restart a stopped / killed / failed run"),
    ):
        c = ps.add_parser(name, help=hlp)
        c.add_argument("run_id", type=int, metavar="ID")
        if name == "logs":
            c.add_argument("--tail", type=int, default=100)
            c.add_argument("--events", action="store_true", help="the structured event log")
        if name == "stop":
            c.add_argument(
                "--flatten",
                action="store_true",
                help="also cancel orders and close the position at market",
            )
        add_common(c)
        c.set_defaults(func=fn)
    lp = ps.add_parser("list", help="every paper run")
    add_common(lp)
    lp.set_defaults(func=_list)


def _start(args: argparse.Namespace) -> int:
    from vibe_quant.services import paper

    if not args.strategy and args.from_validation is None:
        raise CliError("paper start needs STRATEGY.yaml or --from-validation RUN_ID", 2)
    try:
        params = paper.parse_params(args.param)
    except paper.PaperError as e:
        raise CliError(str(e), 2) from None
    row = paper.start(
        data_dir(args),
        args.strategy,
        args.symbol,
        params=params,
        leverage=args.leverage,
        balance=args.balance,
        exchange=args.exchange,
        ws_url=args.ws_url,
        key_file=args.key_file,
        validation_run=args.from_validation,
        risk_preset=args.risk_preset,
    )
    if args.json:
        emit_json({"ok": True, "id": row["id"], "run": row})
    else:
        print(
            f"paper run {row['id']} started: {row['strategy_name']} on {row['symbol']} "
            f"{row['interval']} at {row['exchange']} (supervisor pid {row['supervisor_pid']})"
        )
        print(f"  vibe-quant paper status {row['id']}   ·   vibe-quant paper kill {row['id']}")
    return 0


def _ts(ns) -> str | None:
    if not ns:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _list(args: argparse.Namespace) -> int:
    from vibe_quant.services import paper

    rows = paper.runs(data_dir(args))
    if args.json:
        emit_json({"ok": True, "runs": rows})
        return 0
    if not rows:
        print("no paper run yet: vibe-quant paper start STRATEGY.yaml --symbol BTCUSDT")
    for r in rows:
        print(
            f"{r['id']:>4}  {r['status']:<9} {r['strategy_name']} {r['symbol']} "
            f"{r['interval']}  pos {r['position'] or 0:g}  balance {r['balance'] or 0:.2f}  "
            f"last bar {_ts(r['last_bar_ns']) or '—'}  restarts {r['restarts']}"
        )
    return 0


def _status(args: argparse.Namespace) -> int:
    from vibe_quant.services import paper

    s = paper.status(data_dir(args), args.run_id)
    if args.json:
        emit_json({"ok": True, **s})
        return 0
    print(
        f"paper run {s['id']}: {s['status']} ({s['child_state'] or '—'}) "
        f"{s['strategy_name']} {s['symbol']} {s['interval']} at {s['exchange']}"
    )
    print(
        f"  position {s['position'] or 0:g} @ {s['avg_entry'] or 0:g}  balance "
        f"{s['balance'] or 0:.2f} USDT  unrealised {s['upnl'] or 0:.2f} USDT"
    )
    print(
        f"  open orders: {len(s['open_orders'] or [])}"
        + "".join(
            f"\n    {o['type']} {o['side']} {o['qty']:g} ({o.get('tag')})"
            for o in s["open_orders"] or []
        )
    )
    print(
        f"  last bar {_ts(s['last_bar_ns']) or '—'}  heartbeat {s['heartbeat_at'] or '—'} "
        f"({s['heartbeat_age_s']} s ago)  restarts {s['restarts']}"
    )
    print(f"  breakers: {s['breaker'] or 'off'}")
    print(
        f"  supervisor {'alive' if s['supervisor_alive'] else 'not running'}, child "
        f"{'alive' if s['child_alive'] else 'not running'}; {s['fills']} fills, "
        f"{s['funding_payments']} funding payments journalled"
    )
    if s.get("error"):
        print(f"  error: {s['error']}")
    return 0


def _logs(args: argparse.Namespace) -> int:
    from vibe_quant.services import paper

    lines = paper.logs(data_dir(args), args.run_id, args.tail, args.events)
    if args.json:
        emit_json({"ok": True, "lines": lines})
    else:
        print("\n".join(lines))
    return 0


def _stop(args: argparse.Namespace) -> int:
    from vibe_quant.services import paper

    r = paper.stop(data_dir(args), args.run_id, flatten=args.flatten)
    ok = r["status"] == "stopped"
    if args.json:
        emit_json({"ok": ok, "id": r["id"], "status": r["status"]})
    else:
        print(f"paper run {r['id']}: {r['status']}")
    return 0 if ok else 1


def _kill(args: argparse.Namespace) -> int:
    from vibe_quant.services import paper

    r = paper.kill(data_dir(args), args.run_id)
    if args.json:
        emit_json({"ok": r["flat"], **r})
    else:
        print(
            f"paper run {r['id']}: kill switch — {r['orders_cancelled']} orders cancelled, "
            f"{r['closed_qty']:g} closed{' at ' + format(r['price'], 'g') if r['price'] else ''}"
            f", child {r['child']}, venue {'flat' if r['flat'] else 'NOT FLAT'} "
            f"({r['seconds']} s)"
        )
    return 0 if r["flat"] else 1


def _resume(args: argparse.Namespace) -> int:
    from vibe_quant.services import paper

    r = paper.resume(data_dir(args), args.run_id)
    if args.json:
        emit_json({"ok": True, "id": r["id"], "status": r["status"]})
    else:
        print(f"paper run {r['id']} resumed (supervisor pid {r['supervisor_pid']})")
    return 0
