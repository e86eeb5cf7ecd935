"""Streaming indicators: one object per DSL indicator, constant work per bar.

Every class has ``update(o, h, l, c, v, ts)`` (one bar of the indicator's own timeframe: open,
high, low, close in USDT, volume in base units, ``ts`` = bar close time, UTC epoch ns), a
``count`` of bars seen, ``warmup`` (bars before the value is valid, from the registry) and one
attribute per DSL output (``value``; ``line``/``signal``/``histogram``; ``upper``/``middle``/
``lower``/``width``/``percent_b``; ``k``/``d``; ``adx``/``plus_di``/``minus_di``; ``up``/``down``/
``osc``) on the DSL's scale (see :mod:`vibe_quant.dsl.registry`). Before warm-up the outputs are
NaN or partial and must not be used (the compiled strategy gates on ``count >= warmup``).

Implementations (checked against textbook pandas/numpy formulas in ``tests/strategy``):

* Nautilus (``nautilus_pyo3.indicators``) as the registry maps it: SMA, EMA, WMA, DEMA, HMA,
  MACD line (+ EMA signal), raw stochastic %K (→ k, d, Williams %R), CCI, ROC,
  Bollinger bands, Donchian, volume SMA, Keltner's middle EMA.
* Own streaming code: **Wilder smoothing with the textbook seed** (the mean of the first
  ``period`` inputs, then ``s = s + (x − s)/period``) for RSI, ATR and ADX/DMI — Nautilus's
  ``WilderMovingAverage``/``RelativeStrengthIndex`` seed with the first input instead, and
  ``AverageTrueRange`` ignores its ``ma_type``; OBV (Nautilus signs volume by close vs open);
  VWAP (Nautilus resets at the UTC date of the close time, so the 23:55–00:00 bar would start
  the next day; ours assigns a bar to the day of ``close − 1 ns``); Aroon (Nautilus's down
  line looks back one bar less than its up line); KAMA (Nautilus seeds with the first input
  and uses partial efficiency-ratio windows).
* Own streaming code for what Nautilus 1.231 lacks, in TA-Lib's conventions where TA-Lib has
  the indicator (checked against ``talib`` on a real year in
  ``tests/strategy/test_indicators_reference.py``): TEMA (each EMA stage seeded with the SMA of
  its first ``period`` inputs), Parabolic SAR (TA-Lib's initial direction and reversal rules),
  MFI, momentum, Stochastic RSI; Supertrend in TradingView's ``ta.supertrend`` rules on our
  (TA-Lib) ATR.

Price sources: ``open high low close volume hl2 hlc3 ohlc4`` (``hl2 = (h+l)/2``,
``hlc3 = (h+l+c)/3``, ``ohlc4 = (o+h+l+c)/4``).
"""

# ruff: noqa: E741  (o, h, l, c, v: the OHLCV convention)

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

from nautilus_trader.core.nautilus_pyo3 import indicators as NI

from vibe_quant.core.intervals import NS_PER_DAY
from vibe_quant.dsl.registry import lookup

NAN = float("nan")

SourceFn = Callable[[float, float, float, float, float], float]

SOURCES: dict[str, SourceFn] = {
    "open": lambda o, h, l, c, v: o,
    "high": lambda o, h, l, c, v: h,
    "low": lambda o, h, l, c, v: l,
    "close": lambda o, h, l, c, v: c,
    "volume": lambda o, h, l, c, v: v,
    "hl2": lambda o, h, l, c, v: (h + l) / 2.0,
    "hlc3": lambda o, h, l, c, v: (h + l + c) / 3.0,
    "ohlc4": lambda o, h, l, c, v: (o + h + l + c) / 4.0,
}


class Indicator:
    """Base: ``outputs`` names, ``count`` bars seen, ``warmup`` bars needed."""

    outputs: tuple[str, ...] = ("value",)

    def __init__(self, warmup: int) -> None:
        self.warmup = int(warmup)
        self.count = 0
        for name in self.outputs:
            setattr(self, name, NAN)

    def update(self, o: float, h: float, l: float, c: float, v: float, ts: int) -> None:
        raise NotImplementedError

    @property
    def ready(self) -> bool:
        return self.count >= self.warmup


