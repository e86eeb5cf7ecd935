"""Sweep keys, grid expansion and parameter substitution.

A sweep key names one sweepable value:

* ``<indicator>.<param>``  e.g. ``ema_fast.period`` (any registry parameter of that indicator);
* ``$<parameter>``         e.g. ``$oversold`` (also declared inline as ``parameters.x.sweep``);
* ``stop_loss.<field>``, ``take_profit.<field>``, ``sizing.<field>`` for the numeric fields of the
  configured type/method (e.g. ``stop_loss.multiple``, ``take_profit.ratio``, ``sizing.risk_pct``,
  ``sizing.leverage``).

A key must reach a *live* value: the indicator/parameter must be used by a condition, stop,
take profit or sizing rule, the field must exist on the configured stop/target/sizing type, and a
value bound to ``$p`` is swept through ``$p``, not directly.
"""

from __future__ import annotations

import difflib
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from vibe_quant.core.errors import StrategyDefinitionError
from vibe_quant.dsl.models import (
    MAX_BARS_SPEC,
    ROI_SPEC,
    SIZING_COMMON,
    SLOTS,
    Parameter,
    StrategySpec,
    SweepRange,
    param_ref,
)
from vibe_quant.dsl.registry import ParamSpec, lookup, suggest

MAX_VALUES_PER_KEY = 10_000
MAX_GRID = 1_000_000

Value = int | float


@dataclass
class Parts:
    """What sweep resolution needs; built from a :class:`StrategySpec` or from the validator's
    partially-valid sections (missing sections are ``None``/empty)."""

    parameters: Mapping[str, Parameter]
    indicators: Mapping[str, Any]  # name -> Indicator (or None when structurally invalid)
    stop_loss: Any = None
    take_profit: Any = None
    sizing: Any = None
    used_indicators: set[str] = field(default_factory=set)
    used_params: set[str] = field(default_factory=set)
    trailing_stop: Any = None
    roi: Any = None  # {minutes text: percent or "$p"}
    max_bars: Any = None
    entry_order: Any = None
    exit_order: Any = None
    pyramiding: Any = None

    @classmethod
    def from_spec(cls, spec: StrategySpec) -> Parts:
        used_ind, used_par = live_names(spec)
        return cls(spec.parameters, spec.indicators, spec.stop_loss, spec.take_profit,
                   spec.sizing, used_ind, used_par, spec.trailing_stop, spec.roi,
                   spec.max_bars, spec.entry_order, spec.exit_order, spec.pyramiding)


@dataclass(frozen=True)
class Target:
    """Where a sweep key points.

    ``kind``: ``"indicator"``, ``"parameter"``, ``"stop_loss"``, ``"take_profit"`` or ``"sizing"``;
    ``owner``: indicator or parameter name (``None`` for sections); ``field``: parameter/field name;
    ``specs``: the value constraints every swept value must satisfy (several for a ``$p`` used in
    several places; empty for an unused or unconstrained parameter).
    """

    kind: str
    owner: str | None
    field: str
    specs: tuple[ParamSpec, ...]


class SweepKeyError(StrategyDefinitionError, ValueError):
    """A sweep key reaches nothing; ``message`` says why and ``expected`` what would."""

    def __init__(self, message: str, expected: str | None = None):
        super().__init__(message)
        self.expected = expected


class SweepRangeError(StrategyDefinitionError, ValueError):
    """A sweep range expands to more than :data:`MAX_VALUES_PER_KEY` values."""


#: sections with numeric fields addressed as ``<section>.<field>``
SECTIONS = ("stop_loss", "take_profit", "sizing", "trailing_stop", "entry_order",
            "exit_order", "pyramiding")


def _section_fields(section: str, obj: Any) -> dict[str, ParamSpec]:
    if section == "trailing_stop":
        return dict(SLOTS[("trailing_stop", "pct")])
    if section == "pyramiding":
        return dict(SLOTS[("pyramiding", "rule")])
    kind = getattr(obj, "type", None) or getattr(obj, "method", None)
    out = dict(SLOTS.get((section, kind), {}))
    if section == "sizing":
        out.update(SIZING_COMMON)
    return out


