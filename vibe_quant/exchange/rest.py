"""The ``/fapi`` REST endpoints of the local exchange.

Security as on Binance: ``NONE`` (market data), ``KEY`` (USER_STREAM: API-key header only),
``SIGNED`` (TRADE / USER_DATA: key + timestamp + HMAC-SHA256 signature, :mod:`.protocol`).
Parameters are read from the query string and a form body. Every error is a Binance error
document (``{"code", "msg"}``) with HTTP 400 (401 for API-key errors, 404 for unknown paths).
Stream events produced by a request are published after its transaction committed.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from vibe_quant.exchange import protocol as pr
from vibe_quant.exchange.market import KlineIntervalError
from vibe_quant.exchange.protocol import BinanceError

if TYPE_CHECKING:
    from vibe_quant.exchange.server import Exchange

log = logging.getLogger("vibe_quant.exchange")

NONE, KEY, SIGNED = "NONE", "KEY", "SIGNED"


def routes(ex: Exchange) -> dict[tuple[str, str], tuple[str, Callable[[dict], Any]]]:
    """``(method, path) → (security, handler(params) → document | (document, events))``."""
    e = ex.engine

    def listen_key_new(p):
        key = secrets.token_urlsafe(48)
        with ex.store.transaction():
            ex.store.save_listen_key(key, int(time.time() * 1000))
        return {"listenKey": key}

    def listen_key_keep(p):
        key = p.get("listenKey") or next(iter(ex.store.listen_keys()), None)
        if not key or key not in ex.store.listen_keys():
            raise pr.err(pr.LISTEN_KEY_NOT_FOUND)
        with ex.store.transaction():
            ex.store.save_listen_key(key, int(time.time() * 1000))
        return {"listenKey": key}

    def listen_key_delete(p):
        key = p.get("listenKey") or ""
        with ex.store.transaction():
            gone = ex.store.delete_listen_key(key)
        if gone:
            ex.hub.drop_listen_key(key)
        return {}

    def klines(p):
        spec = e.spec(p)
        iv = p.get("interval", "")
        if not iv:
            raise pr.mandatory("interval")
        try:
            ex.market.kline_series(spec.symbol, iv)
        except KlineIntervalError:
            raise BinanceError(-1120, "Invalid interval.") from None

        def opt(name):
            v = p.get(name)
            return int(v) if v not in (None, "") else None

        return ex.market.klines(
            spec.symbol,
            now_ms=ex.replay.cursor,
            limit=opt("limit") or 500,
            start_ms=opt("startTime"),
            end_ms=opt("endTime"),
            interval=iv,
        )

    def premium_index(p):
        syms = [e.spec(p).symbol] if p.get("symbol") else ex.market.symbols
        out = []
        for s in syms:
            mk = ex.market.mark_price_event(s, e.mark(s), ex.replay.cursor)
            out.append(
                {
                    "symbol": s,
                    "markPrice": mk["p"],
                    "indexPrice": mk["i"],
                    "estimatedSettlePrice": mk["P"],
                    "lastFundingRate": mk["r"],
                    "nextFundingTime": mk["T"],
                    "interestRate": "0.00010000",
                    "time": ex.replay.cursor,
                }
            )
        return out[0] if p.get("symbol") else out

    def ticker_price(p):
        syms = [e.spec(p).symbol] if p.get("symbol") else ex.market.symbols
        out = [
            {
                "symbol": s,
                "price": ex.market.specs[s].fmt_price(e.mark(s)),
                "time": ex.replay.cursor,
            }
            for s in syms
        ]
        return out[0] if p.get("symbol") else out

    def book_ticker(p):
        syms = [e.spec(p).symbol] if p.get("symbol") else ex.market.symbols
        out = []
        for s in syms:
            px = ex.market.specs[s].fmt_price(e.mark(s))
            out.append(
                {
                    "symbol": s,
                    "bidPrice": px,
                    "bidQty": "1000",
                    "askPrice": px,
                    "askQty": "1000",
                    "time": ex.replay.cursor,
                }
            )
        return out[0] if p.get("symbol") else out

    return {
        ("GET", "/fapi/v1/ping"): (NONE, lambda p: {}),
        ("GET", "/fapi/v1/time"): (NONE, lambda p: {"serverTime": ex.replay.cursor}),
        ("GET", "/fapi/v1/exchangeInfo"): (
            NONE,
            lambda p: ex.market.exchange_info(ex.replay.cursor),
        ),
        ("GET", "/fapi/v1/klines"): (NONE, klines),
        ("GET", "/fapi/v1/premiumIndex"): (NONE, premium_index),
        ("GET", "/fapi/v1/ticker/price"): (NONE, ticker_price),
        ("GET", "/fapi/v1/ticker/bookTicker"): (NONE, book_ticker),
        ("POST", "/fapi/v1/listenKey"): (KEY, listen_key_new),
        ("PUT", "/fapi/v1/listenKey"): (KEY, listen_key_keep),
        ("DELETE", "/fapi/v1/listenKey"): (KEY, listen_key_delete),
        ("GET", "/fapi/v1/positionSide/dual"): (SIGNED, lambda p: {"dualSidePosition": False}),
        ("POST", "/fapi/v1/positionSide/dual"): (SIGNED, _dual),
        ("GET", "/fapi/v2/account"): (SIGNED, lambda p: e.account()),
        ("GET", "/fapi/v3/account"): (SIGNED, lambda p: e.account()),
        ("GET", "/fapi/v2/balance"): (SIGNED, lambda p: _balance(e)),
        ("GET", "/fapi/v2/positionRisk"): (SIGNED, e.position_risk),
        ("GET", "/fapi/v3/positionRisk"): (
            SIGNED,
            lambda p: [r for r in e.position_risk(p) if float(r["positionAmt"]) != 0],
        ),
        ("GET", "/fapi/v1/symbolConfig"): (SIGNED, lambda p: _symbol_config(e, p)),
        ("POST", "/fapi/v1/leverage"): (SIGNED, e.set_leverage),
        ("POST", "/fapi/v1/marginType"): (SIGNED, e.set_margin_type),
        ("POST", "/fapi/v1/order"): (SIGNED, e.new_order),
        ("GET", "/fapi/v1/order"): (SIGNED, e.query_order),
        ("DELETE", "/fapi/v1/order"): (SIGNED, e.cancel_order),
        ("GET", "/fapi/v1/openOrders"): (SIGNED, e.open_orders),
        ("GET", "/fapi/v1/allOrders"): (SIGNED, e.all_orders),
        ("DELETE", "/fapi/v1/allOpenOrders"): (SIGNED, e.cancel_all),
        ("POST", "/fapi/v1/algoOrder"): (SIGNED, e.new_algo_order),
        ("GET", "/fapi/v1/algoOrder"): (SIGNED, e.query_algo),
        ("DELETE", "/fapi/v1/algoOrder"): (SIGNED, e.cancel_algo),
        ("GET", "/fapi/v1/openAlgoOrders"): (SIGNED, e.open_algos),
        ("DELETE", "/fapi/v1/algoOpenOrders"): (SIGNED, e.cancel_all_algos),
        ("GET", "/fapi/v1/userTrades"): (SIGNED, e.user_trades),
        ("GET", "/fapi/v1/income"): (SIGNED, e.income),
    }


def _dual(p: dict) -> dict:
    if (p.get("dualSidePosition") or "").lower() == "true":
        raise BinanceError(-4059, "No need to change position side.")
    return {"code": 200, "msg": "success"}


def _balance(e) -> list[dict]:
    a = e.account()["assets"][0]
    return [
        {
            "accountAlias": "vq",
            "asset": a["asset"],
            "balance": a["walletBalance"],
            "crossWalletBalance": a["crossWalletBalance"],
            "crossUnPnl": "0.00000000",
            "availableBalance": a["availableBalance"],
            "maxWithdrawAmount": a["maxWithdrawAmount"],
            "marginAvailable": True,
            "updateTime": a["updateTime"],
        }
    ]


def _symbol_config(e, p: dict) -> list[dict]:
    syms = [e.spec(p).symbol] if p.get("symbol") else e.market.symbols
    return [
        {
            "symbol": s,
            "marginType": "ISOLATED",
            "isAutoAddMargin": False,
            "leverage": e.leverage(s),
            "maxNotionalValue": "0",
        }
        for s in syms
    ]


async def dispatch(ex: Exchange, request: Request) -> JSONResponse:
    """Answer one ``/fapi`` request."""
    raw_query = request.url.query
    body = ""
    if request.method in ("POST", "PUT", "DELETE"):
        ctype = request.headers.get("content-type", "")
        if "application/x-www-form-urlencoded" in ctype:
            body = (await request.body()).decode()
    route = ex.routes.get((request.method, request.url.path))
    try:
        if route is None:
            raise BinanceError(*pr.NOT_FOUND_PATH, status=404)
        security, handler = route
        if security == SIGNED:
            pr.verify_signed(request.headers, raw_query, body, ex.api_key, ex.api_secret)
        elif security == KEY:
            pr.check_api_key(request.headers, ex.api_key)
        params = pr.parse_params(raw_query, body)
        params.pop("signature", None)
        result = handler(params)
        events: list = []
        if isinstance(result, tuple):
            result, events = result
        if events:
            ex.hub.publish_user(events)
        return JSONResponse(result)
    except BinanceError as err:
        if err.code not in (-2013,):
            log.info("%s %s -> %s %s", request.method, request.url.path, err.code, err.msg)
        return JSONResponse(err.doc(), status_code=err.status)
    except ValueError:
        log.exception("bad request %s %s", request.method, request.url.path)
        return JSONResponse(
            {"code": -1100, "msg": "Illegal characters found in a parameter."}, status_code=400
        )
