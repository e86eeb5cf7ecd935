"""The compiled strategy, made fit for a live node: :func:`paper_class` wraps any
:class:`~vibe_quant.strategy.base.VQStrategy` subclass (the DSL compiler's class) in
:class:`PaperMixin` without changing a single decision rule.

What the mixin adds (hazards measured on NautilusTrader 1.231, ``../shared/notes/nautilus-live.md``
§5):

* **Bar time convention.** A live kline's ``ts_event`` is its close time open + interval − 1 ms;
  the backtest stamps bars at open + interval. Every bar (live and historical) is rebuilt with
  ``ts_event = ceil(ts_event / interval) × interval`` before the strategy sees it, so decisions
  and time filters see the backtest's timestamps. Fill timestamps are normalised too: a
  market order made at bar B is stamped B, a limit or stop fill the close of the minute it
  happened in (the backtest's execution bar); the position events the strategy reads its trade
  clock from carry the same time; the journal files each fill under its strategy bar.
* **Higher timeframes and informative symbols.** ``…-INTERNAL@…-EXTERNAL`` subscriptions (a
  ``close@1h`` operand, a 1h indicator, an informative symbol's 15m series) are not handed to
  the node (its aggregation follows wall-clock timers): the mixin subscribes the source bars
  and aggregates them itself (:class:`~vibe_quant.paper.bars.BarAggregator`), right after the
  base bar with the same close, as the backtest does. An informative symbol's own bars are a
  second kline subscription, warmed up like the traded symbol's.
* **Warm-up.** ``request_bars`` fetches ``warmup + 2`` closed klines of every subscribed
  symbol at start; merged by close time they feed the indicators with trading off
  (``ctx.trade_start_ns``); live bars that arrive meanwhile are buffered and processed
  afterwards, each bar exactly once.
* **Fills before the bar.** The venue reports fills on the user stream, the klines come on the
  market stream; a closed bar whose range reaches a resting order (or while a market order is
  in flight) is held until those orders are done (≤ ``GATE_TIMEOUT_NS``), so the strategy sees
  the bar after its fills, as in the backtest.
* **Funding.** The venue sends a ``FundingRateUpdate`` with every mark-price message (every 1 s
  on Binance); only a *settlement* reaches the strategy: at the first bar closing after the
  announced ``next_funding_ns``, with the rate announced for it and the close of the last bar at
  or before it (the backtest's funding rule, SPEC.md §3).
* **Write-ahead intents and deterministic client order ids.** Every order gets the id
  ``VQP<run>-<bar close in minutes>-<role><n>`` (roles and codes: :data:`ROLE_CODES`); the
  intent row is committed to SQLite before ``submit_order``. After a restart the same decision
  produces the same id: an order the venue already has is not sent again (reconciled open
  orders are in the cache) and a duplicate that reaches the venue is rejected there (Binance
  -4116) and ignored here.
* **Restart.** Reconciliation does not call the strategy's handlers: ``on_start`` takes the
  position and the open orders from the cache; once the historical bars up to the last
  journalled bar are fed, the DSL decision state journalled after every bar and every position
  event (:mod:`vibe_quant.paper.tradestate`: trade clock and entry price, trailing stops,
  pyramiding count, resting limits with their expiry, ``last_trade``) is put back, checked
  against the venue's position, and a protective order the position lacks is placed again.
* **Control.** A 0.5 s clock timer writes the heartbeat and reads the stop / kill flags from
  SQLite (never another thread touching the node): kill → ``market_exit`` (cancel all, close at
  market) → ``shutdown_system``; stop → ``shutdown_system`` (orders stay unless ``--flatten``).
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

from nautilus_trader.core import nautilus_pyo3 as n3
from nautilus_trader.core.nautilus_pyo3.trading import Strategy, StrategyConfig

from vibe_quant.core.errors import VenueError
from vibe_quant.core.intervals import NS_PER_MINUTE
from vibe_quant.paper import journal as J
from vibe_quant.paper import tradestate
from vibe_quant.paper.bars import BarAggregator, expected_fills, source_of

#: order role → client-order-id code: E market entry, A pyramiding add-on, L limit entry,
#: X market exit (signal, roi, max_bars, a trailing stop already crossed), Y limit exit,
#: S stop-loss (also every trailing move), T take-profit, G liquidation guard, R breaker
#: close, D end-of-data, O anything else
ROLE_CODES = {
    "entry": "E",
    "add": "A",
    "limit_entry": "L",
    "exit": "X",
    "limit_exit": "Y",
    "stop": "S",
    "take_profit": "T",
    "guard": "G",
    "risk": "R",
    "end_of_data": "D",
    "order": "O",
}
TIMER = "vq-paper-hb"
GATE_ALERT = "vq-paper-gate"
TIMER_NS = 500_000_000
KILL_GRACE_NS = 3_000_000_000
GATE_TIMEOUT_NS = 3_000_000_000  # a bar waits at most this long for its fills' reports
WARMUP_TIMEOUT_NS = 30_000_000_000  # history of a symbol that never answered: go on without
_CID = re.compile(r"^VQP\d+-(\d+)-([A-Z])(\d+)$")


def role_of(tag: str, order_type: str, reduce_only: bool, adding: bool = False) -> str:
    """Role of an order from its exit-reason tag, type, reduce-only flag and whether it adds
    to an open position (a pyramiding add-on); see :data:`ROLE_CODES`."""
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
        if reduce_only:
            return "exit"
        return "add" if adding else "entry"
    if order_type == "LIMIT" and tag == "signal":
        return "limit_exit" if reduce_only else "limit_entry"
    return "order"


#: roles whose intent carries the entry's sizing inputs (``sig``)
ENTRY_ROLES = ("entry", "limit_entry")


class _Event:
    """A fill event with a normalised ``ts_event`` (everything else from the original)."""

    __slots__ = ("_e", "ts_event")

    def __init__(self, e: Any, ts: int):
        self._e, self.ts_event = e, ts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._e, name)


class _PositionEvent:
    """A position event for the strategy: ``fields`` (e.g. a normalised ``ts_event``) over the
    original event's attributes. The DSL strategy dispatches on the class name, so the three
    subclasses carry Nautilus's names; a restart builds them without an original."""

    def __init__(self, event: Any = None, **fields: Any):
        self._e = event
        self.__dict__.update(fields)

    def __getattr__(self, name: str) -> Any:
        if self._e is None:
            raise AttributeError(name)
        return getattr(self._e, name)


