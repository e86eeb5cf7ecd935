"""Stop-loss / take-profit prices, trailing-stop state and position sizing.

Units: prices and distances in USDT, quantities in base units (BTC), ``*_pct`` fields in
percent (1.5 = 1.5 %), equity in USDT. ``side`` is +1 long / −1 short. Every number comes from
the run's resolved spec (so every sweepable value is read at run time).

Prices (docs/dsl.md §9), long side (short mirrored), ``entry`` = the entry fill price,
``atr`` = the named ATR's value at the signal bar (the decision bar whose close the market
entry fills at):

* stop ``fixed_pct``: ``entry × (1 − pct/100)``; ``atr_fixed``: ``entry − multiple × atr``;
  ``atr_trailing``: starts at ``entry − multiple × atr``; after every later base-bar close,
  ``best = max(best, high)`` (best starts at ``entry``) and the stop moves to
  ``best − multiple × current ATR`` when that is higher; never lower; new state every trade.
* target ``fixed_pct``: ``entry × (1 + pct/100)``; ``atr_fixed``: ``entry + multiple × atr``;
  ``risk_reward``: ``entry + ratio × |entry − initial stop|``.

Sizing (§10), decided at the signal bar's close ``price`` with ``equity`` = the account balance
(entries only happen flat, so there is no unrealised PnL): the stop distance is estimated as
``price × pct/100`` (fixed_pct) or ``multiple × atr`` (ATR stops):

* ``fixed_fractional``: ``equity × risk_pct/100 / stop distance``;
* ``kelly``: risk % = ``clamp(fraction × K × 100, floor_pct, cap_pct)``, K = W − (1 − W)/R over
  the strategy's own closed trades (last ``lookback_trades``), W = share of trades with PnL > 0,
  R = mean winning PnL / mean |losing PnL| (K = W when there is no loss; floor when no win);
  ``floor_pct`` until ``min_trades`` trades have closed; then as fixed_fractional. A trade's
  PnL = account balance after it closed − balance before it opened (fees and funding in);
* ``atr``: ``equity × risk_pct/100 / (atr × multiple)``;
* ``fixed_notional``: ``notional / price``;

then capped at ``max_notional_multiple × equity / price`` (default multiple = ``leverage``).
Rounding down to the lot step and the minimum-size check are done by the order helper.
"""


from __future__ import annotations

import math
from collections import deque
from typing import Any

from vibe_quant.dsl.models import StrategySpec

NAN = float("nan")


class StopRule:
    """Initial stop price and the sizing distance of one strategy's ``stop_loss``."""

    def __init__(self, spec: StrategySpec) -> None:
        sl = spec.stop_loss
        self.kind = sl.type
        self.indicator = getattr(sl, "indicator", None) if self.kind != "fixed_pct" else None
        self.pct = float(spec.param_value(sl.pct)) if self.kind == "fixed_pct" else NAN
        self.multiple = (float(spec.param_value(sl.multiple)) if self.kind != "fixed_pct"
                         else NAN)
        self.trailing = self.kind == "atr_trailing"

    def distance(self, price: float, atr: float) -> float:
        """Stop distance (USDT) estimated at the signal bar."""
        if self.kind == "fixed_pct":
            return price * self.pct / 100.0
        return self.multiple * atr

    def initial(self, side: int, entry: float, atr: float) -> float:
        """Initial stop price for an entry fill at ``entry``."""
        if self.kind == "fixed_pct":
            return entry * (1.0 - side * self.pct / 100.0)
        return entry - side * self.multiple * atr


