"""Square-root market-impact fill model, applied INSIDE the Nautilus simulation.

Model (market orders only; limit, stop and every other order type keep the engine's fills)::

    slippage = spread / 2 + k · σ · sqrt(Q / V̄)                       (USDT per unit)

    buy  fill = ceil_tick(P + slippage)      sell fill = floor_tick(P − slippage)

* ``P``: the reference price = midpoint of the engine's book when the order is matched. On bar
  data the book is bid = ask = the close of the bar being processed, i.e. the close of the bar on
  which the order fills (the submission bar without latency, the next bar with a latency model).
* ``spread`` = ``spread_ticks`` × tick size (USDT); default 1 tick (Binance BTCUSDT/ETHUSDT
  books are normally one tick wide: 0.1 / 0.01 USDT).
* ``σ`` = ``std(r, ddof=1) × P`` (USDT), with ``r_j = ln(C_j / C_{j−1})`` the log returns of the
  last ``window`` bars up to and including the fill bar (``window + 1`` closes; fewer at the
  start of the data, σ = 0 with fewer than 2 returns).
* ``V̄`` = mean volume (base units, e.g. BTC) of the same last ``window`` bars (floored at one
  lot step so an all-zero-volume window cannot divide by zero).
* ``Q`` = the order's remaining quantity (base units); ``k`` dimensionless, default 1
  (:data:`vibe_quant.backtest.models.params.DEFAULT_K`).
* Rounding to the tick grid is always against the trader (buys up, sells down); a sell price is
  floored at one tick.

Units are consistent at any bar length: with i.i.d. returns σ_bar·sqrt(Q/V_bar) =
σ_day·sqrt(Q/V_day), so this is the square-root law (Almgren, Thum, Hauptmann & Li 2005,
"Direct estimation of equity market impact"; Tóth et al. 2011) with ``k`` its prefactor Y.

Mechanics (NautilusTrader 1.231 Rust/PyO3 engine, measured): the venue's fill model may be a
Python subclass of ``nautilus_pyo3.FillModel``; the matching engine calls
``get_orderbook_for_fill_simulation(instrument, order, best_bid, best_ask)`` for every order it
is about to fill and fills against the returned L2 book, or behaves as the base model (no
slippage, limits filled at their price) when it returns ``None``. If the method raises, the
engine logs an ERROR and the order is NOT filled — so the model records every error in
``errors`` and callers must check it
(:func:`vibe_quant.research.validation.validate.validate_sweep` does).

Recent bars reach the model through :class:`BarFeed`, a ``DataActor`` added to the engine
(preset hook ``attach``) and subscribed to the run's external bars: it sees each bar before the
strategy does and before any order fills on it, so at fill time the newest bar in the window is
the fill bar (checked on every fill: its close must equal the book price, else an error).
A fresh model installed after ``engine.reset()`` finds the same feed: the feed registers itself
per instrument for the running engine (engines run synchronously in one thread).

Deterministic: no random draws.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from nautilus_trader.core import nautilus_pyo3 as n3
from pydantic import model_validator

from vibe_quant.backtest.models.params import DEFAULT_K, DEFAULT_SPREAD_TICKS, DEFAULT_WINDOW
from vibe_quant.backtest.venue import LIQUIDATION_TAG, BacktestConfigError, tick_round
from vibe_quant.core.config import FrozenConfig

BOOK_SIZE = 1_000_000.0  # base units at the slipped level: never limits a fill


class ImpactParams(FrozenConfig):
    """Parameters of the square-root fill model (a frozen config).

    Attributes:
        k: impact prefactor (dimensionless, ≥ 0), default :data:`.params.DEFAULT_K` (1).
        spread_ticks: full bid/ask spread in ticks of the instrument (≥ 0), default 1.
        window: bars in the σ and V̄ estimates (log returns of the last ``window`` bars, their
            mean volume; ≥ 1), default 20.

    Raises (construction):
        pydantic ``ValidationError`` (a ``ValueError``) wrapping :class:`BacktestConfigError`:
        a value out of range.
    """

    k: float = DEFAULT_K
    spread_ticks: float = DEFAULT_SPREAD_TICKS
    window: int = DEFAULT_WINDOW

    @model_validator(mode="after")
    def _check(self) -> ImpactParams:
        if not (self.k >= 0 and self.spread_ticks >= 0 and self.window >= 1):
            raise BacktestConfigError(f"invalid impact parameters {self!r}")
        return self


def bar_sigma(closes: list[float] | tuple[float, ...], price: float) -> float:
    """σ in price units: sample std (ddof=1) of the log returns of ``closes`` × ``price``.

    ``closes`` are consecutive bar closes, oldest first (``window + 1`` of them); 0 with fewer
    than 2 returns."""
    rets = [math.log(b / a) for a, b in zip(closes[:-1], closes[1:])]
    n = len(rets)
    if n < 2:
        return 0.0
    m = sum(rets) / n
    return math.sqrt(sum((r - m) ** 2 for r in rets) / (n - 1)) * price


def slippage(qty: float, sigma: float, avg_volume: float, tick: float,
             params: ImpactParams) -> float:
    """``spread/2 + k·σ·sqrt(qty/avg_volume)`` in USDT per unit, before tick rounding.

    Args:
        qty: order size Q, base units. sigma: σ, USDT. avg_volume: V̄, base units (> 0).
        tick: price increment, USDT (spread = ``params.spread_ticks`` × tick).
        params: model parameters.
    """
    return params.spread_ticks * tick / 2.0 + params.k * sigma * math.sqrt(qty / avg_volume)


def fill_price(side: int, price: float, slip: float, tick: float) -> float:
    """Slipped price on the tick grid, rounded against the trader (``side`` +1 buy, −1 sell)."""
    if side > 0:
        return tick_round(price + slip, tick, up=True)
    return max(tick, tick_round(price - slip, tick, up=False))


class BarWindow:
    """The last ``window + 1`` bars (close, volume) of the running engine's external bar series."""

    def __init__(self, instrument_id: str, window: int) -> None:
        self.instrument_id = instrument_id
        self.window = int(window)
        self.closes: deque[float] = deque(maxlen=self.window + 1)
        self.volumes: deque[float] = deque(maxlen=self.window)
        self.last_ts = 0
        self.bars = 0
        self.bar_type: str | None = None
        self.errors: list[str] = []

    def clear(self) -> None:
        self.closes.clear()
        self.volumes.clear()
        self.last_ts = 0
        self.bars = 0
        self.bar_type = None

    def push(self, bar: Any) -> None:
        bt = str(bar.bar_type)
        if self.bar_type is None:
            self.bar_type = bt
        elif bt != self.bar_type:
            self.errors.append(f"two external bar series for one instrument: {self.bar_type}, {bt}")
            return
        self.closes.append(bar.close.as_double())
        self.volumes.append(bar.volume.as_double())
        self.last_ts = int(bar.ts_event)
        self.bars += 1


