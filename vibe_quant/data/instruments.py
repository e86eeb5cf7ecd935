"""Binance USDⓈ-M perpetual contract specifications as NautilusTrader instruments.

Specs (tick size, step size, min/max quantity, min notional) come from a real
``GET /fapi/v1/exchangeInfo`` payload: the newest one archived by ``data ingest`` when the REST
API was reachable, else the packaged reference ``reference/binance_usdm.json`` (taken from a real
payload; a test checks it against the real files). Leverage brackets (maintenance margin rate per
notional tier, fraction; ``cum`` in USDT) come from the packaged reference, because Binance only
serves them on a signed endpoint.

Fees (fractions of notional): maker 0.0002 (0.02 %), taker 0.0005 (0.05 %) — Binance VIP 0.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from nautilus_trader.core import nautilus_pyo3 as n3

VENUE = "BINANCE"
MAKER_FEE = Decimal("0.0002")
TAKER_FEE = Decimal("0.0005")


@dataclass(frozen=True)
class Bracket:
    """One Binance leverage bracket (notional tier) of a symbol.

    Attributes:
        notional_floor, notional_cap: tier bounds in USDT notional (floor inclusive).
        maint_margin_rate: maintenance margin rate as a fraction of notional (0.004 = 0.4 %).
        max_leverage: highest leverage allowed in the tier.
        cum: maintenance amount in USDT, so that MM = notional × rate − cum (Binance's formula).
    """

    notional_floor: float
    notional_cap: float
    maint_margin_rate: float
    max_leverage: float
    cum: float


@dataclass(frozen=True)
class ContractSpec:
    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: str
    step_size: str
    min_qty: str
    max_qty: str
    min_notional: str
    min_price: str
    max_price: str


class UnknownSymbolError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0])


@lru_cache(maxsize=1)
def _reference() -> dict[str, Any]:
    text = resources.files("vibe_quant.data").joinpath("reference/binance_usdm.json").read_text()
    return json.loads(text)["symbols"]


def instrument_id(symbol: str) -> str:
    """Nautilus id of a Binance USDⓈ-M perpetual: ``BTCUSDT`` → ``BTCUSDT-PERP.BINANCE``."""
    return f"{symbol.upper()}-PERP.{VENUE}"


def bar_type(symbol: str, interval: str) -> str:
    """Nautilus bar type string, e.g. ``BTCUSDT-PERP.BINANCE-5-MINUTE-LAST-EXTERNAL``."""
    from vibe_quant.data.intervals import nautilus_bar_spec

    return f"{instrument_id(symbol)}-{nautilus_bar_spec(interval)}-LAST-EXTERNAL"


def parse_bar_type(bar_type_str: str) -> tuple[str, str]:
    """Inverse of :func:`bar_type`: ``BTCUSDT-PERP.BINANCE-1-HOUR-LAST-EXTERNAL`` →
    ``("BTCUSDT", "1h")``. Raises ValueError for any other shape."""
    m = re.fullmatch(r"([A-Z0-9]+)-PERP\.BINANCE-(\d+)-(MINUTE|HOUR|DAY)-LAST-EXTERNAL",
                     bar_type_str)
    if not m:
        raise ValueError(f"not a vibe-quant bar type: {bar_type_str!r}")
    unit = {"MINUTE": "m", "HOUR": "h", "DAY": "d"}[m.group(3)]
    return m.group(1), f"{int(m.group(2))}{unit}"


def parse_exchange_info(payload: str | dict[str, Any]) -> dict[str, ContractSpec]:
    """Contract specs of every PERPETUAL symbol in an exchangeInfo payload."""
    doc = json.loads(payload) if isinstance(payload, str) else payload
    out: dict[str, ContractSpec] = {}
    for s in doc.get("symbols", []):
        if s.get("contractType") != "PERPETUAL":
            continue
        f = {x["filterType"]: x for x in s.get("filters", [])}
        try:
            out[s["symbol"]] = ContractSpec(
                symbol=s["symbol"],
                base_asset=s["baseAsset"],
                quote_asset=s["quoteAsset"],
                tick_size=f["PRICE_FILTER"]["tickSize"],
                step_size=f["LOT_SIZE"]["stepSize"],
                min_qty=f["LOT_SIZE"]["minQty"],
                max_qty=f["LOT_SIZE"]["maxQty"],
                min_notional=f["MIN_NOTIONAL"].get(
                    "notional", f["MIN_NOTIONAL"].get("minNotional")
                ),
                min_price=f["PRICE_FILTER"]["minPrice"],
                max_price=f["PRICE_FILTER"]["maxPrice"],
            )
        except KeyError:
            continue
    return out


def reference_spec(symbol: str) -> ContractSpec:
    ref = _reference()
    if symbol not in ref:
        raise UnknownSymbolError(
            f"no contract spec for {symbol}: not in the archived exchangeInfo nor the packaged "
            f"reference ({', '.join(sorted(ref))})"
        )
    r = ref[symbol]
    return ContractSpec(
        symbol,
        r["base_asset"],
        r["quote_asset"],
        r["tick_size"],
        r["step_size"],
        r["min_qty"],
        r["max_qty"],
        r["min_notional"],
        r["min_price"],
        r["max_price"],
    )


def leverage_brackets(symbol: str) -> list[Bracket]:
    """Binance leverage brackets of ``symbol``, ascending by notional.

    Raises:
        UnknownSymbolError: when the packaged reference has no brackets for it.
    """
    ref = _reference()
    if symbol not in ref:
        raise UnknownSymbolError(f"no leverage brackets for {symbol}")
    return [Bracket(**b) for b in ref[symbol]["brackets"]]


def bracket_for_notional(symbol: str, notional: float) -> Bracket:
    """The bracket whose [floor, cap) holds ``notional`` (USDT)."""
    brs = leverage_brackets(symbol)
    for b in brs:
        if b.notional_floor <= notional < b.notional_cap:
            return b
    return brs[-1]


def _decimals(step: str) -> int:
    d = Decimal(step).normalize()
    return max(0, -d.as_tuple().exponent)


def _norm(step: str) -> str:
    return format(Decimal(step).normalize(), "f")


def binance_perpetual(
    symbol: str,
    *,
    spec: ContractSpec | None = None,
    margin_init: float | Decimal | None = None,
    margin_maint: float | Decimal | None = None,
    ts_ns: int = 0,
) -> n3.CryptoPerpetual:
    """A Nautilus ``CryptoPerpetual`` for a Binance USDⓈ-M linear perpetual.

    Args:
        symbol: e.g. ``"BTCUSDT"``.
        spec: contract spec; default the packaged reference.
        margin_init: initial margin as a fraction of notional (1/leverage). Default: 1/max
            leverage of the first bracket (0.008 for BTCUSDT at 125x).
        margin_maint: maintenance margin rate, fraction. Default: first bracket's rate.
        ts_ns: ``ts_event``/``ts_init`` in UTC epoch ns.

    Precision follows the tick and step sizes (BTCUSDT tick 0.10 → 1 decimal). Fees: maker
    0.0002, taker 0.0005 (fractions).
    """
    spec = spec or reference_spec(symbol)
    brs = leverage_brackets(symbol)
    mi = (
        Decimal(str(margin_init))
        if margin_init is not None
        else Decimal(1) / Decimal(str(brs[0].max_leverage))
    )
    mm = (
        Decimal(str(margin_maint))
        if margin_maint is not None
        else Decimal(str(brs[0].maint_margin_rate))
    )
    price_prec = _decimals(spec.tick_size)
    size_prec = _decimals(spec.step_size)
    quote = n3.Currency.from_str(spec.quote_asset)
    try:
        base = n3.Currency.from_str(spec.base_asset)
    except Exception:  # unknown to Nautilus: register a crypto currency
        base = n3.Currency(spec.base_asset, 8, 0, spec.base_asset, n3.CurrencyType.CRYPTO)
    return n3.CryptoPerpetual(
        n3.InstrumentId.from_str(instrument_id(symbol)),
        n3.Symbol(symbol),
        base,
        quote,
        quote,
        False,
        price_prec,
        size_prec,
        n3.Price.from_str(_norm(spec.tick_size)),
        n3.Quantity.from_str(_norm(spec.step_size)),
        ts_ns,
        ts_ns,
        multiplier=n3.Quantity.from_int(1),
        lot_size=n3.Quantity.from_str(_norm(spec.step_size)),
        max_quantity=n3.Quantity.from_str(
            format(Decimal(spec.max_qty).quantize(Decimal(10) ** -size_prec), "f")
        ),
        min_quantity=n3.Quantity.from_str(
            format(Decimal(spec.min_qty).quantize(Decimal(10) ** -size_prec), "f")
        ),
        min_notional=n3.Money(float(spec.min_notional), quote),
        max_price=n3.Price.from_str(
            format(Decimal(spec.max_price).quantize(Decimal(10) ** -price_prec), "f")
        ),
        min_price=n3.Price.from_str(
            format(Decimal(spec.min_price).quantize(Decimal(10) ** -price_prec), "f")
        ),
        margin_init=mi,
        margin_maint=mm,
        maker_fee=MAKER_FEE,
        taker_fee=TAKER_FEE,
    )
