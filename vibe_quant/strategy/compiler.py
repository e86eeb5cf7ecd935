"""DSL compiler: a validated strategy (YAML text) → a Nautilus (Rust/PyO3) strategy factory.

    compiled = compile_strategy(yaml_text_or_path_or_spec, params=None)
    run_backtest(compiled, "BTCUSDT", "2024-01-01", "2024-12-31", params={"ema_fast.period": 10},
                 leverage=compiled.leverage(params), warmup_bars=compiled.warmup_for(params), ...)

* ``compiled`` is a :class:`CompiledStrategy`: callable ``(ctx, params) -> DSLStrategy`` (the
  ``StrategySpec`` that :func:`vibe_quant.backtest.run_backtest` accepts), with ``name``,
  ``interval`` (the strategy timeframe), ``text`` (the YAML), ``params`` and ``warmup_bars``;
  :meth:`CompiledStrategy.values` gives every sweepable value. It pickles as
  ``compile_strategy(text, params)`` — a spawn worker rebuilds it from the YAML text alone; no
  class is pickled.
* ``params`` (run time): sweep keys → values (``ema_fast.period``, ``$oversold`` — or
  ``oversold`` —, ``stop_loss.multiple``, ``sizing.risk_pct``, …). At ``on_start`` (and after an
  engine ``reset()``) the strategy re-validates ``apply_params(spec, params)`` and builds its
  indicators, conditions, filters and risk rules from that: every sweepable value is read from
  the run's config, one compiled object serves a whole sweep.

Execution (docs/dsl.md §12, SPEC.md §4):

1. Base bars: price fields and base-timeframe indicators update on every base bar.
   Higher-timeframe (HTF) indicators are fed by bars aggregated INSIDE Nautilus from the base
   series (``<iid>-1-HOUR-LAST-INTERNAL@5-MINUTE-EXTERNAL``). Nautilus delivers the HTF bar
   right after the base bar with the same close time, so on a base bar whose close is an HTF
   boundary the decision waits until every due HTF bar has arrived (their market orders still
   fill at that base bar's close — measured). A first HTF bar built from fewer base bars than
   the ratio (data starting mid-hour) is dropped. A HTF value is therefore visible from the
   base bar with the same close on, never earlier (tests/strategy/test_lookahead.py).
2. No signal before every used indicator has ``count ≥ warm-up + largest [n]`` (own timeframe)
   and enough base bars for price look-backs.
3. In a position: that side's exit condition first (true → reduce-only market close); else the
   ATR trailing stop moves. Stops/targets rest as reduce-only orders placed when the entry fills.
4. Flat: both entry sides evaluated; exactly one true and the time filters allow it → market
   entry sized by :class:`~vibe_quant.strategy.runtime.risk.Sizer`; both true → nothing.
"""

# ruff: noqa: E741  (o, h, l, c, v: the OHLCV convention)

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from nautilus_trader.core import nautilus_pyo3 as n3

from vibe_quant.core.errors import ConfigError
from vibe_quant.core.intervals import NS_PER_MINUTE, bar_ratio, minutes, nautilus_bar_spec
from vibe_quant.dsl import expr as E
from vibe_quant.dsl.api import load_strategy
from vibe_quant.dsl.models import StrategySpec
from vibe_quant.dsl.overrides import apply_params
from vibe_quant.dsl.registry import lookup
from vibe_quant.dsl.sweep import current_values, live_names
from vibe_quant.dsl.warmup import warmup_bars as spec_warmup_bars
from vibe_quant.strategy.base import EXIT_SIGNAL, EXIT_STOP, RunContext, VQStrategy
from vibe_quant.strategy.runtime import conditions as C
from vibe_quant.strategy.runtime import vector as V
from vibe_quant.strategy.runtime.filters import TimeFilter
from vibe_quant.strategy.runtime.indicators import NautilusClose
from vibe_quant.strategy.runtime.indicators import build as build_indicator
from vibe_quant.strategy.runtime.risk import (
    LimitRule,
    PctTrail,
    Sizer,
    StopRule,
    TargetRule,
    Trail,
)
from vibe_quant.venues.binance.instruments import instrument_id as instrument_id_str
from vibe_quant.venues.binance.margin import TAKER_FEE_RATE

NAN = float("nan")
EXIT_ROI = "roi"  # exit reason of the roi table
EXIT_TIME = "max_bars"  # exit reason of the max_bars time exit
MARGIN_HEADROOM = 0.98
FUNDING_INTERVAL_MIN = 480  # warm-up cover for the funding blackout (Binance's 8 h schedule)


class TimeframeMismatchError(ConfigError, ValueError):
    """A run feeds bars of another timeframe than the strategy's (still a ``ValueError``)."""


def _normalise(spec: StrategySpec, params: dict[str, Any] | None) -> dict[str, Any]:
    """Sweep-key params; a bare parameter name (``oversold``) is accepted for ``$oversold``."""
    out: dict[str, Any] = {}
    for k, v in (params or {}).items():
        k = str(k).strip()
        if not k.startswith("$") and "." not in k and k in spec.parameters:
            k = "$" + k
        out[k] = v
    return out


