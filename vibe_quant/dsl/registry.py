"""Indicator registry: metadata and parameter validation only (no computation).

Every indicator type the DSL accepts is an :class:`IndicatorDef`: its numeric parameters
(:class:`ParamSpec`, with type, inclusive range and default), its outputs (the first listed is the
default when the indicator is referenced without ``.output``; ``default_output=None`` means the
output must be named), what it reads (a user-selectable ``source`` or fixed bar fields), its
warm-up length, and how the compiler builds it:

* ``impl="nautilus"``: one class from ``nautilus_trader.core.nautilus_pyo3.indicators``;
* ``impl="composite"``: Nautilus classes glued together by a few lines of constant-time code;
* ``impl="own"``: needs our own streaming implementation (constant work per bar).

``nautilus`` and ``notes`` spell out constructor arguments and the scale conversions that were
checked against nautilus_trader 1.231 (e.g. pyo3 ``RelativeStrengthIndex`` returns 0..1 and
defaults to EMA smoothing; the DSL's RSI is 0..100 with Wilder smoothing).

Output scales in the DSL are the conventional ones: RSI, Stochastic, ADX/DI and Aroon 0..100,
Williams %R -100..0, ROC in percent, Bollinger ``width`` and ``percent_b`` as fractions, moving
averages/bands/ATR/MACD in price units, OBV and volume SMA in base-asset volume.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

PRICE_FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "volume", "hl2", "hlc3", "ohlc4")

Impl = Literal["nautilus", "composite", "own"]


@dataclass(frozen=True)
class ParamSpec:
    """One numeric indicator parameter.

    ``kind`` is ``"int"`` or ``"float"``; ``min``/``max`` are inclusive bounds (``None`` = open);
    ``gt`` is an exclusive lower bound used for floats that must be strictly positive.
    """

    name: str
    kind: Literal["int", "float"]
    default: int | float
    min: int | float | None = None
    max: int | float | None = None
    gt: float | None = None
    description: str = ""

    def check(self, value: object) -> str | None:
        """``None`` if ``value`` is acceptable, else a message saying what was expected."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected {self.expected()}, got {_show(value)}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"expected {self.expected()}, got {value}"
        if self.kind == "int" and not isinstance(value, int):
            return f"expected {self.expected()}, got {_show(value)}"
        if self.min is not None and value < self.min:
            return f"expected {self.expected()}, got {_show(value)}"
        if self.max is not None and value > self.max:
            return f"expected {self.expected()}, got {_show(value)}"
        if self.gt is not None and value <= self.gt:
            return f"expected {self.expected()}, got {_show(value)}"
        return None

    def expected(self) -> str:
        """Human description, e.g. ``"an integer in [2, 1000]"``."""
        what = "an integer" if self.kind == "int" else "a number"
        lo = f"> {self.gt}" if self.gt is not None else None
        if self.min is not None and self.max is not None:
            return f"{what} in [{self.min}, {self.max}]"
        if self.min is not None:
            return f"{what} >= {self.min}"
        if lo and self.max is not None:
            return f"{what} {lo} and <= {self.max}"
        if lo:
            return f"{what} {lo}"
        return what

    def json_schema(self) -> dict:
        """JSON Schema fragment for this parameter (a number, or a ``$parameter`` reference)."""
        num: dict = {"type": "integer" if self.kind == "int" else "number", "default": self.default}
        if self.min is not None:
            num["minimum"] = self.min
        if self.max is not None:
            num["maximum"] = self.max
        if self.gt is not None:
            num["exclusiveMinimum"] = self.gt
        if self.description:
            num["description"] = self.description
        return {"anyOf": [num, {"$ref": "#/$defs/ParamRef"}], "title": self.name}


def _show(v: object) -> str:
    if isinstance(v, str):
        return f"'{v}'"
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (dict, list)):
        return "a mapping" if isinstance(v, dict) else "a list"
    return repr(v)


@dataclass(frozen=True)
class OutputSpec:
    """One output of an indicator; ``unit`` says the scale the DSL uses."""

    name: str
    unit: str
    description: str = ""


