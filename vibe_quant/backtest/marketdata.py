"""Market data of one run: bars, funding, and the quote stream derived from bars.

Timestamp convention (matters for fills, funding and daily resampling): a bar's ``ts_event`` =
``ts_init`` = its CLOSE time (``open_time + interval``) in UTC epoch **ns**. Funding records
carry Binance's ``calc_time`` (UTC epoch ms in the archive, ns here).

Engine stream order at one timestamp ``t``: when ``t`` is a funding time, a MarkPriceUpdate
(price = the close of the last bar closing at or before ``t``, i.e. the bar closing at ``t``)
and the FundingRateUpdate (``ts_event = t``), initialised 1 ns before ``t`` (and after the
previous bar close)
(:func:`_funding`, which also explains why); then the bar closing at ``t``; then one QuoteTick
with bid = ask = that bar's close (size 1 000 000 base units, so it never limits a fill). Hence:

* funding is settled on the position held at the funding instant, before any fill of the bar
  closing at ``t`` (its bar-path stops/limits and the market orders decided on its close), at
  that bar's close (Nautilus settles funding at the cached mark price);
* the exchange then walks the bar O→H→L→C (stop / limit / liquidation-guard triggers), the
  strategy's ``on_bar`` runs, and its market orders fill at the close;
* Nautilus's liquidation check sees the close quote (the mark price feeds only funding: the
  1.231 engine does not route MarkPriceUpdate to the matching engine, and the portfolio's
  ``use_mark_prices`` is off).

Funding records between two bar closes (a data gap) are fed before the next bar, priced at the
last close before them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from nautilus_trader.core import nautilus_pyo3 as n3

from vibe_quant.core.errors import DataError
from vibe_quant.core.intervals import interval_ms
from vibe_quant.venues.binance.instruments import bar_type as bar_type_str
from vibe_quant.venues.binance.instruments import instrument_id as instrument_id_str

FUNDING_INTERVAL_MINUTES = 480  # Binance's 8 h funding interval (BTCUSDT/ETHUSDT)
QUOTE_SIZE = 1_000_000.0


class BarOrderError(DataError, ValueError):
    """Bars handed to :class:`MarketData` are not strictly increasing in close time."""


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

    Raises:
        BarOrderError (a ValueError): bars not strictly increasing in close time.
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
            raise BarOrderError("bars must be strictly increasing in close time")

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
        """Mark price + funding updates, bars and one close quote per bar, in engine order
        (module docstring)."""
        iid = n3.InstrumentId.from_str(self.instrument_id)
        size = n3.Quantity(QUOTE_SIZE, size_precision)
        # Funding only inside the bar span (its price is a bar close).
        first = self.close_ts[0] if len(self.close_ts) else 0
        keep = self.funding_ts >= first
        f_ts = self.funding_ts[keep]
        f_rate = self.funding_rate[keep]
        f_int = self.funding_interval_min[keep]
        # first bar closing at or after the funding time: the funding goes right before it
        nxt = np.searchsorted(self.close_ts, f_ts, side="left")
        # last bar closing at or before the funding time: its close is the funding price
        last = np.searchsorted(self.close_ts, f_ts, side="right") - 1
        out: list[Any] = []
        fi = 0
        nf = len(f_ts)
        bars = self.bars

        def funding(k: int, i: int) -> list[Any]:
            # i = index of the first bar closing at or after the funding time (len = none)
            # 1 ns before the funding time (after the previous bar close): a market order sent
            # at that close and matched at its arrival (latency, SPEC §8) is still before it
            init = int(f_ts[k]) - 1
            if i > 0:
                init = max(init, int(bars[i - 1].ts_event) + 1)
            return _funding(iid, f_ts[k], f_rate[k], f_int[k], bars[last[k]].close, init)

        for i, b in enumerate(bars):
            while fi < nf and nxt[fi] <= i:  # funding with ts ≤ this bar's close
                out += funding(fi, i)
                fi += 1
            ts = b.ts_event
            out.append(b)
            c = b.close
            out.append(n3.QuoteTick(iid, c, c, size, size, ts, ts))
        while fi < nf:
            out += funding(fi, len(bars))
            fi += 1
        return out


def _funding(iid: Any, ts: int, rate: float, interval_min: int, price: Any, init_ts: int,
             ) -> list[Any]:
    """The engine items settling the funding of time ``ts`` (ns), initialised at ``init_ts``
    (``t − 1 ns``, after the previous bar close: fills at the arrival of orders sent on that
    close — latency — happen before it, as on Binance, where they precede the funding time):

    1. ``MarkPriceUpdate(price)``: Nautilus settles funding at the cached mark price;
    2. ``FundingRateUpdate(rate, ts_event=ts, interval, next_funding_ns=init_ts)``.

    Measured on NautilusTrader 1.231: an update with ``next_funding_ns ≤ now`` is settled at the
    end of the engine time step it arrives in; one aligned to ``interval`` (``ts`` only) is
    settled at the end of the step ``ts``, i.e. AFTER the fills of the bar closing at ``ts``
    (which is why the funding gets its own step before that bar). The mark price is cached
    from ``init_ts`` on; the only strategy callback before the bar closing at ``ts`` is
    ``on_funding_rate`` (nothing in vibe-quant reads the mark price).
    """
    ts, init_ts = int(ts), int(init_ts)
    return [
        n3.MarkPriceUpdate(iid, price, init_ts, init_ts),
        n3.FundingRateUpdate(iid, Decimal(repr(float(rate))), ts, init_ts,
                             interval=int(interval_min), next_funding_ns=init_ts),
    ]


def informative_stream(data: MarketData) -> list[Any]:
    """Engine items of a symbol fed as data only (a DSL ``informative`` series read by a
    strategy trading another symbol): its bars (``ts_event = ts_init`` = close time), no
    quotes and no funding, so nothing about it can fill or settle. Fed after the traded
    symbol's stream, so at one timestamp its bar arrives after the traded bar (the compiled
    strategy waits for it before deciding on that close)."""
    return list(data.bars)


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


# ---------------------------------------------------------------------------------------------
# Execution on finer bars (validation): the exchange walks e.g. 1m bars, the strategy's own 5m
# bars are aggregated from them inside Nautilus.
# ---------------------------------------------------------------------------------------------


def _nautilus_spec(bar_type: str, iid: str) -> str:
    """``"BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL"`` → ``"1-MINUTE"``."""
    step, agg = bar_type[len(iid) + 1:].split("-")[:2]
    return f"{step}-{agg}"


def strategy_bar_types(data: MarketData, execution: MarketData) -> tuple[str, str | None]:
    """``(bar type the strategy receives, bar type it subscribes or None)``.

    Same bars: ``(data.bar_type, None)``. Finer execution bars: the strategy's bars are
    aggregated inside Nautilus, e.g. ``("…-5-MINUTE-LAST-INTERNAL",
    "…-5-MINUTE-LAST-INTERNAL@1-MINUTE-EXTERNAL")`` (measured on 1.231: the aggregated bar
    arrives with the standard part as its type, right after the execution bar with the same
    close time; OHLCV equal the right-closed right-labelled resample).
    """
    if execution is data or execution.interval == data.interval:
        return data.bar_type, None
    internal = data.bar_type.replace("-EXTERNAL", "-INTERNAL")
    fine = _nautilus_spec(execution.bar_type, execution.instrument_id)
    return internal, f"{internal}@{fine}-EXTERNAL"


def execution_check(data: MarketData, execution: MarketData) -> tuple[bool, str]:
    """Can ``execution`` (finer bars) stand in for ``data`` on the exchange?

    True only when, for every bar of ``data``, the ``ratio = interval / fine interval`` execution
    bars closing inside it exist (no gap) and the execution bars aggregate to the same
    open/high/low/close (so the strategy's decisions cannot differ). Returns ``(ok, note)``;
    the note says what is missing or differs, in one line.
    """
    if execution.symbol != data.symbol:
        return False, f"execution bars are {execution.symbol}, not {data.symbol}"
    fns, cns = execution.interval_ns, data.interval_ns
    if fns >= cns or cns % fns:
        return False, f"{execution.interval} does not divide {data.interval}"
    ratio = cns // fns
    n = len(data.close_ts)
    expected = (data.close_ts[:, None] - np.arange(ratio - 1, -1, -1, dtype=np.int64)[None, :]
                * fns).ravel()
    have = np.isin(expected, execution.close_ts)
    if not have.all():
        missing = int((~have).sum())
        return False, (f"{execution.interval} bars missing for {missing} of {len(expected)} "
                       f"{execution.interval} steps of the period ({n} {data.interval} bars)")
    fine = execution.slice(int(data.close_ts[0]) - cns, int(data.close_ts[-1]))
    if len(fine.close_ts) != len(expected):
        return False, f"{execution.interval} bars not aligned to the {data.interval} bars"
    hi = np.array([b.high.as_double() for b in fine.bars]).reshape(n, ratio).max(axis=1)
    lo = np.array([b.low.as_double() for b in fine.bars]).reshape(n, ratio).min(axis=1)
    op = fine.open_.reshape(n, ratio)[:, 0]
    cl = fine.close.reshape(n, ratio)[:, -1]
    chi = np.array([b.high.as_double() for b in data.bars])
    clo = np.array([b.low.as_double() for b in data.bars])
    bad = ~(np.isclose(op, data.open_, rtol=0, atol=1e-9) & np.isclose(cl, data.close, rtol=0,
                                                                         atol=1e-9)
            & np.isclose(hi, chi, rtol=0, atol=1e-9) & np.isclose(lo, clo, rtol=0, atol=1e-9))
    if bad.any():
        i = int(np.argmax(bad))
        return False, (f"{execution.interval} bars aggregate to a different OHLC than the "
                       f"{data.interval} bar closing at {int(data.close_ts[i])} ns "
                       f"({int(bad.sum())} bars differ)")
    return True, f"executed on {execution.interval} bars ({len(fine.close_ts)} bars)"
