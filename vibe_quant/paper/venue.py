"""Signed REST calls a paper run makes outside the trading node (the supervisor, the kill switch,
the CLI): the venue's clock, balance and position, the fills and funding it recorded (to journal
what the child missed while it was down), and the **REST flattener** of the kill switch.

Uses :class:`vibe_quant.exchange.client.FuturesRestClient` (HMAC-SHA256 signing as Binance's
reference clients; works against Binance testnet and the local exchange). Client order ids come
back broker-encoded by NautilusTrader's adapter (``x-aHRE4BCj-…``) and are decoded with
``nautilus_pyo3.binance.decode_binance_futures_client_order_id``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from vibe_quant.exchange.client import BinanceApiError, FuturesRestClient

# Binance USDⓈ-M error codes met here (https://developers.binance.com/docs/derivatives/usds-margined-futures/error-code)
NO_NEED_TO_CHANGE = -4046
REDUCE_ONLY_REJECTED = -2022


def decode_cid(cid: str) -> str:
    from nautilus_trader.core.nautilus_pyo3.binance import decode_binance_futures_client_order_id

    try:
        return decode_binance_futures_client_order_id(cid)
    except Exception:
        return cid


class Venue:
    """REST view of one account on one symbol; ``close()`` when done."""

    def __init__(self, rest: str, key: str, secret: str, symbol: str, timeout_s: float = 5.0):
        self.symbol = symbol.upper()
        self.c = FuturesRestClient(rest, key, secret, timeout_s=timeout_s)

    def close(self) -> None:
        self.c.close()

    def __enter__(self) -> Venue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def server_time_ms(self) -> int:
        return int(self.c.request("GET", "/fapi/v1/time", signed=False, key=False)["serverTime"])

    def symbols(self) -> set[str]:
        """Symbols the venue trades (``GET /fapi/v1/exchangeInfo``, status ``TRADING``)."""
        info = self.c.request("GET", "/fapi/v1/exchangeInfo", signed=False, key=False)
        return {
            s["symbol"] for s in info.get("symbols", []) if s.get("status", "TRADING") == "TRADING"
        }

    def wallet_balance(self) -> float:
        """USDT wallet balance (USDT)."""
        acc = self.c.request("GET", "/fapi/v2/account")
        for a in acc.get("assets", []):
            if a.get("asset") == "USDT":
                return float(a["walletBalance"])
        return float(acc.get("totalWalletBalance", 0.0))

    def position(self) -> tuple[float, float]:
        """``(signed position amount base units, entry price)`` of the symbol."""
        for p in self.c.request("GET", "/fapi/v2/positionRisk", {"symbol": self.symbol}):
            if p.get("symbol") == self.symbol and p.get("positionSide", "BOTH") == "BOTH":
                return float(p["positionAmt"]), float(p.get("entryPrice") or 0.0)
        return 0.0, 0.0

    def open_orders(self) -> list[dict[str, Any]]:
        """Open regular and algo (conditional) orders of the symbol."""
        out = list(self.c.request("GET", "/fapi/v1/openOrders", {"symbol": self.symbol}))
        try:
            out += list(self.c.request("GET", "/fapi/v1/openAlgoOrders", {"symbol": self.symbol}))
        except BinanceApiError:
            pass
        return out

    def user_trades(self, from_id: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """Trades with id ≥ ``from_id``, ascending (``GET /fapi/v1/userTrades``)."""
        return list(
            self.c.request(
                "GET",
                "/fapi/v1/userTrades",
                {"symbol": self.symbol, "fromId": int(from_id), "limit": int(limit)},
            )
        )

    def client_order_id(self, order_id: Any) -> str | None:
        """Decoded client order id of venue order ``order_id`` (``GET /fapi/v1/order``), or
        None when the venue does not know it."""
        try:
            o = self.c.request(
                "GET", "/fapi/v1/order", {"symbol": self.symbol, "orderId": int(order_id)}
            )
        except BinanceApiError:
            return None
        return decode_cid(str(o.get("clientOrderId") or "")) or None

    def funding_income(self, start_ms: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """``FUNDING_FEE`` income rows with time ≥ ``start_ms`` (+ received, − paid, USDT)."""
        return list(
            self.c.request(
                "GET",
                "/fapi/v1/income",
                {
                    "symbol": self.symbol,
                    "incomeType": "FUNDING_FEE",
                    "startTime": int(start_ms),
                    "limit": int(limit),
                },
            )
        )


@dataclass
class FlattenReport:
    """What the REST flattener did: ``orders_cancelled`` (regular + algo), ``closed_qty``
    signed base units closed (0 when already flat), ``price`` average close price (USDT or
    None), ``position_after`` signed base units, ``open_orders_after``."""

    orders_cancelled: int
    closed_qty: float
    price: float | None
    position_after: float
    open_orders_after: int

    @property
    def flat(self) -> bool:
        return abs(self.position_after) < 1e-12 and self.open_orders_after == 0


def flatten(v: Venue, attempts: int = 3) -> FlattenReport:
    """Kill switch over REST: ``DELETE /fapi/v1/allOpenOrders``, ``DELETE
    /fapi/v1/algoOpenOrders``, then a reduce-only ``MARKET`` order for the whole position;
    repeated (up to ``attempts``) until the venue reports flat with no open order."""
    cancelled = 0
    closed = 0.0
    px = None
    for _ in range(attempts):
        before = v.open_orders()
        cancelled += len(before)
        if before:
            v.c.request("DELETE", "/fapi/v1/allOpenOrders", {"symbol": v.symbol})
            try:
                v.c.request("DELETE", "/fapi/v1/algoOpenOrders", {"symbol": v.symbol})
            except BinanceApiError:
                pass
        amt, _ = v.position()
        if abs(amt) > 1e-12:
            qty = format(abs(amt), "f")
            try:
                r = v.c.request(
                    "POST",
                    "/fapi/v1/order",
                    {
                        "symbol": v.symbol,
                        "side": "SELL" if amt > 0 else "BUY",
                        "type": "MARKET",
                        "quantity": qty,
                        "reduceOnly": "true",
                        "newOrderRespType": "RESULT",
                        "newClientOrderId": f"vqkill-{int(time.time() * 1000)}",
                    },
                )
                closed += amt
                ap = float(r.get("avgPrice") or 0.0)
                px = ap if ap > 0 else px
            except BinanceApiError as e:
                if e.code != REDUCE_ONLY_REJECTED:
                    raise
        amt, _ = v.position()
        left = v.open_orders()
        if abs(amt) < 1e-12 and not left:
            return FlattenReport(cancelled, closed, px, 0.0, 0)
    amt, _ = v.position()
    return FlattenReport(cancelled, closed, px, amt, len(v.open_orders()))