@dataclass(frozen=True)
class IndicatorDef:
    """Metadata of one indicator type (see module docstring)."""

    type: str
    title: str
    params: tuple[ParamSpec, ...]
    outputs: tuple[OutputSpec, ...]
    default_output: str | None
    inputs: Literal["source"] | tuple[str, ...]
    impl: Impl
    nautilus: str
    warmup: Callable[[dict[str, float]], int]
    warmup_text: str
    notes: str = ""
    default_source: str = "close"
    aliases: tuple[str, ...] = ()
    cross_check: Callable[[dict[str, float]], list[tuple[str, str]]] | None = None

    def param(self, name: str) -> ParamSpec | None:
        """The parameter called ``name`` or ``None``."""
        for p in self.params:
            if p.name == name:
                return p
        return None

    @property
    def nautilus_classes(self) -> tuple[str, ...]:
        """Names of the ``nautilus_pyo3.indicators`` classes the compiler instantiates."""
        return tuple(dict.fromkeys(re.findall(r"\b([A-Z][A-Za-z]+)\(", self.nautilus)))

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.outputs)

    @property
    def takes_source(self) -> bool:
        """True when the user may choose ``source`` (single-series indicators)."""
        return self.inputs == "source"

    def defaults(self) -> dict[str, int | float]:
        """Parameter defaults by name."""
        return {p.name: p.default for p in self.params}

    def warmup_bars(self, params: dict[str, float]) -> int:
        """Bars of the indicator's own timeframe before its value is valid."""
        full = self.defaults()
        full.update(params)
        return int(self.warmup(full))


def _int(name: str, default: int, lo: int = 1, hi: int = 10_000, desc: str = "") -> ParamSpec:
    return ParamSpec(name, "int", default, lo, hi, None, desc)


def _pos(name: str, default: float, hi: float | None = None, desc: str = "") -> ParamSpec:
    return ParamSpec(name, "float", default, None, hi, 0.0, desc)


def _value(unit: str, desc: str = "") -> tuple[OutputSpec, ...]:
    return (OutputSpec("value", unit, desc),)


def _fast_lt_slow(fast: str, slow: str) -> Callable[[dict[str, float]], list[tuple[str, str]]]:
    def check(p: dict[str, float]) -> list[tuple[str, str]]:
        if p[fast] >= p[slow]:
            return [(fast, f"{fast} ({p[fast]}) must be less than {slow} ({p[slow]})")]
        return []

    return check


def _le(small: str, big: str) -> Callable[[dict[str, float]], list[tuple[str, str]]]:
    def check(p: dict[str, float]) -> list[tuple[str, str]]:
        if p[small] > p[big]:
            return [(small, f"{small} ({p[small]}) must not exceed {big} ({p[big]})")]
        return []

    return check


_PERIOD = _int("period", 20, 1, 10_000, "look-back length in bars")

