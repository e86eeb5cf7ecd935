"""Whole-run condition arrays: the DSL's conditions evaluated for every bar at once (issue 15).

When a backtest knows its strategy's bars before the run (the session's own bars; not paper
trading, not finer execution bars), a compiled strategy whose conditions read only the traded
symbol's base-timeframe series (price fields, indicators, constants, parameters; no
higher-timeframe or informative series, no ``trade.*`` state) does not evaluate them bar by
bar. Instead, before the run:

1. every indicator a condition reads is computed over all the bars by the SAME streaming
   object the bar-by-bar path uses (:func:`vibe_quant.strategy.runtime.indicators.build`, fed
   the same floats in the same order, so every value is bit-identical), and kept in a
   per-process cache shared by the combinations of a sweep worker (an EMA(12) is computed once
   per worker, not once per combination);
2. each condition becomes one boolean per bar with numpy, with the evaluator's semantics
   (:mod:`.conditions`): IEEE float arithmetic (``+ - * /`` are the same double operations
   Python does; ``x / 0`` is NaN), NaN makes a comparison false, ``x[n]`` is the value ``n``
   bars earlier (NaN before), functions are applied element by element with the evaluator's
   own :data:`vibe_quant.dsl.semantics.FUNCS`, and ``a crosses_above b`` compares with the
   previous bar's values from the second decided bar on (the first decided bar has no
   previous values: false), exactly as :class:`.conditions.CrossSlot` shifts once per
   decided bar.

The strategy then reads ``array[i]`` at its i-th base bar. Fills are identical to the
bar-by-bar evaluator (``tests/strategy/test_vector_plan.py`` runs every shipped strategy both
ways on real data).
"""

from __future__ import annotations

import hashlib
from array import array
from collections import OrderedDict
from typing import Any

import numpy as np

from vibe_quant.dsl import expr as E
from vibe_quant.dsl.semantics import FUNCS, constant_value

NAN = float("nan")

#: bytes of indicator arrays a process keeps for later runs (a two-year 5m output is 1.7 MB)
INDICATOR_CACHE_BYTES = 64 * 2**20

_PRICE_FIELDS = ("open", "high", "low", "close", "volume")


class BarArrays:
    """The base bars a strategy will receive, in order, as float64 arrays (USDT; volume in base
    units; :meth:`field` also gives ``hl2 hlc3 ohlc4``) and ``ts`` (bar close, UTC epoch ns,
    int64); ``key`` identifies their content for the indicator cache; ``ts_seq`` holds the
    close times compactly (``array('q')``) for the strategy's per-bar check."""

    def __init__(self, ts: np.ndarray, open_: np.ndarray, high: np.ndarray, low: np.ndarray,
                 close: np.ndarray, volume: np.ndarray) -> None:
        self.ts = np.ascontiguousarray(ts, dtype=np.int64)
        self.fields = {"open": np.ascontiguousarray(open_, dtype=np.float64),
                       "high": np.ascontiguousarray(high, dtype=np.float64),
                       "low": np.ascontiguousarray(low, dtype=np.float64),
                       "close": np.ascontiguousarray(close, dtype=np.float64),
                       "volume": np.ascontiguousarray(volume, dtype=np.float64)}
        digest = hashlib.blake2b(digest_size=16)
        digest.update(self.ts.tobytes())
        for k in _PRICE_FIELDS:
            digest.update(self.fields[k].tobytes())
        self.key = digest.hexdigest()
        self.n = len(self.ts)
        self.ts_seq = array("q", self.ts.tobytes())

    def field(self, name: str) -> np.ndarray:
        """A price field per bar; ``hl2`` / ``hlc3`` / ``ohlc4`` as the evaluator's PriceState
        computes them: ``(h + l) / 2.0``, ``(h + l + c) / 3.0``, ``(o + h + l + c) / 4.0``."""
        f = self.fields.get(name)
        if f is None:
            o, hi, lo, c = (self.fields[k] for k in ("open", "high", "low", "close"))
            f = self.fields[name] = {"hl2": lambda: (hi + lo) / 2.0,
                                     "hlc3": lambda: (hi + lo + c) / 3.0,
                                     "ohlc4": lambda: (o + hi + lo + c) / 4.0}[name]()
        return f

    @classmethod
    def from_bars(cls, bars: list[Any]) -> BarArrays:
        """From PyO3 bars (``as_double`` of each price, the values the strategy reads)."""
        n = len(bars)

        def col(name: str) -> np.ndarray:
            return np.fromiter((getattr(b, name).as_double() for b in bars), np.float64, n)

        ts = np.fromiter((b.ts_event for b in bars), np.int64, n)
        return cls(ts, col("open"), col("high"), col("low"), col("close"), col("volume"))


