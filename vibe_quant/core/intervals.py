"""Bar intervals and calendar months, in UTC epoch milliseconds.

Binance names intervals ``1m``, ``5m``, ``15m``, ``1h``, ``4h`` …; a kline's ``open_time`` is the
start of its interval and its ``close_time`` is ``open_time + interval - 1 ms``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

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

_UNIT_MS = {"m": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS}
_NAUTILUS_AGG = {"m": "MINUTE", "h": "HOUR", "d": "DAY"}
_RE = re.compile(r"^(\d+)([mhd])$")


def interval_ms(interval: str) -> int:
    """Length of a Binance interval string in milliseconds (``"5m"`` → 300000).

    Raises:
        ValueError: for anything but ``<n>m``, ``<n>h`` or ``<n>d`` with n ≥ 1.
    """
    m = _RE.match(interval)
    if not m or int(m.group(1)) < 1:
        raise ValueError(f"invalid interval {interval!r}: expected e.g. 1m, 5m, 15m, 1h, 4h")
    return int(m.group(1)) * _UNIT_MS[m.group(2)]


def nautilus_bar_spec(interval: str) -> str:
    """The Nautilus bar specification step-aggregation part (``"5m"`` → ``"5-MINUTE"``)."""
    m = _RE.match(interval)
    if not m:
        raise ValueError(f"invalid interval {interval!r}")
    return f"{int(m.group(1))}-{_NAUTILUS_AGG[m.group(2)]}"


def parse_month(text: str) -> tuple[int, int]:
    """``"2023-01"`` → ``(2023, 1)``. Raises ValueError on other shapes."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"invalid month {text!r}: expected YYYY-MM")
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


def parse_utc(text: str) -> int:
    """ISO date or datetime (naive = UTC) → epoch ms."""
    d = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return int(d.timestamp() * 1000)
