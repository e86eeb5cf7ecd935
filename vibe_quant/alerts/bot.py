"""The python-telegram-bot client: an ``ExtBot`` with PTB's ``AIORateLimiter`` pointed at a
configurable Bot API root, and one-line, token-free descriptions of its errors.

Rate limiting (PTB docs, telegram.ext.AIORateLimiter): at most 30 messages/s overall and 20
messages/min per group chat; on a ``429 Too Many Requests`` with ``retry_after = N`` every
request pauses ``N + 0.1`` s and is retried up to ``max_retries`` times, then ``RetryAfter`` is
raised. Requests go to ``POST <base_url>/bot<token>/<method>`` (form-encoded bodies).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

from telegram import LinkPreviewOptions, Message, User
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from vibe_quant.alerts.config import TOKEN_ENV, TelegramConfig
from vibe_quant.alerts.redact import install_log_redaction, redact


def make_bot(
    config: TelegramConfig,
    *,
    max_retries: int = 3,
    connect_timeout_s: float = 5.0,
    read_timeout_s: float = 10.0,
) -> ExtBot:
    """An ``ExtBot`` for ``config`` (create and use it inside one event loop). Registers the
    token with the log redaction filter first, so no library log line can carry it."""
    install_log_redaction(config.token)
    request = HTTPXRequest(
        connection_pool_size=2,
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        write_timeout=read_timeout_s,
        pool_timeout=connect_timeout_s,
    )
    return ExtBot(
        config.token,
        base_url=config.bot_base_url,
        base_file_url=config.bot_file_url,
        request=request,
        get_updates_request=request,  # one HTTP client; closed by close_bot()
        rate_limiter=AIORateLimiter(max_retries=max_retries),
    )


async def send_text(bot: ExtBot, chat_id: str, text: str) -> Message:
    """``sendMessage`` as plain text (no parse mode, link previews off). Raises TelegramError."""
    return await bot.send_message(
        chat_id=chat_id, text=text, link_preview_options=LinkPreviewOptions(is_disabled=True)
    )


async def get_me(bot: ExtBot) -> User:
    """``getMe``: the bot's own user (checks the token). Raises TelegramError."""
    return await bot.get_me()


async def close_bot(bot: ExtBot) -> None:
    """Close the bot's HTTP client (works whether or not ``bot.initialize()`` ran)."""
    await bot.request.shutdown()


def _retry_after_s(exc: RetryAfter) -> float | int:
    """``retry_after`` in seconds (PTB 22.2+ warns that it becomes a ``timedelta``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ra = exc.retry_after
    return ra.total_seconds() if hasattr(ra, "total_seconds") else ra


def describe_error(exc: BaseException, config: TelegramConfig, secrets: Iterable[str] = ()) -> str:
    """One line saying what failed and what to check, with the token (and ``secrets``)
    removed — PTB/httpx messages can contain the request URL, which contains the token."""
    raw = redact(f"{exc}", (config.token, *secrets))
    where = config.base_url
    if isinstance(exc, InvalidToken):
        msg = f"the bot token was rejected by {where} ({raw}); check {TOKEN_ENV}"
    elif isinstance(exc, RetryAfter):
        msg = f"{where} kept answering 429 Too Many Requests (retry after {_retry_after_s(exc)} s)"
    elif isinstance(exc, Forbidden):
        msg = f"the bot may not write to chat {config.chat_id} ({raw})"
    elif isinstance(exc, BadRequest):
        msg = f"{where} refused the message for chat {config.chat_id} ({raw})"
    elif isinstance(exc, TimedOut):
        msg = f"{where} did not answer in time ({raw})"
    elif isinstance(exc, NetworkError):
        msg = f"cannot reach {where} ({raw})"
    elif isinstance(exc, TelegramError):
        msg = f"Telegram error from {where} ({raw})"
    else:
        msg = f"{type(exc).__name__}: {raw}"
    return redact(" ".join(msg.split()), (config.token, *secrets))
