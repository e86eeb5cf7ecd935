"""Binance USDⓈ-M perpetual contract specifications as NautilusTrader instruments.

Two kinds of per-symbol terms, each with its own sources (SPEC.md 2.4):

* **Contract spec** (tick size, step size, min/max quantity, min notional, price limits,
  ``liquidationFee``): from the newest archived ``GET /fapi/v1/exchangeInfo`` payload that lists
  the symbol, else the packaged reference ``reference/binance_usdm.json`` (copied from a real
  payload; BTCUSDT and ETHUSDT).
* **Leverage brackets** (maintenance margin rate per notional tier, fraction; ``cum`` in USDT):
  from the newest archived signed ``GET /fapi/v1/leverageBracket`` response that lists the
  symbol, else the newest archived ``--brackets FILE``, else the packaged reference (BTCUSDT,
  ETHUSDT, SOLUSDT).

A symbol with neither is refused (:class:`MissingContractTermsError`), never defaulted.
``vibe_quant.data.catalog`` resolves both when it catalogues a symbol and stores them next to
the instrument; :func:`vibe_quant.data.catalog.load_instrument` makes them the terms *in force*
in this process (:func:`use_terms`), which is what :func:`leverage_brackets` and
:func:`liquidation_fee_rate` answer from (else the packaged reference).

Fees (fractions of notional): maker 0.0002 (0.02 %), taker 0.0005 (0.05 %) — Binance VIP 0.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import asdict, dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from nautilus_trader.core import nautilus_pyo3 as n3

from vibe_quant.core.errors import DataError, VenueError
from vibe_quant.core.intervals import nautilus_bar_spec
from vibe_quant.venues.binance.rest import API_KEY_ENV, API_SECRET_ENV

VENUE = "BINANCE"
MAKER_FEE = Decimal("0.0002")
TAKER_FEE = Decimal("0.0005")

#: Where a spec or a bracket table came from (``ContractTerms.spec_source`` / ``brackets_source``).
SPEC_ARCHIVED = "archived exchangeInfo"
SPEC_PACKAGED = "packaged reference"
BRACKETS_SIGNED = "archived signed leverageBracket"
BRACKETS_FILE = "archived --brackets file"
BRACKETS_PACKAGED = "packaged reference"


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
    """Exchange filters of one perpetual, as the exchangeInfo strings (exact decimals).

    ``liquidation_fee`` is exchangeInfo's ``liquidationFee``: the liquidation clearance fee rate,
    a fraction of the liquidated notional (``"0.012000"`` = 1.2 % for BTCUSDT on 2022-02-19).
    """

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
    liquidation_fee: str


@dataclass(frozen=True)
class ContractTerms:
    """Everything the catalog and a backtest need of one symbol, with the source of each."""

    symbol: str
    spec: ContractSpec
    spec_source: str
    brackets: tuple[Bracket, ...]
    brackets_source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "spec": asdict(self.spec),
            "spec_source": self.spec_source,
            "brackets": [asdict(b) for b in self.brackets],
            "brackets_source": self.brackets_source,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ContractTerms:
        return cls(
            d["symbol"],
            ContractSpec(**d["spec"]),
            d["spec_source"],
            tuple(Bracket(**b) for b in d["brackets"]),
            d["brackets_source"],
        )


class UnknownSymbolError(VenueError, KeyError):
    """A symbol the venue (or the packaged reference) does not know; still a ``KeyError``."""

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0])


class MissingContractTermsError(UnknownSymbolError):
    """A symbol with no contract spec and/or no leverage brackets from any source.

    ``str(e)`` is one line naming the symbol, what is missing and the ways to provide it.
    """

    def __init__(self, symbol: str, *, spec: bool, brackets: bool):
        self.symbol, self.missing_spec, self.missing_brackets = symbol, spec, brackets
        super().__init__(
            missing_terms_message(symbol, spec=spec, brackets=brackets),
            symbol=symbol,
            missing_spec=spec,
            missing_brackets=brackets,
        )


class InstrumentFormatError(DataError, ValueError):
    """A bar type text or a leverage-bracket document is not in a shape vibe-quant reads
    (still a ``ValueError``)."""


def missing_terms_message(symbol: str, *, spec: bool, brackets: bool) -> str:
    """The one-line refusal for a symbol without specs (``spec``) and/or brackets."""
    ref = _reference()
    parts = []
    if spec:
        have = ", ".join(sorted(k for k, v in ref.items() if "tick_size" in v))
        parts.append(
            "no contract specs (no archived GET /fapi/v1/exchangeInfo lists it — run `vibe-quant "
            f"data ingest` with the REST API reachable, without --no-rest — and the packaged "
            f"reference has only {have})"
        )
    if brackets:
        have = ", ".join(sorted(k for k, v in ref.items() if v.get("brackets")))
        parts.append(
            "no leverage brackets: provide them one of three ways: set "
            f"{API_KEY_ENV} and {API_SECRET_ENV} so ingest fetches the signed "
            "GET /fapi/v1/leverageBracket; or pass --brackets FILE (Binance's leverageBracket "
            f"JSON) to `vibe-quant data ingest`; or use a symbol of the packaged reference ({have})"
        )
    return f"{symbol} not catalogued: " + "; ".join(parts)


@lru_cache(maxsize=1)
def _reference() -> dict[str, Any]:
    ref = resources.files("vibe_quant.venues.binance").joinpath("reference/binance_usdm.json")
    text = ref.read_text()
    return json.loads(text)["symbols"]


# Terms in force in this process, set from the catalog by ``catalog.load_instrument``.
_ACTIVE: dict[str, ContractTerms] = {}
_ACTIVE_LOCK = threading.Lock()


def use_terms(terms: ContractTerms) -> None:
    """Make ``terms`` the ones :func:`leverage_brackets` / :func:`liquidation_fee_rate` answer
    for its symbol in this process (called when a catalogued instrument is loaded)."""
    with _ACTIVE_LOCK:
        _ACTIVE[terms.symbol] = terms


def forget_terms(symbol: str) -> None:
    """Drop the terms in force for ``symbol`` (back to the packaged reference)."""
    with _ACTIVE_LOCK:
        _ACTIVE.pop(symbol, None)


def active_terms(symbol: str) -> ContractTerms | None:
    with _ACTIVE_LOCK:
        return _ACTIVE.get(symbol)


def instrument_id(symbol: str) -> str:
    """Nautilus id of a Binance USDⓈ-M perpetual: ``BTCUSDT`` → ``BTCUSDT-PERP.BINANCE``."""
    return f"{symbol.upper()}-PERP.{VENUE}"


def bar_type(symbol: str, interval: str) -> str:
    """Nautilus bar type string, e.g. ``BTCUSDT-PERP.BINANCE-5-MINUTE-LAST-EXTERNAL``."""
    return f"{instrument_id(symbol)}-{nautilus_bar_spec(interval)}-EXTERNAL"


def parse_bar_type(bar_type_str: str) -> tuple[str, str]:
    """Inverse of :func:`bar_type`: ``BTCUSDT-PERP.BINANCE-1-HOUR-LAST-EXTERNAL`` →
    ``("BTCUSDT", "1h")``.

    Raises:
        InstrumentFormatError (a ValueError): any other shape.
    """
    m = re.fullmatch(
        r"([A-Z0-9]+)-PERP\.BINANCE-(\d+)-(MINUTE|HOUR|DAY)-LAST-EXTERNAL", bar_type_str
    )
    if not m:
        raise InstrumentFormatError(f"not a vibe-quant bar type: {bar_type_str!r}")
    unit = {"MINUTE": "m", "HOUR": "h", "DAY": "d"}[m.group(3)]
    return m.group(1), f"{int(m.group(2))}{unit}"


def parse_exchange_info(payload: str | dict[str, Any]) -> dict[str, ContractSpec]:
    """Contract specs of every PERPETUAL symbol in an exchangeInfo payload.

    A symbol lacking any of PRICE_FILTER, LOT_SIZE, MIN_NOTIONAL or ``liquidationFee`` is left
    out (no spec is guessed)."""
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
                liquidation_fee=s["liquidationFee"],
            )
        except KeyError:
            continue
    return out


def reference_spec(symbol: str) -> ContractSpec:
    """The packaged reference spec of ``symbol``.

    Raises:
        MissingContractTermsError: the reference has no spec for it.
    """
    r = _reference().get(symbol)
    if not r or "tick_size" not in r:
        raise MissingContractTermsError(symbol, spec=True, brackets=False)
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
        r["liquidation_fee"],
    )


def reference_brackets(symbol: str) -> list[Bracket] | None:
    """The packaged reference brackets of ``symbol`` (ascending), or None."""
    r = _reference().get(symbol)
    if not r or not r.get("brackets"):
        return None
    return [Bracket(**b) for b in r["brackets"]]


def leverage_brackets(symbol: str) -> list[Bracket]:
    """Binance leverage brackets of ``symbol`` in force, ascending by notional.

    The one lookup every bracket user goes through: the brackets catalogued with the symbol
    (made current by :func:`vibe_quant.data.catalog.load_instrument`), else the packaged
    reference.

    Raises:
        MissingContractTermsError: neither has brackets for it.
    """
    t = active_terms(symbol)
    if t is not None:
        return list(t.brackets)
    brs = reference_brackets(symbol)
    if brs is None:
        raise MissingContractTermsError(symbol, spec=False, brackets=True)
    return brs


def liquidation_fee_rate(symbol: str) -> float:
    """exchangeInfo ``liquidationFee`` of ``symbol`` in force (fraction of notional): the
    catalogued spec's, else the packaged reference's.

    Raises:
        MissingContractTermsError: no spec for it.
    """
    t = active_terms(symbol)
    spec = t.spec if t is not None else reference_spec(symbol)
    return float(spec.liquidation_fee)


def parse_leverage_brackets(payload: str | bytes | list | dict) -> dict[str, list[Bracket]]:
    """Brackets per symbol from either accepted shape, ascending by notional.

    Shapes:
        * Binance ``GET /fapi/v1/leverageBracket``: a list of ``{"symbol", "brackets": [{"bracket",
          "initialLeverage", "notionalCap", "notionalFloor", "maintMarginRatio", "cum"}]}`` (or
          one such object, Binance's answer when ``symbol`` is sent).
        * ccxt ``fetch_leverage_tiers`` / freqtrade ``binance_leverage_tiers.json`` (the shape of
          ``../shared/data/binance-api/leverage_brackets_BTC_ETH_SOL.json``): ``{"BTC/USDT:USDT":
          [{"tier", …, "info": <Binance bracket as above>}]}``; only perpetual keys
          (``BASE/QUOTE:SETTLE``, no expiry suffix) are read, from each tier's ``info``.

    Raises:
        ValueError: not JSON (``json.JSONDecodeError``); InstrumentFormatError (a ValueError):
            neither shape, or a bracket missing a field (the message names it).
    """
    doc = json.loads(payload) if isinstance(payload, (str, bytes)) else payload
    rows: dict[str, list[dict]] = {}
    if isinstance(doc, dict) and "symbol" in doc and "brackets" in doc:
        doc = [doc]
    if isinstance(doc, list):
        for e in doc:
            if not isinstance(e, dict) or "symbol" not in e or "brackets" not in e:
                raise InstrumentFormatError("leverageBracket entries need 'symbol' and 'brackets'")
            rows[str(e["symbol"])] = list(e["brackets"])
    elif isinstance(doc, dict):
        for key, tiers in doc.items():
            m = re.fullmatch(r"([A-Z0-9]+)/([A-Z0-9]+):([A-Z0-9]+)", str(key))
            if not m or not isinstance(tiers, list):
                continue  # dated futures (…-241227), comments
            if any(not isinstance(t, dict) or "info" not in t for t in tiers):
                raise InstrumentFormatError(
                    f"{key}: each tier needs Binance's bracket under 'info'"
                )
            rows[m.group(1) + m.group(2)] = [t["info"] for t in tiers]
        if not rows:
            raise InstrumentFormatError("no perpetual 'BASE/QUOTE:SETTLE' keys found")
    else:
        raise InstrumentFormatError("expected a JSON list (Binance leverageBracket) or object")
    out: dict[str, list[Bracket]] = {}
    for sym, brs in rows.items():
        try:
            parsed = [
                Bracket(
                    notional_floor=float(b["notionalFloor"]),
                    notional_cap=float(b["notionalCap"]),
                    maint_margin_rate=float(b["maintMarginRatio"]),
                    max_leverage=float(b["initialLeverage"]),
                    cum=float(b["cum"]),
                )
                for b in brs
            ]
        except (KeyError, TypeError, ValueError) as e:
            raise InstrumentFormatError(f"{sym}: bracket without a valid {e} field") from None
        if parsed:
            out[sym] = sorted(parsed, key=lambda b: b.notional_floor)
    return out


def _decimals(step: str) -> int:
    d = Decimal(step).normalize()
    return max(0, -d.as_tuple().exponent)


def _norm(step: str) -> str:
    return format(Decimal(step).normalize(), "f")


def binance_perpetual(
    symbol: str,
    *,
    spec: ContractSpec | None = None,
    brackets: list[Bracket] | tuple[Bracket, ...] | None = None,
    margin_init: float | Decimal | None = None,
    margin_maint: float | Decimal | None = None,
    ts_ns: int = 0,
) -> n3.CryptoPerpetual:
    """A Nautilus ``CryptoPerpetual`` for a Binance USDⓈ-M linear perpetual.

    Args:
        symbol: e.g. ``"BTCUSDT"``.
        spec: contract spec; default the packaged reference.
        brackets: leverage brackets for the default margins; default :func:`leverage_brackets`.
        margin_init: initial margin as a fraction of notional (1/leverage). Default: 1/max
            leverage of the first bracket (0.008 for BTCUSDT at 125x).
        margin_maint: maintenance margin rate, fraction. Default: first bracket's rate.
        ts_ns: ``ts_event``/``ts_init`` in UTC epoch ns.

    Precision follows the tick and step sizes (BTCUSDT tick 0.10 → 1 decimal). Fees: maker
    0.0002, taker 0.0005 (fractions).
    """
    spec = spec or reference_spec(symbol)
    brs = list(brackets) if brackets else leverage_brackets(symbol)
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
