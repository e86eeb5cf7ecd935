"""Structural + semantic validation of loaded strategy data, reporting every problem at once.

:func:`check` takes the :class:`~vibe_quant.dsl.loader.LoadedYaml` of a file and returns
``(diagnostics, spec)``; ``spec`` is a :class:`~vibe_quant.dsl.models.StrategySpec` with parsed,
name-resolved condition ASTs attached when there is no error, else ``None``.

Stages (all run; later stages use whatever parts of the file are structurally valid, so one bad
section does not hide problems elsewhere):

1. pydantic model (types, required/unknown fields, enums, numeric ranges of fixed fields);
2. names (identifier rules, clashes with price fields/keywords);
3. indicators (known type, parameter names/types/ranges, ``source`` applicability, timeframe
   not lower than the strategy's);
4. conditions (grammar, undefined names, unknown outputs, multi-output needing ``.output``);
5. stops / take profit / sizing (ATR indicator present and of type ``atr``, ``risk_reward`` and
   risk-based sizing need a stop, cap <= leverage, floor <= cap);
6. parameters used in constrained places (default and sweep values must fit every use);
7. sweep (every key reaches a live value, values in range, grid size limit);
8. warnings (unused indicators/parameters, sides without exits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from vibe_quant.core.intervals import INDICATOR_TIMEFRAMES, MINUTES
from vibe_quant.dsl import expr as E
from vibe_quant.dsl.errors import Diagnostic, PathT, format_path
from vibe_quant.dsl.grammar import KEYWORDS, ConditionSyntaxError, parse_condition
from vibe_quant.dsl.loader import LoadedYaml
from vibe_quant.dsl.models import (
    MAX_BARS_SPEC,
    NAME_RE,
    ROI_SPEC,
    SIZING_COMMON,
    SLOTS,
    WEEKDAYS,
    AtrFixedStop,
    AtrFixedTarget,
    AtrSizing,
    AtrTrailingStop,
    EquityPctSizing,
    FixedFractionalSizing,
    FixedNotionalSizing,
    FixedPctStop,
    FixedPctTarget,
    Indicator,
    Informative,
    KellySizing,
    LimitOrder,
    MarketOrder,
    OrderSpec,
    Parameter,
    Pyramiding,
    RiskRewardTarget,
    RoiTable,
    Session,
    Sides,
    Sizing,
    StopLoss,
    StrategySpec,
    SweepRange,
    SweepValues,
    TakeProfit,
    TimeFilters,
    TrailingStop,
    finite,
    param_ref,
    quoted_number,
)
from vibe_quant.dsl.registry import (
    INDICATORS,
    PRICE_FIELDS,
    ParamSpec,
    _show,
    check_params,
    lookup,
    suggest,
    suggest_type,
)
from vibe_quant.dsl.sweep import (
    MAX_GRID,
    Parts,
    SweepKeyError,
    expand,
    resolve_key,
)

_OPERAND_EXPECTED = ("an indicator declared under indicators, a price field "
                     "(open high low close volume hl2 hlc3 ohlc4), a number or a $parameter")
_ITEM_EXPECTED = "a condition string, a list (AND), {any: [...]} (OR) or {all: [...]}"

_TA: dict[Any, TypeAdapter] = {}
_NAME_IN_TEXT = re.compile(r"(\$?)\b([A-Za-z_][A-Za-z0-9_]*)\b")


def _adapter(tp: Any) -> TypeAdapter:
    if tp not in _TA:
        _TA[tp] = TypeAdapter(tp)
    return _TA[tp]


def _try(tp: Any, value: Any) -> Any:
    try:
        return _adapter(tp).validate_python(value)
    except ValidationError:
        return None


_SECTION_TAGS = {
    "stop_loss": ("type", {"fixed_pct": FixedPctStop, "atr_fixed": AtrFixedStop,
                           "atr_trailing": AtrTrailingStop}),
    "take_profit": ("type", {"fixed_pct": FixedPctTarget, "atr_fixed": AtrFixedTarget,
                             "risk_reward": RiskRewardTarget}),
    "sizing": ("method", {"fixed_fractional": FixedFractionalSizing, "kelly": KellySizing,
                          "atr": AtrSizing, "fixed_notional": FixedNotionalSizing,
                          "equity_pct": EquityPctSizing}),
    "entry_order": ("type", {"market": MarketOrder, "limit": LimitOrder}),
    "exit_order": ("type", {"market": MarketOrder, "limit": LimitOrder}),
}


def _model_at(path: PathT, data: Any) -> Any:
    """Model class describing the mapping at ``path`` (for 'unknown field' suggestions)."""
    n = len(path)
    if n == 0:
        return StrategySpec
    head = path[0]
    if head in ("entry", "exit") and n == 1:
        return Sides
    if head == "time_filters":
        return TimeFilters if n == 1 else Session if n == 3 else None
    if head in _SECTION_TAGS and n == 1:
        tag, classes = _SECTION_TAGS[head]
        obj = data.get(head) if isinstance(data, dict) else None
        return classes.get(obj.get(tag)) if isinstance(obj, dict) else None
    if head == "parameters" and n == 2:
        return Parameter
    if head == "parameters" and n == 3 or head == "sweep" and n == 2:
        return SweepRange
    if head == "indicators" and n == 2:
        return Indicator
    if head == "trailing_stop" and n == 1:
        return TrailingStop
    if head == "pyramiding" and n == 1:
        return Pyramiding
    if head == "informative" and n == 2:
        return Informative
    return None


@dataclass
class _Ctx:
    loaded: LoadedYaml
    diags: list[Diagnostic] = field(default_factory=list)

    @property
    def data(self) -> dict[str, Any]:
        return self.loaded.data or {}

    def add(self, path: PathT, message: str, expected: str | None = None, *,
            code: str = "invalid", severity: str = "error", key: bool = False,
            offset: int | None = None) -> None:
        line, col = self.loaded.position(path, key=key)
        if offset is not None and path in self.loaded.styles and path in self.loaded.positions:
            style = self.loaded.styles[path]
            if style is None:
                col += offset
            elif style in ("'", '"'):
                col += offset + 1
        self.diags.append(Diagnostic(message, format_path(path), line, col, expected,
                                     severity, code, self.loaded.file))  # type: ignore[arg-type]


# -- stage 1: pydantic ---------------------------------------------------------------------

def _data_path(loc: tuple, data: Any, err_type: str) -> PathT:
    out: list[str | int] = []
    cur = data
    for i, seg in enumerate(loc):
        in_dict = isinstance(cur, dict) and isinstance(seg, str) and seg in cur
        in_list = isinstance(cur, list) and isinstance(seg, int) and 0 <= seg < len(cur)
        if in_dict or in_list:
            out.append(seg)
            cur = cur[seg]
        elif (i == len(loc) - 1 and err_type in ("missing", "extra_forbidden")
              and isinstance(seg, str)):
            out.append(seg)
    return tuple(out)


def _pydantic_diag(ctx: _Ctx, err: dict[str, Any]) -> None:
    etype = err["type"]
    path = _data_path(err["loc"], ctx.data, etype)
    val = err.get("input")
    ectx = err.get("ctx") or {}
    last = path[-1] if path else "<root>"
    if isinstance(last, int):  # a list item: name the list
        last = next((p for p in reversed(path) if isinstance(p, str)), "<root>")
    expected = ectx.get("expected")
    if etype == "missing":
        ctx.add(path, f"missing required field '{last}'", None, code="missing")
        return
    if etype == "extra_forbidden":
        model = _model_at(path[:-1], ctx.data)
        allowed = list(model.model_fields) if model else []
        ctx.add(path, f"unknown field '{last}'{suggest(str(last), allowed)}",
                ("one of: " + ", ".join(allowed)) if allowed else None,
                code="unknown-field", key=True)
        return
    if etype == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(expected or ""))
        hint = ""
        if isinstance(val, str) and val not in allowed:
            if val.lower() in allowed:
                hint = (f" (timeframes are lower-case: {val.lower()})" if last == "timeframe"
                        else f" (values are lower-case: {val.lower()})")
            else:
                hint = suggest(val.lower(), allowed)
        ctx.add(path, f"invalid value {_show(val)} for '{last}'{hint}", f"one of {expected}",
                code="bad-value")
        return
    if etype == "union_tag_invalid":
        section = path[0] if path else ""
        ctx.add(path + (ectx.get("discriminator", "type").strip("'"),),
                f"unknown {section} {ectx.get('discriminator', 'type').strip(chr(39))} "
                f"{_show(ectx.get('tag'))}", f"one of {ectx.get('expected_tags')}",
                code="bad-value")
        return
    if etype == "union_tag_not_found":
        section = path[0] if path else ""
        tag, classes = _SECTION_TAGS.get(str(section), ("type", {}))
        ctx.add(path, f"missing required field '{tag}'", "one of " + ", ".join(classes),
                code="missing")
        return
    if etype in ("slot", "param_ref", "param_value", "sweep_values", "sweep_range", "range_order",
                 "session_empty", "version"):
        ctx.add(path, err["msg"] + ("" if etype != "slot" else f" for '{last}'"),
                expected, code="bad-value")
        return
    hint = quoted_number(val)
    if hint and (etype.startswith(("int_", "float_")) or etype in ("finite_number",)):
        ctx.add(path, hint, None, code="bad-type")
        return
    numeric_union = bool(err["loc"]) and err["loc"][-1] in ("int", "float")
    if numeric_union and etype.startswith(("int_", "float_")):
        ctx.add(path, f"expected a number for '{last}', got {_show(val)}", None,
                code="bad-type")
        return
    if etype.startswith("int_"):
        ctx.add(path, f"expected an integer for '{last}', got {_show(val)}", None,
                code="bad-type")
        return
    if etype.startswith("float_") or etype == "finite_number":
        ctx.add(path, f"expected a finite number for '{last}', got {_show(val)}", None,
                code="bad-type")
        return
    if etype in ("string_type",):
        ctx.add(path, f"expected a string for '{last}', got {_show(val)}", None, code="bad-type")
        return
    if etype in ("list_type",):
        ctx.add(path, f"expected a list for '{last}', got {_show(val)}", None, code="bad-type")
        return
    if etype in ("dict_type", "model_type", "model_attributes_type"):
        exp = "a number or {default, sweep, description}" if (
            len(path) == 2 and path[0] == "parameters") else None
        ctx.add(path, f"expected a mapping for '{last}', got {_show(val)}", exp, code="bad-type")
        return
    if etype == "too_short":
        ctx.add(path, f"'{last}' must not be empty", None, code="bad-value")
        return
    if etype == "string_pattern_mismatch":
        exp = {
            "name": "letters, digits, '_', '.', '-' (max 64, starting with a letter or digit)",
            "start": "HH:MM in UTC (00:00..23:59)",
            "end": "HH:MM in UTC (00:00..23:59)",
        }.get(str(last), f"text matching {ectx.get('pattern')}")
        ctx.add(path, f"bad value {_show(val)} for '{last}'", exp, code="bad-value")
        return
    if etype in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        sym = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
               "less_than_equal": "<="}[etype]
        bound = next(iter(v for k, v in ectx.items() if k in ("gt", "ge", "lt", "le")), "")
        ctx.add(path, f"bad value {_show(val)} for '{last}'", f"a value {sym} {bound}",
                code="bad-value")
        return
    ctx.add(path, f"{err['msg']} ('{last}')", None, code=etype)


def _literal(node: E.Operand) -> float | None:
    """Value of an operand made of numbers only (no series, no $parameters), else ``None``."""
    if any(isinstance(x, (E.ParamRef, E.PriceRef, E.IndicatorRef)) for x in E.walk(node)):
        return None
    from vibe_quant.dsl.semantics import constant_value

    return constant_value(node, {})


def _constant_domain_problem(call: E.Call) -> str | None:
    """A message when a call on literal numbers is undefined (``log(0)``, ``sqrt(-1)``) or
    ``clip`` has literal bounds in the wrong order; runtime values out of the domain give NaN
    instead (docs/dsl.md §7)."""
    vals = [_literal(a) for a in call.args]
    if call.func == "log" and vals[0] is not None and not vals[0] > 0:
        return f"log({_show(vals[0])}) is undefined: log needs a positive argument"
    if call.func == "sqrt" and vals[0] is not None and not vals[0] >= 0:
        return f"sqrt({_show(vals[0])}) is undefined: sqrt needs an argument >= 0"
    if call.func == "clip" and vals[1] is not None and vals[2] is not None and vals[1] > vals[2]:
        return (f"clip bounds are in the wrong order: lo ({_show(vals[1])}) > "
                f"hi ({_show(vals[2])})")
    return None


# -- the checker ---------------------------------------------------------------------------

@dataclass
class _Use:
    """A place where ``$param`` is used under a value constraint."""

    param: str
    spec: ParamSpec | None
    path: PathT
    offset: int | None = None


class _Checker:
    def __init__(self, ctx: _Ctx):
        self.ctx = ctx
        d = ctx.data
        self.d = d
        tf = d.get("timeframe")
        self.tf = tf if isinstance(tf, str) and tf in MINUTES else None
        raw_p = d.get("parameters")
        self.raw_params = raw_p if isinstance(raw_p, dict) else {}
        raw_i = d.get("indicators")
        self.raw_inds = raw_i if isinstance(raw_i, dict) else {}
        # names can only be checked against a readable indicators/parameters mapping
        self.names_known = raw_i is None or isinstance(raw_i, dict)
        self.params_known = raw_p is None or isinstance(raw_p, dict)
        self.params: dict[str, Parameter] = {}
        for name, v in self.raw_params.items():
            p = _try(Parameter, v)
            if p is not None:
                self.params[name] = p
        self.inds: dict[str, Indicator | None] = {
            name: _try(Indicator, v) for name, v in self.raw_inds.items()
        }
        self.stop = _try(StopLoss, d.get("stop_loss")) if d.get("stop_loss") is not None else None
        self.target = (_try(TakeProfit, d.get("take_profit"))
                       if d.get("take_profit") is not None else None)
        self.sizing = _try(Sizing, d.get("sizing")) if d.get("sizing") is not None else None
        self.trailing_stop = (_try(TrailingStop, d.get("trailing_stop"))
                              if d.get("trailing_stop") is not None else None)
        self.roi = _try(RoiTable, d.get("roi")) if d.get("roi") is not None else None
        mb = d.get("max_bars")
        self.max_bars = mb if mb is not None and (param_ref(mb) is not None
                                                  or MAX_BARS_SPEC.check(mb) is None) else None
        self.entry_order = (_try(OrderSpec, d.get("entry_order"))
                            if d.get("entry_order") is not None else None)
        self.exit_order = (_try(OrderSpec, d.get("exit_order"))
                           if d.get("exit_order") is not None else None)
        self.pyramiding = (_try(Pyramiding, d.get("pyramiding"))
                           if d.get("pyramiding") is not None else None)
        raw_inf = d.get("informative")
        self.informative: dict[str, Informative | None] = (
            {k: _try(Informative, v) for k, v in raw_inf.items()}
            if isinstance(raw_inf, dict) else {})
        self.used_inds: set[str] = set()
        self.uses: list[_Use] = []  # parameter uses (spec None = unconstrained, e.g. conditions)
        self.rules: dict[str, dict[str, Any]] = {"entry": {}, "exit": {}, "add": {}}

    def add(self, *a: Any, **k: Any) -> None:
        self.ctx.add(*a, **k)

    # -- names ----------------------------------------------------------------------------
    def check_names(self) -> None:
        for name in self.informative:
            path = ("informative", name)
            if not NAME_RE.match(str(name)):
                self.add(path, f"invalid informative name '{name}'",
                         "lower-case letters, digits and '_', not starting with a digit",
                         code="bad-name", key=True)
            elif (name in PRICE_FIELDS or name in KEYWORDS or name in E.STATE_FIELDS
                  or name in self.raw_inds):
                what = ("a price field" if name in PRICE_FIELDS else "a keyword"
                        if name in KEYWORDS else "a trade-state name"
                        if name in E.STATE_FIELDS else "an indicator")
                self.add(path, f"informative name '{name}' clashes with {what}",
                         "another name, e.g. '" + name + "_data'", code="bad-name", key=True)
            inf = self.informative[name]
            if (inf is not None and inf.timeframe is not None and self.tf is not None
                    and MINUTES[inf.timeframe] < MINUTES[self.tf]):
                ok = [t for t in INDICATOR_TIMEFRAMES if MINUTES[t] >= MINUTES[self.tf]]
                self.add(path + ("timeframe",),
                         f"informative timeframe {inf.timeframe} is lower than the strategy's "
                         f"{self.tf}", "one of " + ", ".join(ok), code="bad-timeframe")
        for section, names in (("parameters", self.raw_params), ("indicators", self.raw_inds)):
            for name in names:
                path = (section, name)
                if not NAME_RE.match(name):
                    self.add(path, f"invalid {section[:-1]} name '{name}'",
                             "lower-case letters, digits and '_', not starting with a digit",
                             code="bad-name", key=True)
                elif section == "indicators" and (name in PRICE_FIELDS or name in KEYWORDS
                                                  or name in E.STATE_FIELDS):
                    what = ("a price field" if name in PRICE_FIELDS else
                            "a keyword" if name in KEYWORDS else "a trade-state name")
                    self.add(path, f"indicator name '{name}' clashes with {what}",
                             "another name, e.g. '" + name + "_ind'", code="bad-name", key=True)

    # -- indicators -----------------------------------------------------------------------
    def _resolve_param(self, name: str) -> Any:
        p = self.params.get(name)
        return p.default if p is not None else None

    def check_indicators(self) -> None:
        for name, ind in self.inds.items():
            if ind is None:
                continue
            base = ("indicators", name)
            defn = lookup(ind.type)
            if defn is None:
                self.add(base + ("type",), f"unknown indicator type '{ind.type}'"
                         f"{suggest_type(ind.type)}",
                         "one of: " + ", ".join(INDICATORS), code="unknown-indicator")
                continue
            for pname, raw in ind.params.items():
                ref = param_ref(raw)
                if isinstance(raw, str) and ref is None:
                    hint = quoted_number(raw)
                    msg = (f"{defn.type}.{pname}: {hint}" if hint else
                           f"bad value {_show(raw)} for {defn.type}.{pname}")
                    self.add(base + ("params", pname), msg, "a number or a $parameter",
                             code="bad-param")
                    continue
                if ref is not None:
                    if ref not in self.raw_params:
                        self.add(base + ("params", pname), f"undefined parameter ${ref}"
                                 f"{suggest(ref, list(self.raw_params))}",
                                 "a parameter declared under parameters", code="undefined-name")
                    spec = defn.param(pname)
                    if spec is not None:
                        self.uses.append(_Use(ref, spec, base + ("params", pname)))
            bad_strings = {k for k, v in ind.params.items()
                           if isinstance(v, str) and param_ref(v) is None}
            params = {k: v for k, v in ind.params.items() if k not in bad_strings}
            for prob in check_params(defn, params, resolve=lambda n: None):
                if prob.param is None:
                    self.add(base, prob.message, prob.expected, code=prob.kind)
                elif prob.kind == "unknown-param":
                    self.add(base + ("params", prob.param), prob.message, prob.expected,
                             code=prob.kind, key=True)
                else:
                    self.add(base + ("params", prob.param), prob.message, prob.expected,
                             code=prob.kind)
            if ind.source is not None and not defn.takes_source:
                self.add(base + ("source",), f"'source' does not apply to {defn.type}; it reads "
                         + ", ".join(defn.inputs), "no source field", code="bad-source")
            floor_tf = self.tf
            if ind.informative is not None:
                if ind.informative not in self.informative:
                    hint = suggest(ind.informative, list(self.informative))
                    self.add(base + ("informative",), f"undefined informative series "
                             f"'{ind.informative}'{hint}",
                             "a name declared under informative", code="undefined-name")
                else:
                    inf = self.informative[ind.informative]
                    if inf is not None and inf.timeframe is not None:
                        floor_tf = inf.timeframe
            if (ind.timeframe is not None and floor_tf is not None
                    and MINUTES[ind.timeframe] < MINUTES[floor_tf]):
                ok = [t for t in INDICATOR_TIMEFRAMES if MINUTES[t] >= MINUTES[floor_tf]]
                whose = ("the strategy's" if floor_tf == self.tf
                         else f"its informative series' {ind.informative}")
                self.add(base + ("timeframe",),
                         f"indicator timeframe {ind.timeframe} is lower than {whose} "
                         f"{floor_tf}", "one of " + ", ".join(ok), code="bad-timeframe")

    # -- conditions -----------------------------------------------------------------------
    def check_conditions(self) -> None:
        for kind in ("entry", "exit", "add"):
            sides = self.d.get("pyramiding" if kind == "add" else kind)
            if not isinstance(sides, dict):
                continue
            path_kind = "pyramiding" if kind == "add" else kind
            for side in ("long", "short"):
                items = sides.get(side)
                if isinstance(items, (str, dict)):
                    items = [items]
                if not isinstance(items, list) or not items:
                    continue
                built = [self.build((path_kind, side, i) if isinstance(sides.get(side), list)
                                    else (path_kind, side), it) for i, it in enumerate(items)]
                if all(b is not None for b in built):
                    self.rules[kind][side] = E.All(tuple(built))
                else:
                    self.rules[kind][side] = None
            if (kind == "entry" and not any(sides.get(s) for s in ("long", "short"))
                    and not any(k not in ("long", "short") for k in sides)):
                self.add((kind,), "entry needs at least one of 'long' or 'short'",
                         "entry: {long: [...], short: [...]}", code="missing")

    def _mark_text_uses(self, text: str) -> None:
        """A condition that failed to parse still counts as using the names it mentions, so
        its error is not followed by misleading 'never used' / 'sweep reaches nothing'."""
        for m in _NAME_IN_TEXT.finditer(text):
            name = m.group(2)
            if m.group(1) and name in self.raw_params:
                self.uses.append(_Use(name, None, ("entry",)))
            elif not m.group(1) and name in self.raw_inds:
                self.used_inds.add(name)

    def build(self, path: PathT, item: Any) -> E.Condition | None:
        if isinstance(item, str):
            try:
                node = parse_condition(item)
            except ConditionSyntaxError as exc:
                self._mark_text_uses(item)
                msg = exc.message if exc.code != "syntax" else \
                    f"syntax error in condition: {exc.message}"
                self.add(path, msg, exc.expected, code=exc.code, offset=exc.offset)
                return None
            return self.resolve(path, node)
        if isinstance(item, list):
            if not item:
                self.add(path, "empty condition list", _ITEM_EXPECTED, code="bad-condition")
                return None
            parts = [self.build(path + (i,), x) for i, x in enumerate(item)]
            return E.All(tuple(parts)) if all(p is not None for p in parts) else None  # type: ignore[arg-type]
        if isinstance(item, dict):
            if len(item) != 1 or next(iter(item)) not in ("any", "all"):
                keys = ", ".join(str(k) for k in item)
                self.add(path, f"a condition mapping must have exactly one key 'any' or 'all', "
                         f"found: {keys}", _ITEM_EXPECTED, code="bad-condition")
                return None
            key = next(iter(item))
            sub = item[key]
            if not isinstance(sub, list) or not sub:
                self.add(path + (key,), f"'{key}' needs a non-empty list of conditions",
                         _ITEM_EXPECTED, code="bad-condition")
                return None
            parts = [self.build(path + (key, i), x) for i, x in enumerate(sub)]
            if any(p is None for p in parts):
                return None
            return (E.AnyOf if key == "any" else E.All)(tuple(parts))  # type: ignore[arg-type]
        self.add(path, f"expected a condition, got {_show(item)}", _ITEM_EXPECTED,
                 code="bad-condition")
        return None

    def resolve(self, path: PathT, node: E.Condition) -> E.Condition | None:
        ok = True

        def fix(ref: E.IndicatorRef) -> E.IndicatorRef:
            nonlocal ok
            name, off = ref.name, ref.span[0]
            if name.startswith("@"):  # close@1h: the traded symbol's higher-timeframe bar
                tf = name[1:]
                if tf not in MINUTES:
                    self.add(path, f"unknown timeframe '{tf}' after '@'"
                             + (f" (timeframes are lower-case: {tf.lower()})"
                                if tf.lower() in MINUTES else suggest(tf, list(MINUTES))),
                             "one of " + ", ".join(INDICATOR_TIMEFRAMES), code="bad-timeframe",
                             offset=off)
                    ok = False
                elif self.tf is not None and MINUTES[tf] <= MINUTES[self.tf]:
                    what = "the strategy's own" if tf == self.tf else "lower than the strategy's"
                    self.add(path, f"{ref.output}@{tf}: {tf} is {what} timeframe "
                             f"{self.tf}" + (f"; write {ref.output}" if tf == self.tf else ""),
                             "a timeframe higher than " + self.tf, code="bad-timeframe",
                             offset=off)
                    ok = False
                return ref
            if name in self.informative and name not in self.raw_inds:
                if ref.output not in PRICE_FIELDS:
                    got = (f"unknown field '{ref.output}' of informative series {name}"
                           if ref.output else f"informative series '{name}' needs a field")
                    self.add(path, f"{got}{suggest(ref.output or '', list(PRICE_FIELDS))}",
                             "one of " + ", ".join(f"{name}.{f}" for f in PRICE_FIELDS),
                             code="unknown-output", offset=off)
                    ok = False
                return ref
            if name in E.STATE_FIELDS and name not in self.raw_inds:
                fields_ = E.STATE_FIELDS[name]
                if ref.output not in fields_:
                    got = f"unknown field '{ref.output}' of {name}" if ref.output else \
                        f"'{name}' needs a field"
                    self.add(path, f"{got}{suggest(ref.output or '', list(fields_))}",
                             "one of " + ", ".join(f"{name}.{f}" for f in fields_),
                             code="unknown-output", offset=off)
                    ok = False
                    return ref
                if ref.offset:
                    self.add(path, f"{name}.{ref.output} has no look-back ([n])",
                             f"{name}.{ref.output} without [n]", code="bad-condition",
                             offset=off)
                    ok = False
                    return ref
                return E.StateRef(name, ref.output, ref.span)  # type: ignore[return-value]
            if name in PRICE_FIELDS:  # close.x
                self.add(path, f"price field '{name}' has no outputs ('.{ref.output}')",
                         _OPERAND_EXPECTED, code="unknown-output", offset=off)
                ok = False
                return ref
            if name not in self.raw_inds:
                if not self.names_known:
                    ok = False
                    return ref
                if name in self.raw_params:
                    msg = f"'{name}' is a parameter; write ${name}"
                else:
                    msg = f"undefined name '{name}'{suggest(name, list(self.raw_inds))}"
                self.add(path, msg, _OPERAND_EXPECTED, code="undefined-name", offset=off)
                ok = False
                return ref
            self.used_inds.add(name)
            ind = self.inds.get(name)
            defn = lookup(ind.type) if ind is not None else None
            if defn is None:
                return ref  # the indicator itself is already reported
            outs = list(defn.output_names)
            if ref.output is None:
                if defn.default_output is None:
                    label = f"'{name}'" if name == defn.type else f"'{name}' ({defn.type})"
                    self.add(path, f"{label} has several outputs; name one",
                             "one of " + ", ".join(f"{name}.{o}" for o in outs),
                             code="unknown-output", offset=off)
                    ok = False
                    return ref
                return E.IndicatorRef(name, defn.default_output, ref.offset, ref.span)
            if ref.output not in outs:
                label = name if name == defn.type else f"{name} ({defn.type})"
                self.add(path, f"unknown output '{ref.output}' of {label}"
                         f"{suggest(ref.output, outs)}",
                         "one of " + ", ".join(f"{name}.{o}" for o in outs),
                         code="unknown-output", offset=off + len(name) + 1)
                ok = False
            return ref

        new = E.map_refs(node, fix)
        for n in E.walk(new):
            if isinstance(n, E.ParamRef):
                if n.name not in self.raw_params and not self.params_known:
                    ok = False
                elif n.name not in self.raw_params:
                    self.add(path, f"undefined parameter ${n.name}"
                             f"{suggest(n.name, list(self.raw_params))}",
                             "a parameter declared under parameters", code="undefined-name",
                             offset=n.span[0])
                    ok = False
                else:
                    self.uses.append(_Use(n.name, None, path))
            elif isinstance(n, E.Cross):
                if not (E.has_series(n.left) or E.has_series(n.right)):
                    self.add(path, f"crosses_{n.direction} needs a price or indicator on at "
                             "least one side", _OPERAND_EXPECTED, code="bad-condition",
                             offset=n.span[0])
                    ok = False
            elif isinstance(n, (E.Compare, E.Between)):
                ops = (n.left, n.right) if isinstance(n, E.Compare) else (n.subject, n.low, n.high)
                if not any(E.has_series(o) for o in ops):
                    self.add(path, "condition compares constants only", _OPERAND_EXPECTED,
                             code="bad-condition", offset=n.span[0])
                    ok = False
            elif isinstance(n, E.Call):
                problem = _constant_domain_problem(n)
                if problem:
                    self.add(path, problem, E.FUNCTIONS[n.func][3], code="bad-value",
                             offset=n.span[0])
                    ok = False
        return new if ok else None

    # -- stops, targets, sizing -----------------------------------------------------------
    def _need_atr(self, section: str, name: Any, what: str) -> None:
        if not isinstance(name, str):
            return  # structural error already reported
        raw = self.d.get(section) or {}
        path = (section, "indicator") if "indicator" in raw else (section,)
        ind_raw = self.raw_inds.get(name)
        if ind_raw is None:
            self.add(path, f"{what} needs an ATR indicator '{name}', but no indicator '{name}' "
                     "is declared", f"an indicator '{name}' with type: atr under indicators",
                     code="missing-indicator")
            return
        self.used_inds.add(name)
        ind = self.inds.get(name)
        if ind is not None and (lookup(ind.type) is None or lookup(ind.type).type != "atr"):  # type: ignore[union-attr]
            self.add(path, f"{what} needs an ATR indicator, but '{name}' has type '{ind.type}'",
                     "an indicator with type: atr", code="missing-indicator")

    def _raw_section(self, section: str) -> tuple[dict[str, Any], str | None]:
        raw = self.d.get(section)
        if not isinstance(raw, dict):
            return {}, None
        kind = raw.get("method" if section == "sizing" else "type")
        return raw, kind if isinstance(kind, str) else None

    def _slot_uses(self, section: str) -> None:
        raw, kind = self._raw_section(section)
        if section == "trailing_stop":
            kind = "pct"
        if section == "pyramiding":
            kind = "rule"
        fields = dict(SLOTS.get((section, kind or ""), {}))
        if section == "sizing":
            fields.update(SIZING_COMMON)
        for fld, spec in fields.items():
            ref = param_ref(raw.get(fld))
            if ref is None:
                continue
            if ref not in self.raw_params:
                self.add((section, fld), f"undefined parameter ${ref}"
                         f"{suggest(ref, list(self.raw_params))}",
                         "a parameter declared under parameters", code="undefined-name")
            else:
                self.uses.append(_Use(ref, spec, (section, fld)))

    def value(self, v: Any) -> Any:
        ref = param_ref(v)
        if ref is None:
            return v
        p = self.params.get(ref)
        return p.default if p is not None else None

    def check_risk(self) -> None:
        """Cross-field rules, on the raw data so one bad field does not hide the others."""
        for section in ("stop_loss", "take_profit", "sizing", "trailing_stop", "entry_order",
                        "exit_order", "pyramiding"):
            self._slot_uses(section)
        for section in ("entry_order", "exit_order"):
            raw, kind = self._raw_section(section)
            if kind == "limit" and raw.get("offset_atr", 0) != 0:
                self._need_atr(section, raw.get("indicator", "atr"), f"{section} offset_atr")
        pyr = self.d.get("pyramiding")
        if isinstance(pyr, dict):
            entry = self.d.get("entry") if isinstance(self.d.get("entry"), dict) else {}
            for side in ("long", "short"):
                if pyr.get(side) and not entry.get(side):
                    self.add(("pyramiding", side), f"pyramiding.{side} is given but there is "
                             f"no entry.{side}", severity="warning", code="unused", key=True)
        extra: list[tuple[PathT, Any, ParamSpec]] = [(("max_bars",), self.d.get("max_bars"),
                                                      MAX_BARS_SPEC)]
        roi = self.d.get("roi")
        if isinstance(roi, dict):
            extra += [(("roi", k), v, ROI_SPEC) for k, v in roi.items()]
        for path, v, spec in extra:
            ref = param_ref(v)
            if ref is None:
                continue
            if ref not in self.raw_params:
                self.add(path, f"undefined parameter ${ref}{suggest(ref, list(self.raw_params))}",
                         "a parameter declared under parameters", code="undefined-name")
            else:
                self.uses.append(_Use(ref, spec, path))
        stop, stop_type = self._raw_section("stop_loss")
        has_stop = self.d.get("stop_loss") is not None
        if stop_type in ("atr_fixed", "atr_trailing"):
            self._need_atr("stop_loss", stop.get("indicator", "atr"), f"stop type {stop_type}")
        target, target_type = self._raw_section("take_profit")
        if target_type == "atr_fixed":
            self._need_atr("take_profit", target.get("indicator", "atr"),
                           "take_profit type atr_fixed")
        if target_type == "risk_reward" and not has_stop:
            self.add(("take_profit", "type"), "take_profit risk_reward needs a stop_loss "
                     "(the target is ratio x the stop distance)", "a stop_loss section",
                     code="missing-stop")
        sizing, method = self._raw_section("sizing")
        if method == "atr":
            self._need_atr("sizing", sizing.get("indicator", "atr"), "sizing method atr")
        if method in ("fixed_fractional", "kelly") and not has_stop:
            self.add(("sizing", "method"), f"sizing {method} needs a stop_loss (risk is "
                     "divided by the stop distance)", "a stop_loss section", code="missing-stop")
        if sizing:
            lev = self.value(sizing.get("leverage", 1))
            cap = self.value(sizing.get("max_notional_multiple"))
            if finite(lev) and finite(cap) and cap > lev:
                self.add(("sizing", "max_notional_multiple"),
                         f"max_notional_multiple ({_show(cap)}) exceeds leverage ({_show(lev)})",
                         f"a value <= leverage ({_show(lev)})", code="bad-value")
            if method == "kelly":
                lo = self.value(sizing.get("floor_pct", 0.25))
                hi = self.value(sizing.get("cap_pct", 2.0))
                if finite(lo) and finite(hi) and lo > hi:
                    self.add(("sizing", "floor_pct"),
                             f"floor_pct ({_show(lo)}) is greater than cap_pct ({_show(hi)})",
                             "floor_pct <= cap_pct", code="bad-value")

    def check_time_filters(self) -> None:
        raw = self.d.get("time_filters")
        if not isinstance(raw, dict):
            return
        tf = _try(TimeFilters, {"blocked_weekdays": raw.get("blocked_weekdays") or []})
        if tf is None:
            return
        if len(set(tf.blocked_weekdays)) == len(WEEKDAYS):
            self.add(("time_filters", "blocked_weekdays"), "every weekday is blocked; the "
                     "strategy could never enter", "at most 6 blocked weekdays",
                     code="bad-value")
        elif len(set(tf.blocked_weekdays)) != len(tf.blocked_weekdays):
            self.add(("time_filters", "blocked_weekdays"), "a weekday is listed twice",
                     severity="warning", code="duplicate")

    # -- parameters under constraints ------------------------------------------------------
    def param_specs(self) -> dict[str, list[ParamSpec]]:
        out: dict[str, list[ParamSpec]] = {}
        for use in self.uses:
            if use.spec is not None:
                out.setdefault(use.param, []).append(use.spec)
        return out

    def check_param_uses(self) -> None:
        for use in self.uses:
            p = self.params.get(use.param)
            if p is None or use.spec is None:
                continue
            msg = use.spec.check(p.default)
            if msg:
                self.add(use.path, f"${use.param} (default {_show(p.default)}) does not fit "
                         f"'{use.path[-1]}'", use.spec.expected(), code="bad-param")
            if p.sweep is not None:
                try:
                    values = expand(p.sweep)
                except ValueError as exc:
                    self.add(("parameters", use.param, "sweep"), str(exc), None,
                             code="bad-sweep")
                    continue
                bad = [v for v in values if use.spec.check(v)]
                if bad:
                    self.add(("parameters", use.param, "sweep"),
                             f"sweep value {_show(bad[0])} of ${use.param} does not fit "
                             f"{format_path(use.path)}", use.spec.expected(), code="bad-sweep")

    # -- sweep ----------------------------------------------------------------------------
    def check_sweep(self) -> None:
        # a parameter used only by an unused indicator is not live
        used_params = {u.param for u in self.uses
                       if not (u.path[0] == "indicators" and u.path[1] not in self.used_inds)}
        parts = Parts(self.params, self.inds, self.stop, self.target, self.sizing,
                      set(self.used_inds), used_params, trailing_stop=self.trailing_stop,
                      roi=self.roi, max_bars=self.max_bars, entry_order=self.entry_order,
                      exit_order=self.exit_order, pyramiding=self.pyramiding)
        specs = self.param_specs()
        counts: list[int] = []
        for name, p in self.params.items():
            if p.sweep is None:
                continue
            if name not in used_params:
                self.add(("parameters", name, "sweep"), f"parameter '{name}' is swept but not "
                         "used anywhere, so the sweep reaches nothing",
                         "a parameter referenced as $" + name, code="sweep-key")
                continue
            try:
                counts.append(len(expand(p.sweep)))
            except ValueError:
                pass  # reported in check_param_uses / below
        raw_sweep = self.d.get("sweep")
        if not isinstance(raw_sweep, dict):
            raw_sweep = {}
        for key, raw_values in raw_sweep.items():
            path = ("sweep", key)
            owner = str(key).split(".", 1)[0]
            if owner in _SECTION_TAGS and self.d.get(owner) is not None and \
                    getattr(self, {"stop_loss": "stop", "take_profit": "target",
                                   "sizing": "sizing"}.get(owner, owner)) is None:
                continue  # the section itself is invalid and already reported
            if owner in ("trailing_stop", "roi", "max_bars", "pyramiding") \
                    and self.d.get(owner) is not None \
                    and getattr(self, owner) is None:
                continue  # the section itself is invalid and already reported
            if "." in str(key) and owner in self.inds and (
                    self.inds[owner] is None or lookup(self.inds[owner].type) is None):
                continue  # the indicator itself is invalid and already reported
            try:
                target = resolve_key(parts, str(key), specs)
            except SweepKeyError as exc:
                self.add(path, exc.message, exc.expected, code="sweep-key", key=True)
                continue
            if target.kind == "parameter" and self.params[target.owner].sweep is not None:  # type: ignore[index]
                self.add(path, f"{key} is swept twice (also in parameters.{target.owner}.sweep)",
                         "one sweep per value", code="sweep-key", key=True)
                continue
            values_obj = _try(SweepValues, raw_values)
            if values_obj is None:
                continue  # structural error already reported
            try:
                values = expand(values_obj)
            except ValueError as exc:
                self.add(path, str(exc), None, code="bad-sweep")
                continue
            counts.append(len(values))
            for spec in target.specs:
                bad = [v for v in values if spec.check(v)]
                if bad:
                    self.add(path, f"sweep value {_show(bad[0])} does not fit {key}",
                             spec.expected(), code="bad-sweep")
                    break
        total = 1
        for c in counts:
            total *= c
        if total > MAX_GRID:
            self.add(("sweep",), f"sweep grid has {total} combinations; the limit is {MAX_GRID}",
                     "fewer values per key", code="bad-sweep")
        self.used_params = used_params

    # -- warnings -------------------------------------------------------------------------
    def warnings(self) -> None:
        for name in self.raw_inds:
            if name not in self.used_inds:
                self.add(("indicators", name), f"indicator '{name}' is never used",
                         severity="warning", code="unused", key=True)
        for name in self.raw_params:
            if name not in self.used_params:
                self.add(("parameters", name), f"parameter '{name}' is never used",
                         severity="warning", code="unused", key=True)
        entry = self.d.get("entry") if isinstance(self.d.get("entry"), dict) else {}
        exit_ = self.d.get("exit") if isinstance(self.d.get("exit"), dict) else {}
        for side in ("long", "short"):
            if exit_.get(side) and not entry.get(side):
                self.add(("exit", side), f"exit.{side} is given but there is no entry.{side}",
                         severity="warning", code="unused", key=True)
            if entry.get(side) and not exit_.get(side) and self.d.get("stop_loss") is None \
                    and self.d.get("take_profit") is None:
                self.add(("entry", side), f"{side} positions have no exit condition, stop loss "
                         "or take profit", severity="warning", code="no-exit", key=True)

    def run(self) -> None:
        self.check_names()
        self.check_indicators()
        self.check_conditions()
        self.check_risk()
        self.check_time_filters()
        self.check_param_uses()
        self.check_sweep()
        self.warnings()


def _order(d: Diagnostic) -> tuple:
    return (d.line == 0, d.line, d.column)


def check(loaded: LoadedYaml) -> tuple[list[Diagnostic], StrategySpec | None]:
    """Validate loaded YAML; returns (all diagnostics sorted by position, spec or ``None``)."""
    ctx = _Ctx(loaded)
    ctx.diags.extend(loaded.diagnostics)
    if loaded.data is None:
        return ctx.diags, None
    spec: StrategySpec | None = None
    try:
        spec = StrategySpec.model_validate(loaded.data)
    except ValidationError as exc:
        for err in exc.errors():
            _pydantic_diag(ctx, err)
    checker = _Checker(ctx)
    checker.run()
    diags = sorted(_dedupe(ctx.diags), key=_order)
    if any(d.severity == "error" for d in diags):
        return diags, None
    assert spec is not None
    spec._rules = checker.rules
    return diags, spec


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple] = set()
    out = []
    for d in diags:
        k = (d.line, d.column, d.path, d.message)
        if k not in seen:
            seen.add(k)
            out.append(d)
    return out


def check_data(data: dict[str, Any], file: str = "<data>"
               ) -> tuple[list[Diagnostic], StrategySpec | None]:
    """Validate already-parsed data (no positions: line/column are 0)."""
    loaded = LoadedYaml(data=data, file=file)
    return check(loaded)
