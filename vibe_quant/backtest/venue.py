"""The simulated Binance USDⓈ-M perpetual venue: instrument margins, venue settings, presets.

Economics (sources: Binance USDⓈ-M fee schedule VIP 0 and leverage-bracket docs):

* Fees are fractions of fill notional: maker 0.0002 (0.02 %), taker 0.0005 (0.05 %), charged by
  Nautilus's ``MakerTakerFeeModel`` from the instrument's ``maker_fee``/``taker_fee``.
* Initial margin = notional / leverage, i.e. ``margin_init = 1 / leverage`` (fraction).
* Maintenance margin rate = the rate of the leverage bracket whose notional range holds the
  largest notional the run can reach (``starting_balance × leverage``). Nautilus applies one rate
  per instrument; Binance's ``cum`` (maintenance amount) is used by :func:`liquidation_price`.
* ``StandardMarginModel``: margin = notional × rate (the default ``LeveragedMarginModel`` divides
  the maintenance margin by leverage again, which liquidates far too late).
* Liquidation: each position carries a reduce-only stop at its Binance isolated-margin
  liquidation price (:func:`liquidation_price`), so the bar path O→H→L→C closes it where Binance
  would. Nautilus's liquidation engine stays on as an account-level backstop (checked on the
  close quotes), with a maintenance rate (:attr:`VenueSettings.backstop_mmr`) low enough that it
  can only fire once the isolated liquidation price has been passed.
* Liquidation clearance (:class:`LiquidationFillModel`): a liquidated position is closed at the
  price that leaves Binance what remains of its isolated margin (the clearance fee, at most
  exchangeInfo ``liquidationFee`` × notional), or at the bankruptcy price when the market is
  already beyond it (the insurance fund absorbs the rest), so the engine's balance carries both.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nautilus_trader.core import nautilus_pyo3 as n3
from pydantic import model_validator

from vibe_quant.core.config import FrozenConfig
from vibe_quant.core.errors import ConfigError
from vibe_quant.venues.binance.instruments import MAKER_FEE, TAKER_FEE, binance_perpetual
from vibe_quant.venues.binance.margin import (  # noqa: F401  (the venue's economics, re-exported)
    MAKER_FEE_RATE,
    REFERENCE_LIQUIDATION_FEE,
    TAKER_FEE_RATE,
    IsolatedPosition,
    backstop_maintenance_rate,
    bracket_for,
    liquidation_close,
    liquidation_fee_rate,
    liquidation_price,
    max_leverage_for,
    tick_round,
)

VENUE_NAME = "BINANCE"
SETTLEMENT = "USDT"


class BacktestConfigError(ConfigError, ValueError):
    """A backtest option is invalid (leverage, balance, window, fidelity preset, fee tier,
    latency preset, impact parameters); still a ``ValueError``."""


class VenueSettings(FrozenConfig):
    """Per-run venue parameters (a frozen :class:`~vibe_quant.core.config.FrozenConfig`).

    Attributes:
        symbol: Binance symbol, e.g. ``"BTCUSDT"``.
        starting_balance: USDT wallet balance at the start.
        leverage: account leverage (initial margin = 1/leverage of notional).
        mmr: maintenance margin rate of the bracket holding ``starting_balance × leverage``
            notional (fraction; informative — positions use their own bracket).
        cum: maintenance amount of that bracket (USDT).
        liquidation_trigger_ratio: Nautilus liquidates when equity ≤ maintenance × ratio.
        backstop_mmr: maintenance rate given to Nautilus's liquidation check
            (:func:`backstop_maintenance_rate`); ≤ 0 at construction = derive it from the
            symbol's brackets.
        liquidation_fee: exchangeInfo ``liquidationFee`` (fraction); < 0 at construction =
            look it up (:func:`liquidation_fee_rate`).

    Raises (construction):
        UnknownSymbolError (a ``KeyError``): no brackets / liquidation fee known for ``symbol``.
    """

    symbol: str
    starting_balance: float
    leverage: float
    mmr: float
    cum: float
    liquidation_trigger_ratio: float = 1.0
    backstop_mmr: float = 0.0
    liquidation_fee: float = -1.0

    @model_validator(mode="after")
    def _derive(self) -> VenueSettings:
        # derived once, at construction (the model is frozen afterwards)
        if self.backstop_mmr <= 0.0:
            object.__setattr__(self, "backstop_mmr",
                               backstop_maintenance_rate(self.symbol, self.leverage))
        if self.liquidation_fee < 0.0:
            object.__setattr__(self, "liquidation_fee", liquidation_fee_rate(self.symbol))
        return self

    @classmethod
    def for_run(cls, symbol: str, starting_balance: float, leverage: float) -> VenueSettings:
        """Settings whose maintenance bracket holds ``starting_balance × leverage`` notional.

        Raises:
            BacktestConfigError (a ``ValueError``): leverage outside [1, the bracket's max
                leverage], or ``starting_balance`` ≤ 0.
        """
        if not (leverage >= 1):
            raise BacktestConfigError(f"leverage must be ≥ 1, got {leverage}", leverage=leverage)
        if not (starting_balance > 0):
            raise BacktestConfigError(f"starting_balance must be > 0, got {starting_balance}",
                                      starting_balance=starting_balance)
        b = bracket_for(symbol, starting_balance * leverage)
        if leverage > b.max_leverage:
            raise BacktestConfigError(
                f"leverage {leverage}x exceeds Binance's max {b.max_leverage:g}x for "
                f"{starting_balance * leverage:,.0f} USDT notional of {symbol}",
                symbol=symbol, leverage=leverage,
            )
        return cls(symbol=symbol, starting_balance=float(starting_balance),
                   leverage=float(leverage), mmr=b.maint_margin_rate, cum=b.cum)

    def instrument(self, base: n3.CryptoPerpetual | None = None) -> n3.CryptoPerpetual:
        """The Nautilus instrument with this run's margin rates and Binance fees.

        ``margin_init`` = 1/leverage; ``margin_maint`` = :attr:`backstop_mmr` (only Nautilus's
        backstop liquidation check reads it). ``base`` (e.g. the catalogued instrument)
        supplies the contract spec; default: the packaged reference spec.
        """
        mi = Decimal(1) / Decimal(str(self.leverage))
        mm = Decimal(repr(round(self.backstop_mmr, 12)))
        if base is None:
            return binance_perpetual(self.symbol, margin_init=mi, margin_maint=mm)
        return with_margins(base, mi, mm)


def with_margins(inst: n3.CryptoPerpetual, margin_init: Decimal, margin_maint: Decimal
                 ) -> n3.CryptoPerpetual:
    """Copy of a ``CryptoPerpetual`` with other margin rates (fractions) and Binance fees."""
    return n3.CryptoPerpetual(
        inst.id, inst.raw_symbol, inst.base_currency, inst.quote_currency,
        inst.settlement_currency, inst.is_inverse, inst.price_precision, inst.size_precision,
        inst.price_increment, inst.size_increment, inst.ts_event, inst.ts_init,
        multiplier=inst.multiplier, lot_size=inst.lot_size, max_quantity=inst.max_quantity,
        min_quantity=inst.min_quantity, max_notional=inst.max_notional,
        min_notional=inst.min_notional, max_price=inst.max_price, min_price=inst.min_price,
        margin_init=margin_init, margin_maint=margin_maint, maker_fee=MAKER_FEE,
        taker_fee=TAKER_FEE,
    )


# ---------------------------------------------------------------------------------------------
# Liquidation clearance: what Binance keeps of a liquidated isolated position.
# ---------------------------------------------------------------------------------------------

LIQUIDATION_TAG = "liquidation"  # exit-reason tag of the isolated-LP guard stop (strategy.py)
NAUTILUS_LIQUIDATION_PREFIX = "LIQUIDATION"  # client order ids of Nautilus's backstop orders


@dataclass(frozen=True)
class LiquidationFill:
    """How one liquidation order was priced (USDT; quantities in base units).

    ``ref_price``: the market price it executed against (the guard's trigger price, the open of
    a bar that gapped through it, or the close quote for Nautilus's backstop);
    ``clearance_fee`` = min(remaining isolated margin at ``ref_price``, liquidationFee ×
    q × ref_price) kept by Binance; ``insurance_absorbed``: the loss beyond the isolated margin
    (market beyond the bankruptcy price) taken over by the insurance fund; ``target_price``: the
    average close price that books exactly that: ``ref_price ∓ clearance/q`` or the bankruptcy
    price.
    """

    client_order_id: str
    side: int  # +1 long / −1 short position being closed
    qty: float
    ref_price: float
    target_price: float
    clearance_fee: float
    insurance_absorbed: float


class LiquidationBook:
    """Shared state of one run between the strategy (which knows each position) and the fill
    model (which prices liquidation orders). Engines run synchronously in one thread.

    Attributes:
        close_ts / open_: close times (ns) and opens (USDT) of the EXECUTION bars (the bars the
            exchange walks: the run's own bars, or the finer bars of a validation run).
        positions: strategy id → :class:`IsolatedPosition` (kept by ``VQStrategy``).
        bar_ts: close time (ns) of the last execution bar seen (set by the strategy on its bars
            and, with finer execution bars, by the run's ``ExecutionClock`` actor on every
            execution bar): the bar being processed by the exchange is the next one.
        fills: client order id → :class:`LiquidationFill` of every liquidation priced.
    """

    def __init__(self, close_ts: Any, open_: Any, fee_rate: float) -> None:
        self.close_ts = close_ts
        self.open_ = open_
        self.fee_rate = float(fee_rate)
        self.positions: dict[str, IsolatedPosition] = {}
        self.fills: dict[str, LiquidationFill] = {}
        self.bar_ts = -1

    def reset(self) -> None:
        self.positions.clear()
        self.fills.clear()
        self.bar_ts = -1

    def next_open(self) -> float | None:
        """Open of the bar after the last one seen (the bar being walked)."""
        return self.open_after(self.bar_ts)

    def open_after(self, ts: int) -> float | None:
        """Open (USDT) of the first execution bar closing after ``ts`` (ns), or None."""
        import numpy as np

        i = int(np.searchsorted(self.close_ts, ts, side="right"))
        return float(self.open_[i]) if 0 <= i < len(self.open_) else None

    def is_liquidation(self, order: Any) -> bool:
        cid = str(order.client_order_id)
        if cid.startswith(NAUTILUS_LIQUIDATION_PREFIX):
            return True
        return order.order_type == n3.OrderType.STOP_MARKET and LIQUIDATION_TAG in (
            order.tags or [])

    def price(self, instrument: Any, order: Any, best_bid: Any, best_ask: Any) -> Any:
        """The L2 book a liquidation order fills against, or None (not ours / no position)."""
        pos = self.positions.get(str(order.strategy_id))
        if pos is None:
            return None
        sell = order.side == n3.OrderSide.SELL
        if (pos.side > 0) != sell:
            return None
        market = (best_bid if sell else best_ask).as_double()
        trigger = getattr(order, "trigger_price", None)
        if trigger is not None:
            # The engine fills a stop at its trigger when the bar path crosses it, at the open
            # when the bar gaps through it (measured on 1.231): the same reference price here.
            trig = trigger.as_double()
            o = self.next_open()
            gap = o is not None and (o <= trig if sell else o >= trig)
            ref = o if gap else trig
        else:
            ref = market
        qty = order.leaves_qty.as_double()
        target, fee, absorbed = liquidation_close(pos, qty, ref, self.fee_rate)
        cid = str(order.client_order_id)
        self.fills[cid] = LiquidationFill(cid, pos.side, qty, ref, target, fee, absorbed)
        return two_level_book(instrument, sell, qty, target, market)


def two_level_book(instrument: Any, sell: bool, qty: float, target: float, market: float) -> Any:
    """An L2 book on which a market order of ``qty`` fills at an average price within
    tick × step / 2 USDT·base of ``target``: the two ticks around it, sized by interpolation
    (the engine fills only on the tick grid); the opposite side at ``market``."""
    tick = instrument.price_increment.as_double()
    step = instrument.size_increment.as_double()
    prec, sprec = instrument.price_precision, instrument.size_precision
    lo = math.floor(target / tick + 1e-9) * tick
    hi = lo + tick
    if abs(target - lo) <= 1e-9 * max(1.0, abs(target)):
        levels = [(lo, qty)]
    else:
        q_hi = round(round(qty * (target - lo) / tick / step) * step, sprec)
        q_hi = min(max(q_hi, 0.0), qty)
        levels = [(hi, q_hi), (lo, round(qty - q_hi, sprec))]
    book = n3.OrderBook(instrument.id, n3.BookType.L2_MBP)
    side = n3.OrderSide.BUY if sell else n3.OrderSide.SELL  # the side the order trades against
    oid = 1
    for px, q in levels:
        if q > 0:
            book.add(n3.BookOrder(side, n3.Price(round(px, prec), prec), n3.Quantity(q, sprec),
                                  oid), 0, 0, 0)
            oid += 1
    other = n3.OrderSide.SELL if sell else n3.OrderSide.BUY
    away = max(market, hi + tick) if sell else min(market, lo)  # never a crossed book
    if not sell and away >= lo:
        away = lo - tick
    if away > 0:
        book.add(n3.BookOrder(other, n3.Price(round(away, prec), prec),
                              n3.Quantity(1_000_000.0, sprec), oid), 0, 0, 0)
    return book


class LiquidationFillModel(n3.FillModel):
    """The venue's fill model: liquidation orders (the guard stop, Nautilus's backstop) fill
    at the clearance price of :meth:`LiquidationBook.price`; every other order is left to the
    engine (screening) or to ``inner`` (a preset's Python fill model, e.g. validation)."""

    def __new__(cls, *a: Any, **k: Any):
        return super().__new__(cls)

    def __init__(self, book: LiquidationBook, inner: Any = None) -> None:
        super().__init__()
        self.book = book
        self.inner = inner

    def get_orderbook_for_fill_simulation(self, instrument: Any, order: Any, best_bid: Any,
                                          best_ask: Any) -> Any:
        if self.book.is_liquidation(order):
            b = self.book.price(instrument, order, best_bid, best_ask)
            if b is not None:
                return b
        if self.inner is not None:
            return self.inner.get_orderbook_for_fill_simulation(instrument, order, best_bid,
                                                                best_ask)
        return None


class _WrappingLiquidationFillModel(LiquidationFillModel):
    """:class:`LiquidationFillModel` around a preset's Python model: its fill/slip draws too."""

    def is_slipped(self) -> bool:
        return self.inner.is_slipped()

    def is_limit_filled(self) -> bool:
        return self.inner.is_limit_filled()


def liquidation_fill_model(book: LiquidationBook | None, inner: Any) -> Any:
    """The fill model to install: ``inner`` wrapped so liquidations are cleared, or ``inner``
    itself when it is an engine-native model that cannot be wrapped (then no clearance is
    charged; the run reports it) or when there is no ``book``."""
    if book is None:
        return inner
    if inner is None:
        return LiquidationFillModel(book)
    if isinstance(inner, n3.FillModel) and hasattr(inner, "__dict__"):
        bind = getattr(inner, "bind_liquidations", None)
        if callable(bind):  # e.g. the validation fill model: gap detection for stops
            bind(book)
        return _WrappingLiquidationFillModel(book, inner)
    return inner


# ---------------------------------------------------------------------------------------------
# Fidelity presets: same code path, different fill / latency models.
# ---------------------------------------------------------------------------------------------

#: ``(seed) -> FillModel | None`` and ``(seed) -> LatencyModel | None``.
ModelFactory = Callable[[int], Any]


@dataclass(frozen=True)
class FidelityPreset:
    """A named fill/latency configuration, passed to each run as a value
    (``run_backtest(..., mode=preset)``; the named ones are built by
    :func:`vibe_quant.backtest.models.presets.resolve_preset`).

    ``fill_model`` / ``latency_model`` are factories called with the run seed, returning a
    Nautilus PyO3 model (e.g. ``n3.DefaultFillModel(random_seed=seed)``,
    ``n3.StaticLatencyModel(...)``) or ``None`` for the engine default (fill at top of book, no
    latency).
    """

    name: str
    fill_model: ModelFactory | None = None
    latency_model: ModelFactory | None = None
    #: ``(seed) -> FeeModel | None``; None = ``MakerTakerFeeModel`` with the instrument's fees
    #: (VIP 0). The validation stage uses it for Binance VIP-tier fees.
    fee_model: ModelFactory | None = None
    #: ``(engine, settings, seed) -> None`` called after the venue is added, e.g. to add an
    #: actor that feeds recent bars to the fill model (``vibe_quant.backtest.models.fill``).
    attach: Callable[[Any, VenueSettings, int], None] | None = None


def add_venue(engine: Any, settings: VenueSettings, preset: FidelityPreset, seed: int,
              liquidations: LiquidationBook | None = None, *, backstop: bool = True) -> None:
    """Add the Binance venue to a PyO3 ``BacktestEngine``; with ``liquidations`` the fill model
    charges the liquidation clearance fee (:func:`liquidation_fill_model`). ``backstop=False``
    turns Nautilus's account-level liquidation check off (``liquidation_enabled``; measured on
    1.231: ≈ 28 µs per close quote while a position is open, 3/4 of a run that is always in the
    market); :class:`vibe_quant.backtest.run.BacktestSession` does so only where it cannot fire
    (SPEC §3 "Liquidation")."""
    usdt = n3.Currency.from_str(SETTLEMENT)
    kwargs: dict[str, Any] = {}
    fm = liquidation_fill_model(
        liquidations, preset.fill_model(seed) if preset.fill_model is not None else None)
    if fm is not None:
        kwargs["fill_model"] = fm
    if preset.latency_model is not None:
        kwargs["latency_model"] = preset.latency_model(seed)
    fee_model = preset.fee_model(seed) if preset.fee_model is not None else None
    engine.add_venue(
        n3.Venue(VENUE_NAME),
        n3.OmsType.NETTING,
        n3.AccountType.MARGIN,
        [n3.Money(settings.starting_balance, usdt)],
        base_currency=usdt,
        default_leverage=Decimal(str(settings.leverage)),
        margin_model=n3.StandardMarginModel(),
        fee_model=fee_model if fee_model is not None else n3.MakerTakerFeeModel(),
        bar_execution=True,
        use_reduce_only=True,
        liquidation_enabled=backstop,
        liquidation_trigger_ratio=Decimal(str(settings.liquidation_trigger_ratio)),
        liquidation_cancel_open_orders=True,
        **kwargs,
    )
    if preset.attach is not None:
        preset.attach(engine, settings, seed)
