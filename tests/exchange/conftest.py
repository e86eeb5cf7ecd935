"""Fixtures of the local-exchange tests: real BTCUSDT 1m bars (2025-01-27 → 2025-02-26) and
funding, ingested once per session from the loopback data.binance.vision mirror."""

from __future__ import annotations

import pytest

from vibe_quant.core.paths import DataDir
from vibe_quant.testing.exchange import ingest_1m


@pytest.fixture(scope="session")
def dd_1m(tmp_path_factory, mirror) -> DataDir:
    dd = DataDir(tmp_path_factory.mktemp("exchange_1m")).ensure()
    ingest_1m(dd, mirror.url)
    return dd
