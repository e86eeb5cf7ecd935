"""One plain-text formatter per alert type (no Markdown/HTML parse mode, so nothing needs
escaping). Units are written in the text: USDT, %, base-asset quantities, UTC times.

Telegram limits a message to 4096 characters (https://core.telegram.org/bots/api#sendmessage);
:func:`format_alert` truncates longer texts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from vibe_quant.alerts.events import (
    AlertEvent,
    BreakerTripAlert,
    DailyPnlAlert,
    ErrorAlert,
    FillAlert,
    KillSwitchAlert,
    RestartAlert,
)

MAX_MESSAGE_CHARS = 4096
_PCT_RULES = {"max_drawdown", "daily_loss", "portfolio_max_drawdown"}


def utc_time(ts_ns: int) -> str:
    """``YYYY-MM-DD HH:MM:SS UTC`` of a UTC epoch-ns timestamp."""
    dt = datetime.fromtimestamp(ts_ns / 1e9, tz=UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC")


def hhmm_utc(epoch_s: float) -> str:
    """``HH:MM UTC`` of a UTC epoch-seconds instant (used in "+4 more fills since 12:01 UTC")."""
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%H:%M UTC")


def _num(x: float, digits: int = 8) -> str:
    """A number without float noise or trailing zeros: 0.0100 → 0.01, 95000.0 → 95000."""
    s = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _usdt(x: float) -> str:
    return f"{x:+,.2f} USDT" if x else "0.00 USDT"


def _run(e: AlertEvent) -> str:
    rid = getattr(e, "run_id", None)
    return f" [paper run {rid}]" if rid is not None else ""


def _fill(e: FillAlert) -> str:
    notional = e.qty * e.price
    lines = [
        f"Fill{_run(e)}: {e.side} {_num(e.qty)} {e.symbol} @ {_num(e.price)} USDT",
        f"notional {notional:,.2f} USDT, commission {e.commission:,.4f} USDT",
    ]
    if e.realized_pnl is not None:
        lines.append(f"realized PnL {_usdt(e.realized_pnl)}")
    if e.position is not None:
        lines.append(f"position now {_num(e.position)} {e.symbol}")
    if e.tag:
        lines.append(f"tag {e.tag}")
    lines.append(utc_time(e.ts_ns))
    return "\n".join(lines)


def _breaker(e: BreakerTripAlert) -> str:
    if e.rule in _PCT_RULES:
        cmp = f"{e.value * 100:.2f} % reached the limit {e.threshold * 100:.2f} %"
    else:
        cmp = f"{_num(e.value)} reached the limit {_num(e.threshold)}"
    what = "trading halted" if e.action == "halt" else f"entries {e.action}d"
    lines = [
        f"Circuit breaker tripped{_run(e)}: {e.rule}" + (f" on {e.symbol}" if e.symbol else ""),
        f"{cmp}; position flattened, {what}",
        f"equity {e.equity:,.2f} USDT",
    ]
    if e.until_ns is not None:
        lines.append(f"paused until {utc_time(e.until_ns)}")
    lines.append(utc_time(e.ts_ns))
    return "\n".join(lines)


def _error(e: ErrorAlert) -> str:
    return f"Error{_run(e)} in {e.component}: {e.message}\n{utc_time(e.ts_ns)}"


def _restart(e: RestartAlert) -> str:
    return (
        f"Restart{_run(e)}: paper child restarted (attempt {e.attempt}) after {e.reason}; "
        f"back-off {e.backoff_s:.1f} s\n{utc_time(e.ts_ns)}"
    )


def _kill(e: KillSwitchAlert) -> str:
    sym = f" {e.symbol}" if e.symbol else ""
    if e.flattened_qty and e.flatten_price is not None:
        flat = f"closed {_num(e.flattened_qty)}{sym} at market @ {_num(e.flatten_price)} USDT"
    elif e.flattened_qty:
        flat = f"closed {_num(e.flattened_qty)}{sym} at market"
    else:
        flat = "no position to close"
    return (
        f"KILL SWITCH{_run(e)}: {e.reason}\n"
        f"{e.orders_cancelled} order(s) cancelled, {flat}; trading halted\n{utc_time(e.ts_ns)}"
    )


def _daily(e: DailyPnlAlert) -> str:
    change = e.end_equity - e.start_equity
    pct = change / e.start_equity * 100 if e.start_equity else float("nan")
    return "\n".join(
        [
            f"Daily PnL{_run(e)} for {e.day.isoformat()} (00:00–24:00 UTC): "
            f"{_usdt(change)} ({pct:+.2f} %)",
            f"equity {e.start_equity:,.2f} → {e.end_equity:,.2f} USDT",
            f"realized {_usdt(e.realized_pnl)}, commissions {e.commissions:,.2f} USDT, "
            f"funding {_usdt(e.funding)}",
            f"{e.trades} trade(s) closed",
        ]
    )


FORMATTERS: dict[type[AlertEvent], Callable[[AlertEvent], str]] = {
    FillAlert: _fill,  # type: ignore[dict-item]
    BreakerTripAlert: _breaker,  # type: ignore[dict-item]
    ErrorAlert: _error,  # type: ignore[dict-item]
    RestartAlert: _restart,  # type: ignore[dict-item]
    KillSwitchAlert: _kill,  # type: ignore[dict-item]
    DailyPnlAlert: _daily,  # type: ignore[dict-item]
}


def format_alert(event: AlertEvent) -> str:
    """The message text of ``event`` (≤ 4096 characters). Raises TypeError for an unknown type."""
    fmt = FORMATTERS.get(type(event))
    if fmt is None:
        raise TypeError(f"no alert formatter for {type(event).__name__}")
    return truncate(fmt(event))


def suppressed_note(count: int, label: str, since_epoch_s: float) -> str:
    """``+4 more fills since 12:01 UTC`` (``since`` = when the last message of the type went)."""
    return f"+{count} more {label} since {hhmm_utc(since_epoch_s)}"


def truncate(text: str) -> str:
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return text[: MAX_MESSAGE_CHARS - 1] + "…"