PositionOpened = type("PositionOpened", (_PositionEvent,), {})
PositionChanged = type("PositionChanged", (_PositionEvent,), {})
PositionClosed = type("PositionClosed", (_PositionEvent,), {})


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

    Set after construction: ``paper_setup(journal, interval_ns, warmup_bars, restored)`` (see
    :mod:`vibe_quant.paper.child`)."""

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
        history_bars: int | None = None,
    ) -> None:
        """``interval_ns`` base bar length; ``warmup_bars`` base bars the indicators need;
        ``restored`` = :func:`restored_state` of the run row (empty on a first start);
        ``history_bars`` closed klines to request per symbol at start (default warm-up + 2)."""
        self._j = journal
        self._iv = int(interval_ns)
        self._warm_n = max(2, int(history_bars or 0), int(warmup_bars) + 2)
        self._restored = restored or {}
        self._warm_done = False
        self._warm_t0 = 0
        self._buffer: list[Any] = []
        self._hist: dict[str, list[Any]] = {}
        self._last_ns = int(self._restored.get("last_bar_ns") or 0)
        # bars after this one are journalled (bar_done); the restart's decision state is put
        # back after the bar in _restore_after (see _rebuild and _restore)
        self._journal_after = self._last_ns or int(self.ctx.trade_start_ns)
        self._restore_after = self._last_ns
        self._restore_due = bool(self._last_ns)
        self._fed: dict[str, int] = {}
        self._ext: list[str] = []  # EXTERNAL bar types subscribed (and warmed up)
        self._aggs: dict[str, list[BarAggregator]] = {}
        self._base_key = str(self.ctx.bar_type)
        self._done: tuple[int, float] | None = None  # a processed bar not yet journalled
        self._held: list[Any] = []  # live bars held until the fills they imply are reported
        self._gate: set[str] = set()
        self._gate_t0 = 0
        self._gate_alert = False
        self._id_bar: int | None = None
        self._id_seq: dict[tuple[int, str], int] = {}
        self._intent: dict[str, dict[str, Any]] = {}
        self._roles: dict[str, str] = {}
        self._fund_next = 0
        self._fund_rate = 0.0
        self._closes: list[tuple[int, float]] = []
        self._last_fill_ts = 0
        self._avg: float | None = None
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
        adding = abs(self._pos) >= self.ctx.size_increment / 2
        role = role_of(tag, order_type, reduce_only, adding)
        code = ROLE_CODES[role]
        minute = bar // 60_000_000_000
        n = self._id_seq.get((minute, code), 0)
        self._id_seq[(minute, code)] = n + 1
        cid = f"VQP{self._j.run_id}-{minute}-{code}{n}"
        self._roles[cid] = role
        return n3.ClientOrderId(cid)

    def submit_order(self, order: Any, *a: Any, **k: Any) -> None:
        cid = str(order.client_order_id)
        tag = self._tags.get(cid, "signal")
        otype = str(order.order_type).split(".")[-1].upper()
        reduce_only = bool(order.is_reduce_only)
        role = self._roles.pop(cid, None) or role_of(tag, otype, reduce_only)
        px = getattr(order, "trigger_price", None) or getattr(order, "price", None)
        side = 1 if order.side == n3.OrderSide.BUY else -1
        qty = order.quantity.as_double()
        bar = self._id_bar if self._id_bar is not None else max(self._bar_ts, self._last_ns)
        sig = list(self._sig) if role in ENTRY_ROLES and getattr(self, "_sig", ()) else None
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
        if lat is not None and role in ("entry", "exit", "add", "limit_entry", "limit_exit"):
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

    def _cancel(self, cid: Any) -> None:
        """Cancel a stop / target / guard being replaced: also while it is still in flight
        (the adapter acknowledges conditional orders ≈ 5 s late; the backtest's ``is_open``
        test would leave it at the venue)."""
        o = self.cache.order(cid) if cid is not None else None
        if o is not None and o.is_inflight and not o.is_pending_cancel:
            self.cancel_order(cid)
            return
        super()._cancel(cid)

    def _keeps(self, cid: Any, price: float, level: str) -> bool:
        """``cid`` rests at the venue for the whole position at ``price`` (tick-rounded), so a
        re-placement would change nothing (a decision taken again after a restart): keep it,
        record ``price`` as the strategy's ``level`` attribute."""
        o = self.cache.order(cid) if cid is not None and self._trading else None
        if o is None or o.is_closed or o.is_pending_cancel:
            return False
        px = getattr(o, "trigger_price", None) or getattr(o, "price", None)
        same = (
            px is not None
            and abs(px.as_double() - self._px(price).as_double()) < self.ctx.price_increment / 2
            and abs(o.quantity.as_double() - abs(self._pos)) < self.ctx.size_increment / 2
        )
        if same and hasattr(self, level):
            setattr(self, level, price)
        return same

    def set_stop_loss(self, price: float):
        if self._keeps(self._stop_id, price, "_stop_level"):
            return self._stop_id
        return super().set_stop_loss(price)

    def set_take_profit(self, price: float):
        if self._keeps(self._tp_id, price, "_tp_level"):
            return self._tp_id
        return super().set_take_profit(price)

    # ------------------------------------------------------------------ subscriptions
    def subscribe_bars(self, bar_type: Any, *a: Any, **k: Any) -> None:
        """EXTERNAL bars are subscribed at the venue (and warmed up); a composite
        ``…-INTERNAL@…-EXTERNAL`` is built here from its source bars (module docstring)."""
        s = str(bar_type)
        if "@" not in s:
            if s not in self._ext:
                self._ext.append(s)
                Strategy.subscribe_bars(self, bar_type, *a, **k)
            return
        target, src = source_of(s)
        self._aggs.setdefault(src, []).append(BarAggregator(target))
        self.subscribe_bars(n3.BarType.from_str(src))

    def _routed(self, key: str) -> bool:
        """The strategy takes this bar type itself (else it only feeds an aggregation)."""
        return key == self._base_key or key in (getattr(self, "_htf_types", None) or {})

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
        rt = getattr(self, "_rt", None)
        if self.risk_monitor is None and not (rt is not None and rt.filter.needs_funding):
            self.subscribe_funding_rates(self.ctx.instrument_id)  # (else subscribed already)
        self._rebuild()
        self.clock.set_timer_ns(TIMER, TIMER_NS)
        self._warm_t0 = time.time_ns()
        for bt in self._ext:
            self.request_bars(n3.BarType.from_str(bt), None, None, self._warm_n)
        self._j.event(
            self._ev_ts(), "start", {"restored": bool(self._last_ns), "position": self._pos}
        )

    def _rebuild(self) -> None:
        """At start (after reconciliation): the position and the ids of the resting stop /
        take-profit / guard from the cache, tags and roles from the journal, the breaker state
        from the run row; where the restart's decision state goes back (``_restore_after``)."""
        iid = self.ctx.instrument_id
        self._pos, self._avg = self._venue_position()
        intents = self._j.intents()
        st = self._restored.get("strategy_state") or {}
        after = self._restore_after
        if self._last_ns:
            # a decision taken after the last journalled bar (an entry, exit or add-on was
            # sent, or the state was saved on a later fill) is not taken a second time
            after = max(after, int(st.get("bar_ns") or 0))
            for r in intents:
                if r["role"] in ("entry", "add", "limit_entry", "exit", "limit_exit"):
                    after = max(after, int(r["bar_ns"]))
        self._restore_after = after
        if after > self._journal_after:
            self.ctx.trade_start_ns = max(self.ctx.trade_start_ns, after)
        latest: dict[str, tuple] = {}
        for r in intents:
            cid = r["client_order_id"]
            self._tags[cid] = r["tag"]
            self._intent[cid] = {"role": r["role"], "bar_ns": r["bar_ns"], "type": r["order_type"]}
            m = _CID.match(cid)
            if m and int(m.group(1)) * 60_000_000_000 <= after:
                # ids of bars up to the restore point are used up: a re-placement there
                # gets a fresh one
                key = (int(m.group(1)), m.group(2))
                self._id_seq[key] = max(self._id_seq.get(key, 0), int(m.group(3)) + 1)
        for o in self.cache.orders_open():
            if o.instrument_id != iid:
                continue
            cid = str(o.client_order_id)
            role = self._intent.get(cid, {}).get("role")
            m = _CID.match(cid)
            rank = (int(m.group(1)), int(m.group(3))) if m else (0, 0)
            if role in ("guard", "stop", "take_profit"):
                prev = latest.get(role)
                if prev is not None and prev[0] > rank:
                    self.cancel_order(o.client_order_id)  # an older one whose cancel was lost
                    continue
                if prev is not None:
                    self.cancel_order(prev[1])
                latest[role] = (rank, o.client_order_id)
        self._guard_id = latest["guard"][1] if "guard" in latest else None
        self._stop_id = latest["stop"][1] if "stop" in latest else None
        self._tp_id = latest["take_profit"][1] if "take_profit" in latest else None
        if self.risk_monitor is not None and self._restored.get("breaker"):
            for k, v in self._restored["breaker"].items():
                if hasattr(self.risk_monitor, k) and k not in ("cfg", "events"):
                    setattr(self.risk_monitor, k, v)
        self._j.event(
            self._ev_ts(),
            "reconcile",
            {
                "position": self._pos,
                "avg_entry": self._avg,
                "restore_after_ns": after,
                "open_orders": [
                    str(o.client_order_id)
                    for o in self.cache.orders_open()
                    if o.instrument_id == iid
                ],
            },
        )

    def _venue_position(self) -> tuple[float, float | None]:
        iid = self.ctx.instrument_id
        pos, avg = 0.0, None
        for p in self.cache.positions_open():
            if p.instrument_id == iid and p.signed_qty != 0:
                pos += p.signed_qty
                avg = float(p.avg_px_open)
        return round(pos, self.ctx.size_precision), avg

    def _restore(self) -> None:
        """Restart, once the historical bars up to ``_restore_after`` are fed: the journalled
        decision state back (:mod:`vibe_quant.paper.tradestate`), checked against the venue's
        position, and the protective orders the position lacks placed again."""
        self._restore_due = False
        st = self._restored.get("strategy_state") or {}
        d = st.get("dsl") if getattr(self, "_rt", None) is not None else None
        if d:
            for cid in tradestate.apply(self, d):
                self._j.event(
                    self._ev_ts(), "reconcile", {"order_id": cid, "action": "limit gone while down"}
                )
        elif getattr(self, "_rt", None) is not None:
            for k in ("_in_trade", "_bal_before"):  # a run row of an older version
                if k in st:
                    setattr(self, k, st[k])
        self._pos, self._avg = self._venue_position()
        saved = float(st.get("pos") or 0.0) if d else None
        self._id_bar = self._restore_after or self._last_ns
        was = self._trading
        self._trading = True
        try:
            self._reconcile_trade(saved)
        finally:
            self._trading = was
            self._id_bar = None
        self._save_state()

    def _reconcile_trade(self, saved: float | None) -> None:
        step = self.ctx.size_increment / 2
        pos, avg = self._pos, self._avg
        dsl = getattr(self, "_rt", None) is not None
        if abs(pos) < step:
            if dsl and saved and abs(saved) >= step and tradestate.finite(self._entry_px):
                # the trade closed after the journal saw it (while the child was down)
                px, ts = self._last_fill()
                self._on_closed(PositionClosed(avg_px_close=px, ts_event=ts))
                self._last_abs = 0.0
                self._j.event(self._ev_ts(), "reconcile", {"action": "closed while down"})
            return
        opened = saved is None or abs(saved) < step or saved * pos < 0
        if dsl and (opened or not tradestate.finite(self._entry_px)):
            self._entry_from_journal(pos, avg)
        elif dsl and abs(pos) > abs(saved) + step and self._add_sig:
            # an add-on filled after the journal saw it: stop and target from the average
            self._last_abs = abs(saved)
            self._on_changed(PositionChanged(avg_px_open=avg))
            self._last_abs = abs(pos)
        ev = PositionOpened(avg_px_open=avg, ts_event=self._last_ns)
        if self._guard_id is None and self.ctx.liquidation_guard:
            self._place_guard(ev)
        if dsl:
            if self._stop_id is None and tradestate.finite(self._stop_level):
                self.set_stop_loss(self._stop_level)
            if self._tp_id is None and tradestate.finite(self._tp_level):
                self.set_take_profit(self._tp_level)

    def _entry_from_journal(self, pos: float, avg: float) -> None:
        """The position was opened after the journalled state: the trade from the last entry
        intent (its sizing inputs) and the venue's average price; its stop and target placed
        unless the venue already holds them."""
        entry = [r for r in self._j.intents() if r["role"] in ENTRY_ROLES]
        r = entry[-1] if entry else None
        sig = tradestate._sig(r["sig"]) if r is not None else ()
        ts = self._fill_bar(r["client_order_id"]) if r is not None else self._last_ns
        self._j.event(self._ev_ts(), "reconcile", {"action": "opened while down"})
        if sig and self._stop_id is None and self._tp_id is None:
            self._sig = sig
            self._on_opened(PositionOpened(avg_px_open=avg, ts_event=ts))
            return
        side = 1 if pos > 0 else -1
        self._sig = ()
        self._n_entries, self._first_qty, self._in_trade = 1, abs(pos), True
        self._entry_px, self._entry_ts, self._entry_side = avg, ts, side
        if sig:
            self._bal_before = sig[3]
        for cid, attr in ((self._stop_id, "_stop_level"), (self._tp_id, "_tp_level")):
            o = self.cache.order(cid) if cid is not None else None
            px = (getattr(o, "trigger_price", None) or getattr(o, "price", None)) if o else None
            setattr(self, attr, px.as_double() if px is not None else float("nan"))
        rt = self._rt
        if rt.pct_trail is not None:
            rt.pct_trail.start(side, avg)
        if rt.trail is not None:
            rt.trail.start(side, avg, self._stop_level)

    def _fill_bar(self, cid: str) -> int:
        """Bar close of the first journalled fill of ``cid`` (else the last processed bar)."""
        from vibe_quant.store import paper_sql as Q

        for f in Q.fills(self._j.conn, self._j.run_id):
            if f["client_order_id"] == cid and f["bar_ns"]:
                return int(f["bar_ns"])
        return self._last_ns

    def _last_fill(self) -> tuple[float, int]:
        """``(price, bar close)`` of the last journalled fill (else the last close)."""
        from vibe_quant.store import paper_sql as Q

        fills = Q.fills(self._j.conn, self._j.run_id)
        if fills:
            f = fills[-1]
            return float(f["price"]), int(f["bar_ns"] or self._norm(f["ts_ns"]))
        last = self._closes[-1] if self._closes else (self._last_ns, float("nan"))
        return last[1], last[0]

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

    def _order(self, bar: Any) -> tuple[int, int]:
        return bar.ts_event, 0 if str(bar.bar_type) == self._base_key else 1

    def on_historical_bars(self, bars: list[Any]) -> None:
        if self._warm_done or not bars:
            return
        self._hist.setdefault(str(bars[0].bar_type), []).extend(bars)
        if all(k in self._hist for k in self._ext):
            self._finish_warmup()

    def _finish_warmup(self) -> None:
        """Feed the historical bars of every subscribed symbol merged by close time (trading
        off), then the live bars buffered meanwhile."""
        hist = sorted(
            (self._norm_bar(b) for bars in self._hist.values() for b in bars), key=self._order
        )
        self._hist = {}
        base = [b.ts_event for b in hist if str(b.bar_type) == self._base_key]
        if len(base) >= 2:
            # only the latest closed bar may still act (a decision a crash interrupted);
            # older bars only warm the indicators up
            self.ctx.trade_start_ns = max(self.ctx.trade_start_ns, base[-2])
        for b in hist:
            self._process(b)
        self._flush_done()
        if self._restore_due:
            self._restore()
        self._warm_done = True
        buf, self._buffer = sorted(self._buffer, key=self._order), []
        for b in buf:
            self._feed_live(b)

    def on_bar(self, bar: Any) -> None:
        b = self._norm_bar(bar)
        if str(b.bar_type) == self._base_key:
            self._bar_wall_ns = time.time_ns()
        if not self._warm_done:
            self._buffer.append(b)
            return
        self._feed_live(b)

    def _feed_live(self, bar: Any) -> None:
        """A live bar: processed now, or held behind a bar that waits for its fills."""
        if self._held:
            self._held.append(bar)
            return
        if str(bar.bar_type) == self._base_key and self._trading_state_ok():
            gate = expected_fills(self.cache, self.ctx.instrument_id, bar)
            if gate:
                self._held.append(bar)
                self._gate, self._gate_t0 = gate, time.time_ns()
                return
        self._process(bar)

    def _trading_state_ok(self) -> bool:
        return not (self._halted or self._exiting)

    def _gate_open(self) -> bool:
        for cid in self._gate:
            o = self.cache.order(n3.ClientOrderId(cid))
            if o is not None and (o.is_open or o.is_inflight):
                return False
        return True

    def _gate_poke(self) -> None:
        """An order event: when the held bar's orders are done, release it on the next loop
        turn (after the position events of the same fill)."""
        if self._held and not self._gate_alert and self._gate_open():
            self._gate_alert = True
            self.clock.set_time_alert_ns(GATE_ALERT, time.time_ns(), allow_past=True)

    def _release(self, timeout: bool = False) -> None:
        if not self._held:
            return
        if timeout:
            self._j.event(
                self._ev_ts(),
                "gate_timeout",
                {"bar_ns": self._held[0].ts_event, "orders": sorted(self._gate)},
            )
        held, self._held, self._gate = self._held, [], set()
        self._process(held[0])
        for b in held[1:]:
            self._feed_live(b)

    def _process(self, bar: Any) -> None:
        key = str(bar.bar_type)
        ts = bar.ts_event
        if ts <= self._fed.get(key, 0):
            return  # each bar once (history and the live stream overlap)
        self._fed[key] = ts
        if self._halted or self._exiting:
            return
        base = key == self._base_key
        if base:
            self._flush_done()  # the previous bar's decision waited for a bar that never came
            if self._restore_due and ts > self._restore_after:
                self._restore()
            if self._fund_next and ts > self._fund_next:
                self._settle_funding()
            self._closes.append((ts, bar.close.as_double()))
            if len(self._closes) > 4:
                del self._closes[0]
        if self._routed(key):
            super().on_bar(bar)
        for agg in self._aggs.get(key, ()):
            for hb in agg.add(bar):
                super().on_bar(hb)
        if base and ts > self._journal_after:
            self._last_ns = max(self._last_ns, ts)
            self._done = (ts, bar.close.as_double())
        if self._done is not None and not getattr(self, "_pending", 0):
            self._flush_done()

    def _flush_done(self) -> None:
        if self._done is not None:
            ts, close = self._done
            self._done = None
            self._after_bar(ts, close)

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
        """The run row's ``strategy_state``: the bar it was taken at, the position and (DSL
        strategies) :func:`vibe_quant.paper.tradestate.snapshot`."""
        out: dict[str, Any] = {
            "bar_ns": max(self._bar_ts, 0),
            "pos": self._pos,
            "_in_trade": getattr(self, "_in_trade", False),
            "_bal_before": getattr(self, "_bal_before", None),
        }
        snap = tradestate.snapshot(self)
        if snap is not None:
            out["dsl"] = snap
        return out

    def _save_state(self) -> None:
        self._j.set(strategy_state=self._state())

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
        if funding_rate.instrument_id != self.ctx.instrument_id:
            return
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

    # ------------------------------------------------------------------ fills and positions
    def _fill_clock(self, event: Any) -> int:
        """When a fill happened in the backtest's terms: a market order at the close of the
        bar that sent it; a limit or stop at the close of the minute it filled in (the venue
        stamps it inside that minute; the backtest at the close of the execution bar)."""
        info = self._intent.get(str(event.client_order_id))
        raw = int(event.ts_event)
        if info is not None and info["type"] == "MARKET" and raw >= info["bar_ns"] - self._iv:
            return int(info["bar_ns"])
        return -(-raw // NS_PER_MINUTE) * NS_PER_MINUTE

    def on_order_filled(self, event: Any) -> None:
        cid = str(event.client_order_id)
        clock = self._fill_clock(event)
        self._last_fill_ts = clock
        super().on_order_filled(_Event(event, clock))
        ts = self._norm(clock)  # the strategy bar it belongs to (journal, events)
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
        self._gate_poke()

    def _position_event(self, cls: type, event: Any) -> Any:
        """``event`` with ``ts_event`` = its fill's :meth:`_fill_clock` (the strategy's trade
        clock: ``trade.bars_held``, ``roi``, ``max_bars``, ``last_trade.bars_since_exit``)."""
        ts = -(-int(event.ts_event) // NS_PER_MINUTE) * NS_PER_MINUTE
        if self._last_fill_ts and abs(ts - self._last_fill_ts) <= self._iv:
            ts = self._last_fill_ts
        return cls(event, ts_event=ts)

    def on_position_opened(self, event: Any) -> None:
        super().on_position_opened(self._position_event(PositionOpened, event))
        self._save_state()

    def on_position_changed(self, event: Any) -> None:
        super().on_position_changed(self._position_event(PositionChanged, event))
        self._save_state()

    def on_position_closed(self, event: Any) -> None:
        super().on_position_closed(self._position_event(PositionClosed, event))
        self._save_state()

    def on_order_canceled(self, event: Any) -> None:
        super().on_order_canceled(event)
        self._gate_poke()

    def on_order_expired(self, event: Any) -> None:
        super().on_order_expired(event)
        self._gate_poke()

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
        else:
            super().on_order_rejected(event)
        self._gate_poke()

    # ------------------------------------------------------------------ heartbeat and control
    def on_time_event(self, event: Any) -> None:
        name = str(event.name)
        if name == GATE_ALERT:
            self._gate_alert = False
            if self._held and self._gate_open():
                self._release()
            return
        if name != TIMER:
            return
        now = time.time_ns()
        if self._held and now - self._gate_t0 > GATE_TIMEOUT_NS:
            self._release(timeout=True)
        if not self._warm_done and self._warm_t0 and now - self._warm_t0 > WARMUP_TIMEOUT_NS:
            self._j.event(
                self._ev_ts(),
                "warmup_timeout",
                {"missing": [k for k in self._ext if k not in self._hist]},
            )
            self._finish_warmup()
        iid = self.ctx.instrument_id
        opens = [o for o in self.cache.orders_open() if o.instrument_id == iid]
        pos, avg = self._venue_position()
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