#: bars fed per chunk while an indicator is precomputed (bounds the Python floats alive)
_CHUNK = 8192


_CACHE: OrderedDict[tuple, dict[str, np.ndarray]] = OrderedDict()
_CACHE_BYTES = [0]


def indicator_arrays(bars: BarArrays, type_name: str, params: dict[str, Any],
                     source: str | None) -> dict[str, np.ndarray]:
    """Every output of one DSL indicator after each bar (output name → float64 array of
    ``bars.n``), from the streaming object of the bar-by-bar path fed bar by bar; cached per
    process (least recently used first out beyond :data:`INDICATOR_CACHE_BYTES`)."""
    from vibe_quant.strategy.runtime.indicators import build

    key = (bars.key, type_name, tuple(sorted((k, float(v)) for k, v in params.items())),
           source)
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    ind = build(type_name, params, source)
    outs = tuple(ind.outputs)
    n = bars.n
    arrays = {o: np.empty(n, dtype=np.float64) for o in outs}
    up = ind.update
    f = bars.fields
    for a in range(0, n, _CHUNK):  # Python floats, as fed live, one chunk at a time
        b = min(a + _CHUNK, n)
        cols: list[list[float]] = [[] for _ in outs]
        feed = zip(f["open"][a:b].tolist(), f["high"][a:b].tolist(), f["low"][a:b].tolist(),
                   f["close"][a:b].tolist(), f["volume"][a:b].tolist(), bars.ts[a:b].tolist())
        if len(outs) == 1:
            out, app = outs[0], cols[0].append
            for o, hi, lo, c, v, ts in feed:
                up(o, hi, lo, c, v, ts)
                app(getattr(ind, out))
        else:
            for o, hi, lo, c, v, ts in feed:
                up(o, hi, lo, c, v, ts)
                for out, col in zip(outs, cols):
                    col.append(getattr(ind, out))
        for out, col in zip(outs, cols):
            arrays[out][a:b] = col
    size = sum(a.nbytes for a in arrays.values())
    if size <= INDICATOR_CACHE_BYTES:
        _CACHE[key] = arrays
        _CACHE_BYTES[0] += size
        while _CACHE_BYTES[0] > INDICATOR_CACHE_BYTES:
            _, old = _CACHE.popitem(last=False)
            _CACHE_BYTES[0] -= sum(a.nbytes for a in old.values())
    return arrays


def clear_cache() -> None:
    """Drop every cached indicator array of this process."""
    _CACHE.clear()
    _CACHE_BYTES[0] = 0


_OPERANDS = (E.Number, E.ParamRef, E.PriceRef, E.IndicatorRef, E.Neg, E.BinOp, E.Call)
_CONDITIONS = (E.Compare, E.Cross, E.Between, E.Not, E.All, E.AnyOf)


def supported(node: Any) -> bool:
    """Whether a condition AST can be evaluated as arrays (no ``trade.*`` state)."""
    return all(isinstance(n, _OPERANDS + _CONDITIONS) for n in E.walk(node))


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    """``a`` as seen ``k`` bars later: ``out[i] = a[i − k]``, NaN for ``i < k``."""
    if k == 0:
        return a
    out = np.full(len(a), NAN)
    if k < len(a):
        out[k:] = a[:-k]
    return out


