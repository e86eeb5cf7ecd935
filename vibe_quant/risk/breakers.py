"""Circuit breakers evaluated inside the simulation (and, unchanged, in paper trading).

:class:`BreakerConfig` holds the thresholds; :class:`RiskMonitor` is a plain-Python state machine
that :class:`vibe_quant.strategy.base.VQStrategy` feeds with its own fills, funding payments
and bar closes, and asks before every exposure-increasing order. Rules (see ``SPEC.md §9``
for the full text):

Strategy level (equity of THIS strategy, from its own ledger)::

    E = starting_balance + Σ realized gross PnL − Σ commissions + Σ funding + q × (close − avg)

the same marked-to-market equity as :mod:`vibe_quant.backtest.equity` (``result.equity``).

* ``max_drawdown`` (fraction): trip when ``E ≤ (1 − max_drawdown) × peak``, ``peak`` = max of the
  starting balance and the end-of-bar equities of every EARLIER bar of the run. Action: flatten
  (reduce-only market, tag ``risk_halt``) and refuse every later entry (halt for the rest of
  the run).
* ``daily_loss`` (fraction): trip when ``E ≤ (1 − daily_loss) × day_start``; ``day_start`` = the
  end-of-bar equity of the last bar of the previous UTC day (a bar belongs to the day of
  ``close_ts − 1 ns``), or the starting balance on the first day. Action: flatten; no entries until
  the first bar of the next UTC day.
* ``consecutive_losses`` (N trades) + ``cooldown_bars`` / ``cooldown_minutes``: when the N-th
  losing round trip in a row closes (net PnL < 0, the net PnL of :mod:`vibe_quant.backtest.trades`),
  no entries on bars with ``close_ts ≤ trip_ts + cooldown`` (cooldown = bars × bar interval, or
  minutes); the streak restarts at 0. A position opened by the same (flip) fill is flattened.

Portfolio level (all positions of the account in the engine's cache, every strategy)::

    E_acct = account balance (Nautilus: realized, after fees and funding)
             + Σ_positions q × (mark − avg)

with ``mark`` = this strategy's bar close for its instrument, else the cached quote midpoint.

* ``max_exposure`` (multiple): an order that would make ``Σ |q| × mark > max_exposure × E_acct``
  is not sent (event ``risk_deny``).
* ``max_positions`` (count): an order that would open a position while ``max_positions``
  positions are open (all instruments, all strategies) is not sent (event ``risk_deny``).
* ``portfolio_max_drawdown`` (fraction): trip when ``E_acct ≤ (1 − x) × peak_acct``, ``peak_acct``
  = max of the starting balance and every earlier evaluation; action as ``max_drawdown``.

Evaluation points (all inside the engine run): (1) every bar close of the strategy's bar type,
BEFORE the strategy's ``handle_bar``; (2) after every funding payment aligned with that bar's
close; (3) after every fill of this strategy that happens at the current bar's close (orders sent
in ``handle_bar``, Nautilus liquidations). Together these see the end-of-bar state of every bar,
so a strategy-level trip happens at the first bar whose end-of-bar equity crosses the limit (the
state ``result.equity`` reports). Bar-path fills (stops, take-profits, the liquidation stop) are
applied when they happen and checked at that bar's close (point 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import Field, model_validator

from vibe_quant.core.config import FrozenConfig
from vibe_quant.core.errors import ConfigError
from vibe_quant.core.intervals import NS_PER_DAY

RULE_MAX_DD = "max_drawdown"
RULE_DAILY = "daily_loss"
RULE_STREAK = "consecutive_losses"
RULE_PORT_DD = "portfolio_max_drawdown"
RULE_EXPOSURE = "max_exposure"
RULE_POSITIONS = "max_positions"
RULES = (RULE_MAX_DD, RULE_DAILY, RULE_STREAK, RULE_PORT_DD, RULE_EXPOSURE, RULE_POSITIONS)

EXIT_RISK = "risk_halt"  # exit-reason tag of the flattening order of a trip


class BreakerConfigError(ConfigError, ValueError):
    """Inconsistent breaker settings (e.g. a loss streak without a cooldown); still a
    ``ValueError`` (pydantic reports it inside its ``ValidationError``)."""


class BreakerConfig(FrozenConfig):
    """Thresholds (a frozen config); every field ``None`` (default) = that breaker off. Units
    as named: fractions are plain fractions (``0.1`` = 10 %), NOT percents.

    Raises (construction):
        pydantic ``ValidationError`` (a ``ValueError``): a value out of range, an unknown key,
            or a :class:`BreakerConfigError` (streak and cooldown not given together).
    """

    max_drawdown: float | None = Field(
        None, gt=0, lt=1, description="strategy equity drawdown from its peak, fraction")
    daily_loss: float | None = Field(
        None, gt=0, lt=1, description="loss vs the UTC day's starting equity, fraction")
    consecutive_losses: int | None = Field(
        None, ge=1, le=10_000, description="losing round trips in a row that start a pause")
    cooldown_bars: int | None = Field(
        None, ge=0, le=10_000_000, description="pause length in base bars")
    cooldown_minutes: float | None = Field(
        None, ge=0, le=525_600 * 10, description="pause length in minutes")
    max_exposure: float | None = Field(
        None, gt=0, le=1000, description="cap on Σ|notional| / account equity (multiple)")
    max_positions: int | None = Field(
        None, ge=1, le=10_000, description="max open positions in the account")
    portfolio_max_drawdown: float | None = Field(
        None, gt=0, lt=1, description="account equity drawdown from its peak, fraction")

    @model_validator(mode="after")
    def _cooldown(self) -> BreakerConfig:
        if self.consecutive_losses is not None:
            if (self.cooldown_bars is None) == (self.cooldown_minutes is None):
                raise BreakerConfigError(
                    "consecutive_losses needs exactly one of cooldown_bars / cooldown_minutes")
        elif self.cooldown_bars is not None or self.cooldown_minutes is not None:
            raise BreakerConfigError("cooldown_bars / cooldown_minutes need consecutive_losses")
        return self

    @property
    def enabled(self) -> bool:
        """Whether any breaker is on (some field is not ``None``)."""
        return any(v is not None for v in self.model_dump().values())

    @property
    def portfolio_level(self) -> bool:
        """Whether an account-level rule is on (exposure, positions, portfolio drawdown)."""
        return (self.max_exposure is not None or self.max_positions is not None
                or self.portfolio_max_drawdown is not None)


@dataclass
class RiskEvent:
    """One breaker event.

    Attributes:
        ts: UTC epoch ns (the bar close / fill / funding time at which it happened).
        kind: ``risk_trip`` (a breaker tripped), ``risk_deny`` (an entry refused by the exposure
            cap or max positions), ``risk_blocked`` (first entry refused during a halt/pause).
        rule: one of :data:`RULES`.
        scope: ``strategy`` or ``portfolio``.
        action: ``halt`` (rest of run), ``pause`` (until ``until_ns``), ``deny``.
        equity: the equity the rule compared (USDT; strategy or account equity per ``scope``).
        reference: peak / day-start equity (USDT), exposure limit (USDT) or open positions.
        value: drawdown or loss (fraction), Σ|notional| after the order (USDT), positions count,
            or losing trades in a row.
        threshold: the configured limit (config units).
        until_ns: end of a pause (entries allowed on bars with close_ts > until_ns), else None.
        detail: extra JSON-able facts (order side/qty, blocked reason…).
    """

    ts: int
    kind: str
    rule: str
    scope: str
    action: str
    equity: float
    reference: float
    value: float
    threshold: float
    until_ns: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Trade:
    __slots__ = ("sign", "pos", "avg", "fees", "funding", "gross")

    def __init__(self, sign: int, qty: float, px: float, fee: float) -> None:
        self.sign, self.pos, self.avg = sign, qty, px
        self.fees, self.funding, self.gross = fee, 0.0, 0.0


class RiskMonitor:
    """State machine behind :class:`BreakerConfig` for one strategy (see module docstring).

    Feed, in engine order: :meth:`on_fill`, :meth:`on_funding`, :meth:`on_bar` (before the
    strategy's logic). Each returns the list of NEW trips (:class:`RiskEvent`); the caller
    flattens the position for each. :meth:`entry_block` says whether an entry is refused now.
    """

    def __init__(self, cfg: BreakerConfig, starting_balance: float, start_ns: int,
                 bar_interval_ns: int, eps: float = 1e-12) -> None:
        self.cfg = cfg
        self.start_balance = float(starting_balance)
        self.start_ns = int(start_ns)
        self.bar_ns = int(bar_interval_ns)
        self.eps = eps
        self.events: list[RiskEvent] = []
        self.blocked_entries = 0  # entries refused while halted / paused (all, not only events)
        # ledger (same arithmetic as equity.replay / trades.build_trades)
        self.balance = self.start_balance
        self.qty = 0.0
        self.avg = 0.0
        self.trade: _Trade | None = None
        self.closed_trades: list[float] = []  # net PnL of each closed round trip
        # bar bookkeeping
        self.cur_ts = self.start_ns
        self.cur_close: float | None = None
        self.finalized = True  # the start point is "final": equity = starting balance
        self.peak = self.start_balance
        self.last_final = self.start_balance
        self.fin_day: int | None = None
        self.prev_day_close = self.start_balance
        self.port_peak = self.start_balance
        # breaker state
        self.halted: RiskEvent | None = None
        self.day_block: int | None = None  # UTC day index with entries blocked
        self.pause_until: int | None = None
        self.streak = 0
        self._blocked_logged: tuple | None = None
        self.last_funding_ts = -1

    # ------------------------------------------------------------------ equity
    def equity(self) -> float:
        """Strategy equity now (USDT): balance + q × (last close − avg entry)."""
        if self.qty == 0.0 or self.cur_close is None:
            return self.balance
        return self.balance + self.qty * (self.cur_close - self.avg)

    @staticmethod
    def day_of(ts: int) -> int:
        return (int(ts) - 1) // NS_PER_DAY

    def _finalize(self) -> None:
        if self.finalized:
            return
        e = self.equity()
        if e > self.peak:
            self.peak = e
        d = self.day_of(self.cur_ts)
        if self.fin_day is None or d > self.fin_day:
            self.prev_day_close = self.last_final
            self.fin_day = d
        self.last_final = e
        self.finalized = True

    def _advance(self, ts: int) -> None:
        """A new bar's first event (a bar-path fill or its close)."""
        if ts > self.cur_ts:
            self._finalize()
            self.cur_ts = ts
            self.finalized = False

    def day_start(self, ts: int) -> float:
        d = self.day_of(ts)
        if self.fin_day is None or d > self.fin_day:
            return self.last_final
        return self.prev_day_close

    # ------------------------------------------------------------------ feeds
    def on_fill(self, ts: int, side: int, qty: float, price: float, commission: float,
                at_close: bool) -> list[RiskEvent]:
        """Apply one fill (``side`` ±1, ``qty`` > 0 base units, USDT). ``at_close``: the fill
        happened after this bar's decision point (then the rules are checked)."""
        self._advance(ts)
        s = side * qty
        self.balance -= commission
        q = self.qty
        closed_net: float | None = None
        if q == 0.0 or (q > 0) == (s > 0):
            self.avg = (abs(q) * self.avg + qty * price) / (abs(q) + qty)
            self.qty = q + s
            if self.trade is None:
                self.trade = _Trade(side, qty, price, commission)
            else:
                t = self.trade
                t.avg = (t.pos * t.avg + qty * price) / (t.pos + qty)
                t.pos += qty
                t.fees += commission
        else:
            close_q = min(qty, abs(q))
            self.balance += (price - self.avg) * close_q * (1.0 if q > 0 else -1.0)
            newq = q + s
            if abs(newq) < self.eps or (newq > 0) != (q > 0):
                self.avg = price if abs(newq) >= self.eps else 0.0
            self.qty = 0.0 if abs(newq) < self.eps else newq
            t = self.trade
            if t is not None:
                frac = close_q / qty
                t.gross += (price - t.avg) * close_q * t.sign
                t.fees += commission * frac
                t.pos -= close_q
                if t.pos <= 1e-9:
                    closed_net = t.gross - t.fees + t.funding
                    rest = qty - close_q
                    self.trade = (_Trade(side, rest, price, commission * (1 - frac))
                                  if rest > 1e-9 else None)
        out: list[RiskEvent] = []
        if closed_net is not None:
            self.closed_trades.append(closed_net)
            out += self._on_trade_closed(ts, closed_net)
        if at_close:
            out += self._check(ts)
        return out

    def on_funding(self, ts: int, rate: float, price: float | None = None
                   ) -> tuple[float, list[RiskEvent]]:
        """Settle funding at ``ts`` on the current position at ``price`` (the engine's funding
        price; default the last close): payment = −q × price × rate, rounded to 1e-8 USDT.
        Returns ``(payment, trips)``."""
        if ts <= self.last_funding_ts:
            return 0.0, []  # already applied (callback and cache fallback both feed it)
        self.last_funding_ts = ts
        aligned = ts == self.cur_ts
        if not aligned:
            self._finalize()  # funding between bar closes belongs to the next bar
        pay = 0.0
        px = self.cur_close if price is None else float(price)
        if self.qty != 0.0 and px is not None:
            pay = round(-self.qty * px * rate, 8)
            self.balance += pay
            if self.trade is not None:
                self.trade.funding += pay
        return pay, (self._check(ts) if aligned else [])

    def on_bar(self, ts: int, close: float) -> list[RiskEvent]:
        """A bar closed at ``ts`` with ``close``: mark and check (before the strategy acts)."""
        self._advance(ts)
        self.cur_close = float(close)
        return self._check(ts)

    def on_account(self, ts: int, account_equity: float) -> list[RiskEvent]:
        """Portfolio drawdown check with the account equity at an evaluation point."""
        p = self.cfg.portfolio_max_drawdown
        if p is None or self.halted is not None:
            if account_equity > self.port_peak:
                self.port_peak = account_equity
            return []
        if account_equity <= (1.0 - p) * self.port_peak:
            ev = RiskEvent(ts, "risk_trip", RULE_PORT_DD, "portfolio", "halt", account_equity,
                           self.port_peak, 1.0 - account_equity / self.port_peak, p)
            return [self._trip(ev)]
        if account_equity > self.port_peak:
            self.port_peak = account_equity
        return []

    # ------------------------------------------------------------------ rules
    def _trip(self, ev: RiskEvent) -> RiskEvent:
        if ev.action == "halt":
            self.halted = ev
        self.events.append(ev)
        return ev

    def _check(self, ts: int) -> list[RiskEvent]:
        cfg = self.cfg
        if self.halted is not None:
            return []
        e = self.equity()
        out: list[RiskEvent] = []
        if cfg.max_drawdown is not None and e <= (1.0 - cfg.max_drawdown) * self.peak:
            out.append(self._trip(RiskEvent(ts, "risk_trip", RULE_MAX_DD, "strategy", "halt", e,
                                            self.peak, 1.0 - e / self.peak, cfg.max_drawdown)))
            return out
        if cfg.daily_loss is not None:
            d = self.day_of(ts)
            if self.day_block != d:
                ds = self.day_start(ts)
                if ds > 0 and e <= (1.0 - cfg.daily_loss) * ds:
                    self.day_block = d
                    out.append(self._trip(RiskEvent(
                        ts, "risk_trip", RULE_DAILY, "strategy", "pause", e, ds, 1.0 - e / ds,
                        cfg.daily_loss, until_ns=(d + 1) * NS_PER_DAY)))
        return out

    def _on_trade_closed(self, ts: int, net: float) -> list[RiskEvent]:
        n = self.cfg.consecutive_losses
        self.streak = self.streak + 1 if net < 0 else 0
        if n is None or self.halted is not None or self.streak < n:
            return []
        cd = (self.cfg.cooldown_bars * self.bar_ns if self.cfg.cooldown_bars is not None
              else int(round(float(self.cfg.cooldown_minutes or 0) * 60e9)))
        self.pause_until = ts + cd
        streak, self.streak = self.streak, 0
        return [self._trip(RiskEvent(ts, "risk_trip", RULE_STREAK, "strategy", "pause",
                                     self.equity(), self.peak, float(streak), float(n),
                                     until_ns=self.pause_until, detail={"last_net_pnl": net}))]

    def entry_block(self, ts: int) -> str | None:
        """Rule that currently refuses new entries at ``ts``, else None."""
        if self.halted is not None:
            return self.halted.rule
        if self.day_block is not None and self.day_of(ts) == self.day_block:
            return RULE_DAILY
        if self.pause_until is not None and ts <= self.pause_until:
            return RULE_STREAK
        return None

    def record_blocked(self, ts: int, rule: str, detail: dict[str, Any]) -> None:
        """Count an entry refused during a halt/pause; log the first one per halt/pause."""
        self.blocked_entries += 1
        key = (rule, self.halted.ts if self.halted else
               self.day_block if rule == RULE_DAILY else self.pause_until)
        if key != self._blocked_logged:
            self._blocked_logged = key
            self.events.append(RiskEvent(ts, "risk_blocked", rule, "strategy", "deny",
                                         self.equity(), 0.0, 0.0, 0.0, detail=detail))

    def record_deny(self, ev: RiskEvent) -> None:
        self.events.append(ev)
