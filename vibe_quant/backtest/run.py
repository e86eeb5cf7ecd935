"""``run_backtest``: one strategy over one symbol on the simulated Binance USDⓈ-M venue.

Engine: NautilusTrader 1.231's Rust (PyO3) ``BacktestEngine``. Every run:

1. builds the venue (NETTING, MARGIN, USDT, leverage, maker/taker fees, bracket margins,
   ``StandardMarginModel``, liquidation on) and the instrument (:mod:`.venue`);
2. feeds bars + one close quote per bar + funding updates (:mod:`.marketdata`);
3. runs the strategy (a :class:`~vibe_quant.strategy.base.VQStrategy`), which closes any
   position on the final bar (exit reason ``end_of_data``);
4. replays the fill log and funding into trades, equity and metrics, and reconciles the replay
   with the engine's final balance.

Window: ``start``/``end`` are ISO dates/datetimes (UTC), datetimes or epoch ns. A date-only
``end`` includes that whole day. The run trades bars with ``start < close_ts ≤ end``;
``warmup_bars`` earlier bars are fed for indicators only.

Determinism: no randomness unless the preset's fill model draws; models get ``seed``. A fresh
engine per run, or :class:`BacktestSession` re-running after ``reset()``, gives identical fills.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from nautilus_trader.core import nautilus_pyo3 as n3
from nautilus_trader.core.nautilus_pyo3.backtest import BacktestEngine, BacktestEngineConfig

from vibe_quant.backtest.equity import equity_curve, replay
from vibe_quant.backtest.ledger import funding_payments
from vibe_quant.backtest.marketdata import (
    MarketData,
    execution_check,
    informative_stream,
    load_market_data,
    strategy_bar_types,
)
from vibe_quant.backtest.metrics import compute_metrics
from vibe_quant.backtest.models.presets import resolve_preset
from vibe_quant.backtest.result import BacktestResult
from vibe_quant.backtest.trades import build_trades
from vibe_quant.backtest.venue import (
    LIQUIDATION_TAG,
    VENUE_NAME,
    BacktestConfigError,
    FidelityPreset,
    LiquidationBook,
    VenueSettings,
    add_venue,
    liquidation_fill_model,
)
from vibe_quant.core import errors
from vibe_quant.core.intervals import interval_ms
from vibe_quant.strategy.base import NextBarRange, RunContext, VQStrategy
from vibe_quant.strategy.runtime.vector import BarArrays

# With RUST_BACKTRACE=1 in the environment, Nautilus 1.231 captures a std backtrace for errors it
# creates and drops on its order paths: ≈ 12 % of an order-heavy run (issue 15, measured). Library
# backtraces are off unless asked for (RUST_LIB_BACKTRACE); panics still print theirs.
os.environ.setdefault("RUST_LIB_BACKTRACE", "0")


class ExecutionClock(n3.DataActor):
    """With finer execution bars: tells the run's :class:`LiquidationBook` which execution bar
    was seen last (the strategy only sees its own, coarser bars), so a stop that gaps through
    is priced at the open of the execution bar being walked. Added before the strategy."""

    def __new__(cls, *a: Any, **k: Any):
        return super().__new__(cls)

    def __init__(self, bar_type: str, book: LiquidationBook) -> None:
        super().__init__(n3.DataActorConfig(actor_id=n3.ActorId("VQ-EXECCLOCK"),
                                            log_events=False, log_commands=False))
        self.bar_type = bar_type
        self.book = book

    def on_start(self) -> None:
        self.subscribe_bars(n3.BarType.from_str(self.bar_type))

    def on_bar(self, bar: Any) -> None:
        self.book.bar_ts = int(bar.ts_event)


class StrategyRunError(errors.StrategyRunError, RuntimeError):
    """The strategy raised during the run (the engine itself would only have logged it); still
    a ``RuntimeError``."""


class BacktestDataError(errors.DataError, ValueError):
    """The bars of a run are missing, too few or do not fit the window; still a
    ``ValueError``."""


#: What a run is given to build its strategy: a :class:`VQStrategy` subclass or a callable
#: ``(ctx, params) -> VQStrategy`` (e.g. a compiled DSL strategy). Not the DSL's
#: :class:`vibe_quant.dsl.models.StrategySpec` (the parsed YAML document).
StrategyFactory = type[VQStrategy] | Callable[[RunContext, dict[str, Any]], VQStrategy]

DEFAULT_BALANCE = 10_000.0


def to_ns(value: Any, *, end: bool = False) -> int:
    """UTC epoch ns from an ISO string, date, datetime (naive = UTC) or int ns.

    With ``end=True`` a date-only value means the END of that day (next midnight).
    """
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10:  # YYYY-MM-DD
            value = date.fromisoformat(text)
        else:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp()) * 1_000_000_000 + value.microsecond * 1_000
    if isinstance(value, date):
        d = datetime(value.year, value.month, value.day, tzinfo=UTC)
        if end:
            d += timedelta(days=1)
        return int(d.timestamp()) * 1_000_000_000
    raise TypeError(f"cannot convert {value!r} to a UTC timestamp")


def _breaker_config(risk: Any) -> Any:
    """``None`` / a ``BreakerConfig`` / a dict of its fields -> ``BreakerConfig`` or None (off)."""
    if risk is None:
        return None
    from vibe_quant.risk.breakers import BreakerConfig

    cfg = risk if isinstance(risk, BreakerConfig) else BreakerConfig.model_validate(dict(risk))
    return cfg if cfg.enabled else None


def strategy_name(spec: Any) -> str:
    """The run's strategy name: ``spec.name``, else its ``__name__``, else its type's name."""
    return str(getattr(spec, "name", None) or getattr(spec, "__name__", None)
               or type(spec).__name__)


class BacktestSession:
    """An engine loaded with one data window; run strategies on it repeatedly.

    The first :meth:`run` uses the fresh engine; later ones call ``engine.reset()`` and swap the
    strategy (about 3× cheaper than rebuilding; identical results — measured on 1.231).
    """

    def __init__(
        self,
        data: MarketData,
        *,
        trade_start_ns: int,
        mode: str | FidelityPreset = "screening",
        leverage: float = 1.0,
        starting_balance: float = DEFAULT_BALANCE,
        seed: int = 0,
        liquidation_guard: bool = True,
        risk: Any = None,
        execution: MarketData | None = None,
        informative: dict[str, MarketData] | None = None,
    ) -> None:
        if len(data.bars) < 2:
            raise BacktestDataError(
                f"not enough bars for {data.symbol} {data.interval}: {len(data.bars)}",
                symbol=data.symbol, interval=data.interval)
        self.data = data
        #: the bars the exchange walks: ``data`` itself, or finer bars of the same period
        #: (:func:`vibe_quant.backtest.marketdata.execution_check`); the strategy's own bars are
        #: then aggregated from them inside Nautilus (INTERNAL bar type)
        self.execution = execution if execution is not None else data
        #: other symbols' bars fed as data only (DSL ``informative`` series): symbol -> bars at
        #: the strategy's interval; their instruments are added, nothing trades them
        self.informative = dict(informative or {})
        if execution is not None and (execution.symbol != data.symbol
                                      or execution.interval_ns >= data.interval_ns
                                      or data.interval_ns % execution.interval_ns):
            raise BacktestDataError(f"execution bars {execution.symbol} {execution.interval} must "
                                    f"be a finer interval dividing {data.symbol} {data.interval}")
        #: the fidelity preset of every run of this session (its ``name`` is the run's mode)
        self.preset = resolve_preset(mode)
        self.mode = self.preset.name
        self.seed = int(seed)
        self.settings = VenueSettings.for_run(data.symbol, starting_balance, leverage)
        self.instrument = self.settings.instrument(data.instrument)
        self.trade_start_ns = int(trade_start_ns)
        self.liquidation_guard = liquidation_guard
        self.risk = _breaker_config(risk)
        # shared by the strategy and the fill model: prices liquidation clearance (venue.py)
        self.liquidations = LiquidationBook(self.execution.close_ts, self.execution.open_,
                                            self.settings.liquidation_fee)
        #: Nautilus's backstop liquidation check (SPEC §3 "Liquidation") is left off where the
        #: isolated-LP guard provably fills first: guard on, no latency (the guard rests from the
        #: engine step of the fill), no circuit breakers, the strategy's own bars. Each such run
        #: is then checked (:func:`backstop_could_fire`) and re-run with the backstop on when
        #: its precondition failed, so the fills are always those of a backstop-on run.
        self.backstop = not (liquidation_guard and self.preset.latency_model is None
                             and self.risk is None and execution is None)
        self.backstop_reruns = 0
        self.hold_back_reruns = 0
        #: the venue's Python fill model (:class:`~vibe_quant.backtest.venue.LiquidationFillModel`)
        #: prices nothing but liquidation orders (the isolated-LP guard, the backstop's
        #: ``LIQUIDATION-…``): every other order it hands back to the engine, which is what
        #: the engine does with no fill model. Without a preset fill model to wrap, a run
        #: starts with the engine's own model (the engine calls a Python model for every fill:
        #: ≈ 5–10 % of an order-heavy screening run, SPEC §3) and, if any liquidation order
        #: filled, is run again with the clearance model (:attr:`clearance_reruns`), so the
        #: fills are always those of a clearance-model run.
        self.clearance = self.preset.fill_model is not None
        self.clearance_reruns = 0
        #: protective orders are held back until a price can reach them
        #: (:class:`~vibe_quant.strategy.base.NextBarRange`) where the exchange moves only on
        #: the bars in ``data``, deterministically: no latency, the preset's own fill model and
        #: venue add-ons absent, the strategy's bars walked, no circuit breakers (they read the
        #: open orders). Fills, order ids and the order log equal sending every order at once.
        self.hold_back = (self.preset.latency_model is None and self.preset.fill_model is None
                          and self.preset.attach is None and self.risk is None
                          and execution is None)
        self._next_range: NextBarRange | None = None
        self._bar_arrays: BarArrays | None = None
        self._engine: Any = None
        self._used = False
        self._spec: Any = None
        self._strategy: Any = None

    def _build(self) -> Any:
        cfg = BacktestEngineConfig(
            # The kernel logs a harmless "READY -> INITIALIZE" ERROR (with a backtrace) on every
            # reset() re-run (docs/engine-spike.md); strategy errors are raised by us instead.
            logging=n3.LoggerConfig(stdout_level=n3.LogLevel.ERROR, print_config=False,
                                    component_levels={"nautilus_system::kernel": "OFF"}),
        )
        eng = BacktestEngine(cfg)
        add_venue(eng, self.settings, self.preset, self.seed,
                  self.liquidations if self.clearance else None,
                  backstop=self.backstop)
        eng.add_instrument(self.instrument)
        if self.execution is not self.data:
            eng.add_actor(ExecutionClock(self.execution.bar_type, self.liquidations))
        # sort=True is a stable sort on ts_init: the stream order at equal timestamps is kept.
        eng.add_data(self.execution.engine_stream(self.instrument.size_precision), sort=True)
        for sym, md in sorted(self.informative.items()):
            if sym == self.data.symbol:
                continue  # the traded symbol's own bars are already fed
            eng.add_instrument(VenueSettings.for_run(sym, self.settings.starting_balance, 1.0)
                               .instrument(md.instrument))
            # after the traded bars: at equal ts_init the stable sort keeps them later
            eng.add_data(informative_stream(md), sort=True)
        return eng

    def context(self, *, hold_back: bool = False) -> RunContext:
        """The :class:`RunContext` of a strategy on this session's engine; ``hold_back``: its
        protective orders may be held back (``next_range``; :meth:`run` asks for it when
        :attr:`hold_back` allows — a strategy added by hand may share the engine with others,
        whose orders at the same price must keep their time priority)."""
        inst = self.instrument
        bar_type, subscription = strategy_bar_types(self.data, self.execution)
        return RunContext(
            symbol=self.data.symbol,
            instrument_id=inst.id,
            bar_type=n3.BarType.from_str(bar_type),
            bar_subscription=(n3.BarType.from_str(subscription) if subscription is not None
                              else None),
            trade_start_ns=self.trade_start_ns,
            # With a latency model an order is matched at its arrival after the bar it was sent
            # on (SPEC §8; the validation BarFeed's arrival alerts), so the end-of-data close is
            # sent on the second-to-last strategy bar to fill inside the data.
            last_bar_ns=int(self.data.close_ts[-2 if self.preset.latency_model else -1]),
            leverage=self.settings.leverage,
            starting_balance=self.settings.starting_balance,
            price_increment=inst.price_increment.as_double(),
            size_increment=inst.size_increment.as_double(),
            price_precision=inst.price_precision,
            size_precision=inst.size_precision,
            min_qty=(inst.min_quantity.as_double() if inst.min_quantity is not None
                     else inst.size_increment.as_double()),
            liquidation_guard=self.liquidation_guard,
            risk=self.risk,
            bar_interval_ns=interval_ms(self.data.interval) * 1_000_000,
            liquidations=self.liquidations,
            next_range=self.next_range() if hold_back and self.hold_back else None,
            run_order_ids=True,
            bar_arrays=self.bar_arrays() if self.execution is self.data else None,
        )

    def bar_arrays(self) -> BarArrays:
        """The strategy's bars as arrays (built once; compiled conditions are evaluated over
        them before the run: :mod:`vibe_quant.strategy.runtime.vector`)."""
        if self._bar_arrays is None:
            self._bar_arrays = BarArrays.from_bars(self.data.bars)
        return self._bar_arrays

    def next_range(self) -> NextBarRange:
        """The session's :class:`~vibe_quant.strategy.base.NextBarRange` (built once)."""
        if self._next_range is None:
            d = self.data
            ba = self.bar_arrays()
            self._next_range = NextBarRange(d.close_ts, d.close, ba.fields["high"],
                                            ba.fields["low"],
                                            self.instrument.price_increment.as_double())
        return self._next_range

    def run(self, strategy_spec: StrategyFactory, params: dict[str, Any] | None = None
            ) -> BacktestResult:
        """Run one strategy with ``params``; returns its :class:`BacktestResult`.

        Re-running the same ``strategy_spec`` reuses the engine: ``reset()`` then the SAME
        strategy instance with the new params (its ``on_reset`` rebuilds its state). Swapping in
        a new strategy instance after ``reset()`` is not reliable on 1.231 (the old one keeps
        trading), so a different spec gets a fresh engine.
        """
        params = dict(params or {})
        ctx = self.context(hold_back=True)  # the engine's only strategy
        if self._engine is not None and self._used and strategy_spec is self._spec:
            strat = self._strategy
            self._engine.reset()  # logs a harmless "READY -> INITIALIZE" state-trigger ERROR
            if self.preset.fill_model is not None:
                # reset() does not reseed a fill model's RNG: install a freshly seeded one.
                self._engine.change_fill_model(
                    n3.Venue(VENUE_NAME),
                    liquidation_fill_model(self.liquidations,
                                           self.preset.fill_model(self.seed)))
            strat.params = params
        else:
            self.dispose()
            self._engine = self._build()
            strat = strategy_spec(ctx, params)
            if not isinstance(strat, VQStrategy):
                raise TypeError(
                    f"strategy spec must build a VQStrategy, got {type(strat).__name__}")
            self._engine.add_strategy(strat)
            self._spec, self._strategy = strategy_spec, strat
        eng = self._engine
        self.liquidations.reset()
        strat.strategy_error = None
        t0 = time.perf_counter()
        eng.run()
        elapsed = time.perf_counter() - t0
        self._used = True
        if strat.strategy_error is not None:
            raise StrategyRunError(strat.strategy_error)
        if strat.hold_back_unsure:
            # a held-back order was cancelled in the engine step it was decided in while,
            # sent at once, the engine might have denied it (no position open, or a market
            # order of the strategy still in flight): not provably what sending it at once
            # gives (VQStrategy.hold_back_unsure); again with every order sent at once
            self.hold_back_reruns += 1
            return self._rerun(strategy_spec, params, "hold_back", False)
        if not self.clearance and any(f.tag == LIQUIDATION_TAG for f in strat.fills):
            # a liquidation filled at the engine's price: again with the clearance model
            self.clearance_reruns += 1
            return self._rerun(strategy_spec, params, "clearance", True)
        usdt = n3.Currency.from_str("USDT")
        account = eng.cache.account_for_venue(n3.Venue(VENUE_NAME))
        engine_balance = account.balance_total(usdt).as_double()
        fills = strat.fills
        # funding and the ledger replay once, for the backstop check and the result
        pays = funding_payments(fills, self.data, ctx.size_precision)
        ledger = replay(fills, pays, ctx.starting_balance)
        if not self.backstop and backstop_could_fire(
                fills, pays, self.settings.starting_balance, self.settings.leverage, ledger):
            # the guard alone is not provably first here: this run again with the backstop on
            self.backstop_reruns += 1
            return self._rerun(strategy_spec, params, "backstop", True)
        return assemble_result(
            strategy=strategy_name(strategy_spec),
            data=self.data,
            ctx=ctx,
            mode=self.mode,
            params=params,
            seed=self.seed,
            fills=list(fills),
            denied=list(strat.denied),
            engine_balance=engine_balance,
            elapsed=elapsed,
            risk_events=strat.risk_events,
            orders=strat.order_log,  # an OrderLog: records built on first read
            risk_blocked_entries=(strat.risk_monitor.blocked_entries
                                  if strat.risk_monitor is not None else 0),
            execution_interval=self.execution.interval,
            pays=pays,
            ledger=ledger,
        )

    def _rerun(self, strategy_spec: StrategyFactory, params: dict[str, Any], setting: str,
               value: bool) -> BacktestResult:
        """The same run on a fresh engine with the session attribute ``setting`` = ``value``
        (restored afterwards; the next run builds a fresh engine again)."""
        was = getattr(self, setting)
        self.dispose()
        setattr(self, setting, value)
        try:
            return self.run(strategy_spec, params)
        finally:
            self.dispose()
            setattr(self, setting, was)

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._used = False
        self._spec = self._strategy = None