def resolve_key(parts: Parts, key: str,
                param_specs: Mapping[str, list[ParamSpec]] | None = None, *,
                label: str | None = None, verb: str = "sweep") -> Target:
    """Resolve a sweep key; raises :class:`SweepKeyError` when it reaches no live value.

    ``param_specs`` maps a parameter name to the constraints of the places it is used (the
    validator collects them); without it, ``$p`` targets carry no constraints.  ``label``
    names the key in messages (default ``"sweep key 'k'"``; :func:`apply_params` passes
    ``"override 'k=v'"``) and ``verb`` is what the user does with it (``sweep``/``override``).
    """
    key = key.strip()
    lab = label or f"sweep key '{key}'"
    if key.startswith("$"):
        name = key[1:]
        if name not in parts.parameters:
            raise SweepKeyError(
                f"{lab} reaches nothing: no parameter '{name}'"
                f"{suggest(name, list(parts.parameters))}",
                "a parameter declared under parameters")
        if name not in parts.used_params:
            raise SweepKeyError(
                f"{lab} reaches nothing: parameter '{name}' is not used by any "
                "condition, indicator, stop, take profit or sizing value",
                "a parameter that is referenced somewhere as $" + name)
        specs = tuple((param_specs or {}).get(name, ()))
        return Target("parameter", name, "default", specs)
    if key == "max_bars":
        if parts.max_bars is None:
            raise SweepKeyError(f"{lab} reaches nothing: there is no max_bars", "max_bars: N")
        if param_ref(parts.max_bars) is not None:
            raise SweepKeyError(f"{lab} reaches nothing directly: max_bars is set to "
                                f"{parts.max_bars}", f"{verb} '{parts.max_bars}' instead")
        return Target("max_bars", None, "max_bars", (MAX_BARS_SPEC,))
    if key.startswith("roi."):
        minute = key[4:]
        table = parts.roi or {}
        if minute not in table:
            raise SweepKeyError(
                f"{lab} reaches nothing: the roi table has no entry '{minute}'"
                f"{suggest(minute, list(table))}",
                ", ".join(f"roi.{k}" for k in table) or "a roi table")
        if param_ref(table[minute]) is not None:
            raise SweepKeyError(f"{lab} reaches nothing directly: {key} is set to "
                                f"{table[minute]}", f"{verb} '{table[minute]}' instead")
        return Target("roi", None, minute, (ROI_SPEC,))
    if "." not in key:
        close = difflib.get_close_matches(key, list(parts.parameters), 1, 0.6)
        hint = f" (did you mean '${close[0]}'?)" if close else ""
        raise SweepKeyError(
            f"{lab} reaches nothing: no parameter or indicator field '{key}'{hint}",
            "indicator.param, $parameter, stop_loss.<field>, take_profit.<field>, "
            "sizing.<field>, trailing_stop.<field>, roi.<minutes>, max_bars, "
            "entry_order.<field>, exit_order.<field> or pyramiding.<field>")
    owner, fld = key.split(".", 1)
    if owner in SECTIONS:
        obj = getattr(parts, owner)
        if obj is None:
            raise SweepKeyError(f"{lab} reaches nothing: there is no {owner}",
                                f"a {owner} section")
        fields = _section_fields(owner, obj)
        kind = getattr(obj, "type", None) or getattr(obj, "method", None) or "pct"
        if fld not in fields:
            choices = ", ".join(f"{owner}.{f}" for f in fields)
            raise SweepKeyError(
                f"{lab} reaches nothing: {owner} '{kind}' has no numeric field "
                f"'{fld}'{suggest(fld, list(fields))}", choices or None)
        current = getattr(obj, fld, None)
        if param_ref(current) is not None:
            raise SweepKeyError(f"{lab} reaches nothing directly: {key} is set to "
                                f"{current}", f"{verb} '{current}' instead")
        return Target(owner, None, fld, (fields[fld],))
    if owner not in parts.indicators:
        raise SweepKeyError(
            f"{lab} reaches nothing: no indicator '{owner}'"
            f"{suggest(owner, list(parts.indicators))}",
            "indicator.param for an indicator declared under indicators")
    ind = parts.indicators[owner]
    if ind is None:
        raise SweepKeyError(f"{lab}: indicator '{owner}' is invalid")
    defn = lookup(ind.type)
    if defn is None:
        raise SweepKeyError(f"{lab}: indicator '{owner}' has an unknown type")
    spec = defn.param(fld)
    if spec is None:
        names = [p.name for p in defn.params]
        raise SweepKeyError(
            f"{lab} reaches nothing: {defn.type} has no parameter '{fld}'"
            f"{suggest(fld, names)}",
            ", ".join(f"{owner}.{n}" for n in names) or f"({defn.type} has no parameters)")
    if owner not in parts.used_indicators:
        raise SweepKeyError(
            f"{lab} reaches nothing: indicator '{owner}' is not used by any "
            "condition, stop, take profit or sizing rule",
            "a parameter of an indicator that is used")
    current = ind.params.get(fld)
    if param_ref(current) is not None:
        raise SweepKeyError(f"{lab} reaches nothing directly: {key} is set to "
                            f"{current}", f"{verb} '{current}' instead")
    return Target("indicator", owner, fld, (spec,))