class Trail:
    """ATR trailing-stop state of the open trade (reset by :meth:`start` every trade)."""

    __slots__ = ("side", "best", "stop", "multiple")

    def __init__(self, multiple: float) -> None:
        self.multiple = multiple
        self.side = 0
        self.best = NAN
        self.stop = NAN

    def start(self, side: int, entry: float, stop: float) -> None:
        self.side, self.best, self.stop = side, entry, stop

    def update(self, high: float, low: float, atr: float) -> float | None:
        """New stop price after a base bar closed, or ``None`` when it does not move."""
        if self.side > 0:
            if high > self.best:
                self.best = high
            new = self.best - self.multiple * atr
            if new > self.stop:
                self.stop = new
                return new
        elif self.side < 0:
            if low < self.best:
                self.best = low
            new = self.best + self.multiple * atr
            if new < self.stop:
                self.stop = new
                return new
        return None


class TargetRule:
    """Take-profit price of one strategy's ``take_profit``."""

    def __init__(self, spec: StrategySpec) -> None:
        tp = spec.take_profit
        self.kind = tp.type
        self.indicator = getattr(tp, "indicator", None) if self.kind == "atr_fixed" else None
        self.pct = float(spec.param_value(tp.pct)) if self.kind == "fixed_pct" else NAN
        self.multiple = (float(spec.param_value(tp.multiple)) if self.kind == "atr_fixed"
                         else NAN)
        self.ratio = float(spec.param_value(tp.ratio)) if self.kind == "risk_reward" else NAN

    def price(self, side: int, entry: float, atr: float, stop_price: float | None) -> float:
        if self.kind == "fixed_pct":
            return entry * (1.0 + side * self.pct / 100.0)
        if self.kind == "atr_fixed":
            return entry + side * self.multiple * atr
        dist = abs(entry - stop_price) if stop_price is not None else NAN
        return entry + side * self.ratio * dist


class PctTrail:
    """Percentage trailing stop with activation (``trailing_stop``; docs/dsl.md §9): ``best`` =
    highest high (long) / lowest low (short) since entry, updated at each base-bar close; once
    ``best`` is more than ``offset_pct`` % beyond the entry price the stop level is
    ``best x (1 - pct/100)`` (long; short ``best x (1 + pct/100)``), moved only in the trade's
    favour (freqtrade's trailing_stop_positive / _offset, trailing_only_offset_is_reached)."""

    def __init__(self, pct: float, offset_pct: float) -> None:
        self.pct = pct
        self.offset_pct = offset_pct
        self.side = 0
        self.entry = self.best = self.level = NAN

    def start(self, side: int, entry: float) -> None:
        self.side, self.entry, self.best, self.level = side, entry, entry, NAN

    def update(self, high: float, low: float) -> float | None:
        """New stop level after a bar (USDT), or None when it did not move / is not active."""
        if self.side > 0:
            if high > self.best:
                self.best = high
            if not self.best > self.entry * (1.0 + self.offset_pct / 100.0):
                return None
            new = self.best * (1.0 - self.pct / 100.0)
            if self.level == self.level and new <= self.level:
                return None
        else:
            if low < self.best:
                self.best = low
            if not self.best < self.entry * (1.0 - self.offset_pct / 100.0):
                return None
            new = self.best * (1.0 + self.pct / 100.0)
            if self.level == self.level and new >= self.level:
                return None
        self.level = new
        return new


