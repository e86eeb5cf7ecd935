"""The matching engine and account of the local exchange (one account, one-way mode, isolated).

Execution rules (the backtest's conventions, SPEC.md 3, where Binance leaves a choice):

* **MARKET** fills at once at the last price (the close of the last replayed bar), taker fee.
* **LIMIT** (GTC/IOC/FOK/GTX): marketable on arrival (BUY limit ≥ last, SELL limit ≤ last)
  fills at once at the last price as taker (GTX is rejected with -5022 instead; IOC/FOK that
  are not marketable expire); otherwise it rests and fills at its limit price as maker when the
  bar path reaches it (also when the bar opens beyond it).
* **Conditional** (algo) STOP_MARKET / TAKE_PROFIT_MARKET trigger on the bar path; the triggered
  market order fills at the trigger price, or at the open when the bar gaps through it; taker
  fee. Stop BUY / take-profit SELL trigger when the price rises to the trigger, stop SELL /
  take-profit BUY when it falls to it. A trigger already crossed at submission is refused
  (-2021). The triggered order keeps the algo id as its order id and the ``clientAlgoId`` as
  its client order id.
* **Bar path** O→H→L→C: each segment processes the levels it crosses in path order; at the
  same level resting orders go before the liquidation check.
* **Reduce-only** regular orders are checked on submission (-2022 without a position to
  reduce); every reduce-only order is checked again at execution (the quantity is capped to the
  position; nothing to reduce → EXPIRED). Conditional orders are only checked when triggered.
* **Fees**: maker 0.0002, taker 0.0005 of fill notional (Binance VIP 0), rounded to 1e-8 USDT.
* **Margin**: isolated; an order's opening quantity needs qty × price / leverage of available
  balance (cross wallet − open-order margins), else -2019.
* **Liquidation**: when the path reaches the exact Binance isolated liquidation price
  (:mod:`.margin`), the whole position is closed by an ``autoclose-…`` order at the clearance
  price of :func:`vibe_quant.backtest.venue.liquidation_close` (no trading fee; the clearance fee
  is inside the price) and the symbol's open regular orders are canceled.
* **Funding** at each funding time: payment = −positionAmt × mark × rate, mark = the last close
  at or before the funding time; ``ACCOUNT_UPDATE`` with ``m=FUNDING_FEE``. It is settled when
  the replay moves past the funding time, i.e. after the clients saw the bar closing at it.

Every public method is one transaction of :class:`~vibe_quant.exchange.store.ExchangeStore`; on
any error the in-memory state is reloaded from the database, so it never diverges from disk.
Methods return ``(response document, user-stream events)``.
"""

from __future__ import annotations

import uuid
from typing import Any

from vibe_quant.exchange import margin as mg
from vibe_quant.exchange import protocol as pr
from vibe_quant.exchange.market import MarketData, SymbolSpec
from vibe_quant.exchange.models import AlgoOrder, Income, Order, Position, Trade
from vibe_quant.exchange.protocol import BinanceError, err
from vibe_quant.exchange.store import ExchangeStore
from vibe_quant.venues.binance.instruments import MAKER_FEE, TAKER_FEE

ASSET = "USDT"
ORDER_ID_START = 1_000_000_001
TRADE_ID_START = 500_000_001
ALGO_TYPES = ("STOP_MARKET", "TAKE_PROFIT_MARKET")
CONDITIONAL_TYPES = (
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
)
EPS = 1e-12

Events = list[dict[str, Any]]


def _bool(v: str | None, name: str) -> bool:
    if v is None or v == "":
        return False
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise pr.bad_param(name)


def _float(p: dict[str, str], name: str, *, required: bool = True) -> float | None:
    v = p.get(name)
    if v is None or v == "":
        if required:
            raise pr.mandatory(name)
        return None
    try:
        return float(v)
    except ValueError as e:
        raise pr.mandatory(name) from e