def backstop_could_fire(fills: list, pays: list, starting_balance: float,
                        leverage: float, ledger: tuple | None = None) -> bool:
    """Whether Nautilus's backstop liquidation might have acted in a run made without it.

    The backstop closes a position when ``balance + unrealized ≤ m × Q × EP`` (m = MMR₁ ×
    (1 − 1/leverage)); with the isolated-LP guard resting it cannot fire before the guard
    while the wallet balance is at least the position's isolated margin ``Q × EP / leverage``
    (SPEC §3 "Liquidation"). This replays the engine's balance (start + realized PnL −
    commissions + liquidation adjustments + funding, USDT) over ``fills`` and ``pays`` (funding
    at an instant before the fills stamped with it; :func:`vibe_quant.backtest.equity.replay`,
    or its result ``ledger``) and returns True when, at any event with a position open,
    balance < isolated margin (with 1e-9 relative slack).
    """
    _, bal, pos, avg = ledger if ledger is not None else replay(fills, pays, starting_balance)
    if len(bal) == 0:
        return False
    return bool(np.any((pos != 0.0)
                       & (bal < np.abs(pos) * avg / float(leverage) * (1.0 + 1e-9))))


def assemble_result(
    *, strategy: str, data: MarketData, ctx: RunContext, mode: str, params: dict[str, Any],
    seed: int, fills: list, denied: list, engine_balance: float, elapsed: float,
    risk_events: list | None = None, orders: Any = None, risk_blocked_entries: int = 0,
    execution_interval: str = "", pays: list | None = None, ledger: tuple | None = None,
) -> BacktestResult:
    """Trades, equity, metrics and reconciliation from a finished run's fill log (``pays`` /
    ``ledger``: its funding payments and :func:`~vibe_quant.backtest.equity.replay`, when
    already computed; the replay's :class:`~vibe_quant.backtest.trades.Ledger` holds the
    trades too, so fills and funding are walked once)."""
    if pays is None:
        pays = funding_payments(fills, data, ctx.size_precision)
    if ledger is None:
        ledger = replay(fills, pays, ctx.starting_balance)
    if isinstance(ledger, tuple):  # a plain (ts, balance, position, avg) tuple
        trades, open_trade = build_trades(fills, pays)
        fees, tags = sum(f.commission for f in fills), [f.tag for f in fills]
    else:  # walked once: trades, Σ commission (fill order) and the fills' tags
        trades, open_trade, fees, tags = (ledger.trades, ledger.open_trade, ledger.fees,
                                          ledger.fill_tags)
    if open_trade is not None:  # cannot happen unless the final close was denied
        denied = denied + [(int(data.close_ts[-1]), "position still open at end of data")]
    curve = equity_curve(data.close_ts, data.close, fills, pays, ctx.starting_balance,
                         ctx.trade_start_ns, ledger=ledger)
    daily = curve.daily()
    column = getattr(pays, "column", None)  # a FundingList: no FundingPayment objects built
    funding = sum(column("amount") if column is not None else (p.amount for p in pays))
    liq_fees = sum(trades.column("liquidation_fee"))  # a TradeList: no Trade objects built
    absorbed = sum(trades.column("insurance_fund_absorbed"))
    ledger_balance = (ctx.starting_balance + sum(trades.column("realized_pnl")) - fees + funding
                      - liq_fees + absorbed)
    if open_trade is not None:
        # realized by partial exits; fees/funding above
        ledger_balance += (open_trade.gross - open_trade.liq_fee
                           + open_trade.insurance)
    warnings: list[str] = []
    if ctx.liquidations is not None and "liquidation" in tags and any(
            f.tag == "liquidation" and f.order_id not in ctx.liquidations.fills for f in fills):
        # a preset's engine-native fill model could not be wrapped (venue.liquidation_fill_model)
        warnings.append("liquidation clearance fee not charged: the preset's fill model is "
                        "engine-native and cannot be wrapped")
    if absorbed > 0:
        warnings.append(f"insurance fund absorbed {absorbed:.8f} USDT of liquidation losses "
                        "beyond the isolated margin (fills beyond the bankruptcy price)")
    metrics = compute_metrics(curve.ts, curve.equity, daily.to_numpy(), curve.position, trades,
                              fees, funding)
    return BacktestResult(
        strategy=strategy, symbol=data.symbol, interval=data.interval, mode=mode, params=params,
        seed=seed, leverage=ctx.leverage, starting_balance=ctx.starting_balance,
        start_ns=ctx.trade_start_ns, end_ns=int(data.close_ts[-1]), fills=fills, trades=trades,
        funding_payments=pays, equity=curve, daily_equity=daily, metrics=metrics,
        engine_balance=engine_balance, ledger_balance=ledger_balance, denied=denied,
        bars=len(data.close_ts) - int(np.searchsorted(data.close_ts, ctx.trade_start_ns,
                                                      side="right")), elapsed_s=elapsed,
        risk_events=list(risk_events or []), orders=orders if orders is not None else [],
        risk_blocked_entries=int(risk_blocked_entries), warnings=warnings,
        execution_interval=execution_interval or data.interval,
    )


