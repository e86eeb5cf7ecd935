"""Parse Binance bulk-download CSV files (klines and funding rates) in every published layout.

Klines: the site's 12 columns ``open_time, open, high, low, close, volume, close_time,
quote_volume, count, taker_buy_volume, taker_buy_quote_volume, ignore`` — or only the first 7 —
with or without a header row. Times are epoch milliseconds UTC (files that use microseconds,
as some newer Binance files do, are detected by magnitude and converted to ms).
Funding: ``calc_time, funding_interval_hours, last_funding_rate`` (rate as a fraction per
funding interval, e.g. 0.0001 = 0.01 %), with or without header.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from vibe_quant.core.errors import DataError

KLINE_COLUMNS: tuple[str, ...] = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)
FUNDING_COLUMNS: tuple[str, ...] = ("calc_time", "funding_interval_hours", "last_funding_rate")

_US_THRESHOLD = 10**14  # epoch ms stay below this until year 5138; µs are above it


class CsvFormatError(DataError, ValueError):
    """A CSV file that is not one of Binance's layouts; the message names file, line, column.

    Also a ``ValueError`` (its base before the error tree)."""


@dataclass(frozen=True)
class ParsedKlines:
    """Rows as tuples in ``KLINE_COLUMNS`` order (missing trailing columns are ``None``).

    ``n_columns`` is how many columns the file had (7 or 12).
    """

    rows: list[tuple]
    n_columns: int


def _is_header(first: list[str]) -> bool:
    try:
        float(first[0])
        return False
    except (ValueError, IndexError):
        return True


def _to_ms(v: int) -> int:
    return v // 1000 if v >= _US_THRESHOLD else v


def parse_klines_csv(text: str, name: str = "<csv>") -> ParsedKlines:
    """Parse a kline CSV. Raises CsvFormatError naming the line on any malformed row."""
    reader = csv.reader(io.StringIO(text))
    rows: list[tuple] = []
    ncols = 0
    for lineno, rec in enumerate(reader, start=1):
        if not rec or (len(rec) == 1 and not rec[0].strip()):
            continue
        if lineno == 1 and _is_header(rec):
            if [c.strip() for c in rec[:7]] != list(KLINE_COLUMNS[:7]):
                raise CsvFormatError(f"{name}:1: unexpected kline header {rec!r}")
            continue
        n = len(rec)
        if n not in (7, 12):
            raise CsvFormatError(f"{name}:{lineno}: expected 7 or 12 columns, got {n}")
        if ncols and n != ncols:
            raise CsvFormatError(f"{name}:{lineno}: {n} columns after {ncols} on earlier lines")
        ncols = n
        try:
            ot = _to_ms(int(rec[0]))
            ct = _to_ms(int(rec[6]))
            row = [
                ot,
                float(rec[1]),
                float(rec[2]),
                float(rec[3]),
                float(rec[4]),
                float(rec[5]),
                ct,
            ]
            if n == 12:
                row += [float(rec[7]), int(rec[8]), float(rec[9]), float(rec[10]), float(rec[11])]
            else:
                row += [None] * 5
        except ValueError as e:
            raise CsvFormatError(f"{name}:{lineno}: {e}") from None
        rows.append(tuple(row))
    return ParsedKlines(rows=rows, n_columns=ncols or 7)


def parse_funding_csv(text: str, name: str = "<csv>") -> list[tuple[int, int, float]]:
    """Parse a fundingRate CSV into ``(calc_time_ms, interval_hours, rate_fraction)`` tuples."""
    out: list[tuple[int, int, float]] = []
    for lineno, rec in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not rec or (len(rec) == 1 and not rec[0].strip()):
            continue
        if lineno == 1 and _is_header(rec):
            continue
        if len(rec) != 3:
            raise CsvFormatError(f"{name}:{lineno}: expected 3 columns, got {len(rec)}")
        try:
            out.append((_to_ms(int(rec[0])), int(float(rec[1])), float(rec[2])))
        except ValueError as e:
            raise CsvFormatError(f"{name}:{lineno}: {e}") from None
    return out
