"""Fixtures for the Telegram alert tests: a local fake Bot API and an injectable clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vibe_quant.alerts.config import TelegramConfig
from vibe_quant.testing.telegram import FakeTelegramServer

CHAT_ID = "424242"


class FakeClock:
    """UTC epoch seconds, moved by hand."""

    def __init__(self, start: datetime):
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_tg():
    with FakeTelegramServer() as srv:
        yield srv


@pytest.fixture
def tg_config(fake_tg) -> TelegramConfig:
    return TelegramConfig(token=fake_tg.token, chat_id=CHAT_ID, base_url=fake_tg.url)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2025, 1, 27, 12, 1, 0, tzinfo=UTC))
