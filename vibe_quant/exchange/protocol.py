"""Binance USDⓈ-M wire protocol: error documents, request signing, JSON shapes.

Errors are answered as Binance does: HTTP 4xx with ``{"code": <negative int>, "msg": ...}``
(codes and messages from Binance's "Error Codes" page of the USDⓈ-M futures API).

Signing (Binance "SIGNED (TRADE and USER_DATA) Endpoint security"): the API key in header
``X-MBX-APIKEY``; ``signature`` = hex HMAC-SHA256(secret, totalParams) where totalParams is the
query string (without ``&signature=…``) followed by the request body; ``timestamp`` mandatory and
within ``recvWindow`` (default 5000 ms, max 60000) of the server's **wall** clock (clients sign
with their own clock, while the exchange's market clock replays history).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Any
from urllib.parse import parse_qsl

from vibe_quant.core.errors import VenueError
from vibe_quant.exchange.market import SymbolSpec
from vibe_quant.exchange.models import AlgoOrder, Order, Position, Trade


class BinanceError(VenueError):
    """An error answered to the client as ``{"code", "msg"}`` with HTTP ``status``."""

    def __init__(self, code: int, msg: str, status: int = 400):
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status

    def doc(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.msg}


def mandatory(name: str) -> BinanceError:
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def bad_param(name: str) -> BinanceError:
    return BinanceError(-1130, f"Data sent for parameter '{name}' is not valid.")


ORDER_NOT_FOUND = (-2013, "Order does not exist.")
UNKNOWN_ORDER = (-2011, "Unknown order sent.")
MARGIN_INSUFFICIENT = (-2019, "Margin is insufficient.")
WOULD_TRIGGER = (-2021, "Order would immediately trigger.")
REDUCE_ONLY_REJECTED = (-2022, "ReduceOnly Order is rejected.")
INVALID_SYMBOL = (-1121, "Invalid symbol.")
INVALID_SIDE = (-1117, "Invalid side.")
INVALID_TYPE = (-1116, "Invalid orderType.")
INVALID_TIF = (-1115, "Invalid timeInForce.")
PRECISION = (-1111, "Precision is over the maximum defined for this asset.")
QTY_NOT_POSITIVE = (-4003, "Quantity less than or equal to zero.")
PRICE_TICK = (-4014, "Price not increased by tick size.")
CLIENT_ID_INVALID = (-4015, "Client order id is not valid.")
CLIENT_ID_DUPLICATE = (-4116, "ClientOrderId is duplicated.")
USE_ALGO_API = (
    -4120,
    "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
)
POSITION_SIDE = (-4061, "Order's position side does not match user's setting.")
POST_ONLY = (
    -5022,
    "Due to the order could not be executed as maker, the Post Only order will be rejected.",
)
NO_NEED_MARGIN_TYPE = (-4046, "No need to change margin type.")
LEVERAGE_INVALID = (-4028, "Leverage {} is not valid")
MARGIN_TYPE_WITH_POSITION = (-4048, "Margin type cannot be changed if there exists position.")
LISTEN_KEY_NOT_FOUND = (-1125, "This listenKey does not exist.")
NOT_FOUND_PATH = (-1000, "An unknown error occurred while processing the request: no such path.")


def err(pair: tuple[int, str], *fmt: Any, status: int = 400) -> BinanceError:
    code, msg = pair
    return BinanceError(code, msg.format(*fmt) if fmt else msg, status)


CLIENT_ID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")

# ---- signing -------------------------------------------------------------------------------


def sign(secret: str, total_params: str) -> str:
    """hex HMAC-SHA256 of ``total_params`` with ``secret`` (what a client sends)."""
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


def parse_params(raw_query: str, body: str = "") -> dict[str, str]:
    """Query string and form body parameters (the last value of a repeated name wins)."""
    out: dict[str, str] = {}
    for part in (raw_query, body):
        if part:
            out.update(parse_qsl(part, keep_blank_values=True))
    return out


def check_api_key(headers: Any, api_key: str) -> None:
    """MARKET_DATA/USER_STREAM security: the API key header must match.

    Raises:
        BinanceError: -2014 (no/empty key, HTTP 401), -2015 (unknown key, HTTP 401).
    """
    key = headers.get("x-mbx-apikey")
    if not key:
        raise BinanceError(-2014, "API-key format invalid.", 401)
    if not hmac.compare_digest(key.encode(), api_key.encode()):
        raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def verify_signed(
    headers: Any,
    raw_query: str,
    body: str,
    api_key: str,
    api_secret: str,
    *,
    now_ms: int | None = None,
) -> None:
    """Check a SIGNED request (key, timestamp, recvWindow, HMAC-SHA256 signature).

    Raises:
        BinanceError: -2014/-2015 (API key, HTTP 401), -1102 (timestamp or signature missing),
            -1021 (timestamp outside recvWindow), -1022 (signature mismatch).
    """
    check_api_key(headers, api_key)
    parts = raw_query.split("&") if raw_query else []
    sigs = [p.split("=", 1)[1] for p in parts if p.startswith("signature=") and "=" in p]
    rest = "&".join(p for p in parts if not p.startswith("signature="))
    if body:
        bparts = body.split("&")
        sigs += [p.split("=", 1)[1] for p in bparts if p.startswith("signature=")]
        body = "&".join(p for p in bparts if not p.startswith("signature="))
    params = parse_params(rest, body)
    if not params.get("timestamp", "").isdigit():
        raise mandatory("timestamp")
    if not sigs or not sigs[-1]:
        raise mandatory("signature")
    want = sign(api_secret, rest + body)
    if not hmac.compare_digest(want.encode(), sigs[-1].lower().encode()):
        raise BinanceError(-1022, "Signature for this request is not valid.")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    try:
        window = int(params.get("recvWindow", "5000"))
    except ValueError as e:
        raise bad_param("recvWindow") from e
    ts = int(params["timestamp"])
    if window > 60_000 or ts >= now + 1000 or now - ts > window:
        raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


# ---- REST shapes ---------------------------------------------------------------------------


def order_json(o: Order, spec: SymbolSpec) -> dict[str, Any]:
    """``/fapi/v1/order`` order document (Binance's field set)."""
    return {
        "orderId": o.order_id,
        "symbol": o.symbol,
        "status": o.status,
        "clientOrderId": o.client_order_id,
        "price": spec.fmt_price(o.price),
        "avgPrice": spec.fmt_price(o.avg_price),
        "origQty": spec.fmt_qty(o.qty),
        "executedQty": spec.fmt_qty(o.executed_qty),
        "cumQty": spec.fmt_qty(o.executed_qty),
        "cumQuote": f"{o.cum_quote:.8f}",
        "timeInForce": o.time_in_force,
        "type": o.type,
        "reduceOnly": o.reduce_only,
        "closePosition": o.close_position,
        "side": o.side,
        "positionSide": "BOTH",
        "stopPrice": spec.fmt_price(o.stop_price),
        "workingType": o.working_type,
        "priceProtect": False,
        "origType": o.orig_type,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE",
        "goodTillDate": 0,
        "time": o.time,
        "updateTime": o.update_time,
    }


def algo_json(a: AlgoOrder, spec: SymbolSpec) -> dict[str, Any]:
    """``/fapi/v1/algoOrder`` algo order document."""
    return {
        "algoId": a.algo_id,
        "clientAlgoId": a.client_algo_id,
        "algoType": "CONDITIONAL",
        "orderType": a.order_type,
        "symbol": a.symbol,
        "side": a.side,
        "positionSide": "BOTH",
        "timeInForce": a.time_in_force,
        "quantity": spec.fmt_qty(a.qty),
        "algoStatus": a.status,
        "actualOrderId": str(a.actual_order_id) if a.actual_order_id else "",
        "actualPrice": spec.fmt_price(a.avg_price),
        "actualQty": spec.fmt_qty(a.executed_qty),
        "triggerPrice": spec.fmt_price(a.trigger_price),
        "price": spec.fmt_price(a.price),
        "selfTradePreventionMode": "NONE",
        "workingType": a.working_type,
        "priceMatch": "NONE",
        "closePosition": a.close_position,
        "priceProtect": False,
        "reduceOnly": a.reduce_only,
        "createTime": a.create_time,
        "updateTime": a.update_time,
        "triggerTime": a.trigger_time,
        "goodTillDate": 0,
    }


def trade_json(t: Trade, spec: SymbolSpec) -> dict[str, Any]:
    """``/fapi/v1/userTrades`` row."""
    return {
        "symbol": t.symbol,
        "id": t.id,
        "orderId": t.order_id,
        "side": t.side,
        "price": spec.fmt_price(t.price),
        "qty": spec.fmt_qty(t.qty),
        "realizedPnl": f"{t.realized_pnl:.8f}",
        "quoteQty": f"{t.quote_qty:.8f}",
        "commission": f"{t.commission:.8f}",
        "commissionAsset": "USDT",
        "marginAsset": "USDT",
        "time": t.time,
        "positionSide": "BOTH",
        "buyer": t.side == "BUY",
        "maker": t.maker,
    }


def money(x: float) -> str:
    return f"{x:.8f}"


# ---- user-stream event shapes --------------------------------------------------------------


def order_update_event(
    o: Order,
    spec: SymbolSpec,
    *,
    exec_type: str,
    now_ms: int,
    last_qty: float = 0.0,
    last_price: float = 0.0,
    commission: float = 0.0,
    trade_id: int = 0,
    maker: bool = False,
    realized: float = 0.0,
) -> dict[str, Any]:
    """``ORDER_TRADE_UPDATE`` (Binance "Event: Order Update"; ``c`` echoed unchanged)."""
    return {
        "e": "ORDER_TRADE_UPDATE",
        "E": now_ms,
        "T": now_ms,
        "o": {
            "s": o.symbol,
            "c": o.client_order_id,
            "S": o.side,
            "o": o.type,
            "f": o.time_in_force,
            "q": spec.fmt_qty(o.qty),
            "p": spec.fmt_price(o.price),
            "ap": spec.fmt_price(o.avg_price),
            "sp": spec.fmt_price(o.stop_price),
            "x": exec_type,
            "X": o.status,
            "i": o.order_id,
            "l": spec.fmt_qty(last_qty),
            "z": spec.fmt_qty(o.executed_qty),
            "L": spec.fmt_price(last_price),
            "N": "USDT",
            "n": money(commission),
            "T": now_ms,
            "t": trade_id,
            "b": "0",
            "a": "0",
            "m": maker,
            "R": o.reduce_only,
            "wt": o.working_type,
            "ot": o.orig_type,
            "ps": "BOTH",
            "cp": o.close_position,
            "rp": money(realized),
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "NONE",
            "pm": "NONE",
            "gtd": 0,
        },
    }


def algo_update_event(a: AlgoOrder, spec: SymbolSpec, now_ms: int) -> dict[str, Any]:
    """``ALGO_UPDATE`` (Binance "Event: Algo Order Update")."""
    o: dict[str, Any] = {
        "caid": a.client_algo_id,
        "aid": a.algo_id,
        "at": "CONDITIONAL",
        "o": a.order_type,
        "s": a.symbol,
        "S": a.side,
        "ps": "BOTH",
        "f": a.time_in_force,
        "q": spec.fmt_qty(a.qty),
        "X": a.status,
        "tp": spec.fmt_price(a.trigger_price),
        "p": spec.fmt_price(a.price),
        "wt": a.working_type,
        "pm": "NONE",
        "cp": a.close_position,
        "pP": False,
        "R": a.reduce_only,
        "tt": a.trigger_time,
        "gtd": 0,
        "V": "NONE",
    }
    if a.actual_order_id:
        o.update(
            {
                "ai": str(a.actual_order_id),
                "ap": spec.fmt_price(a.avg_price),
                "aq": spec.fmt_qty(a.executed_qty),
                "act": "MARKET",
            }
        )
    return {"e": "ALGO_UPDATE", "E": now_ms, "T": now_ms, "o": o}


def account_update_event(
    reason: str,
    wallet: float,
    cross_wallet: float,
    positions: list[tuple[Position, SymbolSpec, float]],
    now_ms: int,
    balance_change: float = 0.0,
) -> dict[str, Any]:
    """``ACCOUNT_UPDATE`` (Binance "Event: Balance and Position Update"); ``positions`` holds
    ``(position, spec, mark)`` of the symbols that changed."""
    return {
        "e": "ACCOUNT_UPDATE",
        "E": now_ms,
        "T": now_ms,
        "a": {
            "m": reason,
            "B": [
                {
                    "a": "USDT",
                    "wb": money(wallet),
                    "cw": money(cross_wallet),
                    "bc": money(balance_change),
                }
            ],
            "P": [
                {
                    "s": p.symbol,
                    "pa": spec.fmt_qty(p.amt),
                    "ep": f"{p.entry:.8f}",
                    "bep": f"{p.entry:.8f}",
                    "cr": money(p.realized),
                    "up": money(p.amt * (mark - p.entry) if p.amt else 0.0),
                    "mt": "isolated",
                    "iw": money(p.isolated_margin),
                    "ps": "BOTH",
                }
                for p, spec, mark in positions
            ],
        },
    }
