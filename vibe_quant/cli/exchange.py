"""``vibe-quant exchange serve``: the local Binance USDⓈ-M exchange (SPEC.md section 13).

Example::

    export VIBE_QUANT_EXCHANGE_API_KEY=k VIBE_QUANT_EXCHANGE_API_SECRET=s
    vibe-quant exchange serve --symbols BTCUSDT --interval 1m --replay-from 2025-01-27 --speed 600

Prints one JSON line (``rest``/``ws`` URLs, state database, replay cursor) when it listens and
runs until Ctrl-C / SIGTERM. The API key and secret come from the environment (or
``--api-key``/``--api-secret``, visible to other local users in the process list) and are never
logged or stored.
"""

from __future__ import annotations

import argparse
import logging

from vibe_quant.cli.common import CliError, add_common, data_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("exchange", help="local Binance USDⓈ-M exchange replaying archived bars")
    esub = p.add_subparsers(dest="exchange_command", metavar="SUBCOMMAND", required=True)
    s = esub.add_parser(
        "serve",
        help="serve the Binance USDⓈ-M REST + WebSocket API, replaying archived bars",
        description="A local Binance USDⓈ-M futures exchange for tests and offline paper "
        "trading: replays archived bars of --symbols (ingested with `vibe-quant data ingest`) "
        "as closed klines, mark price and funding, matches orders, keeps its state in SQLite.",
    )
    s.add_argument("--symbols", required=True, help="comma-separated, e.g. BTCUSDT,ETHUSDT")
    s.add_argument("--interval", default="1m", help="bar interval to replay (default 1m)")
    s.add_argument(
        "--replay-from",
        required=True,
        help="UTC date/datetime of the first bar to replay (a new state only; an "
        "existing state database resumes at its cursor)",
    )
    s.add_argument(
        "--speed",
        type=float,
        default=600.0,
        help="market seconds per wall second (600 = 10 minutes per second)",
    )
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=0, help="TCP port (default 0 = a free one)")
    s.add_argument(
        "--balance",
        dest="starting_balance",
        type=float,
        default=10_000.0,
        help="USDT wallet balance of a new account (default 10000)",
    )
    s.add_argument(
        "--leverage",
        type=int,
        default=20,
        help="initial leverage of each symbol of a new account (default 20)",
    )
    s.add_argument(
        "--start",
        choices=["subscribe", "paused", "now"],
        default="subscribe",
        help="when the replay starts: at the first kline subscription (default), "
        "paused until POST /admin/resume, or now",
    )
    s.add_argument(
        "--exchange-info",
        dest="exchange_info_file",
        default=None,
        help="exchangeInfo JSON file to serve when none is archived (default the "
        "shared real payload)",
    )
    s.add_argument(
        "--state-db", default=None, help="state database (default DATA_DIR/exchange/exchange.db)"
    )
    s.add_argument("--api-key", default=None, help="API key (default $VIBE_QUANT_EXCHANGE_API_KEY)")
    s.add_argument(
        "--api-secret", default=None, help="API secret (default $VIBE_QUANT_EXCHANGE_API_SECRET)"
    )
    add_common(s, json_flag=False)
    s.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from vibe_quant.services.exchange import (
        EXCHANGE_SETTINGS,
        ExchangeConfigError,
        exchange_config,
        serve_exchange,
    )

    settings = {k: v for k, v in vars(args).items() if k in EXCHANGE_SETTINGS}
    try:
        cfg = exchange_config(
            data_dir(args),
            args.symbols,
            args.interval,
            args.replay_from,
            api_key=args.api_key,
            api_secret=args.api_secret,
            **settings,
        )
    except ExchangeConfigError as e:
        raise CliError(str(e), 2) from None
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    return serve_exchange(cfg)
