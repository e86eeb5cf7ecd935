"""Bars on the live node, made to look like the backtest's.

* :class:`BarAggregator` — higher-timeframe bars (``close@1h``, a 1h indicator, an informative
  symbol's 15m series) built by the paper strategy itself from the closed base bars, as the
  backtest's Nautilus aggregator builds them: the bar closing at ``T`` holds the base bars with
  close time in ``(T − timeframe, T]`` (open of the first, highest high, lowest low, close of
  the last, summed volume) and is handed over right after the base bar closing at ``T``. The
  live node's own ``…-INTERNAL@…-EXTERNAL`` aggregation runs on wall-clock timers, which a
  replay (or a restart's warm-up from historical bars) does not follow.
* :func:`expected_fills` — the open orders a closed bar's range reaches (a resting limit, a stop
  trigger) and the market orders still in flight: the venue reports their fills on the user
  stream, a separate connection from the kline's, so the paper strategy holds the bar until
  those reports are in (the backtest fills them inside the bar, before the strategy sees it).
"""

from __future__ import annotations

from typing import Any

from nautilus_trader.core import nautilus_pyo3 as n3

from vibe_quant.strategy.base import _bar_ns


def source_of(composite: str) -> tuple[str, str]:
    """``"X-PERP.BINANCE-1-HOUR-LAST-INTERNAL@5-MINUTE-EXTERNAL"`` →
    ``("X-PERP.BINANCE-1-HOUR-LAST-INTERNAL", "X-PERP.BINANCE-5-MINUTE-LAST-EXTERNAL")``
    (the aggregated bar type and the bar type it is built from)."""
    target, src = composite.split("@", 1)
    parts = target.split("-")
    iid, price = "-".join(parts[:-4]), parts[-2]
    step, agg, source = src.split("-")
    return target, f"{iid}-{step}-{agg}-{price}-{source}"


class BarAggregator:
    """Builds ``bar_type`` bars (length ``_bar_ns(bar_type)``) from closed source bars whose
    ``ts_event`` is their close time (normalised, see :class:`~vibe_quant.paper.strategy.
    PaperMixin`)."""

    def __init__(self, bar_type: str) -> None:
        self.bar_type = n3.BarType.from_str(bar_type)
        self.tf_ns = _bar_ns(bar_type)
        if self.tf_ns <= 0:
            raise ValueError(f"cannot aggregate bar type {bar_type!r}")
        self._cur: list[Any] | None = None  # [close ts, open, high, low, close, volume, prec]

    def add(self, bar: Any) -> list[Any]:
        """Feed one source bar; returns the aggregated bars it completes (0, 1 or 2: a gap
        closes the previous window first)."""
        ts = int(bar.ts_event)
        end = -(-ts // self.tf_ns) * self.tf_ns
        out = []
        cur = self._cur
        if cur is not None and cur[0] < end:
            out.append(self._emit())
            cur = None
        if cur is None:
            self._cur = [
                end,
                bar.open,
                bar.high,
                bar.low,
                bar.close,
                bar.volume.as_double(),
                bar.volume.precision,
            ]
        else:
            if bar.high.as_double() > cur[2].as_double():
                cur[2] = bar.high
            if bar.low.as_double() < cur[3].as_double():
                cur[3] = bar.low
            cur[4] = bar.close
            cur[5] += bar.volume.as_double()
        if ts == end:
            out.append(self._emit())
        return out

    def _emit(self) -> Any:
        end, o, h, lo, c, v, prec = self._cur
        self._cur = None
        return n3.Bar(self.bar_type, o, h, lo, c, n3.Quantity(round(v, prec), prec), end, end)


def expected_fills(cache: Any, instrument_id: Any, bar: Any) -> set[str]:
    """Client order ids of ``instrument_id``'s orders that ``bar`` fills at the venue: market
    orders in flight, limits whose price the bar's range reaches (buy: low ≤ price, sell:
    high ≥ price) and stop-markets whose trigger it crosses (sell: low ≤ trigger, buy: high ≥
    trigger) — the local exchange's matching rule (SPEC.md §13)."""
    lo, hi = bar.low.as_double(), bar.high.as_double()
    out: set[str] = set()
    orders = list(cache.orders_open(instrument_id=instrument_id))
    orders += list(cache.orders_inflight(instrument_id=instrument_id))
    for o in orders:
        kind = str(o.order_type).split(".")[-1].upper()
        buy = o.side == n3.OrderSide.BUY
        if kind == "MARKET":
            hit = True
        elif kind == "LIMIT":
            px = o.price.as_double()
            hit = lo <= px if buy else hi >= px
        elif kind == "STOP_MARKET":
            px = o.trigger_price.as_double()
            hit = hi >= px if buy else lo <= px
        else:
            hit = False
        if hit:
            out.add(str(o.client_order_id))
    return out
