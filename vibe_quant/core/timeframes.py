"""Bar timeframes of the DSL and their ordering.

Strategy and indicator timeframes: ``1m 5m 15m 1h 4h 1d``.  Every
timeframe in the list is an exact multiple of each shorter one, so a higher-timeframe bar is
always built from whole base bars (aggregated inside Nautilus from the base series).
"""

from __future__ import annotations

from typing import Literal

StrategyTimeframe = Literal["1m", "5m", "15m", "1h", "4h", "1d"]
IndicatorTimeframe = Literal["1m", "5m", "15m", "1h", "4h", "1d"]

#: timeframe -> length in minutes
MINUTES: dict[str, int] = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "4h": 240, "1d": 1440}
STRATEGY_TIMEFRAMES: tuple[str, ...] = ("1m", "5m", "15m", "1h", "4h", "1d")
INDICATOR_TIMEFRAMES: tuple[str, ...] = tuple(MINUTES)


def minutes(tf: str) -> int:
    """Length of one bar of ``tf`` in minutes; ``KeyError`` for an unknown timeframe."""
    return MINUTES[tf]


def bar_ratio(higher: str, base: str) -> int:
    """How many ``base`` bars make one ``higher`` bar (``bar_ratio("1h", "5m") == 12``)."""
    return MINUTES[higher] // MINUTES[base]


def nautilus_bar_spec(tf: str) -> str:
    """Nautilus ``BarSpecification`` text for ``tf`` on last-trade prices (``"5-MINUTE-LAST"``)."""
    n = MINUTES[tf]
    if n % 1440 == 0:
        return f"{n // 1440}-DAY-LAST"
    if n % 60 == 0:
        return f"{n // 60}-HOUR-LAST"
    return f"{n}-MINUTE-LAST"
