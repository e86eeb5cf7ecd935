"""Session fixtures shared by every test package.

``real_data_dir`` ingests the real BTCUSDT and ETHUSDT 5m klines (2023-01 → 2026-02) with
funding from a loopback mirror of ``../shared/data/binance-vision`` through the real ingest code
path, once per test session, and builds the catalog. Tests must not modify it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vibe_quant.core.paths import DataDir
from vibe_quant.testing import shared_data_dir
from vibe_quant.testing.servers import MirrorServer

REAL_SYMBOLS = ["BTCUSDT", "ETHUSDT"]
REAL_START = (2023, 1)
REAL_END = (2026, 2)
REAL_NOW_MS = 1_780_000_000_000  # 2026-05-28: after every month served


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return shared_data_dir()


@pytest.fixture(scope="session")
def mirror(shared_data: Path):
    with MirrorServer(shared_data / "binance-vision") as srv:
        yield srv


@pytest.fixture(scope="session")
def real_data_dir(tmp_path_factory, mirror) -> DataDir:
    from vibe_quant.data.ingest import ingest

    dd = DataDir(tmp_path_factory.mktemp("real_data")).ensure()
    report = ingest(
        dd,
        symbols=REAL_SYMBOLS,
        intervals=["5m"],
        start=REAL_START,
        end=REAL_END,
        base_url=mirror.url,
        rest_url="http://127.0.0.1:9",
        now_ms=REAL_NOW_MS,
        progress=False,
    )
    assert report.ok, report.failed

    return dd


@pytest.fixture(scope="module")
def jan_2024_dir(tmp_path_factory, mirror) -> DataDir:
    """A data dir holding only BTCUSDT 5m of January 2024 (real, via the loopback mirror;
    no REST calls). Module-scoped: a test module may write runs and sweeps into it."""
    from vibe_quant.data.ingest import ingest

    dd = DataDir(tmp_path_factory.mktemp("jan2024")).ensure()
    rep = ingest(
        dd,
        symbols=["BTCUSDT"],
        intervals=["5m"],
        start=(2024, 1),
        end=(2024, 1),
        base_url=mirror.url,
        rest_url="http://127.0.0.1:9",
        use_rest=False,
        progress=False,
    )
    assert rep.ok and rep.kline_rows_new == 31 * 288  # every 5m bar of January 2024
    return dd