class VectorEnv:
    """Operand sources of the array evaluation: ``bars``, indicator name → output arrays,
    ``params`` (``$name`` → value), ``first`` (index of the first decided bar: crosses are
    false there and before)."""

    def __init__(self, bars: BarArrays, indicators: dict[str, dict[str, np.ndarray]],
                 outputs: dict[str, tuple[str, ...]], params: dict[str, float],
                 first: int) -> None:
        self.bars = bars
        self.indicators = indicators
        self.outputs = outputs
        self.params = params
        self.first = first


def operand(node: Any, env: VectorEnv) -> np.ndarray | float:
    """The operand's value at every bar (float64 array) or a constant (float)."""
    c = constant_value(node, env.params)
    if c is not None:
        return float(c)
    if isinstance(node, E.PriceRef):
        return _shift(env.bars.field(node.field), node.offset)
    if isinstance(node, E.IndicatorRef):
        out = node.output or env.outputs[node.name][0]
        return _shift(env.indicators[node.name][out], node.offset)
    if isinstance(node, E.Neg):
        return -operand(node.operand, env)
    if isinstance(node, E.BinOp):
        a = np.asarray(operand(node.left, env), dtype=np.float64)
        b = np.asarray(operand(node.right, env), dtype=np.float64)
        with np.errstate(all="ignore"):
            if node.op == "+":
                return a + b
            if node.op == "-":
                return a - b
            if node.op == "*":
                return a * b
            return np.where(b != 0, a / np.where(b != 0, b, 1.0), NAN)  # x / 0 = NaN
    if isinstance(node, E.Call):
        fn = FUNCS[node.func]
        args = [np.broadcast_to(np.asarray(operand(a, env), dtype=np.float64), (env.bars.n,))
                .tolist() for a in node.args]
        return np.fromiter((fn(*xs) for xs in zip(*args)), np.float64, env.bars.n)
    raise TypeError(f"not an operand: {node!r}")


def condition(node: Any, env: VectorEnv) -> np.ndarray:
    """The condition's truth at every bar (bool array of ``env.bars.n``)."""
    n = env.bars.n
    with np.errstate(invalid="ignore"):
        if isinstance(node, E.Compare):
            a, b = operand(node.left, env), operand(node.right, env)
            r = {">": np.greater, "<": np.less, ">=": np.greater_equal,
                 "<=": np.less_equal}[node.op](a, b)
            return np.broadcast_to(r, (n,))
        if isinstance(node, E.Cross):
            a = np.broadcast_to(np.asarray(operand(node.left, env), dtype=np.float64), (n,))
            b = np.broadcast_to(np.asarray(operand(node.right, env), dtype=np.float64), (n,))
            out = np.zeros(n, dtype=bool)
            s = env.first + 1  # the first decided bar has no previous values
            if s < n:
                if node.direction == "above":
                    out[s:] = (a[s - 1:-1] <= b[s - 1:-1]) & (a[s:] > b[s:])
                else:
                    out[s:] = (a[s - 1:-1] >= b[s - 1:-1]) & (a[s:] < b[s:])
            return out
        if isinstance(node, E.Between):
            x, lo, hi = (operand(node.subject, env), operand(node.low, env),
                         operand(node.high, env))
            return np.broadcast_to((lo <= x) & (x <= hi), (n,))
    if isinstance(node, E.Not):
        return ~condition(node.item, env)
    if isinstance(node, E.All):
        out = np.ones(n, dtype=bool)
        for item in node.items:
            out &= condition(item, env)
        return out
    if isinstance(node, E.AnyOf):
        out = np.zeros(n, dtype=bool)
        for item in node.items:
            out |= condition(item, env)
        return out
    raise TypeError(f"not a condition: {node!r}")
