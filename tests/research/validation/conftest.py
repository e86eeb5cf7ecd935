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


@pytest.fixture(scope="session")
def fine_dd(tmp_path_factory, mirror):
    """BTCUSDT 1m and 5m (2025-01, 2025-02: the window where the shared data holds 1m bars)
    ingested through the real code path from the loopback mirror."""
    from vibe_quant.core.paths import DataDir
    from vibe_quant.data.ingest import ingest

    dd = DataDir(tmp_path_factory.mktemp("fine")).ensure()
    rep = ingest(
        dd,
        symbols=["BTCUSDT"],
        intervals=["1m", "5m"],
        start=(2025, 1),
        end=(2025, 2),
        base_url=mirror.url,
        rest_url="http://127.0.0.1:9",
        now_ms=1_780_000_000_000,
    )
    assert rep.ok, rep.failed
    return dd