_DEFS: list[IndicatorDef] = [
    IndicatorDef(
        "sma", "Simple moving average", (_PERIOD,), _value("price"), "value", "source",
        "nautilus", "SimpleMovingAverage(period); update_raw(source)",
        lambda p: p["period"], "period",
    ),
    IndicatorDef(
        "ema", "Exponential moving average", (_PERIOD,), _value("price"), "value", "source",
        "nautilus", "ExponentialMovingAverage(period); update_raw(source)",
        lambda p: p["period"], "period",
        notes="alpha = 2/(period+1); Nautilus seeds with the first input.",
    ),
    IndicatorDef(
        "wma", "Linearly weighted moving average", (_PERIOD,), _value("price"), "value",
        "source", "nautilus",
        "WeightedMovingAverage(period, weights=[1.0, 2.0, ..., float(period)]); update_raw(source)",
        lambda p: p["period"], "period",
        notes="Nautilus needs the weights list; linear weights, newest bar heaviest.",
    ),
    IndicatorDef(
        "dema", "Double exponential moving average", (_PERIOD,), _value("price"), "value",
        "source", "nautilus", "DoubleExponentialMovingAverage(period); update_raw(source)",
        lambda p: 2 * p["period"] - 1, "2*period - 1",
        notes="2*EMA - EMA(EMA). Nautilus reports initialized after `period` inputs; the DSL "
        "warm-up is the conventional 2*period-1.",
    ),
    IndicatorDef(
        "tema", "Triple exponential moving average", (_PERIOD,), _value("price"), "value",
        "source", "own",
        "own streaming: e1 = ema(source), e2 = ema(e1), e3 = ema(e2), each alpha = 2/(period+1) "
        "and seeded with the SMA of its first `period` inputs (TA-Lib); TEMA = 3*e1 - 3*e2 + e3",
        lambda p: 3 * p["period"] - 2, "3*period - 2",
        notes="TA-Lib's TEMA convention (each EMA stage seeded with an SMA), so ports of "
        "freqtrade strategies (ta.TEMA) see the same values from the first valid bar; Nautilus "
        "1.231 has no TEMA. Matches talib.TEMA to 1e-9 (tests/strategy/"
        "test_indicators_reference.py).",
        aliases=("triple_ema",),
    ),
    IndicatorDef(
        "hma", "Hull moving average", (_int("period", 20, 2, 10_000, "look-back length"),),
        _value("price"), "value", "source", "nautilus",
        "HullMovingAverage(period); update_raw(source)",
        lambda p: p["period"] + math.isqrt(int(p["period"])) - 1,
        "period + floor(sqrt(period)) - 1",
    ),
    IndicatorDef(
        "kama", "Kaufman adaptive moving average",
        (
            _int("period", 10, 2, 10_000, "efficiency-ratio look-back"),
            _int("fast", 2, 1, 1_000, "fast EMA period"),
            _int("slow", 30, 2, 10_000, "slow EMA period"),
        ),
        _value("price"), "value", "source", "nautilus",
        "AdaptiveMovingAverage(period_efficiency_ratio=period, period_fast=fast, "
        "period_slow=slow); update_raw(source)",
        lambda p: p["period"] + 1, "period + 1",
        cross_check=_fast_lt_slow("fast", "slow"),
    ),
    IndicatorDef(
        "rsi", "Relative strength index (Wilder)", (_int("period", 14, 2, 1_000),),
        _value("0..100"), "value", "source", "composite",
        "RelativeStrengthIndex(period, ma_type=MovingAverageType.Wilder); update_raw(source); "
        "DSL value = nautilus value * 100",
        lambda p: p["period"] + 1, "period + 1",
        notes="pyo3 RSI returns 0..1 and defaults to EMA smoothing: pass Wilder and scale x100 "
        "(checked against a hand-computed Wilder RSI).",
    ),
    IndicatorDef(
        "macd", "Moving average convergence/divergence",
        (
            _int("fast", 12, 1, 1_000, "fast EMA period"),
            _int("slow", 26, 2, 1_000, "slow EMA period"),
            _int("signal", 9, 1, 1_000, "signal EMA period"),
        ),
        (
            OutputSpec("line", "price", "EMA(fast) - EMA(slow)"),
            OutputSpec("signal", "price", "EMA(signal) of line"),
            OutputSpec("histogram", "price", "line - signal"),
        ),
        "line", "source", "composite",
        "MovingAverageConvergenceDivergence(fast, slow, ma_type=MovingAverageType.Exponential) "
        "-> line; ExponentialMovingAverage(signal).update_raw(line) -> signal; "
        "histogram = line - signal",
        lambda p: p["slow"] + p["signal"] - 1, "slow + signal - 1",
        notes="pyo3 MACD defaults to SIMPLE averages and has no signal line: pass Exponential.",
        cross_check=_fast_lt_slow("fast", "slow"),
    ),
    IndicatorDef(
        "stoch", "Stochastic oscillator",
        (
            _int("k_period", 14, 1, 1_000, "%K look-back"),
            _int("d_period", 3, 1, 1_000, "%D = SMA of %K over d_period"),
            _int("smooth", 1, 1, 100, "SMA smoothing of raw %K (1 = fast, 3 = slow stochastic)"),
        ),
        (OutputSpec("k", "0..100"), OutputSpec("d", "0..100")),
        "k", ("high", "low", "close"), "composite",
        "Stochastics(k_period, 1).value_k = raw %K; SimpleMovingAverage(smooth) of raw %K -> k "
        "(skip when smooth=1); SimpleMovingAverage(d_period) of k -> d",
        lambda p: p["k_period"] + p["smooth"] + p["d_period"] - 2,
        "k_period + smooth + d_period - 2",
        notes="Nautilus value_k matches the textbook raw %K; its value_d (Ratio or MovingAverage "
        "d_method) does not equal SMA(%K), so d is built from k.",
        aliases=("stochastic", "stochf"),
    ),
    IndicatorDef(
        "stochrsi", "Stochastic RSI",
        (
            _int("period", 14, 2, 1_000, "RSI period"),
            _int("stoch_period", 14, 1, 1_000, "look-back of the stochastic over RSI"),
            _int("smooth", 3, 1, 100, "SMA smoothing of raw %K (1 = TA-Lib STOCHRSI's fastk)"),
            _int("d_period", 3, 1, 1_000, "%D = SMA of k over d_period"),
        ),
        (OutputSpec("k", "0..100"), OutputSpec("d", "0..100")),
        "k", "source", "own",
        "own streaming: Wilder rsi(period) (as `rsi`); raw %K = 100 * (rsi - lowest rsi) / "
        "(highest rsi - lowest rsi) over stoch_period values; k = sma(smooth) of raw %K; "
        "d = sma(d_period) of k",
        lambda p: p["period"] + p["stoch_period"] + p["smooth"] + p["d_period"] - 2,
        "period + stoch_period + smooth + d_period - 2",
        notes="Defaults are TradingView's / jesse's (14, 14, 3, 3). TA-Lib "
        "STOCHRSI(timeperiod, fastk_period, fastd_period) is smooth=1 with stoch_period="
        "fastk_period (fastk = k, fastd = d). A flat RSI window (highest = lowest) gives NaN "
        "(TA-Lib writes 0).",
        aliases=("stoch_rsi", "srsi"),
    ),
    IndicatorDef(
        "cci", "Commodity channel index",
        (_int("period", 20, 2, 1_000), _pos("constant", 0.015, 1.0, "Lambert constant")),
        _value("index"), "value", ("high", "low", "close"), "nautilus",
        "CommodityChannelIndex(period, scalar=constant); update_raw(high, low, close)",
        lambda p: p["period"], "period",
    ),
    IndicatorDef(
        "roc", "Rate of change", (_int("period", 10, 1, 1_000),),
        _value("percent", "100 * (x - x[period]) / x[period]"), "value", "source", "composite",
        "RateOfChange(period + 1, use_log=False); update_raw(source); DSL value = nautilus * 100",
        lambda p: p["period"] + 1, "period + 1",
        notes="pyo3 RateOfChange(n) compares with the value n-1 bars back and returns a "
        "fraction: construct with period+1 and scale x100.",
    ),
    IndicatorDef(
        "mom", "Momentum", (_int("period", 10, 1, 1_000),),
        _value("price", "x - x[period]"), "value", "source", "own",
        "own streaming: source minus the source `period` bars earlier (ring buffer)",
        lambda p: p["period"] + 1, "period + 1",
        notes="TA-Lib MOM. Nautilus 1.231 has no momentum class.",
        aliases=("momentum",),
    ),
    IndicatorDef(
        "willr", "Williams %R", (_int("period", 14, 1, 1_000),),
        _value("-100..0"), "value", ("high", "low", "close"), "composite",
        "Stochastics(period, 1).value_k - 100",
        lambda p: p["period"], "period",
        notes="No Nautilus class; %R = raw %K - 100 (or own monotonic-deque max/min).",
        aliases=("williams_r",),
    ),
    IndicatorDef(
        "adx", "Average directional index with DMI", (_int("period", 14, 2, 1_000),),
        (
            OutputSpec("adx", "0..100"),
            OutputSpec("plus_di", "0..100"),
            OutputSpec("minus_di", "0..100"),
        ),
        "adx", ("high", "low", "close"), "own",
        "own streaming Wilder ADX: TR, +DM and -DM computed per bar, each smoothed by a "
        "WilderMovingAverage(period); DI = 100 * smoothed DM / smoothed TR; "
        "DX = 100 * |DI+ - DI-| / (DI+ + DI-); ADX = another WilderMovingAverage(period) of DX",
        lambda p: 2 * p["period"], "2 * period",
        notes="Nautilus DirectionalMovement gives smoothed +DM/-DM only (not DI, not ADX) and "
        "pyo3 AverageTrueRange ignores ma_type, so the DI denominators need our own TR smoothing.",
        aliases=("dmi",),
    ),
    IndicatorDef(
        "aroon", "Aroon", (_int("period", 25, 1, 1_000),),
        (
            OutputSpec("up", "0..100"),
            OutputSpec("down", "0..100"),
            OutputSpec("osc", "-100..100", "up - down"),
        ),
        "osc", ("high", "low"), "nautilus",
        "AroonOscillator(period): aroon_up -> up, aroon_down -> down, value -> osc; "
        "update_raw(high, low)",
        lambda p: p["period"] + 1, "period + 1",
    ),
    IndicatorDef(
        "atr", "Average true range (Wilder)", (_int("period", 14, 1, 1_000),),
        _value("price"), "value", ("high", "low", "close"), "composite",
        "true range computed in our code, fed to WilderMovingAverage(period).update_raw(tr)",
        lambda p: p["period"] + 1, "period + 1",
        notes="pyo3 AverageTrueRange(period, ma_type) ignores ma_type in 1.231 (always the "
        "simple mean of TR; checked), so Wilder ATR is TR + WilderMovingAverage.",
    ),
    IndicatorDef(
        "bbands", "Bollinger Bands",
        (_int("period", 20, 2, 1_000),
         _pos("stddev", 2.0, 10.0, "band width in standard deviations")),
        (
            OutputSpec("upper", "price"),
            OutputSpec("middle", "price", "SMA(source, period)"),
            OutputSpec("lower", "price"),
            OutputSpec("width", "fraction", "(upper - lower) / middle"),
            OutputSpec("percent_b", "fraction",
                       "(source - lower) / (upper - lower); 0 at lower, 1 at upper"),
        ),
        None, "source", "composite",
        "BollingerBands(period, k=stddev) fed update_raw(src, src, src); width and percent_b "
        "computed from upper/middle/lower",
        lambda p: p["period"], "period",
        notes="Nautilus BollingerBands averages the typical price (h+l+c)/3 of update_raw; feeding "
        "the source three times gives bands on the source. Population standard deviation.",
        aliases=("bollinger", "bollinger_bands"),
    ),
    IndicatorDef(
        "keltner", "Keltner Channel",
        (_int("period", 20, 2, 1_000), _pos("multiplier", 2.0, 10.0, "ATR multiple")),
        (
            OutputSpec("upper", "price"),
            OutputSpec("middle", "price", "EMA of typical price over period"),
            OutputSpec("lower", "price"),
        ),
        None, ("high", "low", "close"), "nautilus",
        "KeltnerChannel(period, k_multiplier=multiplier, ma_type=MovingAverageType.Exponential, "
        "ma_type_atr=MovingAverageType.Wilder); update_raw(high, low, close)",
        lambda p: p["period"] + 1, "period + 1",
        notes="Middle = EMA of typical price; bands = middle +- multiplier * ATR(period). The "
        "compiler must check that ma_type_atr is honoured (pyo3 ATR ignores its ma_type).",
    ),
    IndicatorDef(
        "donchian", "Donchian Channel", (_PERIOD,),
        (
            OutputSpec("upper", "price", "highest high of the last period bars, current included"),
            OutputSpec("middle", "price"),
            OutputSpec("lower", "price", "lowest low of the last period bars, current included"),
        ),
        None, ("high", "low"), "nautilus",
        "DonchianChannel(period); update_raw(high, low)",
        lambda p: p["period"], "period",
        notes="The channel includes the current bar, so breakouts compare with the previous "
        "bar's channel: `close > dc.upper[1]`.",
    ),
    IndicatorDef(
        "sar", "Parabolic SAR (Wilder)",
        (
            _pos("acceleration", 0.02, 1.0, "acceleration factor: start and step"),
            _pos("maximum", 0.2, 1.0, "acceleration factor cap"),
        ),
        _value("price"), "value", ("high", "low"), "own",
        "own streaming port of TA-Lib's SAR: initial direction from the first two bars (short "
        "when the first -DM > 0, else long), initial SAR = the first bar's low (long) / high "
        "(short), EP = the second bar's high / low; the SAR shown on a bar is the stop for that "
        "bar, and is overridden by the EP (clamped to the last two bars' range) on a reversal",
        lambda p: 2, "2",
        notes="TA-Lib's convention (used by freqtrade's ta.SAR); Nautilus 1.231 has no SAR. "
        "A bar whose low touches a long SAR (low <= SAR) reverses. `close > sar` means uptrend.",
        aliases=("psar", "parabolic_sar"),
        cross_check=_le("acceleration", "maximum"),
    ),
    IndicatorDef(
        "supertrend", "Supertrend",
        (
            _int("period", 10, 1, 1_000, "ATR period (Wilder)"),
            _pos("multiplier", 3.0, 100.0, "ATR multiple"),
        ),
        (
            OutputSpec("value", "price", "the trailing line: lower band in an uptrend, upper "
                       "band in a downtrend"),
            OutputSpec("direction", "+1/-1", "+1 uptrend (close above the line), -1 downtrend"),
            OutputSpec("upper", "price", "final upper band"),
            OutputSpec("lower", "price", "final lower band"),
        ),
        "value", ("high", "low", "close"), "own",
        "own streaming: basic bands = hl2 +- multiplier * Wilder atr(period); final upper = basic "
        "upper if it is lower than the previous final upper or the previous close was above it, "
        "else the previous final upper (lower band mirrored); direction flips to -1 when close < "
        "final lower (in an uptrend) and to +1 when close > final upper (in a downtrend); starts "
        "as a downtrend on the first valid bar (TradingView's ta.supertrend)",
        lambda p: p["period"] + 1, "period + 1",
        notes="TradingView's ta.supertrend with its sign flipped (there -1 means up); ATR as our "
        "`atr` (TA-Lib's ATR). Nautilus 1.231 has no Supertrend.",
        aliases=("super_trend",),
    ),
    IndicatorDef(
        "obv", "On-balance volume", (), _value("volume"), "value", ("close", "volume"), "own",
        "own streaming: obv += volume * sign(close - previous close)",
        lambda p: 2, "2",
        notes="Nautilus OnBalanceVolume signs volume by close vs OPEN of the same bar (checked), "
        "not close vs previous close, so the textbook OBV is our own (one addition per bar).",
    ),
    IndicatorDef(
        "mfi", "Money flow index", (_int("period", 14, 1, 1_000),),
        _value("0..100"), "value", ("high", "low", "close", "volume"), "own",
        "own streaming: tp = (h+l+c)/3, flow = tp * volume, positive when tp > previous tp, "
        "negative when tp < previous tp (neither when equal); MFI = 100 * sum(positive) / "
        "(sum(positive) + sum(negative)) over the last `period` bars",
        lambda p: p["period"] + 1, "period + 1",
        notes="TA-Lib MFI (freqtrade's ta.MFI). A window without flow gives NaN (TA-Lib writes "
        "0). Nautilus 1.231 has no MFI.",
        aliases=("money_flow_index",),
    ),
    IndicatorDef(
        "vwap", "Volume-weighted average price (resets 00:00 UTC)", (),
        _value("price"), "value", "source", "nautilus",
        "VolumeWeightedAveragePrice(); update_raw(source, volume, ts_event_ns as float)",
        lambda p: 1, "1",
        notes="Nautilus resets the VWAP when the UTC day changes (checked with ns timestamps).",
        default_source="hlc3",
    ),
    IndicatorDef(
        "volume_sma", "Simple moving average of volume", (_PERIOD,), _value("volume"), "value",
        ("volume",), "nautilus", "SimpleMovingAverage(period); update_raw(volume)",
        lambda p: p["period"], "period",
    ),
]

