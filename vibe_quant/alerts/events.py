"""Typed alert events: what a paper run tells its user over Telegram.

Every event is a frozen dataclass with a class-level ``kind`` (the rate-limit key: at most one
message per kind per minute, see :mod:`vibe_quant.alerts.throttle`). Units: prices and amounts
in USDT, quantities in base units (e.g. BTC), fractions as plain fractions (0.10 = 10 %, shown
as percent), times as UTC epoch nanoseconds (``ts_ns``, shown as ``YYYY-MM-DD HH:MM:SS UTC``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """Base class. ``run_id``: the paper-run id (None outside a run)."""

    kind: ClassVar[str] = "alert"
    label: ClassVar[str] = "alerts"  # plural noun used in "+4 more fills since 12:01 UTC"


@dataclass(frozen=True, slots=True)
class FillAlert(AlertEvent):
    """An order filled (fully or partly) at the venue.

    ``side`` BUY | SELL; ``qty`` base units; ``price`` USDT; ``commission`` USDT (paid > 0);
    ``realized_pnl`` USDT of the closed part (None for an opening fill); ``position`` signed
    base units after the fill.
    """

    kind: ClassVar[str] = "fill"
    label: ClassVar[str] = "fills"
    symbol: str
    side: str
    qty: float
    price: float
    commission: float
    ts_ns: int
    position: float | None = None
    realized_pnl: float | None = None
    tag: str | None = None
    run_id: str | None = None


@dataclass(frozen=True, slots=True)
class BreakerTripAlert(AlertEvent):
    """A risk circuit breaker tripped (SPEC §9): ``rule`` e.g. ``max_drawdown``, ``action``
    halt | pause; ``value`` and ``threshold`` fractions for drawdown/loss rules (shown as %),
    counts for ``consecutive_losses``; ``equity`` USDT; ``until_ns`` end of a pause (UTC ns)."""

    kind: ClassVar[str] = "breaker_trip"
    label: ClassVar[str] = "breaker trips"
    rule: str
    action: str
    value: float
    threshold: float
    equity: float
    ts_ns: int
    symbol: str | None = None
    until_ns: int | None = None
    run_id: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorAlert(AlertEvent):
    """An error in the paper run (``component``: e.g. ``child``, ``supervisor``, ``venue``).
    ``message`` is redacted of every known secret before sending."""

    kind: ClassVar[str] = "error"
    label: ClassVar[str] = "errors"
    component: str
    message: str
    ts_ns: int
    run_id: str | None = None


@dataclass(frozen=True, slots=True)
class RestartAlert(AlertEvent):
    """The supervisor restarted the paper child: ``attempt`` 1-based restart count, ``reason``
    e.g. ``exit code -9`` or ``heartbeat stale 31 s``, ``backoff_s`` seconds waited before it."""

    kind: ClassVar[str] = "restart"
    label: ClassVar[str] = "restarts"
    attempt: int
    reason: str
    ts_ns: int
    backoff_s: float = 0.0
    run_id: str | None = None


@dataclass(frozen=True, slots=True)
class KillSwitchAlert(AlertEvent):
    """The kill switch ran: every order cancelled, the position flattened at market, trading
    halted. ``orders_cancelled`` count; ``flattened_qty`` signed base units closed (0 when flat);
    ``flatten_price`` USDT average (None when nothing was closed)."""

    kind: ClassVar[str] = "kill_switch"
    label: ClassVar[str] = "kill-switch alerts"
    reason: str
    orders_cancelled: int
    flattened_qty: float
    ts_ns: int
    symbol: str | None = None
    flatten_price: float | None = None
    run_id: str | None = None


@dataclass(frozen=True, slots=True)
class DailyPnlAlert(AlertEvent):
    """Daily PnL summary of one UTC day: equities USDT at 00:00 UTC of ``day`` and of the next
    day; ``realized_pnl`` gross USDT, ``commissions`` USDT paid (> 0), ``funding`` USDT
    (+ received, − paid), ``trades`` round trips closed that day.

    Change (percent) = (end_equity − start_equity) / start_equity × 100.
    """

    kind: ClassVar[str] = "daily_pnl"
    label: ClassVar[str] = "daily PnL summaries"
    day: date
    start_equity: float
    end_equity: float
    realized_pnl: float
    commissions: float
    funding: float
    trades: int
    run_id: str | None = None


ALERT_TYPES: tuple[type[AlertEvent], ...] = (
    FillAlert,
    BreakerTripAlert,
    ErrorAlert,
    RestartAlert,
    KillSwitchAlert,
    DailyPnlAlert,
)