class CompiledStrategy:
    """Factory ``(ctx, params) -> DSLStrategy`` for :func:`run_backtest`; see module docstring."""

    def __init__(self, text: str, spec: StrategySpec, params: dict[str, Any] | None = None,
                 *, trace: bool = False, strategy_class: type | None = None) -> None:
        self.text = text
        self.base_spec = spec
        self.params = _normalise(spec, params)
        self.spec = apply_params(spec, self.params) if self.params else spec
        self.name = self.spec.name
        self.interval = self.spec.timeframe
        self.trace = trace
        has_htf = bool(self.spec.informative) or any(
            (i.timeframe or self.spec.timeframe) != self.spec.timeframe
            for i in self.spec.indicators.values()) or bool(_series_names(self.spec))
        self.strategy_class = strategy_class or (DSLStrategy if has_htf
                                                 else SingleTimeframeStrategy)
        self._cache: dict[tuple, StrategySpec] = {}

    def __reduce__(self):
        return (compile_strategy, (self.text, self.params))

    def __repr__(self) -> str:
        return f"CompiledStrategy({self.name!r}, params={self.params})"

    def resolve(self, params: dict[str, Any] | None = None) -> StrategySpec:
        """The spec with compile-time params, then ``params``, applied (re-validated)."""
        p = _normalise(self.base_spec, params)
        if not p:
            return self.spec
        key = tuple(sorted((k, repr(v)) for k, v in p.items()))
        s = self._cache.get(key)
        if s is None:
            s = self._cache[key] = apply_params(self.base_spec, {**self.params, **p})
        return s

    def values(self, params: dict[str, Any] | None = None) -> dict[str, float | int]:
        """Every sweepable value of a run with ``params``."""
        return current_values(self.resolve(params))

    def warmup_for(self, params: dict[str, Any] | None = None) -> int:
        """Base bars to feed before the run window (indicators; one funding interval when the
        funding blackout is on, so the schedule is known from the first bar)."""
        spec = self.resolve(params)
        wu = spec_warmup_bars(spec)
        if spec.time_filters.funding_blackout_minutes:
            wu = max(wu, FUNDING_INTERVAL_MIN // minutes(spec.timeframe) + 1)
        return wu

    @property
    def warmup_bars(self) -> int:
        return self.warmup_for(None)

    @property
    def informative_symbols(self) -> tuple[str, ...]:
        """Symbols of the ``informative`` series (their bars must be fed with the run's, at the
        strategy timeframe; :func:`vibe_quant.backtest.run_backtest` loads them)."""
        return tuple(sorted({i.symbol for i in self.spec.informative.values()}))

    def leverage(self, params: dict[str, Any] | None = None) -> float:
        """The strategy's ``sizing.leverage`` for a run with ``params`` (the venue leverage to
        use)."""
        s = self.resolve(params)
        return float(s.param_value(s.sizing.leverage))

    def __call__(self, ctx: RunContext, params: dict[str, Any] | None = None) -> DSLStrategy:
        self.resolve(params)  # fail fast on bad keys/values, before the engine starts
        return self.strategy_class(ctx, params, compiled=self)


def compile_strategy(source: str | bytes | os.PathLike | StrategySpec,
                     params: dict[str, Any] | None = None, *, trace: bool = False,
                     strategy_class: type | None = None) -> CompiledStrategy:
    """Compile a strategy.

    Args:
        source: YAML text, a path to a ``.yaml`` file, bytes, or a validated
            :class:`StrategySpec` (dumped back to YAML text so workers can rebuild it).
        params: sweep-key overrides baked into the config (run-time params override them).
        trace: record, at every decision, which higher-timeframe bar each HTF indicator value
            came from (``strategy.trace``; used by the look-ahead test).
        strategy_class: a :class:`DSLStrategy` subclass to instantiate (tests).

    Returns:
        A :class:`CompiledStrategy` (callable factory; unpacks as ``(config, factory)``).

    Raises:
        StrategyError: the YAML is invalid or a param key/value is.
    """
    if isinstance(source, StrategySpec):
        from vibe_quant.dsl.api import dump_strategy

        text = dump_strategy(source)
        spec = load_strategy(text)
    else:
        is_path = isinstance(source, os.PathLike) or (
            isinstance(source, str) and "\n" not in source
            and (source.endswith((".yaml", ".yml"))
                 or (len(source) < 4096 and os.path.isfile(source))))
        if isinstance(source, bytes) or is_path:
            spec = load_strategy(source)  # same path/text rule as load_strategy
            with open(os.fspath(source), "rb") if is_path else _nullbytes(source) as fh:
                text = fh.read().decode("utf-8")
        else:
            text = str(source)
            spec = load_strategy(text)
    return CompiledStrategy(text, spec, params, trace=trace, strategy_class=strategy_class)


def _nullbytes(data: bytes):  # a context manager with .read() over bytes
    import io

    return io.BytesIO(data)


# ---------------------------------------------------------------------------- runtime
class PriceState:
    """Latest closed base bar (USDT, base-unit volume); derived fields computed on demand."""

    __slots__ = ("open", "high", "low", "close", "volume", "hl2", "hlc3", "ohlc4")

    def __init__(self) -> None:
        for k in self.__slots__:
            setattr(self, k, NAN)


class BarSeries:
    """A bar series used as an operand: ``close@1h`` (the traded symbol's last closed 1h bar)
    or ``btc.close`` (an informative symbol's last closed bar); outputs are the price fields."""

    outputs = ("close",)
    warmup = 1

    def __init__(self) -> None:
        self.count = 0
        self.open = self.high = self.low = self.close = self.volume = NAN
        self.hl2 = self.hlc3 = self.ohlc4 = NAN

    def update(self, o: float, h: float, l: float, c: float, v: float, ts: int) -> None:
        self.open, self.high, self.low, self.close, self.volume = o, h, l, c, v
        self.hl2 = (h + l) / 2.0
        self.hlc3 = (h + l + c) / 3.0
        self.ohlc4 = (o + h + l + c) / 4.0
        self.count += 1


def _series_names(spec: StrategySpec) -> set[str]:
    """Condition operands that are bar series, not declared indicators (``@1h``, informative
    names)."""
    out: set[str] = set()
    for sides in spec._rules.values():
        for node in sides.values():
            if node is not None:
                out.update(r.name for r in E.indicator_refs(node)
                           if r.name not in spec.indicators)
    return out


class Feed:
    """Indicators of one timeframe (of the traded symbol, or of an informative symbol), their
    look-back rings, and (for HTF / informative feeds) bookkeeping."""

    def __init__(self, tf: str, ratio: int, symbol: str | None = None) -> None:
        self.symbol = symbol  # None = the traded symbol
        self.seen_ts = -1  # close time of the last bar that arrived (fed or dropped)
        self.tf = tf
        self.ratio = ratio
        self.tf_ns = minutes(tf) * NS_PER_MINUTE
        self.items: list[tuple[str, Any]] = []  # (name, indicator)
        self.rings: list[tuple[Any, str, C.Ring]] = []  # (indicator, output, ring)
        self.base_count = 0
        self.first = True
        self.last_ts = 0  # close time of the last bar fed (ns)
        self.dropped = 0

    def update(self, o: float, h: float, l: float, c: float, v: float, ts: int) -> None:
        for _, ind in self.items:
            ind.update(o, h, l, c, v, ts)
        for ind, out, ring in self.rings:
            ring.push(getattr(ind, out))
        self.last_ts = ts


class Runtime:
    """Everything one run evaluates, built from a resolved spec (the run's config)."""

    def __init__(self, spec: StrategySpec, ctx: RunContext) -> None:
        self.spec = spec
        used, _ = live_names(spec)
        base_tf = spec.timeframe
        self.price = PriceState()
        self.indicators: dict[str, Any] = {}
        self.feeds: dict[tuple[str | None, str], Feed] = {}
        rules = {(k, s): spec.rule(k, s) for k in ("entry", "exit", "add")
                 for s in ("long", "short")}
        ind_lb, self.price_lookback = C.lookbacks(list(rules.values()))
        self.need: list[tuple[Any, int]] = []
        feed_of: dict[str, Feed] = {}
        #: the conditions as one boolean per bar (``vector``: the strategy's bars, or None =
        #: evaluated bar by bar; :mod:`vibe_quant.strategy.runtime.vector`; ``vector_names``:
        #: the indicators they read); ``i`` = the index of the bar being decided,
        #: ``plan_ready`` = bars the precomputed indicators need
        self.vector, self.vector_names = _vector_bars(spec, ctx, rules)
        self.i = -1
        self.plan_ready = 0
        risk_read = _risk_indicators(spec)
        vec_inds: dict[str, Any] = {}
        #: base-timeframe indicators the risk rules read, with their precomputed outputs
        #: (``(indicator, [(output, values per bar)])``; with precomputed conditions only)
        self.replayed: list[tuple[Any, list[tuple[str, list[float]]]]] = []

        def feed_for(inf: str | None, tf: str) -> Feed:
            feed = self.feeds.get((inf, tf))
            if feed is None:
                sym = spec.informative[inf].symbol if inf is not None else None
                feed = self.feeds[(inf, tf)] = Feed(tf, bar_ratio(tf, base_tf), sym)
            return feed

        for name in sorted(used):
            ind_spec = spec.indicators[name]
            inf = ind_spec.informative
            tf = ind_spec.timeframe or (spec.informative[inf].timeframe if inf else None) \
                or base_tf
            ind = build_indicator(ind_spec.type, spec.indicator_params(name), ind_spec.source)
            if name in self.vector_names:
                vec_inds[name] = ind  # precomputed for the conditions
                self.plan_ready = max(self.plan_ready, ind.warmup + ind_lb.get(name, 0))
                if name not in risk_read:
                    continue  # read by conditions only: not updated bar by bar
            if self.vector is not None and inf is None and tf == base_tf:
                # read by the risk rules: its precomputed outputs are set bar by bar
                self.indicators[name] = ind
                arrays = V.indicator_arrays(self.vector, ind_spec.type,
                                            spec.indicator_params(name), ind_spec.source)
                self.replayed.append((ind, [(o, arrays[o].tolist()) for o in ind.outputs]))
                self.need.append((ind, ind.warmup + ind_lb.get(name, 0)))
                continue
            self.indicators[name] = ind
            feed = feed_of[name] = feed_for(inf, tf)
            feed.items.append((name, ind))
            self.need.append((ind, ind.warmup + ind_lb.get(name, 0)))
        for name in sorted(_series_names(spec)):  # close@1h, btc.close
            if name.startswith("@"):
                inf, tf = None, name[1:]
            else:
                inf, tf = name, spec.informative[name].timeframe or base_tf
            bs = BarSeries()
            self.indicators[name] = bs
            feed = feed_of[name] = feed_for(inf, tf)
            feed.items.append((name, bs))
            self.need.append((bs, 1 + ind_lb.get(name, 0)))
        self.params = {n: float(p.default) for n, p in spec.parameters.items()}
        self.state = C.TradeState()
        self.env = C.Env(self.price, self.indicators, self.params, self.state)
        pv = spec.param_value
        #: roi table as [(minutes, percent)] sorted by minutes (freqtrade minimal_roi)
        self.roi = sorted((int(k), float(pv(v))) for k, v in (spec.roi or {}).items())
        self.max_bars = int(pv(spec.max_bars)) if spec.max_bars is not None else 0
        self.only_in_profit = spec.exit_only_in_profit
        self.on_conflict = {"none": 0, "long": 1, "short": -1}[spec.on_conflict]
        ts_ = spec.trailing_stop
        self.pct_trail = (PctTrail(float(pv(ts_.pct)), float(pv(ts_.offset_pct)))
                          if ts_ is not None else None)
        eo, xo = spec.entry_order, spec.exit_order
        self.entry_limit = LimitRule(eo, spec) if eo is not None and eo.type == "limit" \
            else None
        self.exit_limit = LimitRule(xo, spec) if xo is not None and xo.type == "limit" \
            else None
        pyr = spec.pyramiding
        self.max_entries = int(pv(pyr.max_entries)) if pyr is not None else 1
        self.add_size = float(pv(pyr.size_pct)) / 100.0 if pyr is not None else 0.0
        uses_state = any(isinstance(n, E.StateRef) for node in rules.values()
                         if node is not None for n in E.walk(node))
        #: trade state must be kept up to date at every decision
        self.track = bool(uses_state or self.roi or self.max_bars or self.only_in_profit)
        if self.vector is not None:
            self.rules = self._vector_rules(spec, rules, vec_inds)
        else:
            self.rules = {k: (C.condition(r, self.env) if r is not None else None)
                          for k, r in rules.items()}
        self.crosses = list(self.env.crosses.values())
        # rings (created while compiling conditions) → their feeds
        for (name, out), ring in self.env.indicator_rings.items():
            feed_of[name].rings.append((self.indicators[name], out, ring))
        self.price_rings = list(self.env.price_rings.items())
        price_fields = ({r.field for node in rules.values() if node is not None
                         for r in _price_refs(node)} if self.vector is None else set())
        self.derived = price_fields & {"hl2", "hlc3", "ohlc4"}
        self.base = self.feeds.pop((None, base_tf), None) or Feed(base_tf, 1)
        self.htf = sorted(self.feeds.values(), key=lambda f: f.tf_ns)
        self.filter = TimeFilter(spec.time_filters)
        self.stop = StopRule(spec) if spec.stop_loss is not None else None
        self.target = TargetRule(spec) if spec.take_profit is not None else None
        self.sizer = Sizer(spec)
        self.trail = Trail(self.stop.multiple) if self.stop and self.stop.trailing else None
        self.atr_stop = self.indicators.get(self.stop.indicator) if self.stop and \
            self.stop.indicator else None
        self.atr_target = self.indicators.get(self.target.indicator) if self.target and \
            self.target.indicator else None
        self.atr_size = self.indicators.get(self.sizer.indicator) if self.sizer.indicator \
            else None
        self.atr_entry_lim = (self.indicators.get(self.entry_limit.indicator)
                              if self.entry_limit and self.entry_limit.indicator else None)
        self.atr_exit_lim = (self.indicators.get(self.exit_limit.indicator)
                             if self.exit_limit and self.exit_limit.indicator else None)
        # raw bar fields the base bar must provide (the others are not read: NaN)
        raw: set[str] = set(price_fields)
        for name, _ in self.base.items:
            ind_spec = spec.indicators[name]
            defn = lookup(ind_spec.type)
            raw |= ({ind_spec.source or defn.default_source} if defn.takes_source
                    else set(defn.inputs))
        if self.trail is not None or self.pct_trail is not None:
            raw |= {"high", "low"}
        for f, parts in (("hl2", ("high", "low")), ("hlc3", ("high", "low", "close")),
                         ("ohlc4", ("open", "high", "low", "close"))):
            if f in raw:
                raw |= set(parts)
        # NautilusClose indicators are updated inline by the strategy (no Python frame each)
        self.base_close = [ind for _, ind in self.base.items if type(ind) is NautilusClose]
        self.base_updates = [ind.update for _, ind in self.base.items
                             if type(ind) is not NautilusClose]
        self.need_open = "open" in raw
        self.need_hl = bool(raw & {"high", "low"})
        self.need_volume = "volume" in raw
        self.close_only = (raw <= {"close"} and not self.price_rings and not self.base_updates
                           and not self.base.rings and not self.htf)
        #: with precomputed conditions: per bar, True where a decision provably does nothing
        #: (flat: no entry condition; long / short: no exit condition), so the strategy skips
        #: it; None where a decision has other work (trade state, ROI / time exits, pyramiding,
        #: trailing stops, indicators updated bar by bar)
        self.quiet_flat = self.quiet_long = self.quiet_short = None
        if self.vector is not None and not self.track and not self.base_close \
                and not self.base_updates:
            self.quiet_flat = self._quiet(("entry", "long"), ("entry", "short"))
            if (self.max_entries <= 1 and self.trail is None and self.pct_trail is None
                    and self.exit_limit is None):
                self.quiet_long = self._quiet(("exit", "long"))
                self.quiet_short = self._quiet(("exit", "short"))

    def ready(self, base_bars: int) -> bool:
        if base_bars <= self.price_lookback or base_bars < self.plan_ready:
            return False
        return all(ind.count >= n for ind, n in self.need)

    def _quiet(self, *keys: tuple[str, str]) -> bytes:
        truth = [self._truth[k] for k in keys if self._truth.get(k) is not None]
        if not truth:
            return b"\x01" * self.vector.n
        return (~np.logical_or.reduce(truth)).tobytes()

    def _vector_rules(self, spec: StrategySpec, rules: dict[tuple[str, str], Any],
                      inds: dict[str, Any]) -> dict[tuple[str, str], Any]:
        """Each rule as a callable reading its precomputed truth at bar ``self.i``."""

        bars = self.vector
        arrays = {name: V.indicator_arrays(bars, spec.indicators[name].type,
                                           spec.indicator_params(name),
                                           spec.indicators[name].source)
                  for name in inds}
        # the first decided bar: every base indicator has ``count`` = bars seen, so ready()
        # first holds at max(needs, lookback + 1) bars
        first = max([1, self.price_lookback + 1, self.plan_ready]
                    + [n for _, n in self.need]) - 1
        env = V.VectorEnv(bars, arrays, {n: tuple(i.outputs) for n, i in inds.items()},
                          self.params, first)
        out: dict[tuple[str, str], Any] = {}
        self._truth = {k: (V.condition(node, env) if node is not None else None)
                       for k, node in rules.items()}
        for k, truth in self._truth.items():
            out[k] = None if truth is None else _at(truth.tobytes(), self)
        return out


def _at(truth: bytes, rt: Runtime) -> Any:
    # one byte per bar (1 = true): indexing bytes is as cheap as a list, building it a copy
    return lambda: truth[rt.i]


def _risk_indicators(spec: StrategySpec) -> set[str]:
    """Indicators read outside the conditions (ATR stops, targets, sizing, limit offsets)."""
    out: set[str] = set()
    for rule in (spec.stop_loss, spec.take_profit, spec.sizing, spec.entry_order,
                 spec.exit_order):
        name = getattr(rule, "indicator", None) if rule is not None else None
        if name:
            out.add(name)
    return out


def _vector_bars(spec: StrategySpec, ctx: RunContext, rules: dict[tuple[str, str], Any]
                 ) -> tuple[Any, frozenset[str]]:
    """``(the run's BarArrays, indicator names the conditions read)`` when every condition
    can be evaluated for all bars before the run (:mod:`vibe_quant.strategy.runtime.vector`):
    the bars are known, and the conditions read only base-timeframe series of the traded
    symbol and no trade state; else ``(None, frozenset())``."""
    off: tuple[Any, frozenset[str]] = (None, frozenset())
    bars = getattr(ctx, "bar_arrays", None)
    if bars is None or os.environ.get("VIBE_QUANT_BAR_BY_BAR"):
        return off
    nodes = [n for n in rules.values() if n is not None]
    if not nodes or not all(V.supported(n) for n in nodes):
        return off
    names: set[str] = set()
    for node in nodes:
        for ref in E.indicator_refs(node):
            ind = spec.indicators.get(ref.name)
            if ind is None or ind.informative or ind.timeframe not in (None, spec.timeframe):
                return off  # a bar series (close@1h, btc.close) or another timeframe
            names.add(ref.name)
    return bars, frozenset(names)


def _price_refs(node: Any) -> list[Any]:
    from vibe_quant.dsl import expr as E

    return [n for n in E.walk(node) if isinstance(n, E.PriceRef)]


class DSLStrategy(VQStrategy):
    """The one strategy class every compiled YAML runs as (see the module docstring).

    Diagnostics after a run: ``htf_missing`` (base bars whose due HTF bar never arrived — the
    decision was skipped; 0 on all real data tested), ``dropped_htf`` (incomplete first HTF
    bars), ``trace`` (with ``trace=True``: ``(decision ts, indicator, HTF bar close ts,
    value)`` tuples), ``kelly_trades`` (closed-trade PnLs seen by Kelly sizing).
    """

    def __new__(cls, ctx: RunContext, params: dict[str, Any] | None = None, *a: Any, **k: Any):
        k.pop("compiled", None)
        return super().__new__(cls, ctx, params, *a, **k)

    def __init__(self, ctx: RunContext, params: dict[str, Any] | None = None, *,
                 compiled: CompiledStrategy, strategy_id: str = "VQ-001") -> None:
        super().__init__(ctx, params, strategy_id=strategy_id)
        self.compiled = compiled
        self.name = compiled.name
        self._venue = ctx.instrument_id.venue
        self._usdt = n3.Currency.from_str("USDT")
        self._rt: Runtime | None = None

    # ------------------------------------------------------------ lifecycle
    def _build(self) -> None:
        spec = self.compiled.resolve(self.params)
        rt = self._rt = Runtime(spec, self.ctx)
        self._base_bt = self.ctx.bar_type
        base_txt = str(self.ctx.bar_type)
        iid = str(self.ctx.instrument_id)
        want = f"{iid}-{nautilus_bar_spec(spec.timeframe)}-EXTERNAL"
        # finer execution bars (validation): the base bars are aggregated inside Nautilus
        if base_txt == want.replace("-EXTERNAL", "-INTERNAL"):
            want = base_txt
        if base_txt != want:
            raise TimeframeMismatchError(
                f"strategy {spec.name} runs on {spec.timeframe} bars ({want}), "
                f"the run feeds {base_txt}", strategy=spec.name, timeframe=spec.timeframe)
        self._htf_types: dict[str, Feed] = {}
        #: bar type delivered -> subscription ("…@" + base spec is appended at start for the
        #: traded symbol's HTF bars; informative bars aggregate from their own base bars)
        self._htf_subs: dict[str, str | None] = {}
        base_nspec = nautilus_bar_spec(spec.timeframe)
        step, agg, _ = base_nspec.split("-")
        for feed in rt.htf:
            if feed.symbol is None:
                std = f"{iid}-{nautilus_bar_spec(feed.tf)}-INTERNAL"
                self._htf_subs[std] = None
            else:
                fiid = instrument_id_str(feed.symbol)
                if feed.tf == spec.timeframe:
                    std = f"{fiid}-{base_nspec}-EXTERNAL"
                    self._htf_subs[std] = std
                else:
                    std = f"{fiid}-{nautilus_bar_spec(feed.tf)}-INTERNAL"
                    self._htf_subs[std] = f"{std}@{step}-{agg}-EXTERNAL"
            self._htf_types[std] = feed
        self._has_htf = bool(rt.htf)
        r = rt.rules
        self._xl, self._xs = r[("exit", "long")], r[("exit", "short")]
        self._el, self._es = r[("entry", "long")], r[("entry", "short")]
        self._htf_ns = [f.tf_ns for f in rt.htf]
        self._pending = 0
        self._pending_bar: tuple = ()
        self._pending_feeds: list[Feed] = []
        self._al, self._as = r[("add", "long")], r[("add", "short")]
        self._lims: dict[str, tuple[Any, int]] = {}  # "entry"/"exit" -> (order id, placed bar)
        self._n_entries = 0  # entries of the open trade (first + add-ons sent)
        self._first_qty = 0.0  # quantity of the trade's first entry (base units)
        self._add_sig: tuple = ()  # (side, atr_stop, atr_tp) of an add-on in flight
        self._tp_level = NAN
        self._last_abs = 0.0  # |position| after the last position event
        self._base_bars = 0
        self._ready = False
        self.htf_missing = 0
        self.limit_expired = 0  # limit orders cancelled unfilled at their expiry
        self.trace: list[tuple[int, str, int, float]] | None = [] if self.compiled.trace \
            else None
        self._trace_items = [(name, ind, feed) for feed in rt.htf for name, ind in feed.items]
        self._sig: tuple = ()
        self._bar_ns = minutes(spec.timeframe) * NS_PER_MINUTE
        self._entry_px = NAN  # entry fill price (average) of the open trade
        self._entry_ts = 0  # its fill time to the minute (ns, see _to_minute)
        self._exit_ts = -1  # last closed trade's exit fill time to the minute (ns); -1 = none
        self._stop_level = NAN  # the resting stop's level (USDT), NaN = none
        self._entry_side = 0
        self._in_trade = False
        self._bal_before = NAN
        self.kelly_trades: list[float] = []

    def on_strategy_start(self) -> None:
        self._build()
        step, agg, _price = nautilus_bar_spec(self._rt.spec.timeframe).split("-")
        base_spec = f"{step}-{agg}-EXTERNAL"  # composite suffix, e.g. "@5-MINUTE-EXTERNAL"
        sub = str(getattr(self.ctx, "bar_subscription", None) or "")
        if "@" in sub:  # finer execution bars: aggregate from them too, e.g. "@1-MINUTE-EXTERNAL"
            base_spec = sub.split("@", 1)[1]
        for std, sub_ in self._htf_subs.items():
            self.subscribe_bars(n3.BarType.from_str(sub_ or f"{std}@{base_spec}"))
        if self._rt.filter.needs_funding and self.risk_monitor is None:  # else: base did
            self.subscribe_funding_rates(self.ctx.instrument_id)

    def on_strategy_reset(self) -> None:
        # the run's state is built at its start (on_strategy_start): the session sets the next
        # run's params only after the engine's reset
        self._rt = None

    @property
    def dropped_htf(self) -> int:
        return sum(f.dropped for f in self._rt.htf) if self._rt else 0

    def on_funding_rate(self, funding_rate: Any) -> None:
        super().on_funding_rate(funding_rate)  # the base class's circuit breakers
        f = funding_rate
        self._rt.filter.on_funding(f.ts_event, f.interval, f.next_funding_ns)

    def _fail(self, e: Exception, where: str) -> None:
        """Keep the first error (the Rust engine would log and swallow it); the run raises
        ``StrategyRunError`` afterwards (see ``VQStrategy.on_bar``)."""
        import traceback

        if getattr(self, "strategy_error", None) is None:
            self.strategy_error = f"{type(e).__name__} in {where}: {e}\n" + \
                "".join(traceback.format_exception(e, limit=4))

    # ------------------------------------------------------------ bars
    def on_bar(self, bar: Any) -> None:
        if not self._has_htf or bar.bar_type == self._base_bt:
            VQStrategy.on_bar(self, bar)
            return
        feed = self._htf_types.get(str(bar.bar_type))
        if feed is None or getattr(self, "strategy_error", None) is not None:
            return
        try:
            self._feed_htf(feed, bar)
            if self._pending and bar.ts_event == self._pending_bar[0]:
                pts = bar.ts_event
                for f in self._pending_feeds:
                    if f.seen_ts < pts:
                        return
                self._pending = 0
                ts, h, l, c = self._pending_bar
                self._decide(ts, h, l, c)
        except Exception as e:
            self._fail(e, f"higher-timeframe bar {bar.ts_event}")

    def _feed_htf(self, feed: Feed, bar: Any) -> None:
        """Update a HTF feed with a Nautilus-aggregated bar (an incomplete first bar is
        dropped)."""
        feed.seen_ts = bar.ts_event
        complete = not feed.first or feed.ratio == 1 or feed.base_count >= feed.ratio
        feed.first = False
        feed.base_count = 0
        if complete:
            feed.update(bar.open.as_double(), bar.high.as_double(), bar.low.as_double(),
                        bar.close.as_double(), bar.volume.as_double(), bar.ts_event)
        else:
            feed.dropped += 1

    def handle_bar(self, bar: Any) -> None:
        rt = self._rt
        bars = rt.vector
        if bars is not None:  # conditions precomputed: this bar's index into them
            i = rt.i = self._base_bars
            if i >= bars.n or bars.ts_seq[i] != bar.ts_event:
                raise RuntimeError(f"bar {bar.ts_event} is not bar #{i} of the run's bars: "
                                   "the precomputed conditions do not apply")
            for ind, cols in rt.replayed:  # risk-rule indicators: this bar's outputs
                for out, col in cols:
                    setattr(ind, out, col[i])
                ind.count = i + 1
            if self._ready and not self._lims:
                pos = self._pos
                if pos == 0:
                    quiet = rt.quiet_flat if not self._in_trade else None
                else:
                    quiet = rt.quiet_long if pos > 0 else rt.quiet_short
                if quiet is not None and quiet[i]:  # _decide would do nothing here
                    self._base_bars = i + 1
                    return
        c = bar.close.as_double()
        if rt.close_only:  # fast path: only the close is read, no look-back rings, no HTF
            rt.price.close = c
            for ind in rt.base_close:  # Nautilus single-input indicators on the close, inlined
                ind._raw(c)
                ind.count += 1
                ind.value = ind._ind.value
            self._base_bars += 1
            self._decide(bar.ts_event, NAN, NAN, c)
            return
        o = bar.open.as_double() if rt.need_open else NAN
        if rt.need_hl:
            h = bar.high.as_double()
            l = bar.low.as_double()
        else:
            h = l = NAN
        v = bar.volume.as_double() if rt.need_volume else NAN
        ts = bar.ts_event
        px = rt.price
        px.open, px.high, px.low, px.close, px.volume = o, h, l, c, v
        if rt.derived:
            px.hl2 = (h + l) / 2.0
            px.hlc3 = (h + l + c) / 3.0
            px.ohlc4 = (o + h + l + c) / 4.0
        if rt.price_rings:
            for f, ring in rt.price_rings:
                ring.push(getattr(px, f))
        for ind in rt.base_close:
            ind._raw(c)
            ind.count += 1
            ind.value = ind._ind.value
        for up in rt.base_updates:
            up(o, h, l, c, v, ts)
        if rt.base.rings:
            for ind, out, ring in rt.base.rings:
                ring.push(getattr(ind, out))
        self._base_bars += 1
        if self._has_htf:
            if self._pending:
                self.htf_missing += 1  # a due HTF bar never came: that decision was skipped
                self._pending = 0
            due = []
            for feed, tf_ns in zip(rt.htf, self._htf_ns):
                feed.base_count += 1
                if ts % tf_ns == 0 and feed.seen_ts < ts:  # (an informative bar may be here)
                    due.append(feed)
            if due:
                self._pending = len(due)
                self._pending_feeds = due
                self._pending_bar = (ts, h, l, c)
                return
        self._decide(ts, h, l, c)

    # ------------------------------------------------------------ decisions
    def _decide(self, ts: int, h: float, l: float, c: float) -> None:
        rt = self._rt
        if self._trace_items and self.trace is not None:
            for name, ind, feed in self._trace_items:
                self.trace.append((ts, name, feed.last_ts, getattr(ind, ind.outputs[0])))
        if not self._ready:
            if not rt.ready(self._base_bars):
                return
            self._ready = True
        if rt.track:
            self._update_state(ts, c)
        for s in rt.crosses:  # CrossSlot.shift, inlined
            s.pl = s.l
            s.pr = s.r
            s.l = s.left()
            s.r = s.right()
        if not self._trading:
            return
        if self._lims:
            self._expire_limits()
        pos = self._pos
        if pos != 0:
            ex = self._xl if pos > 0 else self._xs
            if ex is not None and ex() and (
                    not rt.only_in_profit or rt.state.trade_pnl_pct > 0):
                if rt.exit_limit is not None:
                    if "exit" not in self._lims:
                        self._exit_limit(c)
                else:
                    self._exit(EXIT_SIGNAL)
                return
            if rt.roi and self._roi_hit():
                self._exit(EXIT_ROI)
                return
            if rt.max_bars and rt.state.trade_bars_held >= rt.max_bars:
                self._exit(EXIT_TIME)
                return
            if rt.max_entries > 1 and self._n_entries < rt.max_entries and not self._add_sig:
                add = self._al if pos > 0 else self._as
                if add is not None and add() and rt.filter.allows(ts):
                    self._add(1 if pos > 0 else -1, c)
            if rt.trail is not None:
                self._trail(h, l, c)
            if rt.pct_trail is not None:
                self._pct_trail(h, l, c)
            return
        if "entry" in self._lims:  # an entry limit is resting: no new entry
            return
        if self._in_trade:  # the previous trade has closed: its PnL for Kelly
            self._in_trade = False
            pnl = self._balance() - self._bal_before
            rt.sizer.record_trade(pnl)
            self.kelly_trades.append(pnl)
        el = self._el
        es = self._es
        go_long = el is not None and el()
        go_short = es is not None and es()
        if go_long == go_short:
            if not go_long or not rt.on_conflict:
                return
            go_long = rt.on_conflict > 0
        if not rt.filter.allows(ts):
            return
        self._enter(1 if go_long else -1, c)

    def _update_state(self, ts: int, c: float) -> None:
        """Trade-state operands at this decision (docs/dsl.md §7 "Trade state")."""
        st = self._rt.state
        if self._exit_ts >= 0:
            st.last_trade_bars_since_exit = (ts - self._exit_ts) // self._bar_ns
        if self._pos != 0 and self._entry_px == self._entry_px:
            side = 1 if self._pos > 0 else -1
            pnl = C.profit_pct(side, self._entry_px, c, TAKER_FEE_RATE)
            st.trade_pnl_pct = pnl
            m = st.trade_max_pnl_pct
            if m != m or pnl > m:
                st.trade_max_pnl_pct = pnl
            held = ts - self._entry_ts
            st.trade_bars_held = held // self._bar_ns
            st.trade_minutes_held = held / NS_PER_MINUTE
        else:
            st.trade_pnl_pct = st.trade_max_pnl_pct = NAN
            st.trade_bars_held = st.trade_minutes_held = NAN

    def _roi_hit(self) -> bool:
        """freqtrade ``min_roi_reached``: the entry with the largest minutes key <= whole
        minutes held; exit when the profit (net of fees, at this close) is > its value."""
        st = self._rt.state
        held = int(st.trade_minutes_held) if st.trade_minutes_held == \
            st.trade_minutes_held else -1
        roi = None
        for k, v in self._rt.roi:
            if k <= held:
                roi = v
            else:
                break
        return roi is not None and st.trade_pnl_pct > roi

    def _balance(self) -> float:
        acc = self.cache.account_for_venue(self._venue)
        return acc.balance_total(self._usdt).as_double()

    def _limit(self, side: int, qty: float, price: float, reduce_only: bool) -> Any:
        """Submit a GTC LIMIT (``side`` +1 buy / −1 sell, ``qty`` base units, ``price`` USDT),
        tagged ``signal``; None when nothing was sent (not trading, below the minimum size,
        refused by the circuit breakers)."""
        if not self._trading:
            return None
        q = self.round_qty(qty)
        if q < self.ctx.min_qty:
            return None
        if self.risk_monitor is not None and not reduce_only:
            q, ro = self._risk_gate(side, q)
            if ro or q < self.ctx.min_qty:
                return None
        o = self.order_factory.limit(
            self.ctx.instrument_id, n3.OrderSide.BUY if side > 0 else n3.OrderSide.SELL,
            self._qty(q), self._px(price), reduce_only=reduce_only, tags=[EXIT_SIGNAL])
        return self._submit(o, EXIT_SIGNAL)

    def _expire_limits(self) -> None:
        """Cancel the resting entry/exit limits that have had their ``expiry_bars`` bars; forget
        the ones that are done (filled or cancelled)."""
        rt = self._rt
        for kind, (cid, placed) in list(self._lims.items()):
            o = self.cache.order(cid)
            rule = rt.entry_limit if kind == "entry" else rt.exit_limit
            if o is None or not o.is_open:
                del self._lims[kind]
            elif self._base_bars - placed >= rule.expiry_bars:
                self.cancel_order(cid)
                del self._lims[kind]
                self.limit_expired += 1
            else:
                continue
            if kind == "entry" and abs(self._pos) < self.ctx.size_increment / 2:
                self._sig = ()

    def _exit_limit(self, c: float) -> None:
        rt = self._rt
        side = -1 if self._pos > 0 else 1  # the closing order's side
        atr = rt.atr_exit_lim.value if rt.atr_exit_lim is not None else NAN
        px = rt.exit_limit.price(side, c, atr, self.ctx.price_increment)
        if px != px:
            return
        cid = self._limit(side, abs(self._pos), px, True)
        if cid is not None:
            self._lims["exit"] = (cid, self._base_bars)

    def _add(self, side: int, c: float) -> None:
        """Pyramiding add-on: a market order of ``size_pct`` % of the first entry's quantity,
        capped by the free margin (initial margin + taker fee, 2 % headroom)."""
        rt = self._rt
        qty = self._first_qty * rt.add_size
        acc = self.cache.account_for_venue(self._venue)
        free = acc.balance_free(self._usdt).as_double()
        qty = min(qty, MARGIN_HEADROOM * free / (1.0 / self.ctx.leverage + TAKER_FEE_RATE) / c)
        if qty <= 0:
            return
        atr_stop = rt.atr_stop.value if rt.atr_stop is not None else NAN
        atr_tp = rt.atr_target.value if rt.atr_target is not None else NAN
        if self.market(side, qty, EXIT_SIGNAL) is not None:
            self._n_entries += 1
            self._add_sig = (side, atr_stop, atr_tp)

    def _enter(self, side: int, price: float) -> None:
        rt = self._rt
        lim = NAN
        if rt.entry_limit is not None:
            atr = rt.atr_entry_lim.value if rt.atr_entry_lim is not None else NAN
            lim = rt.entry_limit.price(side, price, atr, self.ctx.price_increment)
            if lim != lim:
                return
            price = lim  # sized at the limit price
        equity = self._balance()
        atr_stop = rt.atr_stop.value if rt.atr_stop is not None else NAN
        atr_tp = rt.atr_target.value if rt.atr_target is not None else NAN
        atr_size = rt.atr_size.value if rt.atr_size is not None else NAN
        dist = rt.stop.distance(price, atr_stop) if rt.stop is not None else NAN
        qty = rt.sizer.quantity(equity, price, dist, atr_size)
        # The venue's pre-trade check needs initial margin + taker fee ≤ free balance, priced at
        # the last QUOTE (the previous bar's close: this bar's quote arrives after on_bar), so
        # keep MARGIN_HEADROOM for the move between that quote and this close.
        qty = min(qty, MARGIN_HEADROOM * equity / (1.0 / self.ctx.leverage + TAKER_FEE_RATE)
                  / price)
        if qty <= 0:
            return
        self._sig = (side, atr_stop, atr_tp, equity)
        if lim == lim:
            cid = self._limit(side, qty, lim, False)
            if cid is None:
                self._sig = ()
            else:
                self._lims["entry"] = (cid, self._base_bars)
            return
        # (the base class refuses it while an earlier bar's market order is still in flight —
        # with a latency model fills come a bar later — so a decision never acts twice)
        if self.market(side, qty, EXIT_SIGNAL) is None:  # below the minimum size / refused
            self._sig = ()

    def _exit(self, tag: str) -> None:
        self.flatten(tag)

    def on_order_rejected(self, event: Any) -> None:
        super().on_order_rejected(event)
        try:
            step = self.ctx.size_increment / 2
            if (self._stop_id is not None and str(event.client_order_id) == str(self._stop_id)
                    and abs(self.pending_qty) < step and abs(self._pos) >= step):
                # the stop level was already crossed when the order reached the venue (e.g.
                # with latency, or a trailing move): the stop is hit, close at market
                self._stop_id = None
                self._exit(EXIT_STOP)
        except Exception as e:
            self._fail(e, "order rejected")

    def on_position_update(self, event: Any) -> None:
        try:
            kind = type(event).__name__
            if kind == "PositionClosed":
                self._on_closed(event)
                self._last_abs = 0.0
                return
            if kind == "PositionChanged":
                self._on_changed(event)
            else:
                self._on_opened(event)
            self._last_abs = abs(self._pos)
        except Exception as e:
            self._fail(e, "position update")

    def _on_closed(self, event: Any) -> None:
        """The last closed trade for ``last_trade.*``; the open-trade state ends."""
        self._stop_level = NAN
        if self._entry_px != self._entry_px:
            return
        side = 1 if self._entry_side > 0 else -1
        st = self._rt.state
        st.last_trade_pnl_pct = C.profit_pct(side, self._entry_px, float(event.avg_px_close),
                                             TAKER_FEE_RATE)
        st.last_trade_won = 1.0 if st.last_trade_pnl_pct > 0 else 0.0
        self._exit_ts = _to_minute(event.ts_event)
        st.last_trade_bars_since_exit = 0
        if self._rt.pct_trail is not None:
            self._rt.pct_trail.side = 0
        self._entry_px = NAN
        self._n_entries = 0
        self._add_sig = ()
        self._tp_level = NAN
        st.trade_pnl_pct = st.trade_max_pnl_pct = NAN
        st.trade_bars_held = st.trade_minutes_held = NAN

    def _on_opened(self, event: Any) -> None:
        """Entry filled: place the stop and target from the fill price; start the trail."""
        if type(event).__name__ != "PositionOpened" or not self._sig:
            return
        side, atr_stop, atr_tp, equity = self._sig
        self._sig = ()
        self._n_entries = 1
        self._first_qty = abs(self._pos)
        self._in_trade = True
        self._entry_px = float(event.avg_px_open)
        self._entry_ts = _to_minute(event.ts_event)
        self._entry_side = side
        if self._rt.pct_trail is not None:
            self._rt.pct_trail.start(side, self._entry_px)
        self._bal_before = equity
        rt = self._rt
        if rt.trail is not None:
            rt.trail.side = 0  # trailing state never carries over from a previous trade
        entry = float(event.avg_px_open)
        stop_px = None
        if rt.stop is not None:
            stop_px = rt.stop.initial(side, entry, atr_stop)
            if math.isfinite(stop_px) and stop_px > 0:
                self.set_stop_loss(stop_px)
                if rt.trail is not None:
                    rt.trail.start(side, entry, stop_px)
        if rt.target is not None:
            tp = rt.target.price(side, entry, atr_tp, stop_px)
            if math.isfinite(tp) and tp > 0:
                self.set_take_profit(tp)

    def _on_changed(self, event: Any) -> None:
        """The position changed while open (the base class has cancelled the stop and target
        and re-placed the liquidation guard for the new quantity/average price). After an
        add-on fill (pyramiding) the stop and target are recomputed from the new average entry
        price (ATR at the add-on's signal bar) and the trailing stops continue from it; any
        other change (a partial fill) re-places them at their levels for the new quantity."""
        rt = self._rt
        now = abs(self._pos)
        avg = float(event.avg_px_open)
        if now > self._last_abs and self._entry_px == self._entry_px:
            self._entry_px = avg  # the trade's entry price is the average
        if self._add_sig and now > self._last_abs:
            side, atr_stop, atr_tp = self._add_sig
            self._add_sig = ()
            stop_px = None
            if rt.stop is not None:
                stop_px = rt.stop.initial(side, avg, atr_stop)
                if math.isfinite(stop_px) and stop_px > 0:
                    self.set_stop_loss(stop_px)
                    if rt.trail is not None:
                        rt.trail.start(side, avg, stop_px)
            if rt.pct_trail is not None and rt.pct_trail.side != 0:
                rt.pct_trail.entry = avg  # activation measured from the average entry
                rt.pct_trail.level = NAN
            if rt.target is not None:
                tp = rt.target.price(side, avg, atr_tp, stop_px)
                if math.isfinite(tp) and tp > 0:
                    self.set_take_profit(tp)
            return
        if self._stop_level == self._stop_level:
            self.set_stop_loss(self._stop_level)
        if self._tp_level == self._tp_level:
            self.set_take_profit(self._tp_level)

    def set_take_profit(self, price: float):
        cid = super().set_take_profit(price)
        self._tp_level = price if cid is not None else NAN
        return cid

    def set_stop_loss(self, price: float):
        cid = super().set_stop_loss(price)
        self._stop_level = price if cid is not None else NAN
        return cid

    def _pct_trail(self, h: float, l: float, c: float) -> None:
        """Percentage trailing stop (``trailing_stop``): move the resting stop to the trail
        level once active, if that is tighter than the current stop; a close already beyond
        it exits at that close (``stop_loss``)."""
        tr = self._rt.pct_trail
        if tr.side == 0:
            return
        new = tr.update(h, l)
        if new is None:
            return
        cur = self._stop_level
        if cur == cur and (new - cur) * tr.side <= 0:
            return  # the existing stop is tighter
        if (new - c) * tr.side >= 0:
            self._exit(EXIT_STOP)
            return
        self.set_stop_loss(new)

    def _trail(self, h: float, l: float, c: float) -> None:
        tr = self._rt.trail
        if tr is None or tr.side == 0:
            return
        new = tr.update(h, l, self._rt.atr_stop.value)
        if new is None or new <= 0:
            return
        if (new - c) * tr.side >= 0:
            # the bar came back through the new level: a resting stop there would be "in the
            # market" (rejected); the stop is hit at this close
            self._exit(EXIT_STOP)
            return
        self.set_stop_loss(new)


def _to_minute(ts: Any) -> int:
    """A fill time floored to the whole minute, the trade clock's origin. Bars close on whole
    minutes; a market order sent at a close fills at that close + the order's latency (the
    validation presets: 1-200 ms), and counting from the stamped time would make
    ``trade.bars_held`` / ``last_trade.bars_since_exit`` one short at every later close
    (``max_bars`` and the ``roi`` steps a bar late)."""
    return int(ts) // NS_PER_MINUTE * NS_PER_MINUTE


class SingleTimeframeStrategy(DSLStrategy):
    """:class:`DSLStrategy` for specs without higher-timeframe indicators: no bar routing
    (``on_bar`` is the base class's), which saves a Python call per bar."""

    on_bar = VQStrategy.on_bar
