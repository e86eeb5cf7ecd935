"""Does the catalog hold the bars a run needs? One cheap check before any engine starts.

:func:`require_bars` reads only the ``ts_event`` column (bar close time, UTC epoch ns) of the
catalogued Parquet files of one bar type, so it costs milliseconds even for years of 5m bars,
and raises :class:`MissingDataError` with one line naming the symbol, the interval, the period
and the ``vibe-quant data ingest`` command that fetches what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from vibe_quant.core.errors import DataError
from vibe_quant.core.paths import DataDir
from vibe_quant.venues.binance import instruments as ins

NS_PER_MS = 1_000_000


class MissingDataError(DataError, LookupError):
    """The catalog lacks the bars (or the instrument) a run needs.

    The message is one line: what is missing (symbol, interval, period), what the catalog
    holds, and the ``vibe-quant data ingest`` command to run. Also a ``LookupError`` (its base
    before the error tree).
    """


@dataclass(frozen=True)
class BarCoverage:
    """Catalogued bars of one symbol/interval inside a requested window.

    Attributes:
        bars: number of bars with ``start_ns < close ≤ end_ns``.
        first_ns / last_ns: first and last such close time (UTC ns), None when ``bars == 0``.
        catalog_first_ns / catalog_last_ns: the whole catalogued span (UTC ns), None when the
            bar type is not catalogued at all.
    """

    bars: int
    first_ns: int | None
    last_ns: int | None
    catalog_first_ns: int | None
    catalog_last_ns: int | None


def _utc(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, UTC)


def _day(ns: int) -> str:
    return _utc(ns).strftime("%Y-%m-%d %H:%M")


def _month(ns: int) -> str:
    return _utc(ns).strftime("%Y-%m")


def period_str(start_ns: int, end_ns: int) -> str:
    """``2024-01-01 → 2024-03-31`` for whole UTC days (end shown as its last included day),
    else ``YYYY-MM-DD HH:MM → YYYY-MM-DD HH:MM UTC``."""
    day = 86_400 * 1_000_000_000
    if start_ns % day == 0 and end_ns % day == 0:
        return f"{_utc(start_ns):%Y-%m-%d} → {_utc(end_ns - 1):%Y-%m-%d}"
    return f"{_day(start_ns)} → {_day(end_ns)} UTC"


def ingest_command(symbol: str, interval: str, start_ns: int, end_ns: int) -> str:
    """The ``vibe-quant data ingest`` command covering ``(start_ns, end_ns]`` (UTC ns)."""
    return (
        f"vibe-quant data ingest --symbols {symbol} --interval {interval} "
        f"--start {_month(start_ns)} --end {_month(end_ns - 1)}"
    )


def bar_coverage(
    data_dir: DataDir, symbol: str, interval: str, start_ns: int, end_ns: int
) -> BarCoverage:
    """Catalogued bars of ``symbol``/``interval`` with ``start_ns < close ≤ end_ns`` (UTC ns)."""
    import pyarrow.parquet as pq

    d = data_dir.catalog / "data" / "bars" / ins.bar_type(symbol, interval)
    files = sorted(d.glob("*.parquet")) if d.exists() else []
    if not files:
        return BarCoverage(0, None, None, None, None)
    ts = np.sort(
        np.concatenate(
            [
                pq.read_table(f, columns=["ts_event"]).column(0).to_numpy().astype(np.int64)
                for f in files
            ]
        )
    )
    i0, i1 = np.searchsorted(ts, [start_ns, end_ns], side="right")
    inside = ts[i0:i1]
    return BarCoverage(
        bars=len(inside),
        first_ns=int(inside[0]) if len(inside) else None,
        last_ns=int(inside[-1]) if len(inside) else None,
        catalog_first_ns=int(ts[0]) if len(ts) else None,
        catalog_last_ns=int(ts[-1]) if len(ts) else None,
    )


def require_bars(
    data_dir: DataDir, symbol: str, interval: str, start_ns: int, end_ns: int, *, min_bars: int = 2
) -> BarCoverage:
    """Coverage of the window, or :class:`MissingDataError` when it has fewer than
    ``min_bars`` catalogued bars (the engine needs at least two).

    Args:
        start_ns, end_ns: the trading window, UTC epoch ns (bars with
            ``start_ns < close ≤ end_ns``); warm-up before ``start_ns`` is not required.

    Raises:
        MissingDataError: the bar type is not catalogued, or the window holds too few bars.
    """
    cov = bar_coverage(data_dir, symbol, interval, start_ns, end_ns)
    if cov.bars >= min_bars:
        return cov
    period = period_str(start_ns, end_ns)
    cmd = ingest_command(symbol, interval, start_ns, end_ns)
    if cov.catalog_first_ns is None:
        raise MissingDataError(
            f"no {symbol} {interval} bars are catalogued in {data_dir.root} (needed for "
            f"{period}): run `{cmd}`"
        )
    raise MissingDataError(
        f"the catalog in {data_dir.root} has {cov.bars} {symbol} {interval} bars in {period} "
        f"(it holds {_day(cov.catalog_first_ns)} → {_day(cov.catalog_last_ns)}): run `{cmd}`"
    )