class Sizer:
    """Quantity (base units) for an entry; see the module docstring."""

    def __init__(self, spec: StrategySpec) -> None:
        sz = spec.sizing
        pv = spec.param_value
        self.method = sz.method
        self.leverage = float(pv(sz.leverage))
        cap = sz.max_notional_multiple
        self.cap_multiple = float(pv(cap)) if cap is not None else self.leverage
        self.risk_pct = float(pv(sz.risk_pct)) if hasattr(sz, "risk_pct") else NAN
        self.indicator = getattr(sz, "indicator", None) if self.method == "atr" else None
        self.multiple = float(pv(sz.multiple)) if self.method == "atr" else NAN
        self.notional = float(pv(sz.notional)) if self.method == "fixed_notional" else NAN
        self.equity_pct = float(pv(sz.pct)) if self.method == "equity_pct" else NAN
        if self.method == "kelly":
            self.fraction = float(pv(sz.fraction))
            self.floor_pct = float(pv(sz.floor_pct))
            self.cap_pct = float(pv(sz.cap_pct))
            self.min_trades = int(sz.min_trades)
            self.trades: deque[float] = deque(maxlen=sz.lookback_trades)
            self.closed = 0

    def record_trade(self, pnl: float) -> None:
        """A closed trade's PnL (USDT) for Kelly."""
        if self.method == "kelly":
            self.trades.append(pnl)
            self.closed += 1

    def kelly_risk_pct(self) -> float:
        """Risk percent the next Kelly-sized trade uses."""
        if self.closed < self.min_trades:
            return self.floor_pct
        wins = [x for x in self.trades if x > 0]
        losses = [-x for x in self.trades if x <= 0]
        n = len(self.trades)
        w = len(wins) / n
        if not wins:
            return self.floor_pct
        if not losses or sum(losses) == 0:
            k = w
        else:
            r = (sum(wins) / len(wins)) / (sum(losses) / len(losses))
            k = w - (1.0 - w) / r
        return min(max(self.fraction * k * 100.0, self.floor_pct), self.cap_pct)

    def quantity(self, equity: float, price: float, stop_distance: float, atr: float) -> float:
        """Unrounded quantity (base units); 0 when it cannot be sized (NaN/zero distance)."""
        m = self.method
        if m == "fixed_fractional":
            q = equity * self.risk_pct / 100.0 / stop_distance if stop_distance > 0 else 0.0
        elif m == "kelly":
            q = (equity * self.kelly_risk_pct() / 100.0 / stop_distance
                 if stop_distance > 0 else 0.0)
        elif m == "atr":
            d = atr * self.multiple
            q = equity * self.risk_pct / 100.0 / d if d > 0 else 0.0
        elif m == "equity_pct":
            q = equity * self.equity_pct / 100.0 / price
        else:
            q = self.notional / price
        if not math.isfinite(q) or q <= 0:
            return 0.0
        return min(q, self.cap_multiple * equity / price)


def describe(obj: Any) -> dict[str, Any]:
    """Plain-dict view of a rule (for logs/tests)."""
    return {k: v for k, v in vars(obj).items() if not k.startswith("_") and k != "trades"}


class LimitRule:
    """Limit price and expiry of ``entry_order`` / ``exit_order`` with ``type: limit``
    (docs/dsl.md §9 "Limit orders"). ``order_side`` +1 buy / −1 sell; ``close`` = the signal
    bar's close (USDT); ``atr`` = the named ATR at that bar (only read when ``offset_atr`` > 0):

        buy  limit = close × (1 − offset_pct/100) − offset_atr × atr
        sell limit = close × (1 + offset_pct/100) + offset_atr × atr

    rounded to the tick away from the market (a buy down, a sell up). ``expiry_bars``: base
    bars the order may fill in (the bars after the signal bar); it is cancelled at the close of
    the last one when still unfilled."""

    def __init__(self, order: Any, spec: StrategySpec) -> None:
        pv = spec.param_value
        self.offset_pct = float(pv(order.offset_pct))
        self.offset_atr = float(pv(order.offset_atr))
        self.indicator = order.indicator if self.offset_atr != 0 else None
        self.expiry_bars = int(pv(order.expiry_bars))

    def price(self, order_side: int, close: float, atr: float, tick: float) -> float:
        """Limit price (USDT) on the tick grid; NaN when the ATR is not available."""
        off = self.offset_atr * atr if self.offset_atr != 0 else 0.0
        raw = close * (1.0 - order_side * self.offset_pct / 100.0) - order_side * off
        if raw != raw or raw <= 0:
            return NAN
        steps = raw / tick
        # away from the market; the 1e-9 keeps exact grid prices where they are
        k = math.floor(steps + 1e-9) if order_side > 0 else math.ceil(steps - 1e-9)
        return k * tick