_LOCAL = threading.local()


def _active() -> dict[str, BarWindow]:
    d = getattr(_LOCAL, "windows", None)
    if d is None:
        d = _LOCAL.windows = {}
    return d


def active_window(instrument_id: str) -> BarWindow | None:
    """The bar window of the engine currently running in this thread for ``instrument_id``."""
    return _active().get(instrument_id)


class BarFeed(n3.DataActor):
    """Data actor that keeps a :class:`BarWindow` of the run's external bars for the fill model.

    Subscribes to the instrument's ``LAST-EXTERNAL`` bars of every catalog interval (only the
    run's own interval is fed, so exactly one series arrives; a second one is an error).
    Added by the validation preset's ``attach`` hook BEFORE the strategy, so on each bar it runs
    first.
    """

    def __new__(cls, *a: Any, **k: Any):
        return super().__new__(cls)

    def __init__(self, symbol: str, window: int, latency_ns: int | None = None) -> None:
        from vibe_quant.venues.binance.instruments import instrument_id

        super().__init__(n3.DataActorConfig(actor_id=n3.ActorId("VQ-BARFEED"), log_events=False,
                                            log_commands=False))
        self.symbol = symbol
        self.iid = instrument_id(symbol)
        self.win = BarWindow(self.iid, window)
        #: one-way latency (ns) of the run's latency model, or None: each bar close ``t`` then
        #: gets a time alert at ``t + latency``, so an order sent at ``t`` reaches the
        #: exchange and is matched at its arrival time (module doc, "Latency")
        self.latency_ns = int(latency_ns) if latency_ns else None

    def on_start(self) -> None:
        from vibe_quant.core.intervals import CATALOG_INTERVALS
        from vibe_quant.venues.binance.instruments import bar_type

        self.win.clear()
        _active()[self.iid] = self.win
        for iv in CATALOG_INTERVALS:
            self.subscribe_bars(n3.BarType.from_str(bar_type(self.symbol, iv)))

    def on_bar(self, bar: Any) -> None:
        act = _active()
        if act.get(self.iid) is not self.win:  # another engine ran in between: re-register
            act[self.iid] = self.win
        self.win.push(bar)
        if self.latency_ns is not None:
            # + 2 x latency: what the strategy sends on a fill at the first arrival (the stop of
            # an entry, the re-placed stop and the cancel of the old one after an add-on) must
            # also reach the exchange before the next bar is walked, not after it
            for k in (1, 2):
                t = int(bar.ts_event) + k * self.latency_ns
                self.clock.set_time_alert_ns(f"vq-arrival-{t}", t, None, None)

    def on_time_event(self, event: Any) -> None:  # the alert only has to advance the engine
        pass

    def on_reset(self) -> None:
        self.win.clear()


