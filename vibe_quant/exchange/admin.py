"""The ``/admin`` API of the local exchange (tests and operators; NOT part of Binance's API).

Unauthenticated: the server binds 127.0.0.1 by default. Endpoints (JSON):

* ``GET  /admin/state`` — replay (cursor, bars replayed, paused, speed, finished), wallet,
  positions, open orders and algo orders, row counts, market subscriptions, listen keys.
* ``GET  /admin/trades`` / ``GET /admin/income`` / ``GET /admin/orders`` — the whole ledgers
  (``/fapi/v1/userTrades`` shapes, income rows, every order and algo order).
* ``POST /admin/pause``, ``POST /admin/resume``, ``POST /admin/step?n=N`` (close N bars now),
  ``POST /admin/speed?value=S``, ``POST /admin/close-streams`` (drop every WebSocket, to test
  client reconnects).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse

from vibe_quant.exchange import protocol as pr

if TYPE_CHECKING:
    from vibe_quant.exchange.server import Exchange


async def dispatch(ex: Exchange, request: Request) -> JSONResponse:
    path, method = request.url.path, request.method
    q = request.query_params
    if method == "GET" and path == "/admin/state":
        return JSONResponse(ex.state())
    if method == "GET" and path == "/admin/trades":
        rows = ex.store.trades(None, limit=10**9)
        return JSONResponse(
            [
                {
                    **pr.trade_json(t, ex.market.specs[t.symbol]),
                    "clientOrderId": t.client_order_id,
                    "liquidation": t.liquidation,
                }
                for t in rows
            ]
        )
    if method == "GET" and path == "/admin/income":
        return JSONResponse(
            [
                {
                    "id": i.id,
                    "symbol": i.symbol,
                    "incomeType": i.income_type,
                    "income": i.income,
                    "time": i.time,
                    "info": i.info,
                    "tradeId": i.trade_id,
                }
                for i in ex.store.income(limit=10**9)
            ]
        )
    if method == "GET" and path == "/admin/orders":
        return JSONResponse(
            {
                "orders": [
                    pr.order_json(o, ex.market.specs[o.symbol]) for o in ex.store.all_orders()
                ],
                "algo_orders": [
                    pr.algo_json(a, ex.market.specs[a.symbol]) for a in ex.store.all_algos()
                ],
            }
        )
    if method == "POST" and path == "/admin/pause":
        ex.clock.pause()
        return JSONResponse(ex.state()["replay"])
    if method == "POST" and path == "/admin/resume":
        ex.clock.resume()
        return JSONResponse(ex.state()["replay"])
    if method == "POST" and path == "/admin/step":
        try:
            n = int(q.get("n", "1"))
        except ValueError:
            return JSONResponse({"error": "n must be an integer"}, status_code=400)
        done = ex.clock.step_now(n)
        return JSONResponse({**ex.state()["replay"], "stepped": done})
    if method == "POST" and path == "/admin/speed":
        try:
            v = float(q.get("value", ""))
        except ValueError:
            v = 0.0
        if not v > 0:
            return JSONResponse({"error": "value must be a number > 0"}, status_code=400)
        ex.clock.speed = v
        return JSONResponse(ex.state()["replay"])
    if method == "POST" and path == "/admin/close-streams":
        return JSONResponse({"closed": ex.hub.close_all()})
    return JSONResponse({"error": f"no admin endpoint {method} {path}"}, status_code=404)
