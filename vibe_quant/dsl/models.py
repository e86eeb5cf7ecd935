"""Pydantic v2 models of the strategy language (structure only; meaning is checked in
:mod:`vibe_quant.dsl.validate`).

Units, everywhere in the language:

* a field whose name ends in ``_pct`` is a **percent**: ``1.5`` means 1.5 % (0.015 as a fraction);
* ``multiple``, ``ratio``, ``leverage``, ``max_notional_multiple`` and Kelly ``fraction`` are plain
  multipliers (``2`` = two times);
* ``notional`` is in the instrument's quote currency (USDT for BTCUSDT perpetuals);
* times are ``"HH:MM"`` in UTC; durations are whole minutes; indicator periods are bars of the
  indicator's own timeframe.

Sweepable numeric fields accept either a number or a ``"$name"`` reference to an entry of
``parameters``.  Condition lists are kept as raw YAML data here (``str`` / ``{any: [...]}`` /
``{all: [...]}`` / nested lists); the parsed AST is available from
:meth:`StrategySpec.rule` once the spec has been validated.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    StrictFloat,
    StrictInt,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError, ValidationError

from vibe_quant.core.intervals import IndicatorTimeframe, StrategyTimeframe
from vibe_quant.dsl.registry import PRICE_FIELDS, ParamSpec, _show

NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
PARAM_REF_RE = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
HHMM_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

Source = Literal["open", "high", "low", "close", "volume", "hl2", "hlc3", "ohlc4"]
assert set(Source.__args__) == set(PRICE_FIELDS)  # type: ignore[attr-defined]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

PARAM_REF_SCHEMA = {"type": "string", "pattern": PARAM_REF_RE.pattern,
                    "description": "reference to an entry of `parameters`, e.g. $risk"}


def finite(x: object) -> bool:
    """True for a finite int/float that is not a bool."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def quoted_number(value: object) -> str | None:
    """For a string that reads as a finite number (``"14"``), the hint
    ``"'14' is a quoted string; write 14 without quotes"``; else ``None``."""
    if isinstance(value, str):
        text = value.strip()
        try:
            num = float(text)
        except ValueError:
            return None
        if math.isfinite(num) and text:
            return f"'{value}' is a quoted string; write {text} without quotes"
    return None


def param_ref(value: object) -> str | None:
    """``"$name"`` -> ``"name"``; anything else -> ``None``."""
    if isinstance(value, str):
        m = PARAM_REF_RE.match(value)
        if m:
            return m.group(1)
    return None


# -- numeric slots (number or $parameter) -------------------------------------------------