def param_uses(spec: StrategySpec) -> dict[str, list[tuple[str, ParamSpec]]]:
    """``$name`` -> ``[(field path, constraint), ...]`` for every constrained place that
    reads the parameter (indicator params, stop/take-profit/sizing fields)."""
    out: dict[str, list[tuple[str, ParamSpec]]] = {}
    for iname, ind in spec.indicators.items():
        defn = lookup(ind.type)
        for k, v in ind.params.items():
            ref = param_ref(v)
            p = defn.param(k) if defn else None
            if ref and p is not None:
                out.setdefault(ref, []).append((f"indicators.{iname}.params.{k}", p))
    for section in SECTIONS:
        obj = getattr(spec, section)
        if obj is None:
            continue
        for fld, p in _section_fields(section, obj).items():
            ref = param_ref(getattr(obj, fld, None))
            if ref:
                out.setdefault(ref, []).append((f"{section}.{fld}", p))
    for k, v in (spec.roi or {}).items():
        ref = param_ref(v)
        if ref:
            out.setdefault(ref, []).append((f"roi.{k}", ROI_SPEC))
    ref = param_ref(spec.max_bars)
    if ref:
        out.setdefault(ref, []).append(("max_bars", MAX_BARS_SPEC))
    return out


def _decimals(x: Value) -> int:
    d = Decimal(repr(x)).normalize().as_tuple().exponent
    return max(0, -int(d)) if isinstance(d, int) else 0


def expand(values: list[Value] | SweepRange) -> list[Value]:
    """Concrete values of a sweep entry.

    A list is returned as is (duplicates removed, order kept).  A range gives
    ``min, min + step, ...`` up to ``max`` inclusive (with a 1e-9 tolerance); integers stay
    integers and floats are rounded to the number of decimals of ``min``/``step``.
    Raises :class:`SweepRangeError` (a ``ValueError``) when a range would give more than
    :data:`MAX_VALUES_PER_KEY` values.
    """
    if isinstance(values, list):
        out: list[Value] = []
        for v in values:
            if v not in out:
                out.append(v)
        return out
    lo, hi, step = values.min, values.max, values.step
    count = math.floor((hi - lo) / step + 1e-9) + 1
    if count > MAX_VALUES_PER_KEY:
        raise SweepRangeError(f"range gives {count} values; the limit is {MAX_VALUES_PER_KEY}")
    if all(isinstance(v, int) for v in (lo, hi, step)):
        return [lo + i * step for i in range(count)]
    places = max(_decimals(lo), _decimals(step))
    return [round(lo + i * step, places) for i in range(count)]


