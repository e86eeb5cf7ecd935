"""WebSocket streams of the local exchange (Binance USDⓈ-M shapes).

* ``/ws`` — market streams, raw events (no wrapper). Clients send
  ``{"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m"], "id": 1}`` and get
  ``{"result": null, "id": 1}``; ``UNSUBSCRIBE`` likewise; ``LIST_SUBSCRIPTIONS`` answers the
  list. Streams served: ``<symbol>@kline_<interval>`` (the replayed interval and any whole
  multiple of it, aggregated) and ``<symbol>@markPrice@1s`` (also ``@markPrice``); others are
  accepted and stay silent (no trades or book are replayed).
* ``/ws?listenKey=K`` (or ``/ws/K``) — the user-data stream of listen key K:
  ``ORDER_TRADE_UPDATE``, ``ACCOUNT_UPDATE``, ``ALGO_UPDATE`` raw events. An unknown key is
  closed with code 1008.
* ``/stream?streams=a/b`` — the combined form, each event wrapped as
  ``{"stream": name, "data": event}`` (what the classic Cython adapter uses); a stream name that
  is a valid listen key joins the user-data stream.

Each connection has its own send queue, so a slow client never stalls the replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

log = logging.getLogger("vibe_quant.exchange")


def _norm(stream: str) -> str:
    s = stream.lower()
    if s.endswith("@markprice"):
        s += "@1s"
    return s


class Conn:
    def __init__(self, ws: WebSocket, wrap: bool):
        self.ws, self.wrap = ws, wrap
        self.subs: set[str] = set()
        self.listen_key: str | None = None
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()

    def send(self, doc: dict[str, Any], stream: str) -> None:
        if self.wrap:
            doc = {"stream": stream, "data": doc}
        self.queue.put_nowait(json.dumps(doc, separators=(",", ":")))

    async def writer(self) -> None:
        while True:
            text = await self.queue.get()
            if text is None:
                await self.ws.close()
                return
            await self.ws.send_text(text)


class Hub:
    """Open connections and their subscriptions.

    Args:
        is_listen_key: validates a listen key (the store's keys).
        on_kline_subscribed: called with the stream name when a client subscribes to a kline
            stream (the replay may be waiting for it, or must start aggregating its interval).
    """

    def __init__(
        self,
        is_listen_key: Callable[[str], bool],
        on_kline_subscribed: Callable[[str], None] = lambda stream: None,
    ):
        self.is_listen_key = is_listen_key
        self.on_kline_subscribed = on_kline_subscribed
        self.market: set[Conn] = set()
        self.user: set[Conn] = set()

    def publish_market(self, stream: str, event: dict[str, Any]) -> None:
        for c in list(self.market):
            if stream in c.subs:
                c.send(event, stream)

    def publish_user(self, events: list[dict[str, Any]]) -> None:
        for c in list(self.user):
            for e in events:
                c.send(e, c.listen_key or "")

    def drop_listen_key(self, key: str) -> None:
        for c in list(self.user):
            if c.listen_key == key:
                c.queue.put_nowait(None)

    def close_all(self) -> int:
        n = 0
        for c in list(self.market) + list(self.user):
            c.queue.put_nowait(None)
            n += 1
        return n

    def subscriptions(self) -> list[str]:
        return sorted({s for c in self.market for s in c.subs})

    def _subscribe(self, conn: Conn, streams: list[str]) -> None:
        for s in streams:
            if self.is_listen_key(s):
                conn.listen_key = s
                self.user.add(conn)
                continue
            conn.subs.add(_norm(s))
            if "@kline_" in s:
                self.on_kline_subscribed(s)

    async def endpoint(self, websocket: WebSocket) -> None:
        path = websocket.url.path.rstrip("/")
        qp = websocket.query_params
        wrap = path.startswith("/stream")
        key = qp.get("listenKey")
        if key is None and path.startswith("/ws/"):
            key = path[len("/ws/") :]
        if key is not None and not self.is_listen_key(key):
            await websocket.close(code=1008)
            return
        await websocket.accept()
        conn = Conn(websocket, wrap)
        if key is not None:
            conn.listen_key = key
            self.user.add(conn)
        else:
            self.market.add(conn)
            if qp.get("streams"):
                self._subscribe(conn, [s for s in qp["streams"].split("/") if s])
        writer = asyncio.get_running_loop().create_task(conn.writer())
        try:
            while True:
                text = await websocket.receive_text()
                reply = self._handle(conn, text)
                if reply is not None:
                    conn.queue.put_nowait(json.dumps(reply))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.market.discard(conn)
            self.user.discard(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer

    def _handle(self, conn: Conn, text: str) -> dict[str, Any] | None:
        try:
            msg = json.loads(text)
        except ValueError:
            return {"code": 2, "msg": "Invalid JSON", "id": None}
        if not isinstance(msg, dict):
            return {"code": 2, "msg": "Invalid request", "id": None}
        mid, method = msg.get("id"), msg.get("method")
        params = msg.get("params") or []
        if method == "SUBSCRIBE":
            self._subscribe(conn, [str(s) for s in params])
            return {"result": None, "id": mid}
        if method == "UNSUBSCRIBE":
            for s in params:
                conn.subs.discard(_norm(str(s)))
            return {"result": None, "id": mid}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": sorted(conn.subs), "id": mid}
        if method in ("SET_PROPERTY", "GET_PROPERTY"):
            return {"result": None if method == "SET_PROPERTY" else False, "id": mid}
        return {"code": 1, "msg": f"Unknown method {method!r}", "id": mid}
