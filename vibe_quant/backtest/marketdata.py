"""Market data of one run: bars, funding, and the quote stream derived from bars.

Timestamp convention (matters for fills, funding and daily resampling): a bar's ``ts_event`` =
``ts_init`` = its CLOSE time (``open_time + interval``) in UTC epoch **ns**. Funding records
carry Binance's ``calc_time`` (UTC epoch ms in the archive, ns here).

Engine stream order at one timestamp ``t``: the bar closing at ``t``, then one QuoteTick with
bid = ask = that bar's close (size 1 000 000 base units, so it never limits a fill), then any
funding update with ``ts = t``. Hence:

* the exchange first walks the bar O→H→L→C (stop / limit / liquidation-guard triggers), then the
  strategy's ``on_bar`` runs, then its market orders fill at the close;
* Nautilus's liquidation check and the funding settlement both see the bar's close as the
  price (no mark price is fed, so Nautilus uses the bid/ask midpoint = close).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from nautilus_trader.core import nautilus_pyo3 as n3

from vibe_quant.data.instruments import bar_type as bar_type_str
from vibe_quant.data.instruments import instrument_id as instrument_id_str
from vibe_quant.data.intervals import interval_ms

FUNDING_INTERVAL_MINUTES = 480  # Binance's 8 h funding interval (BTCUSDT/ETHUSDT)
QUOTE_SIZE = 1_000_000.0


@dataclass
class MarketData:
    """Bars and funding of one symbol/interval, plus numpy views used by the bookkeeping.

    Attributes:
        bars: PyO3 bars sorted by close time.
        funding_ts: funding times, UTC epoch ns (int64).
        funding_rate: funding rates, fraction per interval (0.0001 = 0.01 %).
        funding_interval_min: funding interval per record, minutes (480 = 8 h).
        instrument: the catalogued ``CryptoPerpetual`` (contract spec), or None for the
            packaged reference spec.
        close_ts / close: bar close times (ns, int64) and close prices (USDT, float64).
    """

    symbol: str
    interval: str
    bars: list[Any]
    funding_ts: np.ndarray
    funding_rate: np.ndarray
    funding_interval_min: np.ndarray
    instrument: Any = None
    close_ts: np.ndarray = field(init=False)
    close: np.ndarray = field(init=False)
    open_: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.close_ts = np.fromiter((b.ts_event for b in self.bars), dtype=np.int64,
                                    count=len(self.bars))
        self.close = np.fromiter((b.close.as_double() for b in self.bars), dtype=np.float64,
                                 count=len(self.bars))
        self.open_ = np.fromiter((b.open.as_double() for b in self.bars), dtype=np.float64,
                                 count=len(self.bars))
        if len(self.close_ts) > 1 and np.any(np.diff(self.close_ts) <= 0):
            raise ValueError("bars must be strictly increasing in close time")

    @property
    def interval_ns(self) -> int:
        return interval_ms(self.interval) * 1_000_000

    @property
    def instrument_id(self) -> str:
        return instrument_id_str(self.symbol)

    @property
    def bar_type(self) -> str:
        return bar_type_str(self.symbol, self.interval)

    @classmethod
    def from_objects(
        cls, symbol: str, interval: str, bars: list[Any], funding: list[Any],
        instrument: Any = None,
    ) -> MarketData:
        """From PyO3 ``Bar`` and ``FundingRateUpdate`` lists (e.g. from the catalog)."""
        f = sorted(funding, key=lambda x: x.ts_event)
        return cls(
            symbol,
            interval,
            list(bars),
            np.array([x.ts_event for x in f], dtype=np.int64),
            np.array([float(x.rate) for x in f], dtype=np.float64),
            np.array([(x.interval or FUNDING_INTERVAL_MINUTES) for x in f], dtype=np.int64),
            instrument,
        )

    def slice(self, start_ns: int | None, end_ns: int | None) -> MarketData:
        """Bars with ``start_ns < close_ts ≤ end_ns`` and funding with ``start_ns < ts ≤ end_ns``
        (None = unbounded)."""
        lo = -(2**62) if start_ns is None else start_ns
        hi = 2**62 if end_ns is None else end_ns
        i0, i1 = np.searchsorted(self.close_ts, [lo, hi], side="right")
        j0, j1 = np.searchsorted(self.funding_ts, [lo, hi], side="right")
        return MarketData(
            self.symbol, self.interval, self.bars[i0:i1], self.funding_ts[j0:j1],
            self.funding_rate[j0:j1], self.funding_interval_min[j0:j1], self.instrument,
        )

    def engine_stream(self, size_precision: int) -> list[Any]:
        """Bars, one close quote per bar and funding updates, merged in engine order."""
        iid = n3.InstrumentId.from_str(self.instrument_id)
        size = n3.Quantity(QUOTE_SIZE, size_precision)
        # Funding only inside the bar span (a quote must exist before it is settled).
        first = self.close_ts[0] if len(self.close_ts) else 0
        keep = self.funding_ts >= first
        f_ts = self.funding_ts[keep]
        f_rate = self.funding_rate[keep]
        f_int = self.funding_interval_min[keep]
        # index of the last bar with close_ts <= funding ts
        pos = np.searchsorted(self.close_ts, f_ts, side="right")
        out: list[Any] = []
        fi = 0
        nf = len(f_ts)
        for i, b in enumerate(self.bars):
            while fi < nf and pos[fi] <= i:  # funding with ts < this bar's close
                out.append(_funding(iid, f_ts[fi], f_rate[fi], f_int[fi]))
                fi += 1
            ts = b.ts_event
            out.append(b)
            c = b.close
            out.append(n3.QuoteTick(iid, c, c, size, size, ts, ts))
        while fi < nf:
            out.append(_funding(iid, f_ts[fi], f_rate[fi], f_int[fi]))
            fi += 1
        return out


def _funding(iid: Any, ts: int, rate: float, interval_min: int) -> Any:
    ts = int(ts)
    return n3.FundingRateUpdate(
        iid, Decimal(repr(float(rate))), ts, ts, interval=int(interval_min)
    )


def load_market_data(
    data_dir: Any, symbol: str, interval: str, start_ns: int | None, end_ns: int | None
) -> MarketData:
    """Load bars and funding from the catalog (``vibe_quant.data.catalog``) for
    ``start_ns < close_ts ≤ end_ns``."""
    from vibe_quant.data import catalog  # the data layer (owned by the data issue)

    bars = catalog.load_bars(data_dir, symbol, interval, start_ns, end_ns)
    funding = catalog.load_funding(data_dir, symbol, start_ns, end_ns)
    inst = catalog.load_instrument(data_dir, symbol)
    return MarketData.from_objects(symbol, interval, bars, funding, inst).slice(start_ns, end_ns)