#: canonical type -> definition
INDICATORS: dict[str, IndicatorDef] = {d.type: d for d in _DEFS}
#: alias -> canonical type
ALIASES: dict[str, str] = {a: d.type for d in _DEFS for a in d.aliases}


def lookup(type_name: str) -> IndicatorDef | None:
    """Definition for a type name or alias (case-insensitive); ``None`` when unknown."""
    key = type_name.strip().lower()
    key = ALIASES.get(key, key)
    return INDICATORS.get(key)


#: Indicator names of other libraries (TA-Lib, pandas-ta, jesse, TradingView) that vibe-quant
#: does not have -> what to say. A typo suggestion never points from one of these to a
#: different indicator of ours (``trima`` must not become "did you mean 'sma'?").
NOT_AVAILABLE: dict[str, str] = {
    "trima": "triangular moving average", "t3": "T3 moving average",
    "mama": "MESA adaptive moving average", "fama": "MESA adaptive moving average",
    "rma": "Wilder's moving average (use rsi/atr, which use it)", "zlema": "zero-lag EMA",
    "vwma": "volume-weighted moving average", "alma": "Arnaud Legoux moving average",
    "jma": "Jurik moving average", "vidya": "variable index dynamic average",
    "sarext": "extended parabolic SAR (use sar)", "ht_trendline": "Hilbert transform",
    "ht_sine": "Hilbert transform sine wave", "ht_dcperiod": "Hilbert transform",
    "ht_dcphase": "Hilbert transform", "ht_phasor": "Hilbert transform",
    "ht_trendmode": "Hilbert transform", "midpoint": "midpoint over period",
    "midprice": "midpoint price over period", "adxr": "ADX rating",
    "apo": "absolute price oscillator", "ppo": "percentage price oscillator",
    "bop": "balance of power", "cmo": "Chande momentum oscillator",
    "dx": "directional movement index (use adx)", "plus_di": "use adx.plus_di",
    "minus_di": "use adx.minus_di", "plus_dm": "directional movement",
    "minus_dm": "directional movement", "trix": "TRIX", "ultosc": "ultimate oscillator",
    "natr": "normalised ATR (write atr / close * 100)", "trange": "true range",
    "ad": "Chaikin A/D line", "adosc": "Chaikin A/D oscillator", "cmf": "Chaikin money flow",
    "linearreg": "linear regression", "linearreg_slope": "linear regression slope",
    "linearreg_angle": "linear regression angle", "stddev": "standard deviation",
    "var": "variance", "tsf": "time series forecast", "beta": "beta", "correl": "correlation",
    "rocp": "rate of change as a fraction (write roc / 100)", "rocr": "rate of change ratio",
    "ichimoku": "Ichimoku cloud", "heikin_ashi": "Heikin-Ashi candles",
    "heikinashi": "Heikin-Ashi candles", "fisher": "Fisher transform (write it with log())",
    "fisher_rsi": "Fisher transform of RSI (write it with exp()/log() on rsi)",
    "kdj": "KDJ", "kst": "know sure thing", "tsi": "true strength index",
    "ao": "awesome oscillator", "squeeze": "TTM squeeze", "chop": "choppiness index",
    "vortex": "vortex indicator", "efi": "Elder force index", "eom": "ease of movement",
    "pvt": "price-volume trend", "nvi": "negative volume index", "pvi": "positive volume index",
    "zigzag": "zig-zag", "pivots": "pivot points", "fibonacci": "Fibonacci levels",
}