#: Every sweepable stop / take-profit / sizing value: (section, type-or-method) -> field -> spec.
SLOTS: dict[tuple[str, str], dict[str, ParamSpec]] = {
    ("stop_loss", "fixed_pct"): {
        "pct": ParamSpec("pct", "float", 2.0, None, 50.0, 0.0, "stop distance, % of entry price"),
    },
    ("stop_loss", "atr_fixed"): {
        "multiple": ParamSpec("multiple", "float", 2.0, None, 50.0, 0.0, "stop distance in ATRs"),
    },
    ("stop_loss", "atr_trailing"): {
        "multiple": ParamSpec("multiple", "float", 3.0, None, 50.0, 0.0,
                              "trailing distance in ATRs"),
    },
    ("take_profit", "fixed_pct"): {
        "pct": ParamSpec("pct", "float", 4.0, None, 1000.0, 0.0, "target, % of entry price"),
    },
    ("take_profit", "atr_fixed"): {
        "multiple": ParamSpec("multiple", "float", 4.0, None, 100.0, 0.0, "target in ATRs"),
    },
    ("take_profit", "risk_reward"): {
        "ratio": ParamSpec("ratio", "float", 2.0, None, 100.0, 0.0,
                           "target = ratio x initial stop distance"),
    },
    ("sizing", "fixed_fractional"): {
        "risk_pct": ParamSpec("risk_pct", "float", 1.0, None, 100.0, 0.0,
                              "% of equity lost if the stop is hit"),
    },
    ("sizing", "kelly"): {
        "fraction": ParamSpec("fraction", "float", 0.5, None, 1.0, 0.0,
                              "multiplier of the full Kelly fraction (0.5 = half Kelly)"),
        "floor_pct": ParamSpec("floor_pct", "float", 0.25, 0.0, 100.0, None,
                               "minimum risk, % of equity (also used before min_trades)"),
        "cap_pct": ParamSpec("cap_pct", "float", 2.0, None, 100.0, 0.0,
                             "maximum risk, % of equity"),
    },
    ("sizing", "atr"): {
        "risk_pct": ParamSpec("risk_pct", "float", 1.0, None, 100.0, 0.0,
                              "% of equity per ATR x multiple of adverse move"),
        "multiple": ParamSpec("multiple", "float", 2.0, None, 50.0, 0.0, "ATR multiple"),
    },
    ("sizing", "fixed_notional"): {
        "notional": ParamSpec("notional", "float", 1000.0, None, 1e9, 0.0,
                              "position notional in quote currency"),
    },
    ("sizing", "equity_pct"): {
        "pct": ParamSpec("pct", "float", 100.0, None, 12500.0, 0.0,
                         "position notional, % of equity (100 = all-in at leverage 1)"),
    },
    ("entry_order", "limit"): {
        "offset_pct": ParamSpec("offset_pct", "float", 0.0, 0.0, 50.0, None,
                                "limit price distance from the signal bar's close, % (below "
                                "it for a buy, above it for a sell)"),
        "offset_atr": ParamSpec("offset_atr", "float", 0.0, 0.0, 50.0, None,
                                "further distance in multiples of the ATR indicator"),
        "expiry_bars": ParamSpec("expiry_bars", "int", 1, 1, 10_000, None,
                                 "cancel the order when it is unfilled after this many base "
                                 "bars"),
    },
    ("exit_order", "limit"): {
        "offset_pct": ParamSpec("offset_pct", "float", 0.0, 0.0, 50.0, None,
                                "limit price distance from the signal bar's close, % (above "
                                "it when closing a long, below when closing a short)"),
        "offset_atr": ParamSpec("offset_atr", "float", 0.0, 0.0, 50.0, None,
                                "further distance in multiples of the ATR indicator"),
        "expiry_bars": ParamSpec("expiry_bars", "int", 1, 1, 10_000, None,
                                 "cancel the order when it is unfilled after this many base "
                                 "bars"),
    },
    ("pyramiding", "rule"): {
        "max_entries": ParamSpec("max_entries", "int", 2, 1, 100, None,
                                 "entries per trade, the first one included"),
        "size_pct": ParamSpec("size_pct", "float", 100.0, None, 1000.0, 0.0,
                              "quantity of each add-on, % of the first entry's quantity"),
    },
    ("trailing_stop", "pct"): {
        "pct": ParamSpec("pct", "float", 1.0, None, 50.0, 0.0,
                         "trailing distance, % below the highest high (long) since entry"),
        "offset_pct": ParamSpec("offset_pct", "float", 0.0, 0.0, 1000.0, None,
                                "activation: the trail starts once the best price is more "
                                "than this % beyond the entry price"),
    },
}
#: the ``roi`` table's values (percent) and ``max_bars``
ROI_SPEC = ParamSpec("roi", "float", 1.0, -100.0, 1000.0, None,
                     "minimum profit, % of the entry value net of fees, to exit at this age")
MAX_BARS_SPEC = ParamSpec("max_bars", "int", 100, 1, 10_000_000, None,
                          "exit at market after this many base bars in the trade")
ROI_KEY_RE = re.compile(r"^(0|[1-9][0-9]{0,6})$")
#: fields present on every sizing method
SIZING_COMMON: dict[str, ParamSpec] = {
    "leverage": ParamSpec("leverage", "float", 1.0, 1.0, 125.0, None,
                          "exchange leverage (margin = notional / leverage)"),
    "max_notional_multiple": ParamSpec("max_notional_multiple", "float", 1.0, None, 125.0, 0.0,
                                       "cap on position notional as a multiple of equity "
                                       "(default: leverage)"),
}


