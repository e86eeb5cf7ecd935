"""The compiled strategy, made fit for a live node: :func:`paper_class` wraps any
:class:`~vibe_quant.strategy.base.VQStrategy` subclass (the DSL compiler's class) in
:class:`PaperMixin` without changing a single decision rule.

What the mixin adds (hazards measured on NautilusTrader 1.231, ``../shared/notes/nautilus-live.md``
§5):

* **Bar time convention.** A live kline's ``ts_event`` is its close time open + interval − 1 ms;
  the backtest stamps bars at open + interval. Every bar (live and historical) is rebuilt with
  ``ts_event = ceil(ts_event / interval) × interval`` before the strategy sees it, so decisions
  and time filters see the backtest's timestamps. Fill timestamps are normalised the same way
  (a market order made at bar B and filled after B's close is stamped B, as in the backtest).
* **Warm-up.** ``request_bars`` fetches ``warmup`` closed klines at start; they feed the
  indicators with trading off (``ctx.trade_start_ns``); live bars that arrive meanwhile are
  buffered and processed afterwards, each bar exactly once.
* **Funding.** The venue sends a ``FundingRateUpdate`` with every mark-price message (every 1 s
  on Binance); only a *settlement* reaches the strategy: at the first bar closing after the
  announced ``next_funding_ns``, with the rate announced for it and the close of the last bar at
  or before it (the backtest's funding rule, SPEC.md §3).
* **Write-ahead intents and deterministic client order ids.** Every order gets the id
  ``VQP<run>-<bar close in minutes>-<role><n>`` (E entry, X exit, S stop, T take-profit,
  G liquidation guard, R breaker close, D end-of-data); the intent row is committed to SQLite
  before ``submit_order``. After a restart the same decision produces the same id: an order the
  venue already has is not sent again (reconciled open orders are in the cache) and a duplicate
  that reaches the venue is rejected there (Binance -4116) and ignored here.
* **Restart.** Reconciliation does not call the strategy's handlers: ``on_start`` rebuilds the
  position, the stop / take-profit / guard ids, the exit-reason tags, the entry decision
  (``_sig``) and the circuit-breaker state from the cache and the journal, and re-places a
  protective order that is missing.
* **Control.** A 0.5 s clock timer writes the heartbeat and reads the stop / kill flags from
  SQLite (never another thread touching the node): kill → ``market_exit`` (cancel all, close at
  market) → ``shutdown_system``; stop → ``shutdown_system`` (orders stay unless ``--flatten``).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from nautilus_trader.core import nautilus_pyo3 as n3
from nautilus_trader.core.nautilus_pyo3.trading import Strategy, StrategyConfig

from vibe_quant.core.errors import VenueError
from vibe_quant.paper import journal as J

ROLE_CODES = {
    "entry": "E",
    "exit": "X",
    "stop": "S",
    "take_profit": "T",
    "guard": "G",
    "risk": "R",
    "end_of_data": "D",
    "order": "O",
}
TIMER = "vq-paper-hb"
TIMER_NS = 500_000_000
KILL_GRACE_NS = 3_000_000_000


def role_of(tag: str, order_type: str, reduce_only: bool) -> str:
    """Role of an order from its exit-reason tag and type (see the module docstring)."""
    if tag == "liquidation":
        return "guard"
    if tag == "take_profit":
        return "take_profit"
    if tag == "stop_loss" and order_type != "MARKET":
        return "stop"
    if tag == "risk_halt":
        return "risk"
    if tag == "end_of_data":
        return "end_of_data"
    if order_type == "MARKET":
        return "exit" if reduce_only else "entry"
    return "order"


class _Event:
    """A fill event with a normalised ``ts_event`` (everything else from the original)."""

    __slots__ = ("_e", "ts_event")

    def __init__(self, e: Any, ts: int):
        self._e, self.ts_event = e, ts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._e, name)


class PositionOpened:
    """Stand-in for Nautilus's ``PositionOpened`` when a restart re-places protective orders
    (the DSL strategy reads only the type name and ``avg_px_open``)."""

    def __init__(self, avg_px_open: float):
        self.avg_px_open = avg_px_open


class _Funding:
    __slots__ = ("ts_event", "rate", "interval", "next_funding_ns", "ts_init")

    def __init__(self, ts: int, rate: float):
        self.ts_event = self.ts_init = self.next_funding_ns = ts
        self.rate = rate
        self.interval = 480


class _Factory:
    """``order_factory`` wrapper that gives every order its deterministic client order id."""

    def __init__(self, strat: Any, real: Any):
        self.s, self.real = strat, real

    def _cid(self, tag: str | None, order_type: str, reduce_only: bool) -> Any:
        return self.s._paper_next_id(tag or "signal", order_type, bool(reduce_only))

    def market(self, iid, side, qty, *a, **k):
        if k.get("client_order_id") is None:
            k["client_order_id"] = self._cid(
                (k.get("tags") or [None])[0], "MARKET", k.get("reduce_only")
            )
        return self.real.market(iid, side, qty, *a, **k)

    def limit(self, iid, side, qty, price, *a, **k):
        if k.get("client_order_id") is None:
            k["client_order_id"] = self._cid(
                (k.get("tags") or [None])[0], "LIMIT", k.get("reduce_only")
            )
        return self.real.limit(iid, side, qty, price, *a, **k)

    def stop_market(self, iid, side, qty, trigger, *a, **k):
        if k.get("client_order_id") is None:
            k["client_order_id"] = self._cid(
                (k.get("tags") or [None])[0], "STOP_MARKET", k.get("reduce_only")
            )
        return self.real.stop_market(iid, side, qty, trigger, *a, **k)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class InstrumentNotFoundError(VenueError, RuntimeError):
    """The venue does not list the run's instrument."""


