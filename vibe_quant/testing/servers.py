"""Threaded HTTP servers on 127.0.0.1: a data.binance.vision mirror and a Binance USDⓈ-M
futures REST fake, both serving the real files under ``shared/data``.

Both bind port 0 (a free port), run in a daemon thread and stop on ``close()`` / ``with`` exit.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import threading
import time
import zipfile
from datetime import UTC
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 (free port) serving ``handler_cls``, whose handlers
    reach this object as ``self.server_ref``; a context manager. ``poll_interval`` (s) bounds
    how long :meth:`close` waits for the serving thread."""

    handler_cls: type[BaseHTTPRequestHandler]
    poll_interval: float = 0.5

    def start(self) -> LoopbackServer:
        outer = self

        class H(self.handler_cls):  # type: ignore[misc, valid-type]
            server_ref = outer

            def log_message(self, *a):  # silence
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": self.poll_interval},
            daemon=True,
        )
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class _MirrorHandler(BaseHTTPRequestHandler):
    server_ref: MirrorServer

    def do_GET(self):
        srv = self.server_ref
        path = urlparse(self.path).path.lstrip("/")
        with srv.lock:
            srv.requests.append(path)
            faults = srv.faults.get(path)
            fault = faults.pop(0) if faults else None
        if srv.delay_s:
            time.sleep(srv.delay_s)
        if fault is not None:
            status, headers = fault
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        f = (srv.root / path).resolve()
        if (
            not str(f).startswith(str(srv.root))
            or not f.is_file()
            or any(path.startswith(h) for h in srv.hidden)
        ):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = f.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class MirrorServer(LoopbackServer):
    """Serve a folder laid out like data.binance.vision.

    Args:
        root: the folder holding ``data/futures/um/...`` (``shared/data/binance-vision``).
        faults: path → list of ``(status, headers)`` answered (one per request) before the file.
        hidden: path prefixes answered with 404 (a month "not yet published").
        delay_s: sleep before every answer (to make an ingest slow enough to interrupt).
    """

    handler_cls = _MirrorHandler

    def __init__(
        self,
        root: str | Path,
        *,
        faults: dict[str, list[tuple[int, dict]]] | None = None,
        hidden: tuple[str, ...] = (),
        delay_s: float = 0.0,
    ):
        self.root = Path(root).resolve()
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.hidden = hidden
        self.delay_s = delay_s
        self.requests: list[str] = []
        self.lock = threading.Lock()


# ---- futures REST fake --------------------------------------------------------------------

_INTERVAL_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000}


@lru_cache(maxsize=64)
def _month_klines(root: str, symbol: str, interval: str, period: str) -> tuple:
    p = (
        Path(root)
        / f"data/futures/um/monthly/klines/{symbol}/{interval}/{symbol}-{interval}-{period}.zip"
    )
    if not p.exists():
        return ()
    with zipfile.ZipFile(p) as z:
        text = z.read(z.namelist()[0]).decode()
    out = []
    for line in io.StringIO(text):
        parts = line.strip().split(",")
        if not parts[0] or not parts[0][0].isdigit():
            continue
        out.append(tuple(parts))
    return tuple(out)


@lru_cache(maxsize=64)
def _month_funding(root: str, symbol: str, period: str) -> tuple:
    p = (
        Path(root)
        / f"data/futures/um/monthly/fundingRate/{symbol}/{symbol}-fundingRate-{period}.zip"
    )
    if not p.exists():
        return ()
    with zipfile.ZipFile(p) as z:
        text = z.read(z.namelist()[0]).decode()
    return tuple(
        tuple(line.strip().split(","))
        for line in io.StringIO(text)
        if line.strip() and line[0].isdigit()
    )


