"""Keeping secrets out of text and logs.

Telegram Bot API URLs contain the token (``…/bot<token>/sendMessage``), so any exception text or
log line from python-telegram-bot or httpx may carry it. :func:`redact` replaces every known
secret and anything shaped like a bot token (``<digits>:<35+ url-safe chars>``, the format
BotFather issues) with ``***``. :func:`install_log_redaction` attaches a filter doing the same
to the loggers of httpx, httpcore and python-telegram-bot (httpx logs every request URL at
INFO).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

MASK = "***"
_BOT_TOKEN_RE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}")

_LIB_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "telegram",
    "telegram.Bot",
    "telegram.ext",
    "telegram.ext.ExtBot",
    "telegram.ext.AIORateLimiter",
    "telegram.request.BaseRequest",
    "telegram.request.HTTPXRequest",
    "vibe_quant.alerts",
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every non-empty secret (longest first) and every bot-token-shaped string
    replaced by ``***``."""
    for s in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(s, MASK)
    return _BOT_TOKEN_RE.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites a record's message and exception text with
    :func:`redact`. Secrets can be added while running (:meth:`add`)."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *secrets: str) -> None:
        with self._lock:
            self._secrets.update(s for s in secrets if s)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = tuple(self._secrets)
        return redact(text, secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error path
            return True
        record.msg, record.args = self.redact(msg), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_FILTER = RedactingFilter()
_installed = False
_install_lock = threading.Lock()


def install_log_redaction(*secrets: str) -> RedactingFilter:
    """Register ``secrets`` and attach the process-wide :class:`RedactingFilter` (once) to the
    httpx, httpcore, python-telegram-bot and ``vibe_quant.alerts`` loggers. Returns the filter.

    A logger's filters apply to records created on that logger only, hence the explicit list.
    """
    global _installed
    _FILTER.add(*secrets)
    with _install_lock:
        if not _installed:
            for name in _LIB_LOGGERS:
                logging.getLogger(name).addFilter(_FILTER)
            _installed = True
    return _FILTER