class Wilder:
    """Wilder smoothing, textbook seed: mean of the first ``period`` inputs, then
    ``s += (x − s) / period``. ``value`` is NaN until ``period`` inputs."""

    __slots__ = ("n", "k", "s", "value")

    def __init__(self, period: int) -> None:
        self.n = int(period)
        self.k = 0
        self.s = 0.0
        self.value = NAN

    def update(self, x: float) -> float:
        self.k += 1
        if self.k < self.n:
            self.s += x
        elif self.k == self.n:
            self.s = (self.s + x) / self.n
            self.value = self.s
        else:
            self.s += (x - self.s) / self.n
            self.value = self.s
        return self.value


class RollingMean:
    """Simple mean of the last ``period`` inputs (O(1) running sum, re-summed every 10 000
    updates to bound float drift)."""

    __slots__ = ("n", "buf", "s", "k", "value")

    def __init__(self, period: int) -> None:
        self.n = int(period)
        self.buf: deque[float] = deque(maxlen=self.n)
        self.s = 0.0
        self.k = 0
        self.value = NAN

    def update(self, x: float) -> float:
        buf = self.buf
        if len(buf) == self.n:
            self.s -= buf[0]
        buf.append(x)
        self.s += x
        self.k += 1
        if self.k % 10_000 == 0:
            self.s = math.fsum(buf)
        if len(buf) == self.n:
            self.value = self.s / self.n
        return self.value


class SeededEma:
    """EMA with alpha = 2/(period+1), seeded with the SMA of the first ``period`` inputs
    (TA-Lib's ``TA_EMA``); ``value`` is NaN until then."""

    __slots__ = ("n", "a", "k", "s", "value")

    def __init__(self, period: int) -> None:
        self.n = int(period)
        self.a = 2.0 / (self.n + 1)
        self.k = 0
        self.s = 0.0
        self.value = NAN

    def update(self, x: float) -> float:
        self.k += 1
        if self.k < self.n:
            self.s += x
        elif self.k == self.n:
            self.value = (self.s + x) / self.n
        else:
            v = self.value
            self.value = (x - v) * self.a + v
        return self.value


class RollingExtremes:
    """Highest and lowest of the last ``period`` inputs (monotonic deques, amortised O(1))."""

    __slots__ = ("n", "t", "hi", "lo")

    def __init__(self, period: int) -> None:
        self.n = int(period)
        self.t = 0
        self.hi: deque[tuple[int, float]] = deque()
        self.lo: deque[tuple[int, float]] = deque()

    def update(self, x: float) -> tuple[float, float]:
        t = self.t
        self.t += 1
        hi, lo = self.hi, self.lo
        while hi and hi[-1][1] <= x:
            hi.pop()
        hi.append((t, x))
        while lo and lo[-1][1] >= x:
            lo.pop()
        lo.append((t, x))
        oldest = t - self.n + 1
        while hi[0][0] < oldest:
            hi.popleft()
        while lo[0][0] < oldest:
            lo.popleft()
        return hi[0][1], lo[0][1]


# ----------------------------------------------------------------- single-source (Nautilus)
class NautilusSource(Indicator):
    """A Nautilus single-input indicator fed ``update_raw(source)``; ``value = scale × .value``."""

    def __init__(self, ind: Any, source: str, warmup: int, scale: float = 1.0) -> None:
        super().__init__(warmup)
        self._ind = ind
        self._raw = ind.update_raw
        self._src = SOURCES[source]
        self._close = source == "close"
        self._scale = scale

    def update(self, o, h, l, c, v, ts):
        self._raw(c if self._close else self._src(o, h, l, c, v))
        self.count += 1
        self.value = self._ind.value * self._scale if self._scale != 1.0 else self._ind.value


class NautilusClose(NautilusSource):
    """:class:`NautilusSource` on the close, unscaled (the common case, kept lean)."""

    def update(self, o, h, l, c, v, ts):
        self._raw(c)
        self.count += 1
        self.value = self._ind.value


class Macd(Indicator):
    """line = EMA(fast) − EMA(slow) (Nautilus MACD, Exponential; EMAs seeded with the first
    input); signal = EMA(signal) of line (Nautilus EMA, seeded with the first line value);
    histogram = line − signal."""

    outputs = ("line", "signal", "histogram")

    def __init__(self, fast: int, slow: int, signal: int, source: str, warmup: int) -> None:
        super().__init__(warmup)
        self._m = NI.MovingAverageConvergenceDivergence(
            int(fast), int(slow), NI.MovingAverageType.Exponential)
        self._s = NI.ExponentialMovingAverage(int(signal))
        self._src = SOURCES[source]

    def update(self, o, h, l, c, v, ts):
        self._m.update_raw(self._src(o, h, l, c, v))
        line = self._m.value
        self._s.update_raw(line)
        self.count += 1
        self.line = line
        self.signal = self._s.value
        self.histogram = line - self.signal