def suggest_type(name: str) -> str:
    """Hint for an unknown indicator type: ``" (did you mean 'x'?)"`` only for a near spelling
    of one of ours; for a known indicator of another library, a sentence saying it is not
    available (never a different indicator of ours); else ``""``."""
    key = name.strip().lower()
    if key in NOT_AVAILABLE:
        return (f": '{key}' ({NOT_AVAILABLE[key]}) is not available in vibe-quant "
                "(docs/dsl.md, 'Not supported')")
    return suggest(key, all_type_names())


def all_type_names() -> list[str]:
    """Canonical types followed by aliases, for schema enums and messages."""
    return list(INDICATORS) + list(ALIASES)


def suggest(name: str, choices: list[str] | tuple[str, ...]) -> str:
    """``" (did you mean 'x'?)"`` for a close match, else ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass
class ParamProblem:
    """A parameter problem found by :func:`check_params` (``param`` is ``None`` for the block)."""

    param: str | None
    message: str
    expected: str | None = None
    kind: str = "bad-param"


def check_params(defn: IndicatorDef, params: dict[str, object],
                 resolve: Callable[[str], object] | None = None) -> list[ParamProblem]:
    """Validate user parameters of one indicator against its definition.

    Args:
        defn: the indicator definition.
        params: user mapping; values are numbers or ``"$name"`` parameter references.
        resolve: maps a ``"$name"`` reference to the parameter's default (or ``None`` if the
            parameter is undefined, which the caller reports separately).

    Returns:
        Problems: unknown parameter names, wrong types, values out of range, cross-parameter
        constraints (fast < slow).
    """
    problems: list[ParamProblem] = []
    effective: dict[str, float] = dict(defn.defaults())
    known = [p.name for p in defn.params]
    for name, raw in params.items():
        spec = defn.param(name)
        if spec is None:
            exp = ", ".join(known) if known else "no parameters"
            problems.append(ParamProblem(
                name, f"unknown parameter '{name}' for {defn.type}{suggest(name, known)}",
                exp, "unknown-param"))
            continue
        value = raw
        if isinstance(raw, str) and raw.startswith("$") and resolve is not None:
            value = resolve(raw[1:])
            if value is None:
                continue
            msg = spec.check(value)
            if msg:
                problems.append(ParamProblem(
                    name, f"parameter {raw} (default {_show(value)}) does not fit "
                    f"{defn.type}.{name}", spec.expected()))
                continue
        else:
            msg = spec.check(value)
            if msg:
                problems.append(ParamProblem(
                    name, f"bad value {_show(value)} for {defn.type}.{name}", spec.expected()))
                continue
        effective[name] = value  # type: ignore[assignment]
    if defn.cross_check and not problems:
        for pname, msg in defn.cross_check(effective):
            problems.append(ParamProblem(pname, msg, None, "bad-param"))
    return problems


@dataclass
class RegistryRow:
    """Flattened registry entry for docs/tables."""

    type: str
    params: str
    outputs: str
    impl: str
    nautilus: str
    warmup: str
    inputs: str
    extra: dict = field(default_factory=dict)


def table() -> list[RegistryRow]:
    """One row per indicator, for documentation and ``--json`` listings."""
    rows = []
    for d in _DEFS:
        params = ", ".join(
            f"{p.name}:{p.kind}={p.default} [{p.min if p.min is not None else '>' + str(p.gt)}"
            f"..{p.max}]"
            for p in d.params
        ) or "-"
        outputs = ", ".join(o.name + (" (default)" if o.name == d.default_output else "")
                            for o in d.outputs)
        inputs = f"source (default {d.default_source})" if d.takes_source else ", ".join(d.inputs)
        rows.append(RegistryRow(d.type, params, outputs, d.impl, d.nautilus, d.warmup_text, inputs))
    return rows
