"""Fill recent data from the Binance USDⓈ-M futures REST API.

* ``GET /fapi/v1/klines?symbol&interval&startTime&endTime&limit=1500`` → arrays of 12 elements
  ``[openTime, "open", "high", "low", "close", "volume", closeTime, "quoteVolume", count,
  "takerBuyBase", "takerBuyQuote", "ignore"]``; ``startTime`` is inclusive; pages are chained by
  ``startTime = last openTime + interval``.
* ``GET /fapi/v1/fundingRate?symbol&startTime&endTime&limit=1000`` → objects
  ``{"symbol", "fundingTime", "fundingRate", "markPrice"}``, ascending.
* ``GET /fapi/v1/exchangeInfo`` → contract specs (public).
* ``GET /fapi/v1/leverageBracket`` → leverage brackets (SIGNED, ``USER_DATA``): query
  ``timestamp`` (ms) and ``recvWindow`` (ms), then ``signature`` = hex HMAC-SHA256 of the exact
  query string keyed with the API secret; header ``X-MBX-APIKEY``. Source: Binance USDⓈ-M
  Futures API docs, "Endpoint security type" / "SIGNED Endpoint security". The key, secret
  and signature are never logged, stored or printed.

Only closed klines are kept (``closeTime < now``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from urllib.parse import urlencode

from vibe_quant.core.intervals import HOUR_MS, interval_ms
from vibe_quant.venues.binance.http import Fetcher, FetchError

DEFAULT_REST_URL = "https://fapi.binance.com"
REST_URL_ENV = "VIBE_QUANT_BINANCE_REST_URL"
KLINES_LIMIT = 1500
FUNDING_LIMIT = 1000
API_KEY_ENV = "VIBE_QUANT_BINANCE_API_KEY"
API_SECRET_ENV = "VIBE_QUANT_BINANCE_API_SECRET"
RECV_WINDOW_MS = 5000


def rest_url(explicit: str | None = None) -> str:
    return (explicit or os.environ.get(REST_URL_ENV) or DEFAULT_REST_URL).rstrip("/")


def fetch_klines(
    fetcher: Fetcher, base: str, symbol: str, interval: str, start_ms: int, end_ms: int, now_ms: int
) -> tuple[list[tuple], str, str]:
    """Closed klines with ``start_ms ≤ openTime < end_ms``; returns (rows, first URL, sha256).

    Rows are tuples in ``csvparse.KLINE_COLUMNS`` order.
    """
    step = interval_ms(interval)
    url = f"{base}/fapi/v1/klines"
    rows: list[tuple] = []
    h = hashlib.sha256()
    cur = start_ms
    while cur < end_ms:
        body = fetcher.get(
            url,
            params={
                "symbol": symbol,
                "interval": interval,
                "startTime": cur,
                "endTime": end_ms - 1,
                "limit": KLINES_LIMIT,
            },
        )
        if body is None:
            raise FetchError(f"{url}: 404 for {symbol} {interval}")
        h.update(body)
        page = json.loads(body)
        if not page:
            break
        last_open = None
        for k in page:
            ot = int(k[0])
            if ot < cur:  # a server that ignores startTime would loop forever: refuse it
                raise FetchError(f"{url}: returned openTime {ot} before startTime {cur}")
            last_open = ot
            if ot >= end_ms or int(k[6]) >= now_ms:
                continue
            rows.append(
                (
                    ot,
                    float(k[1]),
                    float(k[2]),
                    float(k[3]),
                    float(k[4]),
                    float(k[5]),
                    int(k[6]),
                    float(k[7]),
                    int(k[8]),
                    float(k[9]),
                    float(k[10]),
                    float(k[11]),
                )
            )
        if last_open is None or len(page) < KLINES_LIMIT:
            break
        cur = last_open + step
    return rows, url, h.hexdigest()


def fetch_funding(
    fetcher: Fetcher, base: str, symbol: str, start_ms: int, end_ms: int
) -> tuple[list[tuple[int, int, float]], str, str]:
    """Funding records with ``start_ms ≤ fundingTime < end_ms`` as
    ``(calc_time_ms, interval_hours, rate_fraction)``; interval inferred from spacing (else 8)."""
    url = f"{base}/fapi/v1/fundingRate"
    recs: list[tuple[int, float]] = []
    h = hashlib.sha256()
    cur = start_ms
    while cur < end_ms:
        body = fetcher.get(
            url,
            params={
                "symbol": symbol,
                "startTime": cur,
                "endTime": end_ms - 1,
                "limit": FUNDING_LIMIT,
            },
        )
        if body is None:
            raise FetchError(f"{url}: 404 for {symbol}")
        h.update(body)
        page = json.loads(body)
        if not page:
            break
        for r in page:
            t = int(r["fundingTime"])
            if t < cur:
                raise FetchError(f"{url}: returned fundingTime {t} before startTime {cur}")
            if t < end_ms:
                recs.append((t, float(r["fundingRate"])))
        if len(page) < FUNDING_LIMIT:
            break
        cur = int(page[-1]["fundingTime"]) + 1
    out = []
    for i, (t, rate) in enumerate(recs):
        if i:
            gap = t - recs[i - 1][0]
        elif len(recs) > 1:
            gap = recs[1][0] - t
        else:
            gap = 8 * HOUR_MS
        hours = max(1, round(gap / HOUR_MS))
        out.append((t, hours, rate))
    return out, url, h.hexdigest()


def fetch_exchange_info(fetcher: Fetcher, base: str) -> tuple[str, str, str] | None:
    """``(payload, url, sha256)`` of ``/fapi/v1/exchangeInfo``, or ``None`` if unreachable."""
    url = f"{base}/fapi/v1/exchangeInfo"
    try:
        body = fetcher.get(url)
    except FetchError:
        return None
    if body is None:
        return None
    return body.decode(), url, hashlib.sha256(body).hexdigest()


def api_credentials() -> tuple[str, str] | None:
    """``(api_key, api_secret)`` from ``VIBE_QUANT_BINANCE_API_KEY`` /
    ``VIBE_QUANT_BINANCE_API_SECRET`` when both are set (non-empty), else None."""
    key = os.environ.get(API_KEY_ENV, "").strip()
    secret = os.environ.get(API_SECRET_ENV, "").strip()
    return (key, secret) if key and secret else None


def signed_query(params: dict, secret: str) -> str:
    """``params`` URL-encoded in order, then ``&signature=<hex HMAC-SHA256(secret, query)>``."""
    q = urlencode(params)
    sig = hmac.new(secret.encode(), q.encode(), hashlib.sha256).hexdigest()
    return f"{q}&signature={sig}"


def fetch_leverage_brackets(
    fetcher: Fetcher,
    base: str,
    api_key: str,
    api_secret: str,
    *,
    clock_ms=lambda: int(time.time() * 1000),
    recv_window_ms: int = RECV_WINDOW_MS,
) -> tuple[str, str]:
    """The signed ``GET /fapi/v1/leverageBracket`` response for every symbol.

    Returns ``(payload, url)``: the raw JSON text and the endpoint URL *without* its query.
    Raises FetchError (Binance's ``{"code", "msg"}`` in the message, e.g. -1022 for a bad
    signature, -2015 for an invalid key) — the message never holds the key or the signature.
    """
    url = f"{base}/fapi/v1/leverageBracket"

    def query() -> str:  # re-signed per attempt: a retry gets a fresh timestamp
        return signed_query({"recvWindow": recv_window_ms, "timestamp": clock_ms()}, api_secret)

    body = fetcher.get(url, params=query, headers={"X-MBX-APIKEY": api_key})
    if body is None:
        raise FetchError(f"{url}: 404")
    return body.decode(), url