class Stoch(Indicator):
    """raw %K = 100 × (c − lowest low) / (highest high − lowest low) over ``k_period`` bars
    (Nautilus ``Stochastics(k_period, 1).value_k``); k = SMA(smooth) of raw %K (raw when
    smooth = 1); d = SMA(d_period) of k."""

    outputs = ("k", "d")

    def __init__(self, k_period: int, d_period: int, smooth: int, warmup: int) -> None:
        super().__init__(warmup)
        self._st = NI.Stochastics(int(k_period), 1)
        self._smooth = RollingMean(smooth) if int(smooth) > 1 else None
        self._d = RollingMean(d_period)
        self._kn = int(k_period)

    def update(self, o, h, l, c, v, ts):
        self._st.update_raw(h, l, c)
        self.count += 1
        if self.count < self._kn:
            return
        raw = self._st.value_k
        k = self._smooth.update(raw) if self._smooth is not None else raw
        self.k = k
        if k == k:  # not NaN
            self.d = self._d.update(k)


class WillR(Indicator):
    """Williams %R = raw %K − 100 (−100..0), raw %K from Nautilus ``Stochastics(period, 1)``."""

    def __init__(self, period: int, warmup: int) -> None:
        super().__init__(warmup)
        self._st = NI.Stochastics(int(period), 1)

    def update(self, o, h, l, c, v, ts):
        self._st.update_raw(h, l, c)
        self.count += 1
        self.value = self._st.value_k - 100.0


class Cci(Indicator):
    """Nautilus ``CommodityChannelIndex(period, scalar=constant)``: (tp − SMA(tp)) /
    (constant × mean absolute deviation of tp), tp = (h+l+c)/3."""

    def __init__(self, period: int, constant: float, warmup: int) -> None:
        super().__init__(warmup)
        self._i = NI.CommodityChannelIndex(int(period), float(constant))

    def update(self, o, h, l, c, v, ts):
        self._i.update_raw(h, l, c)
        self.count += 1
        self.value = self._i.value


class Aroon(Indicator):
    """Aroon over the last ``period + 1`` bars (current included): up = 100 × (period − bars
    since the highest high)/period, down likewise with the lowest low, osc = up − down; on ties
    the most recent extreme counts (TA-Lib's convention). Own streaming code (monotonic deques,
    amortised O(1)): Nautilus 1.231 ``AroonOscillator`` uses period + 1 bars for up but only
    period bars for down (measured)."""

    outputs = ("up", "down", "osc")

    def __init__(self, period: int, warmup: int) -> None:
        super().__init__(warmup)
        self._n = int(period)
        self._hi: deque[tuple[int, float]] = deque()
        self._lo: deque[tuple[int, float]] = deque()

    def update(self, o, h, l, c, v, ts):
        t = self.count
        self.count += 1
        hi, lo, n = self._hi, self._lo, self._n
        while hi and hi[-1][1] <= h:
            hi.pop()
        hi.append((t, h))
        while lo and lo[-1][1] >= l:
            lo.pop()
        lo.append((t, l))
        oldest = t - n
        while hi[0][0] < oldest:
            hi.popleft()
        while lo[0][0] < oldest:
            lo.popleft()
        up = 100.0 * (n - (t - hi[0][0])) / n
        down = 100.0 * (n - (t - lo[0][0])) / n
        self.up, self.down, self.osc = up, down, up - down


