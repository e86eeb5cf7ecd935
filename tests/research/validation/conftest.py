"""Fixtures of the validation tests: real BTCUSDT 5m bars from the session catalog."""

from __future__ import annotations

import numpy as np
import pytest

from vibe_quant.backtest.marketdata import MarketData, load_market_data
from vibe_quant.backtest.run import to_ns


@pytest.fixture(scope="session")
def btc_q1(real_data_dir) -> MarketData:
    """BTCUSDT 5m bars + funding with close times in (2023-12-01, 2024-03-01]."""
    return load_market_data(real_data_dir, "BTCUSDT", "5m", to_ns("2023-12-01"),
                            to_ns("2024-03-01"))


def volumes(md: MarketData) -> np.ndarray:
    """Bar volumes (base units) read straight from the bars."""
    return np.array([b.volume.as_double() for b in md.bars])