class Engine:
    """State and matching of the exchange (single-threaded; the server's event loop).

    Args:
        store: the state database.
        market: bars, funding and specs of the replayed symbols.
        starting_balance: USDT wallet balance of a new account.
        default_leverage: leverage of each symbol of a new account.
    """

    def __init__(
        self,
        store: ExchangeStore,
        market: MarketData,
        *,
        starting_balance: float = 10_000.0,
        default_leverage: int = 20,
    ):
        self.store, self.market, self.specs = store, market, market.specs
        self.maker_fee, self.taker_fee = float(MAKER_FEE), float(TAKER_FEE)
        with store.transaction():
            if store.get_meta("account_initialized") is None:
                store.set_balance(ASSET, float(starting_balance))
                store.set_meta("account_initialized", True)
            cfg = store.symbol_configs()
            for s in market.symbols:
                if s not in cfg:
                    store.set_symbol_config(s, int(default_leverage), "ISOLATED")
        self.now_ms = 0
        self.last_price: dict[str, float] = {}
        self._load()

    def _load(self) -> None:
        st = self.store
        self.wallet = float(st.balances().get(ASSET, 0.0))
        self.config = st.symbol_configs()
        self.positions = st.positions()
        for s in self.market.symbols:
            self.positions.setdefault(s, Position(s))
        self.orders = {o.order_id: o for o in st.open_orders()}
        self.algos = {a.algo_id: a for a in st.open_algos()}

    def _atomic(self, fn, *a, **k):
        try:
            with self.store.transaction():
                return fn(*a, **k)
        except BaseException:
            self._load()
            raise

    # ---- helpers ------------------------------------------------------------------------

    def spec(self, p: dict[str, str]) -> SymbolSpec:
        sym = (p.get("symbol") or "").upper()
        if not sym:
            raise pr.mandatory("symbol")
        if sym not in self.specs:
            raise err(pr.INVALID_SYMBOL)
        return self.specs[sym]

    def leverage(self, symbol: str) -> int:
        return self.config[symbol][0]

    def cross_wallet(self) -> float:
        return self.wallet - sum(p.isolated_margin for p in self.positions.values())

    def open_order_margin(self) -> float:
        tot = 0.0
        for o in self.orders.values():
            if o.type == "LIMIT" and not o.reduce_only:
                tot += mg.initial_margin(o.remaining, o.price, self.leverage(o.symbol))
        return tot

    def available(self) -> float:
        return self.cross_wallet() - self.open_order_margin()

    def mark(self, symbol: str) -> float:
        return self.last_price.get(symbol, 0.0)

    def _new_order_id(self) -> int:
        return self.store.next_id("order", ORDER_ID_START)

    def _account_event(self, reason: str, symbols: list[str], bc: float = 0.0) -> dict:
        rows = [(self.positions[s], self.specs[s], self.mark(s)) for s in symbols]
        return pr.account_update_event(
            reason, self.wallet, self.cross_wallet(), rows, self.now_ms, bc
        )

    def _save_order(self, o: Order) -> None:
        self.store.save_order(o)
        if o.is_open:
            self.orders[o.order_id] = o
        else:
            self.orders.pop(o.order_id, None)

    def _save_algo(self, a: AlgoOrder) -> None:
        self.store.save_algo(a)
        if a.is_open:
            self.algos[a.algo_id] = a
        else:
            self.algos.pop(a.algo_id, None)

    def _opening_qty(self, symbol: str, side_sign: int, qty: float) -> float:
        pos = self.positions[symbol]
        if pos.amt == 0 or pos.side == side_sign:
            return qty
        return max(0.0, qty - abs(pos.amt))

    def _qty(self, p: dict[str, str], spec: SymbolSpec, name: str = "quantity") -> float:
        q = _float(p, name)
        assert q is not None
        if q <= 0:
            raise err(pr.QTY_NOT_POSITIVE)
        if not spec.on_step(q):
            raise err(pr.PRECISION)
        if q < spec.min_qty - EPS or q > spec.max_qty + EPS:
            raise BinanceError(
                -4005,
                "Quantity greater than max quantity."
                if q > spec.max_qty
                else "Quantity less than min quantity.",
            )
        return spec.round_qty(q)

    def _price(self, p: dict[str, str], spec: SymbolSpec, name: str) -> float:
        px = _float(p, name)
        assert px is not None
        if px <= 0:
            raise BinanceError(-4001, "Price less than 0.")
        if not spec.on_tick(px):
            raise err(pr.PRICE_TICK)
        return spec.round_price(px)

    def _check_reduce_only(self, symbol: str, side_sign: int) -> None:
        pos = self.positions[symbol]
        if pos.amt == 0 or pos.side == side_sign:
            raise err(pr.REDUCE_ONLY_REJECTED)

    def _check_margin(self, symbol: str, opening_qty: float, price: float) -> None:
        need = mg.initial_margin(opening_qty, price, self.leverage(symbol))
        if need > self.available() + 1e-9:
            raise err(pr.MARGIN_INSUFFICIENT)

    # ---- fills --------------------------------------------------------------------------

    def _apply_fill(
        self, o: Order, qty: float, price: float, *, maker: bool, ts: int, liquidation: bool = False
    ) -> Events:
        """Book one fill of ``o``: position, wallet, trade, income; returns the events."""
        spec = self.specs[o.symbol]
        pos = self.positions[o.symbol]
        lev = self.leverage(o.symbol)
        s = 1 if o.side == "BUY" else -1
        realized = 0.0
        if pos.amt == 0 or pos.side == s:
            new_abs = abs(pos.amt) + qty
            pos.entry = (abs(pos.amt) * pos.entry + qty * price) / new_abs
            pos.isolated_margin += mg.initial_margin(qty, price, lev)
            pos.amt = round(pos.amt + s * qty, 9)
        else:
            close_q = min(qty, abs(pos.amt))
            realized = pos.side * close_q * (price - pos.entry)
            pos.isolated_margin -= pos.isolated_margin * close_q / abs(pos.amt)
            pos.amt = round(pos.amt + s * close_q, 9)
            if abs(pos.amt) < EPS:
                pos.amt, pos.entry, pos.isolated_margin = 0.0, 0.0, 0.0
            open_q = round(qty - close_q, 9)
            if open_q > EPS:
                pos.amt, pos.entry = s * open_q, price
                pos.isolated_margin = mg.initial_margin(open_q, price, lev)
        realized = round(realized, 8)
        fee_rate = self.maker_fee if maker else self.taker_fee
        commission = 0.0 if liquidation else round(qty * price * fee_rate, 8)
        self.wallet = round(self.wallet + realized - commission, 8)
        pos.realized = round(pos.realized + realized, 8)
        pos.isolated_margin = round(pos.isolated_margin, 8)
        pos.update_time = ts
        o.executed_qty = spec.round_qty(o.executed_qty + qty)
        o.cum_quote = round(o.cum_quote + qty * price, 8)
        o.status = "FILLED" if o.remaining < EPS else "PARTIALLY_FILLED"
        o.update_time = ts
        tid = self.store.next_id("trade", TRADE_ID_START)
        self.store.add_trade(
            Trade(
                tid,
                o.order_id,
                o.symbol,
                o.client_order_id,
                o.side,
                price,
                qty,
                round(qty * price, 8),
                realized,
                commission,
                maker,
                ts,
                liquidation,
            )
        )
        if realized:
            self._income(o.symbol, "REALIZED_PNL", realized, ts, tid)
        if commission:
            self._income(o.symbol, "COMMISSION", -commission, ts, tid)
        self.store.save_position(pos)
        self.store.set_balance(ASSET, self.wallet)
        self._save_order(o)
        return [
            pr.order_update_event(
                o,
                spec,
                exec_type="TRADE",
                now_ms=ts,
                last_qty=qty,
                last_price=price,
                commission=commission,
                trade_id=tid,
                maker=maker,
                realized=realized,
            ),
            self._account_event("ORDER", [o.symbol]),
        ]

    def _income(
        self,
        symbol: str,
        kind: str,
        amount: float,
        ts: int,
        trade_id: int | None = None,
        info: str = "",
    ) -> None:
        iid = self.store.next_id("income", 1)
        self.store.add_income(Income(iid, symbol, kind, round(amount, 8), ts, info, trade_id))

    def _expire(self, o: Order, ts: int) -> Events:
        o.status, o.update_time = "EXPIRED", ts
        self._save_order(o)
        return [pr.order_update_event(o, self.specs[o.symbol], exec_type="EXPIRED", now_ms=ts)]

    # ---- regular orders -----------------------------------------------------------------

    def new_order(self, p: dict[str, str]) -> tuple[dict, Events]:
        """``POST /fapi/v1/order`` (MARKET or LIMIT).

        Raises:
            BinanceError: -4120 for conditional types, -1116/-1117/-1121 invalid type/side/
                symbol, -1102 missing parameter, -4015 invalid / -4116 duplicated client order
                id, -2022 reduce-only without a position, -2019 margin insufficient, -4164 min
                notional, -5022 post-only would trade, -1111/-4014 precision/tick.
        """
        return self._atomic(self._new_order, p)

    def _new_order(self, p: dict[str, str]) -> tuple[dict, Events]:
        spec = self.spec(p)
        sym = spec.symbol
        side = p.get("side", "")
        if not side:
            raise pr.mandatory("side")
        if side not in ("BUY", "SELL"):
            raise err(pr.INVALID_SIDE)
        typ = p.get("type", "")
        if not typ:
            raise pr.mandatory("type")
        if typ in CONDITIONAL_TYPES:
            raise err(pr.USE_ALGO_API)
        if typ not in ("MARKET", "LIMIT"):
            raise err(pr.INVALID_TYPE)
        if p.get("positionSide", "BOTH") != "BOTH":
            raise err(pr.POSITION_SIDE)
        reduce_only = _bool(p.get("reduceOnly"), "reduceOnly")
        qty = self._qty(p, spec)
        tif = "GTC"
        price = 0.0
        if typ == "LIMIT":
            tif = p.get("timeInForce", "")
            if not tif:
                raise pr.mandatory("timeInForce")
            if tif not in ("GTC", "IOC", "FOK", "GTX"):
                raise err(pr.INVALID_TIF)
            price = self._price(p, spec, "price")
        cid = p.get("newClientOrderId") or f"vqx-{uuid.uuid4().hex[:24]}"
        if not pr.CLIENT_ID_RE.match(cid):
            raise err(pr.CLIENT_ID_INVALID)
        if any(o.client_order_id == cid for o in self.orders.values()):
            raise err(pr.CLIENT_ID_DUPLICATE)
        last = self.last_price.get(sym)
        if last is None:
            raise BinanceError(-1000, "No market price yet for this symbol.")
        s = 1 if side == "BUY" else -1
        marketable = typ == "MARKET" or (price >= last if s > 0 else price <= last)
        ref_px = last if marketable else price
        if reduce_only:
            self._check_reduce_only(sym, s)
        elif qty * ref_px < spec.min_notional - 1e-9:
            raise BinanceError(
                -4164,
                f"Order's notional must be no smaller than "
                f"{spec.min_notional:g} (unless you choose reduce only).",
            )
        if typ == "LIMIT" and tif == "GTX" and marketable:
            raise err(pr.POST_ONLY)
        if not reduce_only:
            self._check_margin(sym, self._opening_qty(sym, s, qty), ref_px)
        ts = self.now_ms
        o = Order(
            self._new_order_id(),
            sym,
            cid,
            side,
            typ,
            typ,
            tif,
            price,
            0.0,
            qty,
            0.0,
            0.0,
            "NEW",
            reduce_only,
            False,
            "CONTRACT_PRICE",
            ts,
            ts,
        )
        self._save_order(o)
        ack = pr.order_json(o, spec)
        events: Events = [pr.order_update_event(o, spec, exec_type="NEW", now_ms=ts)]
        if marketable:
            events += self._execute(o, last, maker=False, ts=ts)
        elif tif in ("IOC", "FOK"):
            events += self._expire(o, ts)
        if p.get("newOrderRespType", "ACK") == "RESULT":
            ack = pr.order_json(o, spec)
        return ack, events

    def _execute(self, o: Order, price: float, *, maker: bool, ts: int) -> Events:
        """Fill the rest of ``o`` at ``price`` honouring reduce-only (cap / expire)."""
        qty = o.remaining
        if o.reduce_only:
            pos = self.positions[o.symbol]
            s = 1 if o.side == "BUY" else -1
            if pos.amt == 0 or pos.side == s:
                return self._expire(o, ts)
            qty = min(qty, abs(pos.amt))
        ev = self._apply_fill(o, qty, price, maker=maker, ts=ts)
        if o.is_open:  # reduce-only remainder beyond the position
            ev += self._expire(o, ts)
        return ev

    def _find_order(self, spec: SymbolSpec, p: dict[str, str]) -> Order | None:
        if p.get("orderId"):
            try:
                o = self.store.order_by_id(int(p["orderId"]))
            except ValueError as e:
                raise pr.bad_param("orderId") from e
            return o if o is not None and o.symbol == spec.symbol else None
        cid = p.get("origClientOrderId")
        if not cid:
            raise BinanceError(
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        return self.store.order_by_client_id(spec.symbol, cid)

    def query_order(self, p: dict[str, str]) -> dict:
        """``GET /fapi/v1/order`` (open or closed; -2013 when unknown)."""
        spec = self.spec(p)
        o = self._find_order(spec, p)
        if o is None:
            raise err(pr.ORDER_NOT_FOUND)
        return pr.order_json(o, spec)

    def cancel_order(self, p: dict[str, str]) -> tuple[dict, Events]:
        """``DELETE /fapi/v1/order`` (-2011 when unknown or no longer open)."""
        return self._atomic(self._cancel_order, p)

    def _cancel_order(self, p: dict[str, str]) -> tuple[dict, Events]:
        spec = self.spec(p)
        o = self._find_order(spec, p)
        if o is None or not o.is_open:
            raise err(pr.UNKNOWN_ORDER)
        o = self.orders.get(o.order_id, o)
        ev = self._cancel(o)
        return pr.order_json(o, spec), ev

    def _cancel(self, o: Order) -> Events:
        o.status, o.update_time = "CANCELED", self.now_ms
        self._save_order(o)
        return [
            pr.order_update_event(o, self.specs[o.symbol], exec_type="CANCELED", now_ms=self.now_ms)
        ]

    def cancel_all(self, p: dict[str, str]) -> tuple[dict, Events]:
        """``DELETE /fapi/v1/allOpenOrders?symbol``."""

        def run():
            spec = self.spec(p)
            ev: Events = []
            for o in sorted(self.orders.values(), key=lambda x: x.order_id):
                if o.symbol == spec.symbol:
                    ev += self._cancel(o)
            return {"code": 200, "msg": "The operation of cancel all open order is done."}, ev

        return self._atomic(run)

    def open_orders(self, p: dict[str, str]) -> list[dict]:
        """``GET /fapi/v1/openOrders`` (all symbols without ``symbol``)."""
        sym = self.spec(p).symbol if p.get("symbol") else None
        return [
            pr.order_json(o, self.specs[o.symbol])
            for o in sorted(self.orders.values(), key=lambda x: x.order_id)
            if sym is None or o.symbol == sym
        ]

    def all_orders(self, p: dict[str, str]) -> list[dict]:
        spec = self.spec(p)
        limit = int(p.get("limit") or 500)
        rows = self.store.all_orders(spec.symbol)[-limit:]
        return [pr.order_json(o, spec) for o in rows]

    # ---- algo (conditional) orders ------------------------------------------------------

    def new_algo_order(self, p: dict[str, str]) -> tuple[dict, Events]:
        """``POST /fapi/v1/algoOrder`` (``algoType=CONDITIONAL``, STOP_MARKET or
        TAKE_PROFIT_MARKET; ``triggerPrice``; ``quantity`` or ``closePosition=true``).

        Reduce-only / closePosition are checked when the order triggers (Binance's Algo service
        accepts them without a position; a triggered one with nothing to reduce EXPIRES).

        Raises:
            BinanceError: -1116 unsupported type, -1102 missing parameter, -2021 would trigger
                immediately, -4116 duplicated ``clientAlgoId`` among open algo orders, -4015
                invalid id.
        """
        return self._atomic(self._new_algo, p)

    def _new_algo(self, p: dict[str, str]) -> tuple[dict, Events]:
        spec = self.spec(p)
        sym = spec.symbol
        if p.get("algoType", "") != "CONDITIONAL":
            raise (pr.mandatory("algoType") if not p.get("algoType") else pr.bad_param("algoType"))
        side = p.get("side", "")
        if side not in ("BUY", "SELL"):
            raise pr.mandatory("side") if not side else err(pr.INVALID_SIDE)
        typ = p.get("type") or p.get("orderType") or ""
        if not typ:
            raise pr.mandatory("type")
        if typ not in ALGO_TYPES:
            raise err(pr.INVALID_TYPE)
        if p.get("positionSide", "BOTH") != "BOTH":
            raise err(pr.POSITION_SIDE)
        close_position = _bool(p.get("closePosition"), "closePosition")
        reduce_only = _bool(p.get("reduceOnly"), "reduceOnly")
        qty = 0.0 if close_position and not p.get("quantity") else self._qty(p, spec)
        trig = self._price(p, spec, "triggerPrice")
        wt = p.get("workingType") or "CONTRACT_PRICE"
        if wt not in ("CONTRACT_PRICE", "MARK_PRICE"):
            raise pr.bad_param("workingType")
        cid = p.get("clientAlgoId") or f"vqx-{uuid.uuid4().hex[:24]}"
        if not pr.CLIENT_ID_RE.match(cid):
            raise err(pr.CLIENT_ID_INVALID)
        if any(a.client_algo_id == cid for a in self.algos.values()):
            raise err(pr.CLIENT_ID_DUPLICATE)
        last = self.last_price.get(sym)
        if last is None:
            raise BinanceError(-1000, "No market price yet for this symbol.")
        s = 1 if side == "BUY" else -1
        rising = (typ == "STOP_MARKET") == (s > 0)
        if (rising and trig <= last) or (not rising and trig >= last):
            raise err(pr.WOULD_TRIGGER)
        ts = self.now_ms
        a = AlgoOrder(
            self._new_order_id(),
            cid,
            sym,
            side,
            typ,
            qty,
            trig,
            0.0,
            wt,
            p.get("timeInForce") or "GTC",
            reduce_only,
            close_position,
            "NEW",
            0.0,
            0.0,
            ts,
            ts,
        )
        self._save_algo(a)
        return pr.algo_json(a, spec), [pr.algo_update_event(a, spec, ts)]

    def _find_algo(self, p: dict[str, str]) -> AlgoOrder | None:
        if p.get("algoId"):
            try:
                return self.store.algo_by_id(int(p["algoId"]))
            except ValueError as e:
                raise pr.bad_param("algoId") from e
        cid = p.get("clientAlgoId")
        if not cid:
            raise BinanceError(
                -1102, "Param 'clientAlgoId' or 'algoId' must be sent, but both were empty/null!"
            )
        return self.store.algo_by_client_id(cid)

    def query_algo(self, p: dict[str, str]) -> dict:
        """``GET /fapi/v1/algoOrder`` (-2013 when unknown)."""
        a = self._find_algo(p)
        if a is None:
            raise err(pr.ORDER_NOT_FOUND)
        return pr.algo_json(a, self.specs[a.symbol])

    def cancel_algo(self, p: dict[str, str]) -> tuple[dict, Events]:
        """``DELETE /fapi/v1/algoOrder`` (-2011 when unknown or no longer open)."""

        def run():
            a = self._find_algo(p)
            if a is None or not a.is_open:
                raise err(pr.UNKNOWN_ORDER)
            a = self.algos.get(a.algo_id, a)
            ev = self._cancel_algo(a)
            return {
                "algoId": a.algo_id,
                "clientAlgoId": a.client_algo_id,
                "code": "200",
                "msg": "success",
            }, ev

        return self._atomic(run)

    def _cancel_algo(self, a: AlgoOrder, status: str = "CANCELED") -> Events:
        a.status, a.update_time = status, self.now_ms
        self._save_algo(a)
        return [pr.algo_update_event(a, self.specs[a.symbol], self.now_ms)]

    def cancel_all_algos(self, p: dict[str, str]) -> tuple[dict, Events]:
        """``DELETE /fapi/v1/algoOpenOrders?symbol``."""

        def run():
            spec = self.spec(p)
            ev: Events = []
            for a in sorted(self.algos.values(), key=lambda x: x.algo_id):
                if a.symbol == spec.symbol:
                    ev += self._cancel_algo(a)
            return {"code": 200, "msg": "The operation of cancel all open order is done."}, ev

        return self._atomic(run)

    def open_algos(self, p: dict[str, str]) -> list[dict]:
        sym = self.spec(p).symbol if p.get("symbol") else None
        return [
            pr.algo_json(a, self.specs[a.symbol])
            for a in sorted(self.algos.values(), key=lambda x: x.algo_id)
            if sym is None or a.symbol == sym
        ]

    def _trigger_algo(self, a: AlgoOrder, price: float, ts: int) -> Events:
        spec = self.specs[a.symbol]
        pos = self.positions[a.symbol]
        s = 1 if a.side == "BUY" else -1
        qty = abs(pos.amt) if a.close_position else a.qty
        if a.reduce_only or a.close_position:
            if pos.amt == 0 or pos.side == s:
                a.trigger_time = ts
                return self._cancel_algo(a, "EXPIRED")
            qty = min(qty, abs(pos.amt))
        else:
            opening = self._opening_qty(a.symbol, s, qty)
            if mg.initial_margin(opening, price, self.leverage(a.symbol)) > self.available() + 1e-9:
                a.trigger_time = ts
                return self._cancel_algo(a, "EXPIRED")
        a.status, a.trigger_time, a.update_time, a.actual_order_id = "TRIGGERED", ts, ts, a.algo_id
        ev = [pr.algo_update_event(a, spec, ts)]
        o = Order(
            a.algo_id,
            a.symbol,
            a.client_algo_id,
            a.side,
            a.order_type,
            a.order_type,
            "GTC",
            0.0,
            a.trigger_price,
            spec.round_qty(qty),
            0.0,
            0.0,
            "NEW",
            a.reduce_only or a.close_position,
            a.close_position,
            a.working_type,
            ts,
            ts,
            a.algo_id,
        )
        self._save_order(o)
        ev.append(pr.order_update_event(o, spec, exec_type="NEW", now_ms=ts))
        ev += self._apply_fill(o, o.qty, price, maker=False, ts=ts)
        a.status, a.update_time = "FINISHED", ts
        a.executed_qty, a.avg_price = o.executed_qty, o.avg_price
        self._save_algo(a)
        ev.append(pr.algo_update_event(a, spec, ts))
        return ev

    # ---- leverage / margin type ---------------------------------------------------------

    def set_leverage(self, p: dict[str, str]) -> dict:
        """``POST /fapi/v1/leverage`` (1 … the first bracket's max leverage; applies to
        margin taken from now on)."""

        def run():
            spec = self.spec(p)
            raw = p.get("leverage")
            if not raw:
                raise pr.mandatory("leverage")
            try:
                lev = int(raw)
            except ValueError as e:
                raise err(pr.LEVERAGE_INVALID, raw) from e
            from vibe_quant.venues.binance.instruments import leverage_brackets

            max_lev = int(leverage_brackets(spec.symbol)[0].max_leverage)
            if not 1 <= lev <= max_lev:
                raise err(pr.LEVERAGE_INVALID, raw)
            mt = self.config[spec.symbol][1]
            self.store.set_symbol_config(spec.symbol, lev, mt)
            self.config[spec.symbol] = (lev, mt)
            cap = next(
                (b.notional_cap for b in leverage_brackets(spec.symbol) if b.max_leverage >= lev),
                0.0,
            )
            return {"leverage": lev, "maxNotionalValue": f"{cap:.0f}", "symbol": spec.symbol}

        return self._atomic(run)

    def set_margin_type(self, p: dict[str, str]) -> dict:
        """``POST /fapi/v1/marginType`` — only ISOLATED is simulated (CROSSED → -1130)."""

        def run():
            spec = self.spec(p)
            mt = (p.get("marginType") or "").upper()
            if not mt:
                raise pr.mandatory("marginType")
            if mt != "ISOLATED":
                raise pr.bad_param("marginType")
            if self.config[spec.symbol][1] == mt:
                raise err(pr.NO_NEED_MARGIN_TYPE)
            if self.positions[spec.symbol].amt != 0:
                raise err(pr.MARGIN_TYPE_WITH_POSITION)
            lev = self.config[spec.symbol][0]
            self.store.set_symbol_config(spec.symbol, lev, mt)
            self.config[spec.symbol] = (lev, mt)
            return {"code": 200, "msg": "success"}

        return self._atomic(run)

    # ---- market replay: bars and funding ------------------------------------------------

    def settle_funding(self, symbol: str, funding_ms: int, rate: float, mark: float) -> Events:
        """Pay/receive funding of ``symbol`` at ``funding_ms`` (caller holds the transaction)."""
        pos = self.positions[symbol]
        if pos.amt == 0:
            return []
        pay = round(mg.funding_payment(pos.amt, mark, rate), 8)
        self.wallet = round(self.wallet + pay, 8)
        self.store.set_balance(ASSET, self.wallet)
        self._income(
            symbol,
            "FUNDING_FEE",
            pay,
            funding_ms,
            info=f"rate={rate!r} mark={mark!r} positionAmt={pos.amt!r}",
        )
        saved, self.now_ms = self.now_ms, funding_ms
        try:
            return [self._account_event("FUNDING_FEE", [symbol], pay)]
        finally:
            self.now_ms = saved

    def walk_bar(self, symbol: str, o: float, h: float, lo: float, c: float, ts: int) -> Events:
        """Match resting orders, algo orders and the liquidation price along O→H→L→C (caller
        holds the transaction); fills are stamped ``ts`` (the bar's close time)."""
        ev: Events = []
        ev += self._cross(symbol, o, o, ts, at_open=True)
        cur = o
        for target in (h, lo, c):
            ev += self._cross(symbol, cur, target, ts)
            cur = target
        return ev

    def _levels(self, symbol: str, rising: bool) -> list[tuple[float, int, int, str, Any]]:
        """``(level, priority, id, kind, obj)`` of everything that triggers when the price
        reaches ``level`` moving up (``rising``) or down."""
        out = []
        for a in self.algos.values():
            if a.symbol == symbol and a.status == "NEW":
                r = (a.order_type == "STOP_MARKET") == (a.side == "BUY")
                if r == rising:
                    out.append((a.trigger_price, 0, a.algo_id, "algo", a))
        for o in self.orders.values():
            if o.symbol == symbol and o.type == "LIMIT" and o.is_open:
                if (o.side == "SELL") == rising:
                    out.append((o.price, 0, o.order_id, "limit", o))
        pos = self.positions[symbol]
        if pos.amt != 0 and (pos.side < 0) == rising:
            lp = mg.exact_liquidation_price(symbol, pos)
            if lp is not None:
                out.append((lp, 1, 0, "liq", pos))
        return out

    def _cross(self, symbol: str, a: float, b: float, ts: int, at_open: bool = False) -> Events:
        ev: Events = []
        cur = a
        for _ in range(10_000):
            if at_open:
                cands = [x for x in self._levels(symbol, True) if x[0] <= a]
                cands += [x for x in self._levels(symbol, False) if x[0] >= a]
                cands.sort(key=lambda x: (x[1], x[2]))
            elif b > cur:
                cands = sorted(
                    (x for x in self._levels(symbol, True) if cur <= x[0] <= b),
                    key=lambda x: (x[0], x[1], x[2]),
                )
            elif b < cur:
                cands = sorted(
                    (x for x in self._levels(symbol, False) if b <= x[0] <= cur),
                    key=lambda x: (-x[0], x[1], x[2]),
                )
            else:
                return ev
            if not cands:
                return ev
            level, _, _, kind, obj = cands[0]
            if kind == "algo":
                ev += self._trigger_algo(obj, a if at_open else level, ts)
            elif kind == "limit":
                ev += self._execute(obj, obj.price, maker=True, ts=ts)
            else:
                ev += self._liquidate(symbol, a if at_open else level, ts)
            if not at_open:
                cur = level
        raise RuntimeError(f"matching did not converge on {symbol} at {ts}")

    def _liquidate(self, symbol: str, ref: float, ts: int) -> Events:
        spec = self.specs[symbol]
        pos = self.positions[symbol]
        ev: Events = []
        for o in sorted(self.orders.values(), key=lambda x: x.order_id):
            if o.symbol == symbol:
                ev += self._cancel(o)
        price, clearance, absorbed = mg.liquidation_fill(pos, ref, spec.liquidation_fee)
        price = spec.round_price(price)
        side = "SELL" if pos.amt > 0 else "BUY"
        o = Order(
            self._new_order_id(),
            symbol,
            f"autoclose-{ts}{self.store.next_id('liq', 1)}",
            side,
            "MARKET",
            "MARKET",
            "IOC",
            0.0,
            0.0,
            abs(pos.amt),
            0.0,
            0.0,
            "NEW",
            True,
            False,
            "CONTRACT_PRICE",
            ts,
            ts,
        )
        self._save_order(o)
        ev += self._apply_fill(o, o.qty, price, maker=False, ts=ts, liquidation=True)
        self._income(
            symbol,
            "INSURANCE_CLEAR",
            0.0,
            ts,
            info=f"clearance_fee={clearance!r} insurance_absorbed={absorbed!r} ref_price={ref!r}",
        )
        return ev

    # ---- documents ----------------------------------------------------------------------

    def position_risk(self, p: dict[str, str]) -> list[dict]:
        """``GET /fapi/v2/positionRisk`` (every replayed symbol, or ``symbol``)."""
        syms = [self.spec(p).symbol] if p.get("symbol") else self.market.symbols
        out = []
        for s in syms:
            pos, spec, mark = self.positions[s], self.specs[s], self.mark(s)
            up = mg.unrealized_pnl(pos, mark)
            lp = mg.position_liquidation_price(s, pos, spec.tick_size) if pos.amt else None
            cap = mg.bracket_for(s, abs(pos.amt) * mark).notional_cap
            out.append(
                {
                    "symbol": s,
                    "positionAmt": spec.fmt_qty(pos.amt),
                    "entryPrice": f"{pos.entry:.8f}",
                    "breakEvenPrice": f"{pos.entry:.8f}",
                    "markPrice": spec.fmt_price(mark),
                    "unRealizedProfit": pr.money(up),
                    "liquidationPrice": spec.fmt_price(lp or 0.0),
                    "leverage": str(self.leverage(s)),
                    "maxNotionalValue": f"{cap:.0f}",
                    "marginType": "isolated",
                    "isolatedMargin": pr.money(pos.isolated_margin + up),
                    "isAutoAddMargin": "false",
                    "positionSide": "BOTH",
                    "notional": pr.money(pos.amt * mark),
                    "isolatedWallet": pr.money(pos.isolated_margin),
                    "updateTime": pos.update_time,
                    "adlQuantile": 0,
                }
            )
        return out

    def account(self) -> dict:
        """``GET /fapi/v2/account`` (one USDT asset; positions of the replayed symbols)."""
        pos_im = order_im = mm = up = 0.0
        rows = []
        for s in self.market.symbols:
            pos, spec, mark = self.positions[s], self.specs[s], self.mark(s)
            lev = self.leverage(s)
            pim = mg.initial_margin(pos.amt, mark, lev) if pos.amt else 0.0
            oim = sum(
                mg.initial_margin(o.remaining, o.price, lev)
                for o in self.orders.values()
                if o.symbol == s and o.type == "LIMIT" and not o.reduce_only
            )
            m = mg.maintenance_margin(s, pos, mark)
            u = mg.unrealized_pnl(pos, mark)
            pos_im, order_im, mm, up = pos_im + pim, order_im + oim, mm + m, up + u
            rows.append(
                {
                    "symbol": s,
                    "initialMargin": pr.money(pim + oim),
                    "maintMargin": pr.money(m),
                    "unrealizedProfit": pr.money(u),
                    "positionInitialMargin": pr.money(pim),
                    "openOrderInitialMargin": pr.money(oim),
                    "leverage": str(lev),
                    "isolated": True,
                    "entryPrice": f"{pos.entry:.8f}",
                    "breakEvenPrice": f"{pos.entry:.8f}",
                    "maxNotional": "0",
                    "bidNotional": "0",
                    "askNotional": "0",
                    "positionSide": "BOTH",
                    "positionAmt": spec.fmt_qty(pos.amt),
                    "updateTime": pos.update_time,
                }
            )
        wb, cw, avail = self.wallet, self.cross_wallet(), max(0.0, self.available())
        money = pr.money
        return {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": True,
            "feeBurn": False,
            "tradeGroupId": -1,
            "updateTime": 0,
            "multiAssetsMargin": False,
            "totalInitialMargin": money(pos_im + order_im),
            "totalMaintMargin": money(mm),
            "totalWalletBalance": money(wb),
            "totalUnrealizedProfit": money(up),
            "totalMarginBalance": money(wb + up),
            "totalPositionInitialMargin": money(pos_im),
            "totalOpenOrderInitialMargin": money(order_im),
            "totalCrossWalletBalance": money(cw),
            "totalCrossUnPnl": money(0.0),
            "availableBalance": money(avail),
            "maxWithdrawAmount": money(avail),
            "assets": [
                {
                    "asset": ASSET,
                    "walletBalance": money(wb),
                    "unrealizedProfit": money(up),
                    "marginBalance": money(wb + up),
                    "maintMargin": money(mm),
                    "initialMargin": money(pos_im + order_im),
                    "positionInitialMargin": money(pos_im),
                    "openOrderInitialMargin": money(order_im),
                    "crossWalletBalance": money(cw),
                    "crossUnPnl": money(0.0),
                    "availableBalance": money(avail),
                    "maxWithdrawAmount": money(avail),
                    "marginAvailable": True,
                    "updateTime": self.now_ms,
                }
            ],
            "positions": rows,
        }

    def user_trades(self, p: dict[str, str]) -> list[dict]:
        """``GET /fapi/v1/userTrades`` (``symbol`` required; fromId/startTime/endTime/orderId;
        limit ≤ 1000, default 500)."""
        spec = self.spec(p)

        def opt(name):
            v = p.get(name)
            if v in (None, ""):
                return None
            try:
                return int(v)
            except ValueError as e:
                raise pr.bad_param(name) from e

        limit = min(opt("limit") or 500, 1000)
        rows = self.store.trades(
            spec.symbol,
            from_id=opt("fromId"),
            start_ms=opt("startTime"),
            end_ms=opt("endTime"),
            order_id=opt("orderId"),
            limit=limit,
        )
        return [pr.trade_json(t, spec) for t in rows]

    def income(self, p: dict[str, str]) -> list[dict]:
        """``GET /fapi/v1/income`` (FUNDING_FEE, COMMISSION, REALIZED_PNL, INSURANCE_CLEAR)."""
        sym = self.spec(p).symbol if p.get("symbol") else None
        rows = self.store.income(
            sym,
            p.get("incomeType") or None,
            int(p["startTime"]) if p.get("startTime") else None,
            int(p["endTime"]) if p.get("endTime") else None,
            min(int(p.get("limit") or 100), 1000),
        )
        return [
            {
                "symbol": i.symbol,
                "incomeType": i.income_type,
                "income": pr.money(i.income),
                "asset": ASSET,
                "info": i.info,
                "time": i.time,
                "tranId": i.id,
                "tradeId": str(i.trade_id) if i.trade_id else "",
            }
            for i in rows
        ]
