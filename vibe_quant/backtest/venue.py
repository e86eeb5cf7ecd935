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
* Liquidation: Nautilus's liquidation engine is on (checked on quotes, which the run derives from
  bars) as an account-level backstop; each position additionally carries a reduce-only stop at
  its Binance isolated-margin liquidation price (:func:`liquidation_price`), so the bar path
  O→H→L→C closes it where Binance would.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nautilus_trader.core import nautilus_pyo3 as n3

from vibe_quant.data.instruments import (
    MAKER_FEE,
    TAKER_FEE,
    Bracket,
    binance_perpetual,
    leverage_brackets,
)

VENUE_NAME = "BINANCE"
SETTLEMENT = "USDT"
#: Fractions of notional (0.0002 = 0.02 %).
MAKER_FEE_RATE = float(MAKER_FEE)
TAKER_FEE_RATE = float(TAKER_FEE)


def bracket_for(symbol: str, notional: float) -> Bracket:
    """Leverage bracket whose ``[notional_floor, notional_cap)`` holds ``notional`` (USDT)."""
    brs = leverage_brackets(symbol)
    for b in brs:
        if b.notional_floor <= notional < b.notional_cap:
            return b
    return brs[-1]


def max_leverage_for(symbol: str, notional: float) -> float:
    """Highest leverage Binance allows at ``notional`` (USDT)."""
    return bracket_for(symbol, notional).max_leverage


def liquidation_price(
    side: int, qty: float, entry_price: float, margin: float, mmr: float, cum: float
) -> float:
    """Binance isolated-margin liquidation price of a one-way (NETTING) position.

    Binance's formula (USDⓈ-M, one-way mode, isolated, single position; TMM = UPNL = 0)::

        LP = (WB + cum − side × Q × EP) / (Q × MMR − side × Q)

    Args:
        side: +1 long, −1 short.
        qty: Q, position size in base units (BTC), > 0.
        entry_price: EP, average entry price (USDT).
        margin: WB, the isolated wallet balance = entry notional / leverage (USDT).
        mmr: maintenance margin rate of the bracket (fraction).
        cum: maintenance amount of the bracket (USDT).

    Returns:
        The price in USDT (may be ≤ 0 for a long that cannot be liquidated, e.g. 1× leverage).
    """
    return (margin + cum - side * qty * entry_price) / (qty * mmr - side * qty)


@dataclass(frozen=True)
class VenueSettings:
    """Per-run venue parameters.

    Attributes:
        starting_balance: USDT wallet balance at the start.
        leverage: account leverage (initial margin = 1/leverage of notional).
        mmr: maintenance margin rate applied by Nautilus (fraction).
        cum: maintenance amount of that bracket (USDT), for the liquidation price.
        liquidation_trigger_ratio: Nautilus liquidates when equity ≤ maintenance × ratio.
    """

    symbol: str
    starting_balance: float
    leverage: float
    mmr: float
    cum: float
    liquidation_trigger_ratio: float = 1.0

    @classmethod
    def for_run(cls, symbol: str, starting_balance: float, leverage: float) -> VenueSettings:
        """Settings whose maintenance bracket holds ``starting_balance × leverage`` notional.

        Raises:
            ValueError: leverage outside [1, the bracket's max leverage].
        """
        if not (leverage >= 1):
            raise ValueError(f"leverage must be ≥ 1, got {leverage}")
        if not (starting_balance > 0):
            raise ValueError(f"starting_balance must be > 0, got {starting_balance}")
        b = bracket_for(symbol, starting_balance * leverage)
        if leverage > b.max_leverage:
            raise ValueError(
                f"leverage {leverage}x exceeds Binance's max {b.max_leverage:g}x for "
                f"{starting_balance * leverage:,.0f} USDT notional of {symbol}"
            )
        return cls(symbol, float(starting_balance), float(leverage), b.maint_margin_rate, b.cum)

    def instrument(self, base: n3.CryptoPerpetual | None = None) -> n3.CryptoPerpetual:
        """The Nautilus instrument with this run's margin rates and Binance fees.

        ``base`` (e.g. the catalogued instrument) supplies the contract spec; default: the
        packaged reference spec.
        """
        mi = Decimal(1) / Decimal(str(self.leverage))
        mm = Decimal(str(self.mmr))
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
# Fidelity presets: same code path, different fill / latency models.
# ---------------------------------------------------------------------------------------------

#: ``(seed) -> FillModel | None`` and ``(seed) -> LatencyModel | None``.
ModelFactory = Callable[[int], Any]


@dataclass(frozen=True)
class FidelityPreset:
    """A named fill/latency configuration.

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
    #: actor that feeds recent bars to the fill model (``vibe_quant.validation.fill``).
    attach: Callable[[Any, VenueSettings, int], None] | None = None


PRESETS: dict[str, FidelityPreset] = {
    "screening": FidelityPreset("screening"),
    # Placeholder: vibe_quant.validation.presets replaces it via register_preset() (square-root
    # fill model, latency preset, VIP-tier fees); get_preset() imports that module on first use.
    "validation": FidelityPreset("validation"),
}


def register_preset(preset: FidelityPreset) -> None:
    """Install or replace a fidelity preset (the validation stage plugs its models in here)."""
    PRESETS[preset.name] = preset


#: Presets installed by a later stage on first use: mode -> module whose import calls
#: :func:`register_preset`. Only a still-unreplaced placeholder triggers the import, so a
#: preset registered explicitly (e.g. by a test) is never overwritten. Imported by name to keep
#: the backtest package free of a module-level dependency on later stages.
PRESET_PROVIDERS: dict[str, str] = {"validation": "vibe_quant.validation.presets"}
_PLACEHOLDERS: dict[str, FidelityPreset] = {"validation": PRESETS["validation"]}


def get_preset(mode: str) -> FidelityPreset:
    if mode in PRESET_PROVIDERS and PRESETS.get(mode) is _PLACEHOLDERS.get(mode):
        import importlib

        importlib.import_module(PRESET_PROVIDERS[mode])
    try:
        return PRESETS[mode]
    except KeyError:
        raise ValueError(f"unknown mode {mode!r}; expected one of {sorted(PRESETS)}") from None


def add_venue(engine: Any, settings: VenueSettings, preset: FidelityPreset, seed: int) -> None:
    """Add the Binance venue to a PyO3 ``BacktestEngine``."""
    usdt = n3.Currency.from_str(SETTLEMENT)
    kwargs: dict[str, Any] = {}
    if preset.fill_model is not None:
        kwargs["fill_model"] = preset.fill_model(seed)
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
        liquidation_enabled=True,
        liquidation_trigger_ratio=Decimal(str(settings.liquidation_trigger_ratio)),
        liquidation_cancel_open_orders=True,
        **kwargs,
    )
    if preset.attach is not None:
        preset.attach(engine, settings, seed)


def tick_round(price: float, tick: float, up: bool) -> float:
    """Round a price to the tick grid, up or down."""
    steps = price / tick
    steps = math.ceil(steps - 1e-9) if up else math.floor(steps + 1e-9)
    return steps * tick
