"""Typed AST of entry/exit conditions, consumed by the compiler.

Operands (numeric series or constants)::

    Number(value)                      literal, e.g. 30 or 0.5
    ParamRef(name)                     $name, value from ``parameters`` (sweepable)
    PriceRef(field, offset)            open high low close volume hl2 hlc3 ohlc4 [offset bars ago]
    IndicatorRef(name, output, offset) rsi, macd.signal, dc.upper[1]
    Neg(operand)                       -x
    BinOp(op, left, right)             + - * /  (division by zero makes the condition false)
    Call(func, args)                   abs(x) min(a, b, ...) max(a, b, ...) exp(x) log(x) sqrt(x)
                                       clip(x, lo, hi)  (see :data:`FUNCTIONS`)

Conditions (booleans)::

    Compare(op, left, right)           op in > < >= <=
    Cross(direction, left, right)      direction "above": prev(left) <= prev(right) and left > right
                                       direction "below": prev(left) >= prev(right) and left < right
    Between(subject, low, high)        low <= subject <= high (inclusive)
    Not(item) / All(items) / AnyOf(items)

``offset`` counts bars of the referenced series' own timeframe (0 = latest closed bar).
``IndicatorRef.output`` is ``None`` straight out of the parser; validation fills in the
indicator's default output, so a validated spec always has a concrete output name.
``span`` is the ``(start, end)`` character range in the condition text (for error messages).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Literal

Span = tuple[int, int]


@dataclass(frozen=True)
class Number:
    value: float | int
    span: Span = field(default=(0, 0), compare=False)


@dataclass(frozen=True)
class ParamRef:
    name: str
    span: Span = field(default=(0, 0), compare=False)


@dataclass(frozen=True)
class PriceRef:
    field: str
    offset: int = 0
    span: Span = field(default=(0, 0), compare=False)


@dataclass(frozen=True)
class IndicatorRef:
    name: str
    output: str | None = None
    offset: int = 0
    span: Span = field(default=(0, 0), compare=False)

    @property
    def key(self) -> str:
        """``"name.output"`` (or ``"name"`` before validation fills the output)."""
        return f"{self.name}.{self.output}" if self.output else self.name


@dataclass(frozen=True)
class Neg:
    operand: Operand
    span: Span = field(default=(0, 0), compare=False)


@dataclass(frozen=True)
class BinOp:
    op: Literal["+", "-", "*", "/"]
    left: Operand
    right: Operand
    span: Span = field(default=(0, 0), compare=False)


@dataclass(frozen=True)
class Call:
    """A built-in function applied to operands (never a Python call: the evaluator maps
    ``func`` to its own implementation, see :data:`FUNCTIONS`)."""

    func: str
    args: tuple[Operand, ...]
    span: Span = field(default=(0, 0), compare=False)


@dataclass(frozen=True)
class StateRef:
    """Trade state: ``trade.<field>`` (the open trade) or ``last_trade.<field>`` (the last
    closed one); NaN when there is none. Fields and units: :data:`STATE_FIELDS`."""

    scope: Literal["trade", "last_trade"]
    field: str
    span: Span = field(default=(0, 0), compare=False)

    @property
    def key(self) -> str:
        return f"{self.scope}.{self.field}"


#: scope -> field -> meaning (docs/dsl.md §7 "Trade state"). pct = percent of the entry value,
#: net of the taker fee on entry and exit (freqtrade's profit ratio x 100), at the decision
#: bar's close; bars/minutes are counted from the entry fill (a bar close) to the decision
#: bar's close.
STATE_FIELDS: dict[str, dict[str, str]] = {
    "trade": {
        "pnl_pct": "profit of the open trade at this close, % of entry value, net of fees",
        "max_pnl_pct": "largest trade.pnl_pct seen at a close since entry",
        "bars_held": "base bars closed since the entry fill",
        "minutes_held": "minutes from the entry fill to this bar's close",
    },
    "last_trade": {
        "pnl_pct": "profit of the last closed trade at its exit fill, % of entry value, "
                   "net of fees",
        "won": "1 if the last closed trade's pnl_pct > 0, else 0",
        "bars_since_exit": "base bars closed since the last trade's exit fill",
    },
}


Operand = Number | ParamRef | PriceRef | IndicatorRef | StateRef | Neg | BinOp | Call

#: function name -> (minimum arguments, maximum arguments or None = any, signature, meaning).
#: Domain rule (docs/dsl.md §7): an undefined result is NaN (``log(x)`` for x <= 0,
#: ``sqrt(x)`` for x < 0), NaN propagates through arithmetic and every function, and a
#: comparison with NaN is false -- the same rule as division by zero.
FUNCTIONS: dict[str, tuple[int, int | None, str, str]] = {
    "abs": (1, 1, "abs(x)", "absolute value"),
    "min": (2, None, "min(a, b, ...)", "smallest argument (NaN if any argument is NaN)"),
    "max": (2, None, "max(a, b, ...)", "largest argument (NaN if any argument is NaN)"),
    "exp": (1, 1, "exp(x)", "e to the power x (+inf on overflow)"),
    "log": (1, 1, "log(x)", "natural logarithm; NaN for x <= 0"),
    "sqrt": (1, 1, "sqrt(x)", "square root; NaN for x < 0"),
    "clip": (3, 3, "clip(x, lo, hi)", "min(max(x, lo), hi), as numpy.clip"),
}


@dataclass(frozen=True)
class Compare:
    op: Literal[">", "<", ">=", "<="]
    left: Operand
    right: Operand
    span: Span = field(default=(0, 0), compare=False)


@dataclass(frozen=True)
class Cross:
    direction: Literal["above", "below"]
    left: Operand
    right: Operand
    span: Span = field(default=(0, 0), compare=False)


@dataclass(frozen=True)
class Between:
    subject: Operand
    low: Operand
    high: Operand
    span: Span = field(default=(0, 0), compare=False)


@dataclass(frozen=True)
class Not:
    item: Condition
    span: Span = field(default=(0, 0), compare=False)


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]
    span: Span = field(default=(0, 0), compare=False)


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]
    span: Span = field(default=(0, 0), compare=False)


Condition = Compare | Cross | Between | Not | All | AnyOf

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2}


def to_text(node: Operand | Condition) -> str:
    """Canonical text with full parentheses around every binary/boolean node (for tests/logs)."""
    if isinstance(node, Number):
        v = node.value
        return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
    if isinstance(node, ParamRef):
        return f"${node.name}"
    if isinstance(node, PriceRef):
        return node.field + (f"[{node.offset}]" if node.offset else "")
    if isinstance(node, IndicatorRef):
        return node.key + (f"[{node.offset}]" if node.offset else "")
    if isinstance(node, StateRef):
        return node.key
    if isinstance(node, Neg):
        return f"(-{to_text(node.operand)})"
    if isinstance(node, BinOp):
        return f"({to_text(node.left)} {node.op} {to_text(node.right)})"
    if isinstance(node, Call):
        return f"{node.func}(" + ", ".join(to_text(a) for a in node.args) + ")"
    if isinstance(node, Compare):
        return f"({to_text(node.left)} {node.op} {to_text(node.right)})"
    if isinstance(node, Cross):
        return f"({to_text(node.left)} crosses_{node.direction} {to_text(node.right)})"
    if isinstance(node, Between):
        return f"({to_text(node.subject)} between {to_text(node.low)} {to_text(node.high)})"
    if isinstance(node, Not):
        return f"(not {to_text(node.item)})"
    if isinstance(node, All):
        return "(" + " and ".join(to_text(i) for i in node.items) + ")"
    if isinstance(node, AnyOf):
        return "(" + " or ".join(to_text(i) for i in node.items) + ")"
    raise TypeError(f"not an AST node: {node!r}")


def walk(node: object) -> Iterator[object]:
    """Every AST node below and including ``node`` (pre-order)."""
    yield node
    if isinstance(node, (All, AnyOf)):
        for item in node.items:
            yield from walk(item)
        return
    if isinstance(node, Call):
        for arg in node.args:
            yield from walk(arg)
        return
    if is_dataclass(node):
        for f in fields(node):
            child = getattr(node, f.name)
            if is_dataclass(child) and not isinstance(child, type):
                yield from walk(child)


def indicator_refs(node: object) -> list[IndicatorRef]:
    """All indicator references in ``node``."""
    return [n for n in walk(node) if isinstance(n, IndicatorRef)]


def param_refs(node: object) -> list[ParamRef]:
    """All ``$parameter`` references in ``node``."""
    return [n for n in walk(node) if isinstance(n, ParamRef)]


def has_series(node: Operand) -> bool:
    """True when the operand depends on bar data (not only numbers/parameters)."""
    return any(isinstance(n, (PriceRef, IndicatorRef, StateRef)) for n in walk(node))


def map_refs(node, fn):  # type: ignore[no-untyped-def]
    """Copy of ``node`` with every :class:`IndicatorRef` replaced by ``fn(ref)``."""
    if isinstance(node, IndicatorRef):
        return fn(node)
    if isinstance(node, (All, AnyOf)):
        return replace(node, items=tuple(map_refs(i, fn) for i in node.items))
    if isinstance(node, Call):
        return replace(node, args=tuple(map_refs(a, fn) for a in node.args))
    if is_dataclass(node):
        changes = {}
        for f in fields(node):
            child = getattr(node, f.name)
            if is_dataclass(child) and not isinstance(child, type):
                changes[f.name] = map_refs(child, fn)
        return replace(node, **changes) if changes else node
    return node