def sweep_entries(spec: StrategySpec) -> dict[str, list[Value]]:
    """Sweep key -> concrete values, in file order: ``parameters.<p>.sweep`` first (as ``$p``),
    then the ``sweep`` section."""
    out: dict[str, list[Value]] = {}
    for name, p in spec.parameters.items():
        if p.sweep is not None:
            out[f"${name}"] = expand(p.sweep)
    for key, values in spec.sweep.items():
        out[key.strip()] = expand(values)
    return out


def grid_size(entries: Mapping[str, list[Value]]) -> int:
    """Number of combinations of a sweep (1 for no sweep)."""
    n = 1
    for v in entries.values():
        n *= len(v)
    return n


def sweep_grid(spec: StrategySpec) -> list[dict[str, Value]]:
    """Full Cartesian grid of a validated spec.

    Returns:
        One dict per combination, ``{sweep key: value}``; the last key varies fastest.
        ``[{}]`` when the strategy sweeps nothing.  Feed each dict to :func:`apply_params`.
    """
    entries = sweep_entries(spec)
    keys = list(entries)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(entries[k] for k in keys))]


def current_values(spec: StrategySpec) -> dict[str, Value]:
    """Every sweepable value of the spec under its sweep key, with defaults filled in.

    Includes all parameters of every indicator (registry defaults when not written; values bound
    to ``$p`` resolved), every ``$parameter`` default, and the numeric stop/take-profit/sizing
    fields.  This is the flat dict a compiled ``StrategyConfig`` can carry.
    """
    out: dict[str, Value] = {}
    for name in spec.indicators:
        for k, v in spec.indicator_params(name).items():
            out[f"{name}.{k}"] = v
    for name, p in spec.parameters.items():
        out[f"${name}"] = p.default
    for section in SECTIONS:
        obj = getattr(spec, section)
        if obj is None:
            continue
        for fld in _section_fields(section, obj):
            v = getattr(obj, fld, None)
            if v is not None:
                out[f"{section}.{fld}"] = spec.param_value(v)
    for k, v in (spec.roi or {}).items():
        out[f"roi.{k}"] = spec.param_value(v)
    if spec.max_bars is not None:
        out["max_bars"] = spec.param_value(spec.max_bars)
    return out


def live_names(spec: StrategySpec) -> tuple[set[str], set[str]]:
    """``(used indicator names, used parameter names)`` of a validated spec.

    An indicator is used when a condition references it or a stop/take-profit/sizing rule names
    it; a parameter is used when a condition, a used indicator's params, or a stop/take-profit/
    sizing field references it.
    """
    from vibe_quant.dsl.expr import indicator_refs, param_refs

    inds: set[str] = set()
    pars: set[str] = set()
    for sides in spec._rules.values():
        for node in sides.values():
            if node is not None:
                # (``@1h`` = the traded symbol's 1h bars, an informative name = its bars:
                # series, not declared indicators)
                inds.update(r.name for r in indicator_refs(node) if r.name in spec.indicators)
                pars.update(r.name for r in param_refs(node))
    for v in [*(spec.roi or {}).values(), spec.max_bars]:
        name = param_ref(v)
        if name:
            pars.add(name)
    for section in SECTIONS:
        obj = getattr(spec, section)
        if obj is None:
            continue
        if getattr(obj, "indicator", None) and (
            getattr(obj, "type", "").startswith("atr") or getattr(obj, "method", "") == "atr"
            or (getattr(obj, "type", "") == "limit" and obj.offset_atr != 0)
        ):
            inds.add(obj.indicator)
        for fld in _section_fields(section, obj):
            name = param_ref(getattr(obj, fld, None))
            if name:
                pars.add(name)
    for name in inds:
        ind = spec.indicators.get(name)
        if ind is not None:
            pars.update(n for n in (param_ref(v) for v in ind.params.values()) if n)
    return inds, pars
