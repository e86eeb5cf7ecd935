"""Fixtures for the compiler tests: real BTCUSDT data from the session catalog."""

from __future__ import annotations

import numpy as np
import pytest

from vibe_quant.backtest.marketdata import MarketData
from vibe_quant.backtest.run import to_ns


@pytest.fixture(scope="session")
def btc_2024_md(btc_2024) -> MarketData:
    """BTCUSDT 5m bars + funding, close times in (2023-12-01, 2025-01-01] (tests/conftest.py's
    ``btc_2024``)."""
    return btc_2024


@pytest.fixture(scope="session")
def btc_jan_arrays(btc_2024_md) -> dict[str, np.ndarray]:
    """BTCUSDT 5m OHLCV of January 2024 as float arrays (+ ``ts`` = close time ns)."""
    md = btc_2024_md.slice(to_ns("2024-01-01"), to_ns("2024-02-01"))
    bars = md.bars
    return {
        "ts": np.array([b.ts_event for b in bars], dtype=np.int64),
        "open": np.array([b.open.as_double() for b in bars]),
        "high": np.array([b.high.as_double() for b in bars]),
        "low": np.array([b.low.as_double() for b in bars]),
        "close": np.array([b.close.as_double() for b in bars]),
        "volume": np.array([b.volume.as_double() for b in bars]),
    }
