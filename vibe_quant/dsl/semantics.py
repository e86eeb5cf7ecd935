"""The language's arithmetic: binary operators, the callable functions, constant folding.

Pure Python on floats; NaN propagates (``x / 0`` is NaN, ``log`` of x ≤ 0 is NaN, ``min``/``max``
of anything NaN is NaN). Shared by validation (constant operands) and the compiled runtime.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

from vibe_quant.dsl import expr as E

NAN = float("nan")


def _div(a: float, b: float) -> float:
    return a / b if b != 0 else NAN


_BIN = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": _div}


def _log(x: float) -> float:
    return math.log(x) if x > 0 else NAN  # NaN for x <= 0 and for NaN


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0 else NAN  # NaN for x < 0 and for NaN


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _min(*xs: float) -> float:
    for x in xs:
        if x != x:
            return NAN
    return min(xs)


def _max(*xs: float) -> float:
    for x in xs:
        if x != x:
            return NAN
    return max(xs)


def _clip(x: float, lo: float, hi: float) -> float:
    if x != x or lo != lo or hi != hi:
        return NAN
    return min(max(x, lo), hi)  # numpy.clip: hi wins when lo > hi


#: DSL function name -> implementation (the only functions a condition can call)
FUNCS: dict[str, Callable[..., float]] = {
    "abs": abs, "min": _min, "max": _max, "exp": _exp, "log": _log, "sqrt": _sqrt,
    "clip": _clip,
}


def constant_value(node: E.Operand, params: dict[str, float]) -> float | None:
    """Value of an operand without series (numbers/params/arithmetic), else ``None``."""
    if E.has_series(node):
        return None
    if isinstance(node, E.Number):
        return float(node.value)
    if isinstance(node, E.ParamRef):
        return float(params[node.name])
    if isinstance(node, E.Neg):
        return -constant_value(node.operand, params)  # type: ignore[operator]
    if isinstance(node, E.BinOp):
        a = constant_value(node.left, params)
        b = constant_value(node.right, params)
        return _BIN[node.op](a, b)
    if isinstance(node, E.Call):
        return float(FUNCS[node.func](*(constant_value(a, params) for a in node.args)))
    raise TypeError(f"not an operand: {node!r}")