class Kama(Indicator):
    """Kaufman adaptive MA: ER = |x_t − x_{t−n}| / Σ_{last n} |Δx| (0 if no movement);
    sc = (ER·(2/(fast+1) − 2/(slow+1)) + 2/(slow+1))²; kama_t = kama_{t−1} + sc·(x_t − kama_{t−1}),
    seeded with x_{t−1} at the first bar with n changes (bar n + 1). Own streaming code (ring
    buffer + running sum): Nautilus 1.231 ``AdaptiveMovingAverage`` seeds with the first input
    and uses partial windows."""

    def __init__(self, period: int, fast: int, slow: int, source: str, warmup: int) -> None:
        super().__init__(warmup)
        self._n = int(period)
        self._fsc = 2.0 / (int(fast) + 1)
        self._ssc = 2.0 / (int(slow) + 1)
        self._src = SOURCES[source]
        self._x: deque[float] = deque(maxlen=self._n + 1)
        self._d: deque[float] = deque(maxlen=self._n)
        self._vol = 0.0
        self._k = NAN

    def update(self, o, h, l, c, v, ts):
        x = self._src(o, h, l, c, v)
        xs = self._x
        self.count += 1
        if xs:
            d = abs(x - xs[-1])
            if len(self._d) == self._n:
                self._vol -= self._d[0]
            self._d.append(d)
            self._vol += d
            if self.count % 10_000 == 0:
                self._vol = math.fsum(self._d)
        prev = xs[-1] if xs else NAN
        xs.append(x)
        if len(xs) <= self._n:
            return
        er = abs(x - xs[0]) / self._vol if self._vol > 0 else 0.0
        sc = (er * (self._fsc - self._ssc) + self._ssc) ** 2
        k = prev if self._k != self._k else self._k
        self._k = k + sc * (x - k)
        self.value = self._k


class Bollinger(Indicator):
    """Nautilus ``BollingerBands(period, k=stddev)`` fed ``update_raw(src, src, src)`` (so its
    typical price is the source): middle = SMA, upper/lower = middle ± stddev × population σ;
    width = (upper − lower)/middle; percent_b = (src − lower)/(upper − lower) (NaN if flat)."""

    outputs = ("upper", "middle", "lower", "width", "percent_b")

    def __init__(self, period: int, stddev: float, source: str, warmup: int) -> None:
        super().__init__(warmup)
        self._i = NI.BollingerBands(int(period), float(stddev))
        self._src = SOURCES[source]

    def update(self, o, h, l, c, v, ts):
        x = self._src(o, h, l, c, v)
        i = self._i
        i.update_raw(x, x, x)
        self.count += 1
        up, mid, lo = i.upper, i.middle, i.lower
        self.upper, self.middle, self.lower = up, mid, lo
        self.width = (up - lo) / mid if mid else NAN
        rng = up - lo
        self.percent_b = (x - lo) / rng if rng > 0 else NAN


class Donchian(Indicator):
    """Nautilus ``DonchianChannel(period)``: highest high / lowest low of the last ``period``
    bars including the current one; middle = (upper + lower)/2."""

    outputs = ("upper", "middle", "lower")

    def __init__(self, period: int, warmup: int) -> None:
        super().__init__(warmup)
        self._i = NI.DonchianChannel(int(period))

    def update(self, o, h, l, c, v, ts):
        i = self._i
        i.update_raw(h, l)
        self.count += 1
        self.upper, self.middle, self.lower = i.upper, i.middle, i.lower


# ----------------------------------------------------------------------------- own streaming
class TrueRange:
    """TR = max(h − l, |h − prev close|, |l − prev close|); NaN on the first bar."""

    __slots__ = ("pc",)

    def __init__(self) -> None:
        self.pc = NAN

    def update(self, h: float, l: float, c: float) -> float:
        pc = self.pc
        self.pc = c
        if pc != pc:
            return NAN
        a = h - l
        b = abs(h - pc)
        d = abs(l - pc)
        return a if (a >= b and a >= d) else (b if b >= d else d)


class Atr(Indicator):
    """Wilder ATR: TR from the 2nd bar on, seeded with the mean of the first ``period`` TRs
    (valid from bar period + 1), then ``atr += (TR − atr)/period``."""

    def __init__(self, period: int, warmup: int) -> None:
        super().__init__(warmup)
        self._tr = TrueRange()
        self._w = Wilder(period)

    def update(self, o, h, l, c, v, ts):
        tr = self._tr.update(h, l, c)
        self.count += 1
        if tr == tr:
            self.value = self._w.update(tr)


