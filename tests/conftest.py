"""Session fixtures shared by every test package.

``real_data_dir`` ingests the real BTCUSDT and ETHUSDT 5m klines (2023-01 → 2026-02) with
funding from a loopback mirror of ``../shared/data/binance-vision`` through the real ingest code
path, once per test session, and builds the catalog. Tests must not modify it. ``btc_2024`` is
its BTCUSDT 5m :class:`MarketData` of 2024 and ``archive`` a read-only connection to its raw
archive (an independent source for expected numbers).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from vibe_quant.backtest.marketdata import MarketData, load_market_data
from vibe_quant.backtest.run import to_ns
from vibe_quant.core.paths import DataDir
from vibe_quant.testing import shared_data_dir
from vibe_quant.testing.servers import MirrorServer

REAL_SYMBOLS = ["BTCUSDT", "ETHUSDT"]
REAL_START = (2023, 1)
REAL_END = (2026, 2)
REAL_NOW_MS = 1_780_000_000_000  # 2026-05-28: after every month served


def ingest_from_mirror(
    dd: DataDir,
    mirror_url: str,
    *,
    symbols: list[str],
    start: tuple[int, int],
    end: tuple[int, int],
    intervals: tuple[str, ...] = ("5m",),
    **kw: Any,
):
    """Ingest ``symbols`` × ``intervals`` for the months ``start``…``end`` (``(year, month)``)
    into ``dd`` from the loopback mirror at ``mirror_url`` through the real ingest path (REST
    pointed at a closed port; ``kw`` passes ``use_rest`` / ``now_ms``). Returns the report."""
    from vibe_quant.data.ingest import ingest

    return ingest(
        dd,
        symbols=list(symbols),
        intervals=list(intervals),
        start=start,
        end=end,
        base_url=mirror_url,
        rest_url="http://127.0.0.1:9",
        progress=None,
        **kw,
    )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return shared_data_dir()


@pytest.fixture(scope="session")
def mirror(shared_data: Path):
    with MirrorServer(shared_data / "binance-vision") as srv:
        yield srv


@pytest.fixture(scope="session")
def real_data_dir(tmp_path_factory, mirror) -> DataDir:
    dd = DataDir(tmp_path_factory.mktemp("real_data")).ensure()
    report = ingest_from_mirror(
        dd, mirror.url, symbols=REAL_SYMBOLS, start=REAL_START, end=REAL_END, now_ms=REAL_NOW_MS
    )
    assert report.ok, report.failed

    return dd


@pytest.fixture(scope="session")
def btc_2024(real_data_dir) -> MarketData:
    """BTCUSDT 5m bars + funding with close times in (2023-12-01, 2025-01-01], from the catalog
    (read-only: shared by the backtest, strategy and risk tests)."""
    return load_market_data(real_data_dir, "BTCUSDT", "5m", to_ns("2023-12-01"),
                            to_ns("2025-01-01"))


@pytest.fixture(scope="session")
def archive(real_data_dir):
    """Read-only connection to the raw archive (independent source for expected numbers)."""
    con = sqlite3.connect(f"file:{real_data_dir.archive_db}?mode=ro", uri=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def jan_2024_dir(tmp_path_factory, mirror) -> DataDir:
    """A data dir holding only BTCUSDT 5m of January 2024 (real, via the loopback mirror;
    no REST calls). Module-scoped: a test module may write runs and sweeps into it."""
    dd = DataDir(tmp_path_factory.mktemp("jan2024")).ensure()
    rep = ingest_from_mirror(
        dd, mirror.url, symbols=["BTCUSDT"], start=(2024, 1), end=(2024, 1), use_rest=False
    )
    assert rep.ok and rep.kline_rows_new == 31 * 288  # every 5m bar of January 2024
    return dd
