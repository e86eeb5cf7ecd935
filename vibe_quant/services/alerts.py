"""Telegram alerts as use cases: the settings shown to a user, and one test message.

Used by ``vibe-quant alerts test`` and the dashboard's Settings page. Settings come from
``VIBE_QUANT_TELEGRAM_TOKEN``, ``VIBE_QUANT_TELEGRAM_CHAT_ID`` and optional
``VIBE_QUANT_TELEGRAM_BASE_URL`` (:mod:`vibe_quant.alerts.config`); the token never appears
in a result or an error message.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from vibe_quant.alerts.config import (
    BASE_URL_ENV,
    CHAT_ID_ENV,
    DEFAULT_BASE_URL,
    TOKEN_ENV,
    AlertConfigError,
    TelegramConfig,
    from_env,
)
from vibe_quant.core.errors import AlertError

__all__ = [
    "AlertConfigError",
    "AlertDeliveryError",
    "TestAlert",
    "send_test_alert",
    "telegram_status",
]


class AlertDeliveryError(AlertError, RuntimeError):
    """The Bot API did not deliver the test message (message: why, without the token)."""


@dataclass(frozen=True)
class TestAlert:
    """A delivered test message: ``chat_id``, Telegram ``message_id``, the bot's
    ``bot_username`` (from ``getMe``) and the Bot API root ``base_url``."""

    __test__ = False  # not a pytest class

    chat_id: str
    message_id: int
    bot_username: str | None
    base_url: str


def telegram_status(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Telegram settings as a user may see them: ``{TOKEN_ENV: "set"|"not set", CHAT_ID_ENV:
    "set"|"not set", BASE_URL_ENV: URL}`` (never the token's or chat id's value)."""
    env = os.environ if env is None else env
    return {
        TOKEN_ENV: "set" if env.get(TOKEN_ENV, "").strip() else "not set",
        CHAT_ID_ENV: "set" if env.get(CHAT_ID_ENV, "").strip() else "not set",
        BASE_URL_ENV: env.get(BASE_URL_ENV, "").strip() or f"{DEFAULT_BASE_URL} (default)",
    }


async def _send(cfg: TelegramConfig, text: str) -> tuple[str | None, int]:
    from vibe_quant.alerts.bot import close_bot, get_me, make_bot, send_text

    bot = make_bot(cfg, max_retries=1)
    try:
        me = await get_me(bot)
        msg = await send_text(bot, cfg.chat_id, text)
        return me.username, msg.message_id
    finally:
        await close_bot(bot)


def send_test_alert(
    message: str | None = None, env: Mapping[str, str] | None = None
) -> TestAlert:
    """Check the bot token with ``getMe`` and send ``message`` (default a dated test line) to
    the configured chat; the token is scrubbed from the text.

    Raises:
        AlertConfigError: (a ``ValueError``) the settings are missing or invalid.
        AlertDeliveryError: (a ``RuntimeError``) the Bot API refused or was unreachable.
    """
    from vibe_quant.alerts.bot import describe_error
    from vibe_quant.alerts.redact import redact

    cfg = from_env(env)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    text = redact(message or f"vibe-quant test alert, {now}", (cfg.token,))
    try:
        username, message_id = asyncio.run(_send(cfg, text))
    except Exception as e:
        raise AlertDeliveryError(
            f"Telegram test alert not sent: {describe_error(e, cfg)}"
        ) from None
    return TestAlert(cfg.chat_id, message_id, username, cfg.base_url)