def _periods(start_ms: int, end_ms: int) -> list[str]:
    from datetime import datetime

    a = datetime.fromtimestamp(start_ms / 1000, tz=UTC)
    b = datetime.fromtimestamp(end_ms / 1000, tz=UTC)
    out, y, m = [], a.year, a.month
    while (y, m) <= (b.year, b.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


class _RestHandler(BaseHTTPRequestHandler):
    server_ref: FakeBinanceRest

    def _json(self, status: int, doc) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        srv = self.server_ref
        u = urlparse(self.path)
        q = {k: v[-1] for k, v in parse_qs(u.query).items()}
        with srv.lock:
            srv.requests.append((u.path, q))
        if u.path == "/fapi/v1/time":
            return self._json(200, {"serverTime": srv.now_ms})
        if u.path == "/fapi/v1/exchangeInfo":
            return self._json(200, srv.exchange_info())
        if u.path == "/fapi/v1/leverageBracket":
            return self._leverage_bracket(u.query)
        if u.path == "/fapi/v1/klines":
            return self._klines(q)
        if u.path == "/fapi/v1/fundingRate":
            return self._funding(q)
        return self._json(404, {"code": -1, "msg": "not found"})

    def _leverage_bracket(self, raw_query: str):
        """Binance's SIGNED check: API key header, then mandatory ``timestamp``/``signature``,
        then HMAC-SHA256(secret, query without ``&signature=…``). Error bodies and statuses as
        Binance answers them (-2014/-2015 HTTP 401, -1102/-1022 HTTP 400)."""
        srv = self.server_ref
        key = self.headers.get("X-MBX-APIKEY")
        if not key:
            return self._json(401, {"code": -2014, "msg": "API-key format invalid."})
        secret = srv.api_keys.get(key)
        if secret is None:
            return self._json(
                401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
            )
        parts = raw_query.split("&") if raw_query else []
        sig = [p.split("=", 1)[1] for p in parts if p.startswith("signature=")]
        rest = "&".join(p for p in parts if not p.startswith("signature="))
        q = {k: v[-1] for k, v in parse_qs(rest).items()}
        for name in ("timestamp", "signature"):
            if (name == "timestamp" and "timestamp" not in q) or (name == "signature" and not sig):
                return self._json(
                    400,
                    {
                        "code": -1102,
                        "msg": f"Mandatory parameter '{name}' was not sent, was empty/null, "
                        "or malformed.",
                    },
                )
        want = hmac.new(secret.encode(), rest.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, sig[0]):
            return self._json(
                400, {"code": -1022, "msg": "Signature for this request is not valid."}
            )
        with srv.lock:
            srv.signed_ok += 1
        return self._json(200, srv.leverage_brackets())

    def _klines(self, q):
        srv = self.server_ref
        sym, iv = q.get("symbol"), q.get("interval")
        if not sym or iv not in _INTERVAL_MS:
            return self._json(400, {"code": -1120, "msg": "Invalid interval."})
        limit = min(int(q.get("limit", 500)), 1500)
        step = _INTERVAL_MS[iv]
        end = int(q.get("endTime", srv.now_ms))
        start = int(q["startTime"]) if "startTime" in q else end - limit * step
        rows = []
        for period in _periods(start, end):
            for r in _month_klines(str(srv.root), sym, iv, period):
                ot = int(r[0])
                if start <= ot <= end and ot <= srv.now_ms:
                    rows.append(r)
        rows = rows[:limit]
        out = []
        for r in rows:
            ot = int(r[0])
            ct = int(r[6])
            extra = list(r[7:12]) if len(r) >= 12 else ["0", 0, "0", "0", "0"]
            out.append(
                [
                    ot,
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    ct,
                    extra[0],
                    int(extra[1]),
                    extra[2],
                    extra[3],
                    extra[4],
                ]
            )
        return self._json(200, out)

    def _funding(self, q):
        srv = self.server_ref
        sym = q.get("symbol")
        limit = min(int(q.get("limit", 100)), 1000)
        end = int(q.get("endTime", srv.now_ms))
        start = int(q.get("startTime", end - limit * 8 * 3_600_000))
        out = []
        for period in _periods(start, end):
            for r in _month_funding(str(srv.root), sym, period):
                t = int(r[0])
                if start <= t <= end and t <= srv.now_ms:
                    out.append(
                        {"symbol": sym, "fundingTime": t, "fundingRate": r[2], "markPrice": ""}
                    )
        return self._json(200, out[:limit])


class FakeBinanceRest(LoopbackServer):
    """Binance USDⓈ-M futures REST fake: ``/fapi/v1/klines`` (limit ≤ 1500, startTime/endTime
    inclusive), ``/fapi/v1/fundingRate`` (limit ≤ 1000), ``/fapi/v1/time``, public
    ``/fapi/v1/exchangeInfo`` (the real 2022-02-19 payload, BTCUSDT and ETHUSDT, plus
    ``extra_symbols``) and the SIGNED ``/fapi/v1/leverageBracket`` (Binance's response shape:
    the real BTC/ETH/SOL brackets of ``shared/data/binance-api`` plus ``extra_brackets``),
    which verifies the HMAC-SHA256 signature with the secret of the ``X-MBX-APIKEY`` key in
    ``api_keys`` and answers Binance's error documents otherwise. Serves only market data with
    times ≤ ``now_ms``.

    Args:
        extra_symbols: exchangeInfo ``symbols`` entries (Binance's shape) to serve as well.
        extra_brackets: leverageBracket entries ``{"symbol", "brackets": [...]}`` to serve too.
        api_keys: API key → secret accepted by the signed endpoint.
    """

    handler_cls = _RestHandler

    def __init__(
        self,
        shared: str | Path,
        *,
        now_ms: int,
        extra_symbols: list[dict] | None = None,
        extra_brackets: list[dict] | None = None,
        api_keys: dict[str, str] | None = None,
    ):
        shared = Path(shared)
        self.root = shared / "binance-vision"
        self.exchange_info_path = shared / "binance-api" / "fapi_v1_exchangeInfo_2022-02-19.json"
        self.brackets_path = shared / "binance-api" / "leverage_brackets_BTC_ETH_SOL.json"
        self.extra_symbols = list(extra_symbols or [])
        self.extra_brackets = list(extra_brackets or [])
        self.api_keys = dict(api_keys or {})
        self.now_ms = now_ms
        self.requests: list = []
        self.signed_ok = 0
        self.lock = threading.Lock()

    def exchange_info(self) -> dict:
        doc = json.loads(self.exchange_info_path.read_text())
        doc["symbols"] = list(doc["symbols"]) + self.extra_symbols
        return doc

    def leverage_brackets(self) -> list[dict]:
        """The shared ccxt-shaped tiers turned back into Binance's leverageBracket response
        (each tier's ``info`` is Binance's bracket; numbers as JSON numbers, as Binance sends)."""
        doc = json.loads(self.brackets_path.read_text())
        out = []
        for key, tiers in doc.items():
            if "-" in key:  # dated futures
                continue
            base, rest_ = key.split("/")
            quote = rest_.split(":")[0]
            out.append(
                {
                    "symbol": base + quote,
                    "brackets": [
                        {
                            "bracket": int(t["info"]["bracket"]),
                            "initialLeverage": int(t["info"]["initialLeverage"]),
                            "notionalCap": float(t["info"]["notionalCap"]),
                            "notionalFloor": float(t["info"]["notionalFloor"]),
                            "maintMarginRatio": float(t["info"]["maintMarginRatio"]),
                            "cum": float(t["info"]["cum"]),
                        }
                        for t in tiers
                    ],
                }
            )
        return out + self.extra_brackets