class Rsi(Indicator):
    """Wilder RSI (0..100): changes from the 2nd bar on; average gain/loss seeded with the mean
    of the first ``period`` changes, then Wilder-smoothed; RSI = 100 − 100/(1 + gain/loss)
    (100 when the average loss is 0, 50 when both are 0)."""

    def __init__(self, period: int, source: str, warmup: int) -> None:
        super().__init__(warmup)
        self._src = SOURCES[source]
        self._g = Wilder(period)
        self._l = Wilder(period)
        self._prev = NAN

    def update(self, o, h, l, c, v, ts):
        x = self._src(o, h, l, c, v)
        p = self._prev
        self._prev = x
        self.count += 1
        if p != p:
            return
        d = x - p
        g = self._g.update(d if d > 0 else 0.0)
        lo = self._l.update(-d if d < 0 else 0.0)
        if g != g:
            return
        if lo == 0.0:
            self.value = 50.0 if g == 0.0 else 100.0
        else:
            self.value = 100.0 - 100.0 / (1.0 + g / lo)


class Adx(Indicator):
    """Wilder ADX/DMI (0..100). From the 2nd bar: up = h − prev h, dn = prev l − l;
    +DM = up if up > dn and up > 0 else 0; −DM = dn if dn > up and dn > 0 else 0; TR as ATR.
    TR, +DM, −DM Wilder-smoothed (textbook seed); +DI = 100·s(+DM)/s(TR), −DI likewise
    (valid from bar period + 1); DX = 100·|+DI − −DI|/(+DI + −DI) (0 if both 0);
    ADX = Wilder(period) of DX (valid from bar 2·period)."""

    outputs = ("adx", "plus_di", "minus_di")

    def __init__(self, period: int, warmup: int) -> None:
        super().__init__(warmup)
        self._tr = TrueRange()
        self._str = Wilder(period)
        self._sp = Wilder(period)
        self._sm = Wilder(period)
        self._sdx = Wilder(period)
        self._ph = NAN
        self._pl = NAN

    def update(self, o, h, l, c, v, ts):
        tr = self._tr.update(h, l, c)
        ph, pl = self._ph, self._pl
        self._ph, self._pl = h, l
        self.count += 1
        if ph != ph:
            return
        up = h - ph
        dn = pl - l
        pdm = up if (up > dn and up > 0) else 0.0
        mdm = dn if (dn > up and dn > 0) else 0.0
        s_tr = self._str.update(tr)
        s_p = self._sp.update(pdm)
        s_m = self._sm.update(mdm)
        if s_tr != s_tr:
            return
        pdi = 100.0 * s_p / s_tr if s_tr > 0 else 0.0
        mdi = 100.0 * s_m / s_tr if s_tr > 0 else 0.0
        self.plus_di, self.minus_di = pdi, mdi
        tot = pdi + mdi
        dx = 100.0 * abs(pdi - mdi) / tot if tot > 0 else 0.0
        self.adx = self._sdx.update(dx)


class Keltner(Indicator):
    """middle = EMA(period) of the typical price (h+l+c)/3 (Nautilus EMA, seeded with the first
    input); upper/lower = middle ± multiplier × Wilder ATR(period) (own, textbook seed)."""

    outputs = ("upper", "middle", "lower")

    def __init__(self, period: int, multiplier: float, warmup: int) -> None:
        super().__init__(warmup)
        self._ema = NI.ExponentialMovingAverage(int(period))
        self._atr = Atr(period, period + 1)
        self._m = float(multiplier)

    def update(self, o, h, l, c, v, ts):
        self._ema.update_raw((h + l + c) / 3.0)
        self._atr.update(o, h, l, c, v, ts)
        self.count += 1
        mid = self._ema.value
        a = self._atr.value * self._m
        self.middle, self.upper, self.lower = mid, mid + a, mid - a


class Obv(Indicator):
    """On-balance volume: 0 on the first bar, then ``obv += volume × sign(close − prev close)``
    (base-asset volume)."""

    def __init__(self, warmup: int) -> None:
        super().__init__(warmup)
        self._pc = NAN
        self._obv = 0.0

    def update(self, o, h, l, c, v, ts):
        pc = self._pc
        self._pc = c
        self.count += 1
        if pc == pc:
            if c > pc:
                self._obv += v
            elif c < pc:
                self._obv -= v
        self.value = self._obv


class Vwap(Indicator):
    """Session VWAP = Σ(source × volume)/Σ volume since 00:00 UTC; a bar belongs to the UTC day
    of ``close_ts − 1 ns`` (the bar closing at 00:00 ends the previous day). NaN while the day's
    volume is 0."""

    def __init__(self, source: str, warmup: int) -> None:
        super().__init__(warmup)
        self._src = SOURCES[source]
        self._day = None
        self._pv = 0.0
        self._v = 0.0

    def update(self, o, h, l, c, v, ts):
        day = (ts - 1) // NS_PER_DAY
        if day != self._day:
            self._day, self._pv, self._v = day, 0.0, 0.0
        self._pv += self._src(o, h, l, c, v) * v
        self._v += v
        self.count += 1
        self.value = self._pv / self._v if self._v > 0 else NAN


