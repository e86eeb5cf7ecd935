"""Telegram alerts for paper trading (SPEC.md §14).

``events`` typed alert events · ``format`` one formatter per type · ``throttle`` one message per
kind per minute with counted summaries · ``config`` settings from ``VIBE_QUANT_TELEGRAM_*`` ·
``redact`` secrets out of text and library logs · ``bot`` python-telegram-bot ``ExtBot`` with
``AIORateLimiter`` · ``notifier`` the non-blocking synchronous facade.

Typical use in a supervisor::

    from vibe_quant.alerts import notifier_from_env, FillAlert
    alerts = notifier_from_env()
    alerts.notify(FillAlert(symbol="BTCUSDT", side="BUY", qty=0.01, price=95000.0,
                            commission=0.38, ts_ns=time.time_ns(), run_id="7"))
    ...
    alerts.close()
"""

from vibe_quant.alerts.config import AlertConfigError, TelegramConfig, configured, from_env
from vibe_quant.alerts.events import (
    ALERT_TYPES,
    AlertEvent,
    BreakerTripAlert,
    DailyPnlAlert,
    ErrorAlert,
    FillAlert,
    KillSwitchAlert,
    RestartAlert,
)
from vibe_quant.alerts.format import format_alert
from vibe_quant.alerts.notifier import AlertNotifier, AlertStats, NullNotifier, notifier_from_env
from vibe_quant.alerts.redact import redact

__all__ = [
    "ALERT_TYPES",
    "AlertConfigError",
    "AlertEvent",
    "AlertNotifier",
    "AlertStats",
    "BreakerTripAlert",
    "DailyPnlAlert",
    "ErrorAlert",
    "FillAlert",
    "KillSwitchAlert",
    "NullNotifier",
    "RestartAlert",
    "TelegramConfig",
    "configured",
    "format_alert",
    "from_env",
    "notifier_from_env",
    "redact",
]