def _informative(strategy_spec: Any, given: dict[str, MarketData] | None, data_dir: Any,
                 interval: str, feed_start: int, end_ns: int) -> dict[str, MarketData]:
    """Bars of the strategy's informative symbols for ``(feed_start, end_ns]``
    (:class:`BacktestDataError` when one is missing)."""
    out: dict[str, MarketData] = {}
    for sym in getattr(strategy_spec, "informative_symbols", ()) or ():
        md = (given or {}).get(sym)
        if md is None:
            if data_dir is None:
                raise BacktestConfigError(f"the strategy reads {sym} bars (informative): pass "
                                          "informative_data or data_dir", symbol=sym)
            md = load_market_data(data_dir, sym, interval, feed_start, end_ns)
        md = md.slice(feed_start, end_ns)
        if md.interval != interval or len(md.bars) == 0:
            raise BacktestDataError(f"informative {sym}: need {interval} bars in the window, got "
                                    f"{len(md.bars)} {md.interval} bars; run vibe-quant data "
                                    f"ingest --symbols {sym}", symbol=sym, interval=interval)
        out[sym] = md
    return out


def run_backtest(
    strategy_spec: StrategyFactory,
    symbol: str,
    start: Any,
    end: Any,
    mode: str | FidelityPreset = "screening",
    params: dict[str, Any] | None = None,
    *,
    data_dir: Any = None,
    data: MarketData | None = None,
    interval: str = "5m",
    leverage: float = 1.0,
    starting_balance: float = DEFAULT_BALANCE,
    seed: int = 0,
    warmup_bars: int = 0,
    liquidation_guard: bool = True,
    risk: Any = None,
    execution_data: MarketData | None = None,
    informative_data: dict[str, MarketData] | None = None,
) -> BacktestResult:
    """Run ``strategy_spec`` on ``symbol`` over ``(start, end]`` and return the full result.

    Args:
        strategy_spec: a :class:`VQStrategy` subclass, or a callable ``(ctx, params) -> VQStrategy``
            (e.g. a compiled DSL strategy); its ``name`` attribute names the run.
        symbol: Binance symbol, e.g. ``"BTCUSDT"``.
        start, end: window (see module docstring).
        mode: fidelity preset: ``"screening"``, ``"validation"`` (default
            :class:`~vibe_quant.backtest.models.presets.ValidationSettings`) or a
            :class:`~vibe_quant.backtest.venue.FidelityPreset` value (e.g.
            ``validation_preset(settings)``); the result's ``mode`` is its name.
        params: strategy parameters (JSON-serialisable values).
        data_dir: :class:`vibe_quant.core.paths.DataDir` whose catalog provides the data, or
        data: already loaded :class:`MarketData` (sliced to the window here).
        interval: bar interval (``"5m"``…).
        leverage: account leverage (initial margin 1/leverage); capped by Binance's brackets.
        starting_balance: USDT.
        seed: seed handed to the preset's fill/latency models.
        warmup_bars: bars before ``start`` fed for indicator warm-up only.
        liquidation_guard: place the Binance isolated-LP stop on each position.
        risk: circuit breakers — a :class:`vibe_quant.risk.breakers.BreakerConfig`, a dict of
            its fields, or None (off; the default). See ``SPEC.md §9``.
        execution_data: finer bars of the same symbol (e.g. 1m under a 5m strategy) for the
            exchange to walk; sliced to the fed window here and checked with
            :func:`vibe_quant.backtest.marketdata.execution_check` (BacktestDataError when they
            do not cover it). The strategy's bars are then aggregated from them inside Nautilus, so
            its decisions equal a run on ``data``; fills, stops and limits happen on the finer
            path. None = the strategy's own bars (screening).
        informative_data: symbol -> bars at ``interval`` of the other symbols the strategy
            reads as data (``strategy_spec.informative_symbols``, DSL ``informative``); loaded
            from ``data_dir`` for the fed window when not given.

    Raises:
        BacktestConfigError (a ``ValueError``): bad window, leverage, balance or mode; neither
            ``data`` nor ``data_dir``; ``data`` of another symbol.
        BacktestDataError (a ``ValueError``): too few bars, execution or informative bars that
            do not cover the window. MissingDataError: bars not in the catalog.
        StrategyRunError (a ``RuntimeError``): the strategy raised during the run.
    """
    start_ns, end_ns = to_ns(start), to_ns(end, end=True)
    if end_ns <= start_ns:
        raise BacktestConfigError("end must be after start", start=start, end=end)
    if data is not None and data.interval != interval:
        interval = data.interval
    feed_start = start_ns - max(0, int(warmup_bars)) * interval_ms(interval) * 1_000_000
    if data is None:
        if data_dir is None:
            raise BacktestConfigError("pass data_dir or data")
        data = load_market_data(data_dir, symbol, interval, feed_start, end_ns)
    else:
        if data.symbol != symbol:
            raise BacktestConfigError(f"data is for {data.symbol}, not {symbol}", symbol=symbol)
        data = data.slice(feed_start, end_ns)
    execution = None
    if execution_data is not None:
        execution = execution_data.slice(feed_start, end_ns)
        ok, note = execution_check(data, execution)
        if not ok:
            raise BacktestDataError(note, symbol=symbol)
    session = BacktestSession(
        data, trade_start_ns=start_ns, mode=mode, leverage=leverage,
        starting_balance=starting_balance, seed=seed, liquidation_guard=liquidation_guard,
        risk=risk, execution=execution,
        informative=_informative(strategy_spec, informative_data, data_dir, interval,
                                 feed_start, end_ns),
    )
    try:
        return session.run(strategy_spec, params)
    finally:
        session.dispose()
