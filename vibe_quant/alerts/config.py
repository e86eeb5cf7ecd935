"""Telegram settings from the environment.

``VIBE_QUANT_TELEGRAM_TOKEN`` (BotFather token, secret), ``VIBE_QUANT_TELEGRAM_CHAT_ID``
(numeric chat id or ``@channelusername``), optional ``VIBE_QUANT_TELEGRAM_BASE_URL`` (the Bot
API root, default ``https://api.telegram.org``; a local fake in tests). The token is never part
of ``repr``/``str`` of :class:`TelegramConfig`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import Field

from vibe_quant.core.config import FrozenConfig
from vibe_quant.core.errors import AlertError

TOKEN_ENV = "VIBE_QUANT_TELEGRAM_TOKEN"
CHAT_ID_ENV = "VIBE_QUANT_TELEGRAM_CHAT_ID"
BASE_URL_ENV = "VIBE_QUANT_TELEGRAM_BASE_URL"
DEFAULT_BASE_URL = "https://api.telegram.org"


class AlertConfigError(AlertError, ValueError):
    """Telegram settings missing or invalid (message names the variable, never its value)."""


class TelegramConfig(FrozenConfig):
    """Where alerts go: the bot ``token`` (secret: never in ``repr``/``str``), the ``chat_id``
    and the Bot API root ``base_url``."""

    identity_exclude = frozenset({"token"})

    token: str = Field(repr=False)
    chat_id: str
    base_url: str = DEFAULT_BASE_URL

    @property
    def bot_base_url(self) -> str:
        """PTB's ``base_url``: the root + ``/bot``; PTB appends the token, then ``/<method>``."""
        return self.base_url.rstrip("/") + "/bot"

    @property
    def bot_file_url(self) -> str:
        return self.base_url.rstrip("/") + "/file/bot"

    def __str__(self) -> str:
        return f"Telegram chat {self.chat_id} via {self.base_url}"


def configured(env: Mapping[str, str] | None = None) -> bool:
    """True when both the token and the chat id are set (alerts enabled)."""
    env = os.environ if env is None else env
    return bool(env.get(TOKEN_ENV, "").strip() and env.get(CHAT_ID_ENV, "").strip())


def from_env(env: Mapping[str, str] | None = None) -> TelegramConfig:
    """Read the settings. Raises :class:`AlertConfigError` naming the missing variable."""
    env = os.environ if env is None else env
    token = env.get(TOKEN_ENV, "").strip()
    chat_id = env.get(CHAT_ID_ENV, "").strip()
    base_url = env.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL
    if not token:
        raise AlertConfigError(
            f"Telegram alerts are not configured: set {TOKEN_ENV} to the bot token from "
            f"@BotFather and {CHAT_ID_ENV} to the chat id"
        )
    if not chat_id:
        raise AlertConfigError(
            f"Telegram alerts are not configured: set {CHAT_ID_ENV} (numeric chat id or "
            "@channelusername)"
        )
    if any(c.isspace() for c in token) or "/" in token:
        raise AlertConfigError(f"{TOKEN_ENV} is not a bot token (it contains '/' or spaces)")
    if not base_url.startswith(("http://", "https://")):
        raise AlertConfigError(f"{BASE_URL_ENV} must start with http:// or https://")
    return TelegramConfig(token=token, chat_id=chat_id, base_url=base_url)