class Tema(Indicator):
    """TEMA = 3·e1 − 3·e2 + e3 with e1 = EMA(source), e2 = EMA(e1), e3 = EMA(e2), every stage
    a :class:`SeededEma` (TA-Lib ``TA_TEMA``); valid from bar 3·period − 2."""

    def __init__(self, period: int, source: str, warmup: int) -> None:
        super().__init__(warmup)
        self._src = SOURCES[source]
        self._e1, self._e2, self._e3 = SeededEma(period), SeededEma(period), SeededEma(period)

    def update(self, o, h, l, c, v, ts):
        self.count += 1
        e1 = self._e1.update(self._src(o, h, l, c, v))
        if e1 != e1:
            return
        e2 = self._e2.update(e1)
        if e2 != e2:
            return
        e3 = self._e3.update(e2)
        if e3 == e3:
            self.value = 3.0 * e1 - 3.0 * e2 + e3


class Mom(Indicator):
    """Momentum: ``x − x[period]`` (TA-Lib ``TA_MOM``), valid from bar period + 1."""

    def __init__(self, period: int, source: str, warmup: int) -> None:
        super().__init__(warmup)
        self._src = SOURCES[source]
        self._x: deque[float] = deque(maxlen=int(period) + 1)

    def update(self, o, h, l, c, v, ts):
        x = self._src(o, h, l, c, v)
        xs = self._x
        xs.append(x)
        self.count += 1
        if len(xs) == xs.maxlen:
            self.value = x - xs[0]


class StochRsi(Indicator):
    """Stochastic RSI: r = Wilder RSI(period) (as :class:`Rsi`); raw %K = 100·(r − min r)/
    (max r − min r) over the last ``stoch_period`` RSI values (NaN when max = min); k =
    SMA(smooth) of raw %K (raw when smooth = 1); d = SMA(d_period) of k."""

    outputs = ("k", "d")

    def __init__(self, period: int, stoch_period: int, smooth: int, d_period: int,
                 source: str, warmup: int) -> None:
        super().__init__(warmup)
        self._rsi = Rsi(period, source, int(period) + 1)
        self._ext = RollingExtremes(stoch_period)
        self._sp = int(stoch_period)
        self._nr = 0
        self._smooth = RollingMean(smooth) if int(smooth) > 1 else None
        self._d = RollingMean(d_period)

    def update(self, o, h, l, c, v, ts):
        self.count += 1
        rsi = self._rsi
        rsi.update(o, h, l, c, v, ts)
        r = rsi.value
        if r != r:
            return
        hi, lo = self._ext.update(r)
        self._nr += 1
        if self._nr < self._sp:
            return
        raw = 100.0 * (r - lo) / (hi - lo) if hi > lo else NAN
        k = self._smooth.update(raw) if self._smooth is not None else raw
        self.k = k
        self.d = self._d.update(k) if k == k else self._d.value


class Mfi(Indicator):
    """Money flow index (TA-Lib ``TA_MFI``): tp = (h+l+c)/3, flow = tp·volume, positive when
    tp > previous tp, negative when tp < previous tp; MFI = 100·Σpos/(Σpos + Σneg) over the last
    ``period`` bars (valid from bar period + 1; NaN when both sums are 0)."""

    def __init__(self, period: int, warmup: int) -> None:
        super().__init__(warmup)
        self._n = int(period)
        self._flows: deque[tuple[float, float]] = deque()
        self._pos = 0.0
        self._neg = 0.0
        self._ptp = NAN

    def update(self, o, h, l, c, v, ts):
        tp = (h + l + c) / 3.0
        ptp = self._ptp
        self._ptp = tp
        self.count += 1
        if ptp != ptp:
            return
        mf = tp * v
        pos = mf if tp > ptp else 0.0
        neg = mf if tp < ptp else 0.0
        fl = self._flows
        if len(fl) == self._n:
            op, on = fl.popleft()
            self._pos -= op
            self._neg -= on
        fl.append((pos, neg))
        self._pos += pos
        self._neg += neg
        if self.count % 1_000 == 0:  # bound the drift of the running sums
            self._pos = math.fsum(f[0] for f in fl)
            self._neg = math.fsum(f[1] for f in fl)
        if len(fl) == self._n:
            tot = self._pos + self._neg
            self.value = 100.0 * self._pos / tot if tot > 0 else NAN


