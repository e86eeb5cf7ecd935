"""Bar intervals, strategy timeframes and calendar months (UTC epoch milliseconds / ns).

Binance names intervals ``1m``, ``5m``, ``15m``, ``1h``, ``4h`` …; a kline's ``open_time`` is the
start of its interval and its ``close_time`` is ``open_time + interval - 1 ms``.

The DSL's strategy and indicator timeframes are the intervals ``1m 5m 15m 1h 4h 1d``. Every
timeframe in that list is an exact multiple of each shorter one, so a higher-timeframe bar is
always built from whole base bars (aggregated inside Nautilus from the base series).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

from vibe_quant.core.errors import ConfigError

MS = 1
SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
NS_PER_MS = 1_000_000
NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_HOUR = 60 * NS_PER_MINUTE
NS_PER_DAY = 24 * NS_PER_HOUR  # 86_400_000_000_000

#: Intervals the catalog holds (every one at or above the lowest ingested interval).
CATALOG_INTERVALS: tuple[str, ...] = ("1m", "5m", "15m", "1h", "4h")

StrategyTimeframe = Literal["1m", "5m", "15m", "1h", "4h", "1d"]
IndicatorTimeframe = Literal["1m", "5m", "15m", "1h", "4h", "1d"]
#: Timeframes a strategy (and its indicators) may use, shortest first.
STRATEGY_TIMEFRAMES: tuple[str, ...] = ("1m", "5m", "15m", "1h", "4h", "1d")
INDICATOR_TIMEFRAMES: tuple[str, ...] = STRATEGY_TIMEFRAMES

_UNIT_MS = {"m": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS}
_NAUTILUS_AGG = {"m": "MINUTE", "h": "HOUR", "d": "DAY"}
_RE = re.compile(r"^(\d+)([mhd])$")


class TimeFormatError(ConfigError, ValueError):
    """An interval, timeframe or month text is malformed (still a ``ValueError``)."""


def _parse(interval: str) -> tuple[int, str]:
    m = _RE.match(interval)
    if not m or int(m.group(1)) < 1:
        raise TimeFormatError(
            f"invalid interval {interval!r}: expected e.g. 1m, 5m, 15m, 1h, 4h", interval=interval
        )
    return int(m.group(1)), m.group(2)


def interval_ms(interval: str) -> int:
    """Length of a Binance interval string in milliseconds (``"5m"`` → 300000).

    Raises:
        TimeFormatError (a ValueError): for anything but ``<n>m``, ``<n>h`` or ``<n>d``, n ≥ 1.
    """
    n, unit = _parse(interval)
    return n * _UNIT_MS[unit]


#: timeframe -> length in minutes
MINUTES: dict[str, int] = {tf: interval_ms(tf) // MINUTE_MS for tf in STRATEGY_TIMEFRAMES}


def minutes(tf: str) -> int:
    """Length of one bar of the DSL timeframe ``tf`` in minutes; ``KeyError`` for a timeframe
    outside :data:`STRATEGY_TIMEFRAMES`."""
    return MINUTES[tf]


def bar_ratio(higher: str, base: str) -> int:
    """How many ``base`` bars make one ``higher`` bar (``bar_ratio("1h", "5m") == 12``)."""
    return MINUTES[higher] // MINUTES[base]


def nautilus_bar_spec(interval: str) -> str:
    """Nautilus ``BarSpecification`` text of ``interval`` on last-trade prices:
    ``"5m"`` → ``"5-MINUTE-LAST"``, ``"1h"`` → ``"1-HOUR-LAST"``, ``"1d"`` → ``"1-DAY-LAST"``
    (the unit as written: ``"60m"`` → ``"60-MINUTE-LAST"``).

    Raises:
        TimeFormatError (a ValueError): not ``<n>m``, ``<n>h`` or ``<n>d`` with n ≥ 1.
    """
    n, unit = _parse(interval)
    return f"{n}-{_NAUTILUS_AGG[unit]}-LAST"


def parse_month(text: str) -> tuple[int, int]:
    """``"2023-01"`` → ``(2023, 1)``.

    Raises:
        TimeFormatError (a ValueError): any other shape, or a month outside 1…12.
    """
    m = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise TimeFormatError(f"invalid month {text!r}: expected YYYY-MM", month=text)
    return int(m.group(1)), int(m.group(2))


def month_str(ym: tuple[int, int]) -> str:
    return f"{ym[0]:04d}-{ym[1]:02d}"


def next_month(ym: tuple[int, int]) -> tuple[int, int]:
    y, m = ym
    return (y + 1, 1) if m == 12 else (y, m + 1)


def prev_month(ym: tuple[int, int]) -> tuple[int, int]:
    y, m = ym
    return (y - 1, 12) if m == 1 else (y, m - 1)


def months(start: tuple[int, int], end: tuple[int, int]) -> list[tuple[int, int]]:
    """Inclusive list of months from ``start`` to ``end``; empty when start > end."""
    out = []
    cur = start
    while cur <= end:
        out.append(cur)
        cur = next_month(cur)
    return out


def month_start_ms(ym: tuple[int, int]) -> int:
    """UTC epoch ms of 00:00 on the first day of the month."""
    return int(datetime(ym[0], ym[1], 1, tzinfo=UTC).timestamp() * 1000)


def month_of_ms(ts_ms: int) -> tuple[int, int]:
    d = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return d.year, d.month


def iso_utc(ts_ms: int) -> str:
    """Epoch ms → ISO-8601 UTC string with ``Z`` (second precision unless ms are non-zero)."""
    d = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    s = d.isoformat(timespec="milliseconds" if ts_ms % 1000 else "seconds")
    return s.replace("+00:00", "Z")


def iso_ns(ts_ns: int) -> str:
    """Epoch ns → ISO-8601 UTC string with ``Z``; the fraction of a second keeps up to nine
    digits, trailing zeros dropped (``2024-01-01T00:05:00Z``, ``…T00:05:00.5Z``)."""
    dt = datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=UTC)
    frac = ts_ns % 1_000_000_000
    s = dt.strftime("%Y-%m-%dT%H:%M:%S")
    return (s + (f".{frac:09d}".rstrip("0") if frac else "")) + "Z"


def parse_utc(text: str) -> int:
    """ISO date or datetime (naive = UTC) → epoch ms."""
    d = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return int(d.timestamp() * 1000)
