"""Market data of the local exchange: archived bars and funding, contract specs, and the
message shapes of klines and mark prices.

Sources: the project's raw archive (``<data-dir>/archive/raw_data.db``, written by
``vibe-quant data ingest``) for bars and funding; for ``GET /fapi/v1/exchangeInfo`` the newest
archived payload, else a payload file (default the real
``shared/data/binance-api/fapi_v1_exchangeInfo_2022-02-19.json``). Leverage brackets and the
liquidation fee come from :func:`vibe_quant.data.catalog.resolve_terms` (archived signed
brackets / ``--brackets`` file / packaged reference), made the terms in force.

Conventions: a bar is identified by its open time (UTC ms); its close time is
``open + interval − 1`` ms, as Binance sends it (``k.T``). The archive's bars of the replayed
(base) interval are the market; klines of any longer interval that is a whole multiple of it
(5m, 15m, 1h, 4h, 1d … over 1m) are aggregated from them as Binance builds them (open of the
first, max high, min low, close of the last, summed volume; buckets aligned to the UTC epoch, so
a 1h bar opens on the hour and a 1d bar at 00:00 UTC). A bucket with missing base bars
aggregates the bars present. Funding times are Binance's
``calc_time`` floored to the minute (as the catalog does, SPEC.md 2.3); rates are fractions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from vibe_quant.core.errors import DataError
from vibe_quant.core.intervals import interval_ms
from vibe_quant.core.paths import DataDir
from vibe_quant.store.archive import Archive
from vibe_quant.venues.binance import instruments as ins

MINUTE_MS = 60_000
#: Binance's kline intervals the replay can aggregate (epoch-aligned; 1w and 1M are not)
KLINE_INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d")


class MarketDataError(DataError, LookupError):
    """The archive lacks what the exchange needs (message: what, which input, what to run)."""


class KlineIntervalError(MarketDataError):
    """A kline interval the replay cannot serve (not a whole multiple of the replayed one)."""


@dataclass(frozen=True)
class SymbolSpec:
    """Exchange filters of one symbol, from its exchangeInfo entry (strings kept exact)."""

    symbol: str
    tick_size: float
    step_size: float
    min_qty: float
    max_qty: float
    min_notional: float
    price_precision: int
    quantity_precision: int
    liquidation_fee: float

    def fmt_price(self, px: float) -> str:
        return f"{px:.{self.price_precision}f}"

    def fmt_qty(self, q: float) -> str:
        return f"{q:.{self.quantity_precision}f}"

    def round_price(self, px: float) -> float:
        return round(px, self.price_precision)

    def round_qty(self, q: float) -> float:
        return round(q, self.quantity_precision)

    def on_step(self, q: float) -> bool:
        n = q / self.step_size
        return abs(n - round(n)) < 1e-6

    def on_tick(self, px: float) -> bool:
        n = px / self.tick_size
        return abs(n - round(n)) < 1e-6


def spec_from_exchange_info(entry: dict[str, Any]) -> SymbolSpec:
    f = {x["filterType"]: x for x in entry.get("filters", [])}
    mn = f.get("MIN_NOTIONAL", {})
    return SymbolSpec(
        symbol=entry["symbol"],
        tick_size=float(f["PRICE_FILTER"]["tickSize"]),
        step_size=float(f["LOT_SIZE"]["stepSize"]),
        min_qty=float(f["LOT_SIZE"]["minQty"]),
        max_qty=float(f["LOT_SIZE"]["maxQty"]),
        min_notional=float(mn.get("notional", mn.get("minNotional", 0)) or 0),
        price_precision=int(entry["pricePrecision"]),
        quantity_precision=int(entry["quantityPrecision"]),
        liquidation_fee=float(entry.get("liquidationFee", "0") or 0),
    )


def default_exchange_info_file() -> Path | None:
    """The real shared exchangeInfo payload, when the shared data folder is present."""
    try:
        from vibe_quant.core.paths import shared_data_dir

        p = shared_data_dir() / "binance-api" / "fapi_v1_exchangeInfo_2022-02-19.json"
    except FileNotFoundError:
        return None
    return p if p.is_file() else None


@dataclass
class Series:
    """Archived bars of one symbol (ascending numpy columns) and its funding events."""

    symbol: str
    open_time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    funding_time: np.ndarray  # scheduled funding times (ms, floored to the minute)
    funding_rate: np.ndarray  # fraction per funding interval

    def aggregate(self, base_ms: int, iv_ms: int) -> Series:
        """Bars of ``iv_ms`` (a multiple of ``base_ms``) aggregated from these bars of
        ``base_ms``: one bar per non-empty epoch-aligned bucket ``[k·iv, (k+1)·iv)``."""
        if iv_ms == base_ms or len(self.open_time) == 0:
            return self
        bucket = (self.open_time // iv_ms) * iv_ms
        starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
        ends = np.r_[starts[1:], len(bucket)] - 1
        return Series(
            self.symbol,
            bucket[starts],
            self.open[starts],
            np.maximum.reduceat(self.high, starts),
            np.minimum.reduceat(self.low, starts),
            self.close[ends],
            np.round(np.add.reduceat(self.volume, starts), 9),  # no float-sum noise
            self.funding_time,
            self.funding_rate,
        )

    def index_at_or_after(self, open_ms: int) -> int:
        return int(np.searchsorted(self.open_time, open_ms, side="left"))

    def bar(self, i: int) -> tuple[int, float, float, float, float, float]:
        return (
            int(self.open_time[i]),
            float(self.open[i]),
            float(self.high[i]),
            float(self.low[i]),
            float(self.close[i]),
            float(self.volume[i]),
        )

    def last_close_before(self, t_ms: int, iv_ms: int) -> float | None:
        """Close of the last bar that closed at or before ``t_ms`` (open + interval ≤ t)."""
        i = int(np.searchsorted(self.open_time, t_ms - iv_ms, side="right")) - 1
        return float(self.close[i]) if i >= 0 else None

    def next_funding(self, after_ms: int) -> tuple[int, float] | None:
        """The first funding event with time > ``after_ms``: ``(time_ms, rate)``."""
        i = int(np.searchsorted(self.funding_time, after_ms, side="right"))
        if i >= len(self.funding_time):
            return None
        return int(self.funding_time[i]), float(self.funding_rate[i])

    def fundings_between(self, lo_excl: int, hi_incl: int) -> list[tuple[int, float]]:
        a = int(np.searchsorted(self.funding_time, lo_excl, side="right"))
        b = int(np.searchsorted(self.funding_time, hi_incl, side="right"))
        return [(int(self.funding_time[k]), float(self.funding_rate[k])) for k in range(a, b)]


class MarketData:
    """Bars, funding and specs of the replayed symbols, loaded once from the archive.

    Raises:
        MarketDataError: no archive, a symbol without archived bars of ``interval``, or a
            symbol missing from the exchangeInfo payload.
    """

    def __init__(
        self,
        data_dir: DataDir,
        symbols: list[str],
        interval: str,
        exchange_info_file: str | Path | None = None,
    ):
        self.interval = interval
        self.interval_ms = interval_ms(interval)
        self._kline_cache: dict[tuple[str, str], tuple[Series, int]] = {}
        self.symbols = [s.upper() for s in symbols]
        if not data_dir.archive_db.exists():
            raise MarketDataError(
                f"no raw archive at {data_dir.archive_db}: run `vibe-quant data ingest --symbols "
                f"{','.join(self.symbols)} --interval {interval} --data-dir {data_dir.root}`"
            )
        from vibe_quant.data.catalog import resolve_terms

        with Archive(data_dir.archive_db) as ar:
            payload = ar.latest_exchange_info()
            self.series: dict[str, Series] = {}
            for s in self.symbols:
                cols = ar.klines_array(s, interval)
                if len(cols["open_time"]) == 0:
                    raise MarketDataError(
                        f"no archived {interval} bars of {s} in {data_dir.archive_db}: run "
                        f"`vibe-quant data ingest --symbols {s} --interval {interval} "
                        f"--data-dir {data_dir.root}`"
                    )
                fr = ar.funding_rows(s)
                ft = np.asarray([(t // MINUTE_MS) * MINUTE_MS for t, _, _ in fr], dtype=np.int64)
                rate = np.asarray([r for _, _, r in fr], dtype=np.float64)
                self.series[s] = Series(
                    s,
                    cols["open_time"],
                    cols["open"],
                    cols["high"],
                    cols["low"],
                    cols["close"],
                    cols["volume"],
                    ft,
                    rate,
                )
                ins.use_terms(resolve_terms(ar, s))
        if payload is None:
            p = Path(exchange_info_file) if exchange_info_file else default_exchange_info_file()
            if p is None or not p.is_file():
                raise MarketDataError(
                    "no exchangeInfo payload: none archived (run `vibe-quant data ingest` with "
                    "the REST API reachable) and no --exchange-info FILE given"
                )
            payload = p.read_text()
        doc = json.loads(payload)
        by_sym = {e["symbol"]: e for e in doc.get("symbols", [])}
        missing = [s for s in self.symbols if s not in by_sym]
        if missing:
            raise MarketDataError(
                f"{', '.join(missing)} not in the exchangeInfo payload (archived or "
                "--exchange-info): ingest with the REST API reachable or pass another file"
            )
        doc["symbols"] = [by_sym[s] for s in self.symbols]
        self.exchange_info_doc = doc
        self.specs = {s: spec_from_exchange_info(by_sym[s]) for s in self.symbols}

    def exchange_info(self, server_time_ms: int) -> dict[str, Any]:
        doc = dict(self.exchange_info_doc)
        doc["serverTime"] = server_time_ms
        return doc

    def first_open(self) -> int:
        return min(int(s.open_time[0]) for s in self.series.values())

    def last_open(self) -> int:
        return max(int(s.open_time[-1]) for s in self.series.values())

    def next_open_after(self, cursor_ms: int) -> int | None:
        """The earliest bar open time ≥ ``cursor_ms`` over all symbols, or None at the end."""
        best = None
        for s in self.series.values():
            i = s.index_at_or_after(cursor_ms)
            if i < len(s.open_time):
                t = int(s.open_time[i])
                best = t if best is None else min(best, t)
        return best

    # ---- klines of the base and of aggregated intervals ---------------------------------

    def kline_series(self, symbol: str, interval: str) -> tuple[Series, int]:
        """``(bars, interval ms)`` of ``symbol`` at ``interval``: the archived base bars, or
        bars aggregated from them (cached).

        Raises:
            KlineIntervalError: ``interval`` is not in :data:`KLINE_INTERVALS`, is shorter than the
                replayed one or not a whole multiple of it (Binance's -1120 at the REST API).
        """
        key = (symbol, interval)
        hit = self._kline_cache.get(key)
        if hit is not None:
            return hit
        if interval not in KLINE_INTERVALS:
            raise KlineIntervalError(
                f"interval {interval!r} is not one of Binance's {', '.join(KLINE_INTERVALS)}"
            )
        iv = interval_ms(interval)
        if iv < self.interval_ms or iv % self.interval_ms:
            raise KlineIntervalError(
                f"interval {interval} is not a whole multiple of the replayed {self.interval}"
            )
        out = (self.series[symbol].aggregate(self.interval_ms, iv), iv)
        self._kline_cache[key] = out
        return out

    def kline_row(self, symbol: str, i: int, interval: str | None = None) -> list[Any]:
        """One ``GET /fapi/v1/klines`` row (12 elements; volumes the archive lacks are "0") of
        bar ``i`` of ``interval`` (default the replayed one)."""
        s, iv = self.kline_series(symbol, interval or self.interval)
        spec = self.specs[symbol]
        ot, o, h, lo, c, v = s.bar(i)
        return [
            ot,
            spec.fmt_price(o),
            spec.fmt_price(h),
            spec.fmt_price(lo),
            spec.fmt_price(c),
            _num(v),
            ot + iv - 1,
            "0",
            0,
            "0",
            "0",
            "0",
        ]

    def klines(
        self,
        symbol: str,
        *,
        now_ms: int,
        limit: int = 500,
        start_ms: int | None = None,
        end_ms: int | None = None,
        interval: str | None = None,
    ) -> list[list[Any]]:
        """Closed bars only (``open + interval ≤ now``: no look-ahead), like Binance's
        ``GET /fapi/v1/klines`` (``startTime``/``endTime`` on the open time, inclusive; without
        ``startTime`` the newest ``limit`` bars up to ``endTime``). ``interval`` defaults to the
        replayed one; a longer one is aggregated (:meth:`kline_series`)."""
        interval = interval or self.interval
        s, iv = self.kline_series(symbol, interval)
        limit = max(1, min(int(limit), 1500))
        last_closed = now_ms - iv  # open times ≤ this are closed
        hi = last_closed if end_ms is None else min(end_ms, last_closed)
        b = int(np.searchsorted(s.open_time, hi, side="right"))
        if start_ms is not None:
            a = int(np.searchsorted(s.open_time, start_ms, side="left"))
            b = min(b, a + limit)
        else:
            a = max(0, b - limit)
        return [self.kline_row(symbol, i, interval) for i in range(a, b)] if b > a else []

    def closed_klines(
        self, symbol: str, interval: str, after_ms: int, upto_ms: int
    ) -> list[tuple[int, int]]:
        """Bars of ``interval`` whose close ``open + interval`` lies in ``(after_ms, upto_ms]``
        — the ones a replay step from cursor ``after_ms`` to ``upto_ms`` completes — as
        ``(index, close ms)``."""
        s, iv = self.kline_series(symbol, interval)
        a = int(np.searchsorted(s.open_time, after_ms - iv, side="right"))
        b = int(np.searchsorted(s.open_time, upto_ms - iv, side="right"))
        return [(i, int(s.open_time[i]) + iv) for i in range(a, b)]

    def kline_event(
        self, symbol: str, i: int, event_ms: int, interval: str | None = None
    ) -> dict[str, Any]:
        """A closed ``<symbol>@kline_<interval>`` stream message (``k.x = true``) of bar ``i``
        of ``interval`` (default the replayed one)."""
        interval = interval or self.interval
        s, iv = self.kline_series(symbol, interval)
        spec = self.specs[symbol]
        ot, o, h, lo, c, v = s.bar(i)
        return {
            "e": "kline",
            "E": event_ms,
            "s": symbol,
            "k": {
                "t": ot,
                "T": ot + iv - 1,
                "s": symbol,
                "i": interval,
                "f": 0,
                "L": 0,
                "o": spec.fmt_price(o),
                "c": spec.fmt_price(c),
                "h": spec.fmt_price(h),
                "l": spec.fmt_price(lo),
                "v": _num(v),
                "n": 0,
                "x": True,
                "q": "0",
                "V": "0",
                "Q": "0",
                "B": "0",
            },
        }

    def mark_price_event(self, symbol: str, mark: float, event_ms: int) -> dict[str, Any]:
        """A ``<symbol>@markPrice@1s`` message: mark = index = the last close; ``r`` the rate
        that will be settled at the next funding time ``T`` (as Binance's estimate converges
        to it); "0" / T=0 when the archive has no later funding event."""
        spec = self.specs[symbol]
        nxt = self.series[symbol].next_funding(event_ms - 1)
        rate, t_next = (_rate(nxt[1]), nxt[0]) if nxt else ("0", 0)
        px = spec.fmt_price(mark)
        return {
            "e": "markPriceUpdate",
            "E": event_ms,
            "s": symbol,
            "p": px,
            "ap": px,
            "i": px,
            "P": px,
            "r": rate,
            "T": t_next,
        }


def _num(v: float) -> str:
    return format(Decimal(repr(float(v))).normalize(), "f")


def _rate(r: float) -> str:
    return format(Decimal(repr(float(r))), "f")