def _num_slot(spec: ParamSpec):  # type: ignore[no-untyped-def]
    """Annotated type: a number satisfying ``spec`` or a ``$parameter`` reference (one error)."""

    def check(value: Any) -> Any:
        if param_ref(value) is not None:
            return value
        if isinstance(value, str) and value.startswith("$"):
            raise PydanticCustomError("param_ref", "bad parameter reference {value}",
                                      {"value": repr(value), "expected": "$name"})
        hint = quoted_number(value)
        if hint:
            raise PydanticCustomError("param_value", hint,
                                      {"expected": spec.expected() + " or a $parameter"})
        msg = spec.check(value)
        if msg:
            raise PydanticCustomError(
                "slot", "bad value {value}",
                {"value": _show(value), "expected": spec.expected() + " or a $parameter"},
            )
        return value

    schema = spec.json_schema()
    schema["description"] = spec.description
    schema["anyOf"][1] = PARAM_REF_SCHEMA
    return Annotated[int | float | str, PlainValidator(check), WithJsonSchema(schema)]


def _slot(section: str, kind: str, name: str):  # type: ignore[no-untyped-def]
    return _num_slot(SLOTS[(section, kind)][name])


# -- basics ------------------------------------------------------------------------------


class Model(BaseModel):
    """Base: unknown fields are errors; NaN/inf are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=False)


Scalar = StrictInt | StrictFloat  # booleans are not numbers here


class SweepRange(Model):
    """Inclusive grid ``min, min+step, ..., <= max``; integers stay integers."""

    min: Scalar
    max: Scalar
    step: Annotated[Scalar, Field(gt=0)]

    @model_validator(mode="after")
    def _order(self) -> SweepRange:
        if self.min > self.max:
            raise PydanticCustomError("range_order", "min ({min}) is greater than max ({max})",
                                      {"min": self.min, "max": self.max,
                                       "expected": "min <= max"})
        return self


SWEEP_EXPECTED = "a non-empty list of numbers or {min, max, step} with min <= max and step > 0"


def _check_sweep(value: Any) -> list[int | float] | SweepRange:
    if isinstance(value, SweepRange):
        return value
    if isinstance(value, list):
        if not value:
            raise PydanticCustomError("sweep_values", "empty sweep list",
                                      {"expected": SWEEP_EXPECTED})
        for i, v in enumerate(value):
            if not finite(v):
                raise PydanticCustomError(
                    "sweep_values", "sweep list item [{i}] is {value}, not a number",
                    {"i": i, "value": _show(v), "expected": SWEEP_EXPECTED})
        return list(value)
    if isinstance(value, dict):
        try:
            return SweepRange.model_validate(value)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = err["loc"][0] if err["loc"] else None
            if err["type"] == "missing":
                msg = f"sweep range is missing '{field}'"
            elif err["type"] == "extra_forbidden":
                msg = f"unknown field '{field}' in sweep range"
            elif err["type"] == "range_order":
                msg = err["msg"]
            elif err["type"].startswith(("int_", "float_", "finite")):
                msg = f"sweep range '{field}' must be a number, got {_show(err['input'])}"
            elif field == "step" and err["type"] == "greater_than":
                msg = f"sweep step must be > 0, got {_show(err['input'])}"
            else:
                msg = f"bad sweep range: {field}: {err['msg']}"
            raise PydanticCustomError("sweep_range", msg.replace("{", "(").replace("}", ")"),
                                      {"expected": SWEEP_EXPECTED}) from None
    raise PydanticCustomError("sweep_values", "sweep values must be a list or a range, got {value}",
                              {"value": _show(value), "expected": SWEEP_EXPECTED})


_NUM = {"type": "number"}
SWEEP_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "array", "items": _NUM, "minItems": 1},
        {"type": "object", "properties": {"min": _NUM, "max": _NUM,
                                          "step": {"type": "number", "exclusiveMinimum": 0}},
         "required": ["min", "max", "step"], "additionalProperties": False},
    ],
    "description": "values to sweep: a list, or an inclusive range {min, max, step}",
}
def _dump_sweep(value: Any) -> Any:
    return value.model_dump() if isinstance(value, SweepRange) else list(value)


SweepValues = Annotated[list[Scalar] | SweepRange, PlainValidator(_check_sweep),
                        PlainSerializer(_dump_sweep), WithJsonSchema(SWEEP_SCHEMA)]


def _check_version(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, str) and re.match(r"^\d+(\.\d+){0,2}$", value):
        return value
    raise PydanticCustomError("version", "bad version {value}",
                              {"value": _show(value),
                               "expected": "an integer >= 1 or a string like '1.2.0'"})


Version = Annotated[int | str, PlainValidator(_check_version),
                    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1},
                                              {"type": "string",
                                               "pattern": r"^\d+(\.\d+){0,2}$"}]})]


class Parameter(Model):
    """A named number usable as ``$name`` in conditions and in any sweepable field."""

    default: Scalar
    sweep: SweepValues | None = None
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return {"default": data}
        return data

    @property
    def is_int(self) -> bool:
        """True when the default (and every sweep value) is an integer."""
        if not isinstance(self.default, int):
            return False
        if isinstance(self.sweep, list):
            return all(isinstance(v, int) for v in self.sweep)
        if isinstance(self.sweep, SweepRange):
            r = self.sweep
            return all(isinstance(v, int) for v in (r.min, r.max, r.step))
        return True


def _check_param_value(value: Any) -> Any:
    if finite(value) or param_ref(value) is not None:
        return value
    hint = quoted_number(value)
    if hint:
        raise PydanticCustomError("param_value", hint, {"expected": "a number or a $parameter"})
    raise PydanticCustomError("param_value", "bad parameter value {value}",
                              {"value": _show(value), "expected": "a number or a $parameter"})


ParamValue = Annotated[
    int | float | str,
    PlainValidator(_check_param_value),
    WithJsonSchema({"anyOf": [{"type": "number"}, PARAM_REF_SCHEMA]}),
]


class Indicator(Model):
    """One indicator instance; ``params`` are checked against the registry."""

    type: str = Field(description="indicator type, see docs/dsl.md (e.g. ema, macd, atr)")
    params: dict[str, ParamValue] = Field(default_factory=dict)
    source: Source | None = Field(
        default=None, description="input series for single-input indicators (default close)")
    timeframe: IndicatorTimeframe | None = Field(
        default=None, description="bar timeframe; default the strategy's; never lower")
    informative: str | None = Field(
        default=None, description="name of an informative series (top-level `informative`): "
        "the indicator reads that symbol's bars (its timeframe by default) instead of the "
        "traded symbol's")
    description: str = ""


CONDITION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "description": "condition, e.g. 'ema_fast crosses_above ema_slow'"},
        {"type": "object", "properties": {"any": {"type": "array",
                                                  "items": {"$ref": "#/$defs/ConditionItem"},
                                                  "minItems": 1}},
         "required": ["any"], "additionalProperties": False},
        {"type": "object", "properties": {"all": {"type": "array",
                                                  "items": {"$ref": "#/$defs/ConditionItem"},
                                                  "minItems": 1}},
         "required": ["all"], "additionalProperties": False},
        {"type": "array", "items": {"$ref": "#/$defs/ConditionItem"}, "minItems": 1},
    ]
}
#: loose stand-in; :func:`vibe_quant.dsl.schema.strategy_json_schema` swaps in the recursive
#: CONDITION_SCHEMA under ``$defs/ConditionItem``.
CONDITION_ITEM_PLACEHOLDER: dict[str, Any] = {
    "title": "ConditionItem",
    "anyOf": [{"type": "string"}, {"type": "object"}, {"type": "array"}],
}
ConditionItem = Annotated[Any, WithJsonSchema(CONDITION_ITEM_PLACEHOLDER)]
ConditionList = Annotated[list[ConditionItem], Field(min_length=1)]


class Sides(Model):
    """Condition lists per side; every item must hold (AND)."""

    long: ConditionList | None = None
    short: ConditionList | None = None

    @field_validator("long", "short", mode="before")
    @classmethod
    def _single(cls, v: Any) -> Any:
        return [v] if isinstance(v, (str, dict)) else v


class Session(Model):
    """Allowed UTC window ``[start, end)``; ``end < start`` crosses midnight."""

    start: Annotated[str, Field(pattern=HHMM_RE.pattern, description="HH:MM UTC, inclusive")]
    end: Annotated[str, Field(pattern=HHMM_RE.pattern, description="HH:MM UTC, exclusive")]

    @model_validator(mode="after")
    def _nonempty(self) -> Session:
        if self.start == self.end:
            raise PydanticCustomError("session_empty", "session start equals end ({start})",
                                      {"start": self.start,
                                       "expected": "different start and end times"})
        return self

    def minutes(self) -> tuple[int, int]:
        """``(start, end)`` in minutes after 00:00 UTC."""
        def m(t: str) -> int:
            h, mm = t.split(":")
            return int(h) * 60 + int(mm)
        return m(self.start), m(self.end)

    def contains(self, minute_of_day: int) -> bool:
        """True when ``minute_of_day`` (0..1439, UTC) lies in the window."""
        s, e = self.minutes()
        if s < e:
            return s <= minute_of_day < e
        return minute_of_day >= s or minute_of_day < e


class TimeFilters(Model):
    """Entry filters (exits are never blocked). Evaluated at the decision bar's close, UTC."""

    sessions: list[Session] = Field(
        default_factory=list,
        description="entries only inside one of these windows; empty = always")
    blocked_weekdays: list[Weekday] = Field(default_factory=list,
                                            description="UTC weekdays without entries")
    funding_blackout_minutes: Annotated[int, Field(ge=0, le=480)] = Field(
        default=0,
        description="no entries within this many minutes before or after a funding time; "
        "funding times come from the funding-rate data at run time")

    @field_validator("blocked_weekdays", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        if isinstance(v, list):
            full = {d: d[:3] for d in ("monday", "tuesday", "wednesday", "thursday", "friday",
                                       "saturday", "sunday")}
            return [full.get(x.lower(), x.lower()) if isinstance(x, str) else x for x in v]
        return v


class FixedPctStop(Model):
    type: Literal["fixed_pct"]
    pct: _slot("stop_loss", "fixed_pct", "pct")


class AtrFixedStop(Model):
    type: Literal["atr_fixed"]
    indicator: str = Field(default="atr", description="name of an indicator of type atr")
    multiple: _slot("stop_loss", "atr_fixed", "multiple")


class AtrTrailingStop(Model):
    """Trails the best price since entry by ``multiple`` x current ATR; resets every trade."""

    type: Literal["atr_trailing"]
    indicator: str = Field(default="atr", description="name of an indicator of type atr")
    multiple: _slot("stop_loss", "atr_trailing", "multiple")


StopLoss = Annotated[FixedPctStop | AtrFixedStop | AtrTrailingStop,
                     Field(discriminator="type")]


class FixedPctTarget(Model):
    type: Literal["fixed_pct"]
    pct: _slot("take_profit", "fixed_pct", "pct")


class AtrFixedTarget(Model):
    type: Literal["atr_fixed"]
    indicator: str = Field(default="atr", description="name of an indicator of type atr")
    multiple: _slot("take_profit", "atr_fixed", "multiple")


class RiskRewardTarget(Model):
    """Target distance = ``ratio`` x the initial stop distance (needs ``stop_loss``)."""

    type: Literal["risk_reward"]
    ratio: _slot("take_profit", "risk_reward", "ratio")


TakeProfit = Annotated[FixedPctTarget | AtrFixedTarget | RiskRewardTarget,
                       Field(discriminator="type")]


class _SizingBase(Model):
    leverage: _num_slot(SIZING_COMMON["leverage"]) = 1
    max_notional_multiple: _num_slot(SIZING_COMMON["max_notional_multiple"]) | None = None


class FixedFractionalSizing(_SizingBase):
    """quantity = equity x risk_pct/100 / stop distance (needs ``stop_loss``)."""

    method: Literal["fixed_fractional"]
    risk_pct: _slot("sizing", "fixed_fractional", "risk_pct")


class KellySizing(_SizingBase):
    """risk % = clamp(fraction x Kelly x 100, floor_pct, cap_pct), Kelly = W - (1-W)/R from
    the strategy's own closed trades (W win rate, R mean win / mean loss); then sized like
    fixed_fractional (needs ``stop_loss``).  ``floor_pct`` is used until ``min_trades`` trades."""

    method: Literal["kelly"]
    fraction: _slot("sizing", "kelly", "fraction") = 0.5
    floor_pct: _slot("sizing", "kelly", "floor_pct") = 0.25
    cap_pct: _slot("sizing", "kelly", "cap_pct") = 2.0
    min_trades: Annotated[int, Field(ge=1, le=10_000)] = 30
    lookback_trades: Annotated[int, Field(ge=2, le=100_000)] | None = None


class AtrSizing(_SizingBase):
    """quantity = equity x risk_pct/100 / (ATR x multiple)."""

    method: Literal["atr"]
    risk_pct: _slot("sizing", "atr", "risk_pct")
    indicator: str = Field(default="atr", description="name of an indicator of type atr")
    multiple: _slot("sizing", "atr", "multiple") = 2.0


class FixedNotionalSizing(_SizingBase):
    """quantity = notional / price (notional in quote currency)."""

    method: Literal["fixed_notional"]
    notional: _slot("sizing", "fixed_notional", "notional")


class EquityPctSizing(_SizingBase):
    """notional = equity x pct/100 (quantity = notional / price); 100 = all-in at leverage 1.
    Still capped by ``max_notional_multiple`` and the free margin."""

    method: Literal["equity_pct"]
    pct: _slot("sizing", "equity_pct", "pct")


Sizing = Annotated[FixedFractionalSizing | KellySizing | AtrSizing | FixedNotionalSizing
                   | EquityPctSizing, Field(discriminator="method")]


class TrailingStop(Model):
    """Percentage trailing stop with an activation offset (freqtrade's
    ``trailing_stop_positive`` / ``trailing_stop_positive_offset`` with
    ``trailing_only_offset_is_reached``): once the best price since entry (highest high for a
    long, lowest low for a short, at base-bar closes) is more than ``offset_pct`` % beyond the
    entry fill price, a reduce-only stop rests ``pct`` % behind it and only moves in the
    trade's favour. Before that, ``stop_loss`` (if any) is the stop."""

    pct: _slot("trailing_stop", "pct", "pct")
    offset_pct: _slot("trailing_stop", "pct", "offset_pct") = 0.0


class MarketOrder(Model):
    """Market orders (the default): fill at the signal bar's close."""

    type: Literal["market"]


class LimitOrder(Model):
    """A limit order priced from the signal bar's close ``c``: a buy at
    ``c × (1 − offset_pct/100) − offset_atr × ATR``, a sell at
    ``c × (1 + offset_pct/100) + offset_atr × ATR``; cancelled when unfilled after
    ``expiry_bars`` base bars (docs/dsl.md §9 "Limit orders")."""

    type: Literal["limit"]
    offset_pct: _slot("entry_order", "limit", "offset_pct") = 0.0
    offset_atr: _slot("entry_order", "limit", "offset_atr") = 0.0
    indicator: str = Field(default="atr", description="ATR indicator for offset_atr")
    expiry_bars: _slot("entry_order", "limit", "expiry_bars") = 1


OrderSpec = Annotated[MarketOrder | LimitOrder, Field(discriminator="type")]


class Pyramiding(Model):
    """Adding to an open position: while a position is open and has had fewer than
    ``max_entries`` entries, the side's add-on rule (conditions, like ``entry``) true at a
    close sends a new entry order in the same direction of ``size_pct`` % of the first entry's
    quantity."""

    max_entries: _slot("pyramiding", "rule", "max_entries")
    size_pct: _slot("pyramiding", "rule", "size_pct") = 100.0
    long: ConditionList | None = None
    short: ConditionList | None = None

    @field_validator("long", "short", mode="before")
    @classmethod
    def _single(cls, v: Any) -> Any:
        return [v] if isinstance(v, (str, dict)) else v


class Informative(Model):
    """Another symbol's bars as data (freqtrade informative pairs, jesse extra candles)."""

    symbol: Annotated[str, Field(pattern=r"^[A-Z0-9]{2,20}$",
                                 description="Binance USDⓈ-M symbol, e.g. BTCUSDT")]
    timeframe: IndicatorTimeframe | None = Field(
        default=None, description="its bar timeframe (default the strategy's; never lower)")


def _check_roi(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise PydanticCustomError("roi", "roi must be a non-empty mapping minutes -> percent",
                                  {"expected": '{"0": 4, "30": 2, "60": 1}'})
    out: dict[str, Any] = {}
    for k, v in value.items():
        key = str(k)
        if not ROI_KEY_RE.match(key):
            raise PydanticCustomError(
                "roi", "roi key {key} is not a whole number of minutes",
                {"key": repr(key), "expected": 'whole minutes as text, e.g. "30"'})
        if param_ref(v) is None:
            hint = quoted_number(v)
            if hint or ROI_SPEC.check(v):
                raise PydanticCustomError(
                    "roi", hint or "bad roi value {value} at minute {key}",
                    {"value": _show(v), "key": key,
                     "expected": ROI_SPEC.expected() + " (percent) or a $parameter"})
        out[key] = v
    return out


RoiTable = Annotated[dict[str, Any], PlainValidator(_check_roi), WithJsonSchema({
    "type": "object", "minProperties": 1,
    "propertyNames": {"pattern": ROI_KEY_RE.pattern},
    "additionalProperties": {"anyOf": [{"type": "number", "minimum": -100, "maximum": 1000},
                                       PARAM_REF_SCHEMA]},
    "description": "minutes in the trade (text) -> minimum profit in percent, net of fees "
                   "(freqtrade minimal_roi)"})]

SweepKey = Annotated[str, Field(description="indicator.param | $parameter | "
                                            "stop_loss.<field> | take_profit.<field> | "
                                            "sizing.<field> | trailing_stop.<field> | "
                                            "roi.<minutes> | max_bars | "
                                            "entry_order.<field> | exit_order.<field> | "
                                            "pyramiding.<field>")]


class StrategySpec(Model):
    """A whole strategy file. Build it with :func:`vibe_quant.dsl.load_strategy`, which also
    runs semantic validation and attaches the parsed condition ASTs."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
    description: str = ""
    version: Version = 1
    timeframe: StrategyTimeframe
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    indicators: dict[str, Indicator] = Field(default_factory=dict)
    entry: Sides
    exit: Sides = Field(default_factory=Sides)
    time_filters: TimeFilters = Field(default_factory=TimeFilters)
    stop_loss: StopLoss | None = None
    take_profit: TakeProfit | None = None
    sizing: Sizing
    trailing_stop: TrailingStop | None = None
    roi: RoiTable | None = Field(
        default=None, description="minutes in trade -> minimum profit % (freqtrade minimal_roi)")
    max_bars: _num_slot(MAX_BARS_SPEC) | None = Field(
        default=None, description="close at market after this many base bars in the trade")
    exit_only_in_profit: bool = Field(
        default=False, description="exit conditions act only while the trade's profit (net of "
        "fees, at the bar's close) is > 0; stops, targets, roi and max_bars are not affected")
    entry_order: OrderSpec | None = Field(
        default=None, description="entry order type (default market)")
    exit_order: OrderSpec | None = Field(
        default=None, description="order type of condition exits (default market)")
    pyramiding: Pyramiding | None = None
    informative: dict[str, Informative] = Field(
        default_factory=dict, description="name -> another symbol's bars, read as name.close "
        "and by indicators with informative: name")
    on_conflict: Literal["none", "long", "short"] = Field(
        default="none", description="flat and both entry sides true on one bar: enter this "
        "side (none = no entry)")
    sweep: dict[SweepKey, SweepValues] = Field(default_factory=dict)

    _rules: dict[str, dict[str, Any]] = PrivateAttr(default_factory=dict)

    def rule(self, kind: Literal["entry", "exit"], side: Literal["long", "short"]) -> Any:
        """Parsed condition (an :mod:`vibe_quant.dsl.expr` node, usually ``All``) or ``None``.

        Only available on specs returned by ``load_strategy``/``apply_params``.
        """
        return self._rules.get(kind, {}).get(side)

    def param_value(self, value: Any) -> float | int:
        """Resolve a number or ``"$name"`` to a number using ``parameters`` defaults."""
        name = param_ref(value)
        if name is None:
            return value
        return self.parameters[name].default

    def indicator_params(self, name: str) -> dict[str, float | int]:
        """All parameters of indicator ``name`` with registry defaults and ``$refs`` resolved."""
        from vibe_quant.dsl.registry import lookup

        ind = self.indicators[name]
        defn = lookup(ind.type)
        out: dict[str, float | int] = defn.defaults() if defn else {}
        for k, v in ind.params.items():
            out[k] = self.param_value(v)
        return out
