"""Condition evaluator: the validated AST (:mod:`vibe_quant.dsl.expr`) turned into closures.

Nothing is parsed or ``eval``-ed here: each AST node becomes a small Python closure that reads
live values (indicator outputs, price fields, ring buffers for ``x[n]``) when called. Values are
floats; NaN means "not available" and makes a comparison false.

Semantics (docs/dsl.md §7, settled by the compiler):

* ``a > b`` etc.: on the current base bar; false when either side is NaN (e.g. ``x / 0``).
* ``a crosses_above b``: ``a_prev <= b_prev and a > b`` where ``_prev`` is each side's value at
  the PREVIOUS base-bar evaluation (for base-timeframe series that is exactly ``a[1]``/``b[1]``;
  a higher-timeframe operand contributes the value that was visible one base bar earlier).
  Every cross is updated on every evaluated base bar (:class:`CrossSlot`), whether or not a
  short-circuit skips it, so "previous" never goes stale. False until both sides have a
  previous value.
* ``a between lo hi``: ``lo <= a <= hi``.
* ``x[n]``: the value ``n`` bars of ``x``'s own timeframe ago (:class:`Ring`).
* ``$name``: the parameter's value in the run's config (read when the run starts).
* Functions (``abs min max exp log sqrt clip``, :data:`vibe_quant.dsl.expr.FUNCTIONS`) are
  implemented here with :mod:`math`, never looked up by name in Python: an undefined result is
  NaN (``log(x)``, x <= 0; ``sqrt(x)``, x < 0), ``exp`` overflow is ``+inf``, and NaN in any
  argument gives NaN (``min``/``max``/``clip`` propagate NaN like ``numpy.minimum``), so a
  comparison that depends on it is false -- the rule already used for ``x / 0``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from vibe_quant.dsl import expr as E
from vibe_quant.dsl.semantics import _BIN, FUNCS, constant_value

NAN = float("nan")
Getter = Callable[[], float]
Pred = Callable[[], bool]


class Ring:
    """Fixed-size history of one series: ``push(v)`` each bar, ``get(k)`` = value ``k`` pushes
    ago (0 = latest); NaN until ``k + 1`` values were pushed."""

    __slots__ = ("buf", "size", "pos", "n")

    def __init__(self, depth: int) -> None:
        self.size = int(depth) + 1
        self.buf = [NAN] * self.size
        self.pos = -1
        self.n = 0

    def push(self, v: float) -> None:
        self.pos = (self.pos + 1) % self.size
        self.buf[self.pos] = v
        self.n += 1

    def get(self, k: int) -> float:
        if k >= self.n:
            return NAN
        return self.buf[(self.pos - k) % self.size]

    def grow(self, depth: int) -> None:
        """Deepen in place (closures already holding this ring keep working), values kept."""
        keep = [self.get(k) for k in range(min(self.n, self.size))][::-1]
        self.size = int(depth) + 1
        self.buf = [NAN] * self.size
        self.pos = -1
        n = self.n
        for v in keep:
            self.push(v)
        self.n = n


class CrossSlot:
    """Current and previous values of a ``(left, right)`` operand pair; ``shift()`` once per
    evaluated base bar."""

    __slots__ = ("left", "right", "l", "r", "pl", "pr")

    def __init__(self, left: Getter, right: Getter) -> None:
        self.left, self.right = left, right
        self.l = self.r = self.pl = self.pr = NAN

    def shift(self) -> None:
        self.pl, self.pr = self.l, self.r
        self.l, self.r = self.left(), self.right()

    def reset(self) -> None:
        self.l = self.r = self.pl = self.pr = NAN


class TradeState:
    """Trade-state operands (``trade.*``, ``last_trade.*``; :data:`vibe_quant.dsl.expr.
    STATE_FIELDS`), kept up to date by the strategy before each decision. NaN = no trade."""

    __slots__ = ("trade_pnl_pct", "trade_max_pnl_pct", "trade_bars_held", "trade_minutes_held",
                 "last_trade_pnl_pct", "last_trade_won", "last_trade_bars_since_exit")

    def __init__(self) -> None:
        for k in self.__slots__:
            setattr(self, k, NAN)


def profit_pct(side: int, entry: float, price: float, fee: float) -> float:
    """freqtrade's profit ratio x 100 (``Trade.calc_profit_ratio``, leverage 1): long
    ``price(1-fee) / (entry(1+fee)) - 1``, short ``1 - price(1+fee) / (entry(1-fee))``;
    ``fee`` a fraction of notional (the taker rate, on entry and on exit)."""
    if side > 0:
        return 100.0 * (price * (1.0 - fee) / (entry * (1.0 + fee)) - 1.0)
    return 100.0 * (1.0 - price * (1.0 + fee) / (entry * (1.0 - fee)))


class Env:
    """Where operands come from.

    Attributes:
        price: object with float attributes ``open high low close volume hl2 hlc3 ohlc4`` of
            the latest closed base bar.
        indicators: name → streaming indicator (outputs as attributes).
        params: ``$name`` → number (the run's values).
        price_rings / indicator_rings: ``field`` / ``(name, output)`` → :class:`Ring`, created
            on demand with the depth the conditions need; the strategy pushes them.
    """

    def __init__(self, price: Any, indicators: dict[str, Any], params: dict[str, float],
                 state: Any = None):
        self.price = price
        self.state = state if state is not None else TradeState()
        self.indicators = indicators
        self.params = params
        self.price_rings: dict[str, Ring] = {}
        self.indicator_rings: dict[tuple[str, str], Ring] = {}
        self.crosses: dict[tuple[E.Operand, E.Operand], CrossSlot] = {}

    def price_ring(self, field: str, depth: int) -> Ring:
        r = self.price_rings.get(field)
        if r is None:
            r = self.price_rings[field] = Ring(depth)
        elif r.size < depth + 1:
            r.grow(depth)  # a shallower use was compiled first: one ring, pushed once per bar
        return r

    def indicator_ring(self, name: str, output: str, depth: int) -> Ring:
        key = (name, output)
        r = self.indicator_rings.get(key)
        if r is None:
            r = self.indicator_rings[key] = Ring(depth)
        elif r.size < depth + 1:
            r.grow(depth)
        return r


def _const(v: float) -> Getter:
    return lambda: v


def _attr(obj: Any, name: str) -> Getter:
    # functools.partial of the getattr builtin: a C-level call, no Python frame per read
    return partial(getattr, obj, name)


def _ring_get(ring: Ring, k: int) -> Getter:
    return lambda: ring.get(k)


def operand(node: E.Operand, env: Env) -> Getter:
    """A zero-argument callable returning the operand's current value (float, NaN if n/a)."""
    c = constant_value(node, env.params)
    if c is not None:
        return _const(c)
    if isinstance(node, E.PriceRef):
        if node.offset:
            return _ring_get(env.price_ring(node.field, node.offset), node.offset)
        return _attr(env.price, node.field)
    if isinstance(node, E.IndicatorRef):
        ind = env.indicators[node.name]
        out = node.output or ind.outputs[0]
        if node.offset:
            return _ring_get(env.indicator_ring(node.name, out, node.offset), node.offset)
        return _attr(ind, out)
    if isinstance(node, E.StateRef):
        return _attr(env.state, f"{node.scope}_{node.field}")
    if isinstance(node, E.Neg):
        g = operand(node.operand, env)
        return lambda: -g()
    if isinstance(node, E.BinOp):
        a, b = operand(node.left, env), operand(node.right, env)
        f = _BIN[node.op]
        if isinstance(node.right, (E.Number, E.ParamRef)) and node.op != "/":
            k = constant_value(node.right, env.params)
            return lambda: f(a(), k)
        return lambda: f(a(), b())
    if isinstance(node, E.Call):
        fn = FUNCS[node.func]
        args = [operand(a, env) for a in node.args]
        if len(args) == 1:
            g = args[0]
            return lambda: fn(g())
        if len(args) == 2:
            g, h = args
            return lambda: fn(g(), h())
        return lambda: fn(*[g() for g in args])
    raise TypeError(f"not an operand: {node!r}")


def _cmp(op: str, a: Getter, b: Getter) -> Pred:
    if op == ">":
        return lambda: a() > b()
    if op == "<":
        return lambda: a() < b()
    if op == ">=":
        return lambda: a() >= b()
    if op == "<=":
        return lambda: a() <= b()
    raise ValueError(op)


def condition(node: E.Condition, env: Env) -> Pred:
    """A zero-argument callable returning the condition's truth on the current bar."""
    if isinstance(node, E.Compare):
        return _cmp(node.op, operand(node.left, env), operand(node.right, env))
    if isinstance(node, E.Cross):
        key = (node.left, node.right)
        slot = env.crosses.get(key)
        if slot is None:
            slot = env.crosses[key] = CrossSlot(operand(node.left, env),
                                                operand(node.right, env))
        s = slot
        if node.direction == "above":
            return lambda: s.pl <= s.pr and s.l > s.r
        return lambda: s.pl >= s.pr and s.l < s.r
    if isinstance(node, E.Between):
        x, lo, hi = (operand(node.subject, env), operand(node.low, env),
                     operand(node.high, env))
        return lambda: lo() <= x() <= hi()
    if isinstance(node, E.Not):
        p = condition(node.item, env)
        return lambda: not p()
    if isinstance(node, E.All):
        items = [condition(i, env) for i in node.items]
        if len(items) == 1:
            return items[0]
        if len(items) == 2:
            p, q = items
            return lambda: p() and q()
        return lambda: all(p() for p in items)
    if isinstance(node, E.AnyOf):
        items = [condition(i, env) for i in node.items]
        if len(items) == 1:
            return items[0]
        return lambda: any(p() for p in items)
    raise TypeError(f"not a condition: {node!r}")


def lookbacks(nodes: list[Any]) -> tuple[dict[str, int], int]:
    """``(indicator name → largest [n] used, largest price [n] used)`` over condition ASTs."""
    ind: dict[str, int] = {}
    price = 0
    for node in nodes:
        if node is None:
            continue
        for n in E.walk(node):
            if isinstance(n, E.IndicatorRef):
                ind[n.name] = max(ind.get(n.name, 0), n.offset)
            elif isinstance(n, E.PriceRef):
                price = max(price, n.offset)
    return ind, price
