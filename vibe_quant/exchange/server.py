"""Assemble and run the local exchange: state, market data, engine, replay clock, HTTP + WS.

The application is Starlette on uvicorn (one process, one asyncio event loop, so the engine
needs no locks). :func:`serve` binds the socket itself (``port=0`` picks a free port) and prints
one JSON line ``{"ok": true, "rest": URL, "ws": URL, ...}`` on stdout when it accepts
connections; SIGINT/SIGTERM stop it gracefully (the state is already on disk after every
request and every bar).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pydantic import Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route, WebSocketRoute

from vibe_quant.core.config import FrozenConfig
from vibe_quant.core.errors import StoreError
from vibe_quant.core.intervals import iso_utc
from vibe_quant.core.paths import DataDir
from vibe_quant.exchange import admin, rest
from vibe_quant.exchange.clock import START_ON_SUBSCRIBE, Clock, Replay
from vibe_quant.exchange.engine import Engine
from vibe_quant.exchange.market import KlineIntervalError, MarketData
from vibe_quant.exchange.store import ExchangeStore
from vibe_quant.exchange.ws import Hub

log = logging.getLogger("vibe_quant.exchange")

API_KEY_ENV = "VIBE_QUANT_EXCHANGE_API_KEY"
API_SECRET_ENV = "VIBE_QUANT_EXCHANGE_API_SECRET"


def state_db_path(data_dir: DataDir) -> Path:
    """Default state database: ``<data-dir>/exchange/exchange.db``."""
    return data_dir.root / "exchange" / "exchange.db"


class ExchangeConfig(FrozenConfig):
    """Settings of one exchange process (the API key and secret are kept out of ``repr`` and
    of :attr:`identity`).

    Attributes:
        data_dir: data directory whose archive is replayed.
        symbols: symbols to serve, e.g. ``["BTCUSDT"]``.
        interval: bar interval replayed (``"1m"``).
        replay_from_ms: UTC epoch ms of the first bar of a new state.
        speed: market seconds per wall second.
        host, port: address to bind (``port=0`` picks a free one).
        starting_balance: USDT wallet balance of a new account.
        leverage: initial leverage of each symbol of a new account.
        start: ``"subscribe"``, ``"paused"`` or ``"now"`` (when the replay starts).
        exchange_info_file: exchangeInfo JSON served when none is archived.
        state_db: state database (default ``<data-dir>/exchange/exchange.db``).
    """

    identity_exclude = frozenset({"api_key", "api_secret", "host", "port"})

    data_dir: DataDir
    symbols: list[str]
    interval: str
    replay_from_ms: int
    api_key: str = Field(repr=False)
    api_secret: str = Field(repr=False)
    speed: float = 600.0
    host: str = "127.0.0.1"
    port: int = 0
    starting_balance: float = 10_000.0
    leverage: int = 20
    start: str = START_ON_SUBSCRIBE
    exchange_info_file: str | None = None
    state_db: Path | None = None


class ExchangeStateError(StoreError, ValueError):
    """The exchange state database was created for other symbols or another interval."""


class Exchange:
    """One running exchange: store, market, engine, replay, hub, clock and the ASGI app.

    Raises:
        ExchangeStateError: (a ``ValueError``) the state database was created for other
            symbols or another interval.
        MarketDataError: the archive lacks the bars or the exchangeInfo (one-line message).
    """

    def __init__(self, cfg: ExchangeConfig):
        self.cfg = cfg
        self.api_key, self.api_secret = cfg.api_key, cfg.api_secret
        self.market = MarketData(cfg.data_dir, cfg.symbols, cfg.interval, cfg.exchange_info_file)
        path = cfg.state_db or state_db_path(cfg.data_dir)
        self.store = ExchangeStore(path)
        ident = {"symbols": self.market.symbols, "interval": cfg.interval}
        with self.store.transaction():
            have = self.store.get_meta("identity")
            if have is None:
                self.store.set_meta("identity", ident)
        if have is not None and have != ident:
            self.store.close()
            raise ExchangeStateError(
                f"exchange state {path} was created for {have['symbols']} {have['interval']}, "
                f"not {ident['symbols']} {ident['interval']}: pass --state-db NEW_FILE or "
                "delete that file to start over"
            )
        self.engine = Engine(
            self.store,
            self.market,
            starting_balance=cfg.starting_balance,
            default_leverage=cfg.leverage,
        )
        self.replay = Replay(self.market, self.store, self.engine, cfg.replay_from_ms)
        self.hub = Hub(lambda k: k in self.store.listen_keys(), self._on_kline_subscribed)
        self.clock = Clock(self.replay, cfg.speed, self.publish, cfg.start)
        self.routes = rest.routes(self)

        async def fapi(request: Request):
            return await rest.dispatch(self, request)

        async def adm(request: Request):
            return await admin.dispatch(self, request)

        methods = ["GET", "POST", "PUT", "DELETE"]
        self.app = Starlette(
            routes=[
                Route("/fapi/{rest:path}", fapi, methods=methods),
                Route("/admin/{rest:path}", adm, methods=methods),
                WebSocketRoute("/ws", self.hub.endpoint),
                WebSocketRoute("/ws/{key}", self.hub.endpoint),
                WebSocketRoute("/stream", self.hub.endpoint),
            ],
            lifespan=self._lifespan,
        )

    def _on_kline_subscribed(self, stream: str) -> None:
        """``<symbol>@kline_<interval>``: aggregate that interval from now on (an interval the
        replay cannot serve stays silent, like any unknown stream) and start a replay that
        waits for the first subscription."""
        interval = stream.split("@kline_", 1)[1]
        symbol = stream.split("@", 1)[0].upper()
        if interval != self.market.interval and symbol in self.market.series:
            try:
                self.market.kline_series(symbol, interval)
            except KlineIntervalError:
                return
            self.replay.kline_intervals.add(interval)
        self.clock.on_kline_subscribed()

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Any) -> AsyncIterator[None]:
        self.clock.start()
        try:
            yield
        finally:
            self.hub.close_all()
            await self.clock.stop()

    def publish(self, user: list[dict], market: list[tuple[str, dict]]) -> None:
        if user:
            self.hub.publish_user(user)
        for stream, ev in market:
            self.hub.publish_market(stream, ev)

    def state(self) -> dict[str, Any]:
        e = self.engine
        return {
            "replay": {
                **self.replay.state(),
                "paused": self.clock.paused,
                "speed": self.clock.speed,
                "interval": self.market.interval,
                "cursor_utc": iso_utc(self.replay.cursor),
            },
            "wallet_balance": e.wallet,
            "cross_wallet_balance": e.cross_wallet(),
            "available_balance": e.available(),
            "positions": {
                s: {
                    "amt": p.amt,
                    "entry": p.entry,
                    "isolated_margin": p.isolated_margin,
                    "realized": p.realized,
                    "leverage": e.leverage(s),
                }
                for s, p in e.positions.items()
            },
            "open_orders": e.open_orders({}),
            "open_algo_orders": e.open_algos({}),
            "counts": self.store.counts(),
            "subscriptions": self.hub.subscriptions(),
            "user_streams": len(self.hub.user),
            "listen_keys": len(self.store.listen_keys()),
            "state_db": str(self.store.path),
        }


def serve(cfg: ExchangeConfig, *, out=None) -> int:
    """Run the exchange until SIGINT/SIGTERM; returns the exit code (0)."""
    import asyncio

    import uvicorn

    ex = Exchange(cfg)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((cfg.host, cfg.port))
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        ex.app,
        log_level="warning",
        access_log=False,
        ws="websockets-sansio",
        lifespan="on",
        ws_ping_interval=None,
    )
    server = uvicorn.Server(config)
    out = out or sys.stdout

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            out.write(
                json.dumps(
                    {
                        "ok": True,
                        "rest": f"http://{host}:{port}",
                        "ws": f"ws://{host}:{port}/ws",
                        "state_db": str(ex.store.path),
                        "symbols": ex.market.symbols,
                        "interval": ex.market.interval,
                        "cursor_utc": iso_utc(ex.replay.cursor),
                        "speed": cfg.speed,
                        "paused": ex.clock.paused,
                    }
                )
                + "\n"
            )
            out.flush()
        await task

    try:
        asyncio.run(main())
    finally:
        ex.store.close()
    return 0
