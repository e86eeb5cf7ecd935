"""A local fake of the Telegram Bot API (https://core.telegram.org/bots/api) on 127.0.0.1.

Protocol as the real server speaks it: ``POST /bot<token>/<method>`` with a form-encoded,
JSON or empty body; every answer is JSON ``{"ok": true, "result": …}`` or
``{"ok": false, "error_code": N, "description": "…"[, "parameters": {…}]}`` with HTTP status N.

* ``getMe`` → the bot user; ``sendMessage`` → a full ``Message`` (message_id, date, chat,
  from, text); other methods → 404 ``Not Found``.
* a token other than the configured one → 401 ``Unauthorized``;
* ``sendMessage`` without ``chat_id`` / ``text`` → 400 ``Bad Request: …``;
* :meth:`FakeTelegramServer.fail_next` makes the next K calls answer 429
  ``Too Many Requests: retry after N`` with ``parameters.retry_after = N``.

Every call is recorded (:attr:`FakeTelegramServer.calls`, with ``time.monotonic()`` arrival
times) and delivered messages are in :attr:`FakeTelegramServer.messages`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from vibe_quant.testing.servers import LoopbackServer

DEFAULT_TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijklmn"
BOT_USER = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "vibe-quant",
    "username": "vibe_quant_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Call:
    """One request: ``method``, decoded ``params``, answered ``status``, ``at`` monotonic s."""

    method: str
    params: dict[str, Any]
    status: int
    at: float
    token_ok: bool = True


@dataclass
class SentMessage:
    message_id: int
    chat_id: str
    text: str
    date: int
    at: float
    params: dict[str, Any] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server_ref: FakeTelegramServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *a: Any) -> None:  # silent (the path holds the token)
        pass

    def _answer(self, status: int, doc: dict[str, Any]) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _params(self) -> dict[str, Any]:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if not raw:
            params: dict[str, Any] = {}
        elif ctype == "application/json":
            params = json.loads(raw)
        elif ctype == "application/x-www-form-urlencoded":
            params = {k: v[-1] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
        else:
            params = {}
        # query-string parameters are accepted by the real server as well
        for k, v in parse_qs(urlparse(self.path).query).items():
            params.setdefault(k, v[-1])
        return params

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        srv = self.server_ref
        path = urlparse(self.path).path
        parts = path.strip("/").split("/")
        params = self._params()
        now = time.monotonic()
        if len(parts) != 2 or not parts[0].startswith("bot"):
            self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        token, method = parts[0][3:], parts[1]
        status, doc = srv._handle(token, method, params, now)
        self._answer(status, doc)


class FakeTelegramServer(LoopbackServer):
    """Threaded fake Bot API. Use as a context manager; :attr:`url` is the Bot API root to put
    in ``VIBE_QUANT_TELEGRAM_BASE_URL``."""

    handler_cls = _Handler
    poll_interval = 0.05

    def __init__(self, token: str = DEFAULT_TOKEN, chat_ids: set[str] | None = None):
        self.token = token
        self.chat_ids = chat_ids  # None: every chat exists
        self.calls: list[Call] = []
        self.messages: list[SentMessage] = []
        self._lock = threading.Condition()
        self._fail: list[int] = []  # retry_after of the next calls to answer 429
        self._next_id = 1

    # ---- control ------------------------------------------------------------------------

    def fail_next(self, k: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``k`` calls (any method, right token) with 429, ``retry_after`` s."""
        with self._lock:
            self._fail.extend([retry_after] * k)

    def wait_for_messages(self, n: int, timeout: float = 10.0) -> list[SentMessage]:
        """Block until at least ``n`` messages were delivered (or ``timeout`` s); returns them."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
            return list(self.messages)

    # ---- protocol -----------------------------------------------------------------------

    def _handle(
        self, token: str, method: str, params: dict[str, Any], now: float
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if token != self.token:
                self.calls.append(Call(method, params, 401, now, token_ok=False))
                return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            if self._fail:
                ra = self._fail.pop(0)
                self.calls.append(Call(method, params, 429, now))
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {ra}",
                    "parameters": {"retry_after": ra},
                }
            status, doc = self._dispatch(method, params, now)
            self.calls.append(Call(method, params, status, now))
            self._lock.notify_all()
            return status, doc

    def _dispatch(self, method: str, params: dict[str, Any], now: float):
        m = method.lower()
        if m == "getme":
            return 200, {"ok": True, "result": BOT_USER}
        if m == "sendmessage":
            chat_id = str(params.get("chat_id", "")).strip()
            text = str(params.get("text", ""))
            if not chat_id:
                return 400, _bad("Bad Request: chat_id is empty")
            if not text.strip():
                return 400, _bad("Bad Request: message text is empty")
            if len(text) > 4096:
                return 400, _bad("Bad Request: message is too long")
            if self.chat_ids is not None and chat_id not in self.chat_ids:
                return 400, _bad("Bad Request: chat not found")
            date = int(time.time())
            mid = self._next_id
            self._next_id += 1
            self.messages.append(SentMessage(mid, chat_id, text, date, now, params))
            chat: dict[str, Any] = (
                {"id": int(chat_id), "type": "private", "first_name": "vq"}
                if chat_id.lstrip("-").isdigit()
                else {"id": -1001234567890, "type": "channel", "title": chat_id.lstrip("@")}
            )
            if chat_id.startswith("-"):
                chat = {"id": int(chat_id), "type": "supergroup", "title": "vq"}
            return 200, {
                "ok": True,
                "result": {
                    "message_id": mid,
                    "from": {k: BOT_USER[k] for k in ("id", "is_bot", "first_name", "username")},
                    "chat": chat,
                    "date": date,
                    "text": text,
                },
            }
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}


def _bad(description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": 400, "description": description}