class Sar(Indicator):
    """Parabolic SAR, a streaming port of TA-Lib ``TA_SAR`` (Wilder 1978).

    Bar 1 only records its high/low. Bar 2 fixes the initial direction: short when its −DM is
    positive (``low1 − low2 > 0`` and greater than ``high2 − high1``), else long; long starts
    with SAR = low1 and EP = high2 (short: high1 and low2), af = ``acceleration``. Then on every
    bar (bar 2 included, with "yesterday" = bar 2 itself): a long whose low is <= SAR reverses —
    the SAR becomes the EP, clamped to >= the two bars' highs, and is the value shown; af resets
    and EP = the bar's low — otherwise the SAR shown is the one computed on the previous bar and
    EP/af are advanced (af += acceleration on a new extreme, capped at ``maximum``). The next
    bar's SAR = SAR + af·(EP − SAR), clamped to the two bars' lows (long) / highs (short).
    Short mirrored. Valid from bar 2.
    """

    def __init__(self, acceleration: float, maximum: float, warmup: int) -> None:
        super().__init__(warmup)
        self._acc = float(acceleration)
        self._max = float(maximum)
        self._af = self._acc
        self._long = True
        self._sar = NAN
        self._ep = NAN
        self._ph = self._pl = NAN

    def update(self, o, h, l, c, v, ts):
        self.count += 1
        if self.count == 1:
            self._ph, self._pl = h, l
            return
        if self.count == 2:
            h0, l0 = self._ph, self._pl
            dm_minus, dm_plus = l0 - l, h - h0
            self._long = not (dm_minus > 0 and dm_plus < dm_minus)
            if self._long:
                self._ep, self._sar = h, l0
            else:
                self._ep, self._sar = l, h0
            self._af = self._acc
            ph, pl = h, l
        else:
            ph, pl = self._ph, self._pl
        self._ph, self._pl = h, l
        sar, ep, af = self._sar, self._ep, self._af
        if self._long:
            if l <= sar:
                self._long = False
                sar = ep
                if sar < ph:
                    sar = ph
                if sar < h:
                    sar = h
                self.value = sar
                af = self._acc
                ep = l
                sar = sar + af * (ep - sar)
                if sar < ph:
                    sar = ph
                if sar < h:
                    sar = h
            else:
                self.value = sar
                if h > ep:
                    ep = h
                    af += self._acc
                    if af > self._max:
                        af = self._max
                sar = sar + af * (ep - sar)
                if sar > pl:
                    sar = pl
                if sar > l:
                    sar = l
        else:
            if h >= sar:
                self._long = True
                sar = ep
                if sar > pl:
                    sar = pl
                if sar > l:
                    sar = l
                self.value = sar
                af = self._acc
                ep = h
                sar = sar + af * (ep - sar)
                if sar > pl:
                    sar = pl
                if sar > l:
                    sar = l
            else:
                self.value = sar
                if l < ep:
                    ep = l
                    af += self._acc
                    if af > self._max:
                        af = self._max
                sar = sar + af * (ep - sar)
                if sar < ph:
                    sar = ph
                if sar < h:
                    sar = h
        self._sar, self._ep, self._af = sar, ep, af


class Supertrend(Indicator):
    """Supertrend (TradingView ``ta.supertrend``, direction sign flipped: +1 = uptrend).

    ATR = Wilder ATR(period) (:class:`Atr`, TA-Lib's); basic bands = hl2 ± multiplier·ATR.
    Final lower = basic lower if it is above the previous final lower or the previous close was
    below the previous final lower, else the previous final lower; final upper mirrored. The
    first bar with an ATR is a downtrend with final = basic bands. Then a downtrend turns up
    when close > final upper, an uptrend turns down when close < final lower. ``value`` = final
    lower in an uptrend, final upper in a downtrend. Valid from bar period + 1.
    """

    outputs = ("value", "direction", "upper", "lower")

    def __init__(self, period: int, multiplier: float, warmup: int) -> None:
        super().__init__(warmup)
        self._atr = Atr(period, int(period) + 1)
        self._m = float(multiplier)
        self._pc = NAN
        self._dir = 0

    def update(self, o, h, l, c, v, ts):
        self.count += 1
        atr = self._atr
        atr.update(o, h, l, c, v, ts)
        pc = self._pc
        self._pc = c
        a = atr.value
        if a != a:
            return
        mid = (h + l) / 2.0
        bu = mid + self._m * a
        bl = mid - self._m * a
        if self._dir == 0:
            fu, fl, d = bu, bl, -1
        else:
            pu, pl = self.upper, self.lower
            fl = bl if (bl > pl or pc < pl) else pl
            fu = bu if (bu < pu or pc > pu) else pu
            if self._dir < 0:
                d = 1 if c > fu else -1
            else:
                d = -1 if c < fl else 1
        self._dir = d
        self.upper, self.lower, self.direction = fu, fl, float(d)
        self.value = fl if d > 0 else fu