def _json_state(obj: Any, skip: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for k, v in vars(obj).items():
        if k in skip:
            continue
        if isinstance(v, float) and not math.isfinite(v):
            continue
        if isinstance(v, (int, float, bool, str, type(None))):
            out[k] = v
    return out


class PaperMixin:
    """Live-node behaviour for a compiled strategy; combine with :func:`paper_class`.

    Set after construction: ``paper_setup(journal, run_id, interval_ns, warmup_bars,
    restored)`` (see :mod:`vibe_quant.paper.child`)."""

    def __init__(self, ctx: Any, params: dict[str, Any] | None = None, **k: Any) -> None:
        super().__init__(ctx, params, **k)
        sid = k.get("strategy_id", "VQ-001")
        # external_order_claims: after a restart the strategy owns the orders and the position
        # reconciliation finds for its instrument (measured necessary on 1.231)
        Strategy.__init__(
            self,
            StrategyConfig(
                strategy_id=n3.StrategyId(sid),
                external_order_claims=[ctx.instrument_id],
                log_events=False,
                log_commands=False,
            ),
        )

    # ------------------------------------------------------------------ setup
    def paper_setup(
        self,
        journal: J.Journal,
        interval_ns: int,
        warmup_bars: int,
        restored: dict[str, Any] | None,
    ) -> None:
        self._j = journal
        self._iv = int(interval_ns)
        self._warm_n = max(2, int(warmup_bars) + 2)
        self._restored = restored or {}
        self._warm_done = False
        self._buffer: list[Any] = []
        self._last_ns = int(self._restored.get("last_bar_ns") or 0)
        self._fed_max = 0
        self._id_bar: int | None = None
        self._id_seq: dict[tuple[int, str], int] = {}
        self._intent: dict[str, dict[str, Any]] = {}
        self._fund_next = 0
        self._fund_rate = 0.0
        self._closes: list[tuple[int, float]] = []
        self._bar_wall_ns = 0
        self._halted = False
        self._exiting = False
        self._exit_deadline = 0
        self._exit_reason = ""
        self._risk_seen = 0
        self._denied_seen = 0
        self.latencies_ms: list[float] = []

    def _px(self, price: float) -> Any:
        return n3.Price(round(price, self._tick_dp), self.ctx.price_precision)

    @property
    def order_factory(self) -> Any:
        return _Factory(self, Strategy.order_factory.__get__(self))

    # ------------------------------------------------------------------ ids and intents
    def _paper_next_id(self, tag: str, order_type: str, reduce_only: bool) -> Any:
        bar = self._id_bar if self._id_bar is not None else max(self._bar_ts, self._last_ns)
        role = role_of(tag, order_type, reduce_only)
        code = ROLE_CODES[role]
        minute = bar // 60_000_000_000
        n = self._id_seq.get((minute, code), 0)
        self._id_seq[(minute, code)] = n + 1
        return n3.ClientOrderId(f"VQP{self._j.run_id}-{minute}-{code}{n}")

    def submit_order(self, order: Any, *a: Any, **k: Any) -> None:
        cid = str(order.client_order_id)
        tag = self._tags.get(cid, "signal")
        otype = str(order.order_type).split(".")[-1].upper()
        reduce_only = bool(order.is_reduce_only)
        role = role_of(tag, otype, reduce_only)
        px = getattr(order, "trigger_price", None) or getattr(order, "price", None)
        side = 1 if order.side == n3.OrderSide.BUY else -1
        qty = order.quantity.as_double()
        bar = self._id_bar if self._id_bar is not None else max(self._bar_ts, self._last_ns)
        sig = list(self._sig) if role == "entry" and getattr(self, "_sig", ()) else None
        new = self._j.intent(
            cid,
            role=role,
            tag=tag,
            bar_ns=bar,
            side=side,
            qty=qty,
            order_type=otype,
            price=px.as_double() if px else None,
            reduce_only=reduce_only,
            sig=sig,
        )
        self._intent[cid] = {"role": role, "bar_ns": bar, "type": otype}
        if not new and self.cache.order(order.client_order_id) is not None:
            # re-decided after a restart and the venue already has it (reconciled): not resent
            self._j.event(bar, "reconcile", {"order_id": cid, "action": "not resent"})
            return
        lat = (time.time_ns() - self._bar_wall_ns) / 1e6 if self._bar_wall_ns else None
        if lat is not None and role in ("entry", "exit"):
            self.latencies_ms.append(lat)
        self._j.event(
            bar,
            "order",
            {
                "order_id": cid,
                "order_type": otype,
                "side": side,
                "qty": qty,
                "price": px.as_double() if px else None,
                "reduce_only": reduce_only,
                "tag": tag,
                "role": role,
                "latency_ms": lat,
            },
        )
        Strategy.submit_order(self, order, *a, **k)

    # ------------------------------------------------------------------ lifecycle
    def on_start(self) -> None:
        inst = self.cache.instrument(self.ctx.instrument_id)
        if inst is None:
            raise InstrumentNotFoundError(
                f"instrument {self.ctx.instrument_id} not found at the venue"
            )
        c = self.ctx
        c.price_increment = inst.price_increment.as_double()
        c.size_increment = inst.size_increment.as_double()
        c.price_precision = inst.price_precision
        c.size_precision = inst.size_precision
        from decimal import Decimal

        # prices are rounded to the tick's decimals, as the backtest's instrument does (the
        # adapter's instrument carries tick 0.10 at precision 2)
        self._tick_dp = max(0, -Decimal(str(c.price_increment)).normalize().as_tuple().exponent)
        mq = getattr(inst, "min_quantity", None)
        c.min_qty = mq.as_double() if mq is not None else c.size_increment
        super().on_start()
        if self.risk_monitor is None and not self._rt.filter.needs_funding:
            self.subscribe_funding_rates(self.ctx.instrument_id)
        self._rebuild()
        self.clock.set_timer_ns(TIMER, TIMER_NS)
        self.request_bars(self.ctx.bar_type, None, None, self._warm_n)
        self._j.event(
            self._ev_ts(), "start", {"restored": bool(self._last_ns), "position": self._pos}
        )

    def _rebuild(self) -> None:
        """State a restart must not lose: from the venue (cache, after reconciliation) and the
        journal."""
        iid = self.ctx.instrument_id
        pos = 0.0
        avg = None
        for p in self.cache.positions_open():
            if p.instrument_id == iid and p.signed_qty != 0:
                pos += p.signed_qty
                avg = float(p.avg_px_open)
        self._pos = round(pos, self.ctx.size_precision)
        for r in self._j.intents():
            self._tags[r["client_order_id"]] = r["tag"]
            self._intent[r["client_order_id"]] = {
                "role": r["role"],
                "bar_ns": r["bar_ns"],
                "type": r["order_type"],
            }
        entry_bar, sig = None, None
        for r in self._j.intents():
            if r["role"] == "entry":
                entry_bar, sig = r["bar_ns"], r["sig"]
        for o in self.cache.orders_open():
            if o.instrument_id != iid:
                continue
            role = self._intent.get(str(o.client_order_id), {}).get("role")
            if role == "guard":
                self._guard_id = o.client_order_id
            elif role == "stop":
                self._stop_id = o.client_order_id
            elif role == "take_profit":
                self._tp_id = o.client_order_id
        st = self._restored.get("strategy_state") or {}
        for k in ("_in_trade", "_bal_before"):
            if k in st and hasattr(self, k):
                setattr(self, k, st[k])
        if self.risk_monitor is not None and self._restored.get("breaker"):
            for k, v in self._restored["breaker"].items():
                if hasattr(self.risk_monitor, k) and k not in ("cfg", "events"):
                    setattr(self.risk_monitor, k, v)
        if abs(self._pos) >= self.ctx.size_increment / 2 and avg is not None:
            # protective orders of the open position that the venue does not hold (killed
            # between the entry fill and their submission): place them again, same ids
            self._id_bar = entry_bar if entry_bar is not None else self._last_ns
            was = self._trading
            self._trading = True
            try:
                ev = PositionOpened(avg)
                if self._guard_id is None and self.ctx.liquidation_guard:
                    self._place_guard(ev)
                if (
                    self._stop_id is None
                    and self._tp_id is None
                    and sig
                    and hasattr(self, "_on_opened")
                ):
                    self._sig = tuple(sig)
                    self._on_opened(ev)
            finally:
                self._trading = was
                self._id_bar = None
        self._j.event(
            self._ev_ts(),
            "reconcile",
            {
                "position": self._pos,
                "avg_entry": avg,
                "open_orders": [
                    str(o.client_order_id)
                    for o in self.cache.orders_open()
                    if o.instrument_id == iid
                ],
            },
        )

    def _ev_ts(self) -> int:
        """Event time: the last processed bar close, else the trading start (market time)."""
        return self._last_ns or int(self.ctx.trade_start_ns)

    # ------------------------------------------------------------------ bars
    def _norm(self, ts: int) -> int:
        iv = self._iv
        return -(-int(ts) // iv) * iv

    def _norm_bar(self, bar: Any) -> Any:
        ts = self._norm(bar.ts_event)
        if ts == bar.ts_event:
            return bar
        return n3.Bar(
            bar.bar_type, bar.open, bar.high, bar.low, bar.close, bar.volume, ts, bar.ts_init
        )

    def on_historical_bars(self, bars: list[Any]) -> None:
        hist = sorted((self._norm_bar(b) for b in bars), key=lambda b: b.ts_event)
        if len(hist) >= 2:
            # only the latest closed bar may still act (a decision a crash interrupted);
            # older bars only warm the indicators up
            self.ctx.trade_start_ns = max(self.ctx.trade_start_ns, hist[-2].ts_event)
        for b in hist:
            self._process(b, historical=True)
        self._warm_done = True
        buf, self._buffer = self._buffer, []
        for b in buf:
            self._process(b, historical=False)

    def on_bar(self, bar: Any) -> None:
        self._bar_wall_ns = time.time_ns()
        b = self._norm_bar(bar)
        if not self._warm_done:
            self._buffer.append(b)
            return
        self._process(b, historical=False)

    def _process(self, bar: Any, historical: bool) -> None:
        ts = bar.ts_event
        if ts <= self._fed_max:
            return  # each bar once (history and the live stream overlap)
        self._fed_max = ts
        if self._halted or self._exiting:
            return
        if self._fund_next and ts > self._fund_next:
            self._settle_funding()
        self._closes.append((ts, bar.close.as_double()))
        if len(self._closes) > 4:
            del self._closes[0]
        super().on_bar(bar)
        if ts > self.ctx.trade_start_ns:
            self._last_ns = max(self._last_ns, ts)
            self._after_bar(ts, bar.close.as_double())

    def _after_bar(self, ts: int, close: float) -> None:
        eq = self._strategy_equity(close)
        mon = self.risk_monitor
        self._j.bar_done(
            ts,
            eq,
            self._pos,
            self._state(),
            _json_state(mon, ("cfg", "events")) if mon is not None else None,
        )
        self._flush_risk_events()
        self._flush_denied()
        if getattr(self, "strategy_error", None) is not None and not self._halted:
            self._halted = True
            self._j.event(
                ts, "error", {"component": "strategy", "message": str(self.strategy_error)[:2000]}
            )
            self._j.set(child_state="halted", error=str(self.strategy_error).splitlines()[0])

    def _state(self) -> dict[str, Any]:
        return {
            "_in_trade": getattr(self, "_in_trade", False),
            "_bal_before": getattr(self, "_bal_before", None),
        }

    def _strategy_equity(self, close: float) -> float:
        acct = self.cache.account_for_venue(self.ctx.instrument_id.venue)
        bal = acct.balance_total(n3.Currency.from_str("USDT")).as_double() if acct else 0.0
        upnl = 0.0
        for p in self.cache.positions_open():
            if p.instrument_id == self.ctx.instrument_id and p.signed_qty != 0:
                upnl += p.signed_qty * (close - float(p.avg_px_open))
        return bal + upnl

    def _flush_risk_events(self) -> None:
        mon = self.risk_monitor
        if mon is None:
            return
        evs = mon.events
        for e in evs[self._risk_seen :]:
            d = e.to_dict()
            kind = d.pop("kind")
            self._j.event(int(d.pop("ts")), kind, d)
        self._risk_seen = len(evs)

    def _flush_denied(self) -> None:
        for ts, reason in self.denied[self._denied_seen :]:
            self._j.event(int(ts), "order_denied", {"reason": reason})
        self._denied_seen = len(self.denied)

    # ------------------------------------------------------------------ funding
    def on_funding_rate(self, funding_rate: Any) -> None:
        nxt = int(funding_rate.next_funding_ns or 0)
        if nxt <= 0:
            return
        if self._fund_next and nxt > self._fund_next and self._last_ns > self._fund_next:
            self._settle_funding()
        if nxt >= self._fund_next:
            self._fund_next = nxt
            self._fund_rate = float(funding_rate.rate)

    def _settle_funding(self) -> None:
        t, rate = self._fund_next, self._fund_rate
        self._fund_next = 0
        px = None
        for ts, c in self._closes:
            if ts <= t:
                px = c
        self._fund_px = px
        super().on_funding_rate(_Funding(t, rate))

    def _funding_price(self) -> float | None:
        return getattr(self, "_fund_px", None)

    # ------------------------------------------------------------------ fills and rejections
    def on_order_filled(self, event: Any) -> None:
        cid = str(event.client_order_id)
        info = self._intent.get(cid)
        ts = self._norm(event.ts_event)
        if (
            info is not None
            and info["type"] == "MARKET"
            and event.ts_event >= info["bar_ns"] - self._iv
        ):
            ts = info["bar_ns"]
        super().on_order_filled(_Event(event, ts))
        side = 1 if event.order_side == n3.OrderSide.BUY else -1
        try:
            trade_id = int(str(event.trade_id))
        except ValueError:
            trade_id = None
        tag = self._tags.get(cid)
        new = True
        if trade_id is not None:
            new = self._j.fill(
                trade_id=trade_id,
                ts_ns=int(event.ts_event),
                side=side,
                qty=event.last_qty.as_double(),
                price=event.last_px.as_double(),
                commission=event.commission.as_double(),
                client_order_id=cid,
                tag=tag,
                bar_ns=ts,
            )
        if new:
            self._j.event(
                ts,
                "fill",
                {
                    "order_id": cid,
                    "trade_id": trade_id,
                    "side": side,
                    "qty": event.last_qty.as_double(),
                    "price": event.last_px.as_double(),
                    "commission": event.commission.as_double(),
                    "tag": tag,
                    "liquidity": str(event.liquidity_side).split(".")[-1],
                    "position": self._pos,
                },
            )

    def on_order_rejected(self, event: Any) -> None:
        reason = str(event.reason)
        if "-4116" in reason or "uplicate" in reason:
            # the venue already has this client order id: sent before a crash
            self._inflight.pop(str(event.client_order_id), None)
            self._j.event(
                self._ev_ts(),
                "reconcile",
                {"order_id": str(event.client_order_id), "action": "duplicate rejected by venue"},
            )
            return
        super().on_order_rejected(event)

    # ------------------------------------------------------------------ heartbeat and control
    def on_time_event(self, event: Any) -> None:
        if str(event.name) != TIMER:
            return
        now = time.time_ns()
        iid = self.ctx.instrument_id
        opens = [o for o in self.cache.orders_open() if o.instrument_id == iid]
        pos, avg = 0.0, None
        for p in self.cache.positions_open():
            if p.instrument_id == iid and p.signed_qty != 0:
                pos += p.signed_qty
                avg = float(p.avg_px_open)
        acct = self.cache.account_for_venue(iid.venue)
        bal = acct.balance_total(n3.Currency.from_str("USDT")).as_double() if acct else None
        last = self._closes[-1][1] if self._closes else None
        upnl = pos * (last - avg) if (avg is not None and last is not None) else 0.0
        state = (
            "exiting"
            if self._exiting
            else "halted"
            if self._halted
            else "trading"
            if self._warm_done
            else "warming_up"
        )
        flags = self._j.heartbeat(
            now,
            child_state=state,
            position=pos,
            avg_entry=avg,
            balance=bal,
            upnl=upnl,
            open_orders=[
                {
                    "id": str(o.client_order_id),
                    "type": str(o.order_type).split(".")[-1],
                    "side": str(o.side).split(".")[-1],
                    "qty": o.quantity.as_double(),
                    "tag": self._tags.get(str(o.client_order_id)),
                }
                for o in opens
            ],
        )
        if self._exiting:
            flat = abs(pos) < self.ctx.size_increment / 2 and not opens
            if flat or now >= self._exit_deadline:
                self._j.event(
                    self._ev_ts(),
                    "stop" if self._exit_reason == "stop" else "kill",
                    {"flat": flat, "position": pos, "open_orders": len(opens)},
                )
                self.shutdown_system(f"paper {self._exit_reason}")
            return
        if flags.get("kill_requested") or (
            flags.get("stop_requested") and flags.get("flatten_on_stop")
        ):
            self._exiting = True
            self._exit_reason = "kill" if flags.get("kill_requested") else "stop"
            self._exit_deadline = now + KILL_GRACE_NS
            self.market_exit()
        elif flags.get("stop_requested"):
            self._exiting = True
            self._exit_reason = "stop"
            self._j.event(
                self._ev_ts(),
                "stop",
                {"flatten": False, "position": pos, "open_orders": len(opens)},
            )
            self.shutdown_system("paper stop")


def paper_class(base: type) -> type:
    """``PaperMixin`` + ``base`` (a :class:`VQStrategy` subclass), named ``Paper<base>``."""
    return type(f"Paper{base.__name__}", (PaperMixin, base), {})


def restored_state(run_row: dict[str, Any]) -> dict[str, Any]:
    """What a restarted child restores from its run row (JSON fields already decoded)."""
    out = {"last_bar_ns": run_row.get("last_bar_ns") or 0}
    for k in ("breaker", "strategy_state"):
        v = run_row.get(k)
        out[k] = json.loads(v) if isinstance(v, str) else v
    return out
