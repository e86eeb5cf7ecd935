"""A minimal signed Binance USDⓈ-M REST client (httpx), for tests, tools and REST fallbacks
(e.g. flattening a position when the trading node is down).

Signs like Binance's reference clients and NautilusTrader's adapter: every parameter in the
query string, then ``timestamp``, ``recvWindow`` and ``signature`` = hex HMAC-SHA256(secret,
query); the API key in header ``X-MBX-APIKEY``. Works against Binance (testnet) and the local
exchange alike. The secret is never logged or included in exceptions.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import httpx

from vibe_quant.core.errors import VenueError
from vibe_quant.exchange.protocol import sign


class BinanceApiError(VenueError):
    """A Binance error document: ``code`` (negative int), ``msg`` and the HTTP ``status``."""

    def __init__(self, status: int, code: int, msg: str):
        super().__init__(f"HTTP {status} Binance error {code}: {msg}")
        self.status, self.code, self.msg = status, code, msg


class FuturesRestClient:
    """``request(method, path, params, signed=...)`` → decoded JSON.

    Raises:
        BinanceApiError: an HTTP ≥ 400 answer with a Binance error document.
        httpx.HTTPError: transport errors.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        recv_window_ms: int = 5000,
        timeout_s: float = 10.0,
    ):
        self.base_url = base_url.rstrip("/")
        self._key, self._secret = api_key, api_secret
        self.recv_window_ms = recv_window_ms
        self.http = httpx.Client(timeout=timeout_s)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> FuturesRestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FuturesRestClient({self.base_url!r})"

    def signed_query(self, params: dict[str, Any] | None = None) -> str:
        q = {k: v for k, v in (params or {}).items() if v is not None}
        q["timestamp"] = int(time.time() * 1000)
        q["recvWindow"] = self.recv_window_ms
        qs = urlencode({k: _fmt(v) for k, v in q.items()})
        return f"{qs}&signature={sign(self._secret, qs)}"

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        signed: bool = True,
        key: bool = True,
    ) -> Any:
        if signed:
            qs = self.signed_query(params)
        else:
            qs = urlencode({k: _fmt(v) for k, v in (params or {}).items() if v is not None})
        headers = {"X-MBX-APIKEY": self._key} if (signed or key) else {}
        r = self.http.request(
            method, f"{self.base_url}{path}" + (f"?{qs}" if qs else ""), headers=headers
        )
        doc = r.json() if r.content else None
        if r.status_code >= 400:
            if isinstance(doc, dict) and "code" in doc:
                raise BinanceApiError(r.status_code, int(doc["code"]), str(doc.get("msg", "")))
            raise BinanceApiError(r.status_code, 0, r.text[:200])
        return doc


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