def build(type_name: str, params: dict[str, Any], source: str | None) -> Indicator:
    """The streaming object for one DSL indicator.

    Args:
        type_name: registry type or alias (``ema``, ``bbands``, ...).
        params: every registry parameter resolved to a number (e.g. from
            :meth:`StrategySpec.indicator_params`).
        source: price source for single-series indicators (``None`` = the registry default).

    Returns:
        An :class:`Indicator` whose ``warmup`` is the registry's warm-up for ``params``.
    """
    defn = lookup(type_name)
    if defn is None:
        raise KeyError(f"unknown indicator type {type_name!r}")
    p = defn.defaults()
    p.update(params)
    wu = defn.warmup_bars(p)
    src = source or defn.default_source
    t = defn.type
    ns = NautilusClose if src == "close" else NautilusSource
    if t == "sma":
        return ns(NI.SimpleMovingAverage(int(p["period"])), src, wu)
    if t == "ema":
        return ns(NI.ExponentialMovingAverage(int(p["period"])), src, wu)
    if t == "wma":
        n = int(p["period"])
        return NautilusSource(NI.WeightedMovingAverage(n, [float(i) for i in range(1, n + 1)]),
                              src, wu)
    if t == "dema":
        return NautilusSource(NI.DoubleExponentialMovingAverage(int(p["period"])), src, wu)
    if t == "tema":
        return Tema(int(p["period"]), src, wu)
    if t == "mom":
        return Mom(int(p["period"]), src, wu)
    if t == "stochrsi":
        return StochRsi(int(p["period"]), int(p["stoch_period"]), int(p["smooth"]),
                        int(p["d_period"]), src, wu)
    if t == "mfi":
        return Mfi(int(p["period"]), wu)
    if t == "sar":
        return Sar(float(p["acceleration"]), float(p["maximum"]), wu)
    if t == "supertrend":
        return Supertrend(int(p["period"]), float(p["multiplier"]), wu)
    if t == "hma":
        return NautilusSource(NI.HullMovingAverage(int(p["period"])), src, wu)
    if t == "kama":
        return Kama(int(p["period"]), int(p["fast"]), int(p["slow"]), src, wu)
    if t == "rsi":
        return Rsi(int(p["period"]), src, wu)
    if t == "macd":
        return Macd(int(p["fast"]), int(p["slow"]), int(p["signal"]), src, wu)
    if t == "stoch":
        return Stoch(int(p["k_period"]), int(p["d_period"]), int(p["smooth"]), wu)
    if t == "cci":
        return Cci(int(p["period"]), float(p["constant"]), wu)
    if t == "roc":
        return NautilusSource(NI.RateOfChange(int(p["period"]) + 1, False), src, wu, 100.0)
    if t == "willr":
        return WillR(int(p["period"]), wu)
    if t == "adx":
        return Adx(int(p["period"]), wu)
    if t == "aroon":
        return Aroon(int(p["period"]), wu)
    if t == "atr":
        return Atr(int(p["period"]), wu)
    if t == "bbands":
        return Bollinger(int(p["period"]), float(p["stddev"]), src, wu)
    if t == "keltner":
        return Keltner(int(p["period"]), float(p["multiplier"]), wu)
    if t == "donchian":
        return Donchian(int(p["period"]), wu)
    if t == "obv":
        return Obv(wu)
    if t == "vwap":
        return Vwap(src, wu)
    if t == "volume_sma":
        return NautilusSource(NI.SimpleMovingAverage(int(p["period"])), "volume", wu)
    raise KeyError(f"no runtime for indicator type {t!r}")  # pragma: no cover
