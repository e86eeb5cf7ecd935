"""Replay of a run's fills and funding into a cash ledger (the bookkeeping behind trades/equity).

Nautilus settles funding natively; this module mirrors it so each payment can be attributed to a
trade and to a bar, and every run reconciles the mirror against the engine's final balance
(``BacktestResult.reconciliation_error``).

Funding payment at funding time ``t`` (USDT, + = received; Nautilus's rule, longs pay a positive
rate)::

    payment(t) = −signed_qty(t) × price(t) × rate(t)      rounded to 8 decimals (USDT precision)

``signed_qty(t)`` is the position HELD AT the funding instant: after every fill with ``ts < t``
and before any fill with ``ts = t`` (base units). A fill stamped ``t`` comes from the bar closing
at ``t`` — a decision taken on that close fills after the instant (Binance exchanges funding at
00:00/08:00/16:00 UTC on the positions open at that moment). ``price(t)`` is the close of the
last bar with close time ``≤ t``, fed to Nautilus as the mark price just before the funding
update (:meth:`vibe_quant.backtest.marketdata.MarketData.engine_stream`).
"""

from __future__ import annotations

from collections import UserList
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import starmap
from typing import Any

import numpy as np

from vibe_quant.backtest.marketdata import MarketData
from vibe_quant.strategy.base import Fill


@dataclass(frozen=True)
class FundingPayment:
    """One settled funding payment: ``ts`` ns, ``qty`` signed base units, ``price`` USDT,
    ``rate`` fraction, ``amount`` USDT (+ received, − paid)."""

    ts: int
    qty: float
    price: float
    rate: float
    amount: float


class Records(UserList):
    """A list of ``record`` objects (e.g. :class:`FundingPayment`) built on first read from
    per-field columns: a sweep reads a few columns (its metrics), never the objects. A
    ``UserList`` (compares, slices, concatenates like a list); its length and :meth:`column`
    need no objects. Made from ``records`` (already built) or ``columns`` (field name ->
    values in record order: numpy array or list). Subclasses set ``record`` and ``fields``
    (its constructor's arguments, in order)."""

    record: type
    fields: tuple[str, ...]

    def __init__(self, records: Iterable[Any] | None = None,
                 columns: dict[str, Any] | None = None) -> None:
        self._columns = columns
        self._done = None if columns is not None else list(records or [])

    @property
    def data(self) -> list:  # type: ignore[override]
        """The records (built from the columns on first read)."""
        if self._done is None:
            self._done = list(starmap(self.record,
                                      zip(*[self._column(k) for k in self.fields])))
            self._columns = None
        return self._done

    @data.setter
    def data(self, value: list) -> None:
        self._done, self._columns = value, None

    def column(self, name: str) -> list:
        """The values of field ``name`` in record order, as the records hold them."""
        if self._done is not None:
            return [getattr(r, name) for r in self._done]
        return self._column(name)

    def _column(self, name: str) -> list:
        v = self._columns[name]
        return v.tolist() if isinstance(v, np.ndarray) else list(v)

    def __len__(self) -> int:
        if self._done is not None:
            return len(self._done)
        return len(self._columns[self.fields[0]])


class FundingList(Records):
    """The :class:`FundingPayment` list of a run (:class:`Records`; columns ``ts`` ns,
    ``qty``, ``price``, ``rate``, ``amount``)."""

    record = FundingPayment
    fields = ("ts", "qty", "price", "rate", "amount")


def round8(x: np.ndarray) -> list[float]:
    """``[round(v, 8) for v in x]`` (Python's correctly rounded ``round``, bit for bit), mostly
    in numpy: shape ``(n,)`` -> list of n floats.

    For ``y = |v| × 1e8`` (one rounding) away from a half-integer by more than its ulp, the
    exact ``|v| × 10⁸`` rounds (half-even) to the same integer ``k = rint(y)``, and ``k / 1e8``
    (k < 2⁵² exact, one correctly rounded division) is the double nearest to the decimal
    ``k × 10⁻⁸``: Python's result. Other values (near a tie, huge, non-finite) use ``round``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.abs(x) * 1e8
    with np.errstate(invalid="ignore"):
        sure = (np.abs(y - np.floor(y) - 0.5) > np.spacing(y)) & (y < 2.0**52)
        out = np.copysign(np.rint(y) / 1e8, x).tolist()
    if not sure.all():
        for i in np.flatnonzero(~sure).tolist():
            out[i] = round(float(x[i]), 8)
    return out


def funding_payments(
    fills: list[Fill], md: MarketData, size_precision: int
) -> FundingList:
    """Funding payments on the position implied by ``fills`` (see module docstring), in time
    order; a :class:`FundingList` (FundingPayment objects built on first read)."""
    if len(md.close_ts) == 0:
        return FundingList([])
    f_ts = md.funding_ts
    f_rate = md.funding_rate
    keep = f_ts >= md.close_ts[0]
    f_ts, f_rate = f_ts[keep], f_rate[keep]
    n = len(fills)
    fill_ts = np.fromiter([f.ts for f in fills], dtype=np.int64, count=n)
    # side × qty as Python computes it (±1 × qty: exact)
    signed = (np.fromiter([f.side for f in fills], dtype=np.int64, count=n)
              * np.fromiter([f.qty for f in fills], dtype=np.float64, count=n))
    pos_after = np.round(np.cumsum(signed), size_precision) if n else np.zeros(0)
    k = np.searchsorted(fill_ts, f_ts, side="left") - 1  # last fill strictly before t
    bi = np.searchsorted(md.close_ts, f_ts, side="right") - 1
    held = np.where(k >= 0, pos_after[np.maximum(k, 0)] if len(pos_after) else 0.0, 0.0)
    nz = np.flatnonzero(held != 0.0)  # only the funding times with a position held
    q, px, r = held[nz], md.close[bi[nz]], f_rate[nz]
    # -q × px × r evaluated left to right as in Python, rounded as round(·, 8)
    return FundingList(columns=dict(ts=f_ts[nz], qty=q, price=px, rate=r,
                                    amount=round8(-q * px * r)))