@dataclass(frozen=True)
class SlippedFill:
    """One market order priced by the model (what a quant needs to recompute it)."""

    ts: int  # close time of the fill bar, UTC ns
    side: int  # +1 buy / −1 sell
    qty: float  # base units
    ref_price: float  # P, USDT
    sigma: float  # σ, USDT
    avg_volume: float  # V̄, base units
    slippage: float  # USDT per unit, before rounding
    price: float  # fill price on the tick grid, USDT
    client_order_id: str
    order_type: str = "MARKET"  # MARKET | STOP_MARKET (then P = trigger, or the gap open)


class SqrtImpactFillModel(n3.FillModel):
    """Nautilus fill model: market orders fill at the square-root-impact price (module doc).

    ``log`` keeps a :class:`SlippedFill` per priced market order; ``errors`` every failure
    (a failure also raises, which makes the engine leave the order unfilled).
    """

    def __new__(cls, *a: Any, **k: Any):
        return super().__new__(cls)

    def __init__(self, params: ImpactParams | None = None) -> None:
        super().__init__()
        self.params = params or ImpactParams()
        self.log: list[SlippedFill] = []
        self.errors: list[str] = []
        self.liquidations: Any = None  # the run's LiquidationBook (execution-bar opens)

    def bind_liquidations(self, book: Any) -> None:
        """Called by :func:`vibe_quant.backtest.venue.liquidation_fill_model`: the run's
        :class:`~vibe_quant.backtest.venue.LiquidationBook`, whose execution-bar opens tell
        whether a stop's bar gapped through its trigger."""
        self.liquidations = book

    def is_slipped(self) -> bool:  # the engine's own one-tick slippage: never
        return False

    def is_limit_filled(self) -> bool:
        """A resting limit whose price is only TOUCHED does not fill (queue position unknown);
        the engine fills it once the market trades through the limit (≥ one tick)."""
        return False

    def get_orderbook_for_fill_simulation(self, instrument: Any, order: Any, best_bid: Any,
                                          best_ask: Any) -> Any:
        ot = order.order_type
        if ot == n3.OrderType.STOP_MARKET:
            if LIQUIDATION_TAG in (order.tags or []):
                return None  # a liquidation: cleared by the venue's clearance rule, no impact
        elif ot != n3.OrderType.MARKET:
            return None
        try:
            if ot == n3.OrderType.STOP_MARKET:
                return self._stop_book(instrument, order)
            return self._book(instrument, order, best_bid, best_ask)
        except Exception as e:
            self.errors.append(f"{order.client_order_id}: {type(e).__name__}: {e}")
            raise

    def _stop_book(self, instrument: Any, order: Any) -> Any:
        """Triggered STOP_MARKET: reference price P = the trigger, or the open of the execution
        bar being walked when it opened beyond the trigger (a gap); σ and V̄ from the last
        ``window`` bars BEFORE that bar (the bar is walked before anyone sees it)."""
        iid = str(instrument.id)
        win = active_window(iid)
        if win is None or not win.closes:
            raise RuntimeError(f"no bars observed for {iid}: is the BarFeed actor attached?")
        if win.errors:
            raise RuntimeError(win.errors[0])
        if self.liquidations is None:
            raise RuntimeError("stop priced without the run's execution bars (LiquidationBook)")
        side = 1 if order.side == n3.OrderSide.BUY else -1
        trig = order.trigger_price.as_double()
        o = self.liquidations.open_after(win.last_ts)
        gap = o is not None and (o >= trig if side > 0 else o <= trig)
        ref = o if gap else trig
        return self._priced_book(instrument, order, side, ref, win, ref, ref)

    def _book(self, instrument: Any, order: Any, best_bid: Any, best_ask: Any) -> Any:
        iid = str(instrument.id)
        win = active_window(iid)
        if win is None or not win.closes:
            raise RuntimeError(f"no bars observed for {iid}: is the BarFeed actor attached?")
        if win.errors:
            raise RuntimeError(win.errors[0])
        bid, ask = best_bid.as_double(), best_ask.as_double()
        ref = (bid + ask) / 2.0
        last = win.closes[-1]
        if abs(ref - last) > 1e-9 * max(1.0, abs(last)):
            raise RuntimeError(
                f"book midpoint {ref} != close {last} of the newest bar (ts {win.last_ts})")
        if int(order.ts_init) > win.last_ts:
            raise RuntimeError(f"order {order.client_order_id} submitted after the newest bar")
        side = 1 if order.side == n3.OrderSide.BUY else -1
        return self._priced_book(instrument, order, side, ref, win, bid, ask)

    def _priced_book(self, instrument: Any, order: Any, side: int, ref: float, win: BarWindow,
                     bid: float, ask: float) -> Any:
        tick = instrument.price_increment.as_double()
        step = instrument.size_increment.as_double()
        qty = order.leaves_qty.as_double()
        sigma = bar_sigma(tuple(win.closes), ref)
        vbar = max(sum(win.volumes) / len(win.volumes), step) if win.volumes else step
        slip = slippage(qty, sigma, vbar, tick, self.params)
        px = fill_price(side, ref, slip, tick)
        self.log.append(SlippedFill(win.last_ts, side, qty, ref, sigma, vbar, slip, px,
                                    str(order.client_order_id),
                                    str(order.order_type).split(".")[-1]))
        book = n3.OrderBook(instrument.id, n3.BookType.L2_MBP)
        size = n3.Quantity(BOOK_SIZE, instrument.size_precision)
        prec = instrument.price_precision
        if side > 0:
            book.add(n3.BookOrder(n3.OrderSide.SELL, n3.Price(px, prec), size, 1), 0, 0, 0)
            book.add(n3.BookOrder(n3.OrderSide.BUY, n3.Price(bid, prec), size, 2), 0, 0, 0)
        else:
            book.add(n3.BookOrder(n3.OrderSide.BUY, n3.Price(px, prec), size, 1), 0, 0, 0)
            book.add(n3.BookOrder(n3.OrderSide.SELL, n3.Price(ask, prec), size, 2), 0, 0, 0)
        return book

    def slippage_cost(self) -> float:
        """Σ |fill price − P| × qty over the priced market orders (USDT, ≥ 0)."""
        return sum(abs(f.price - f.ref_price) * f.qty for f in self.log)


def attach_bar_feed(window: int, latency_ns: int | None = None):
    """Preset ``attach`` hook: add a :class:`BarFeed` for the run's symbol to the engine
    (with ``latency_ns``: arrival-time alerts, see :class:`BarFeed`)."""

    def attach(engine: Any, settings: Any, seed: int) -> None:
        del seed
        engine.add_actor(BarFeed(settings.symbol, window, latency_ns))

    return attach
