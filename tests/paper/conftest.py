"""Fixtures of the paper-trading tests: real BTCUSDT 1m and 5m bars of 2025-01 → 2025-02 (the
1m archive covers 2025-01-27 13:02 → 02-26) and funding, ingested once per session from the
loopback data.binance.vision mirror into a data dir with the catalog (for the backtest oracle).
The local exchange replays the 1m bars; its 5m klines are aggregated from them. The harness
(``harness.py``) runs ``vibe-quant exchange serve`` + ``vibe-quant paper start`` in lockstep."""

from __future__ import annotations

import pytest

from tests.conftest import REAL_NOW_MS, ingest_from_mirror
from vibe_quant.core.paths import DataDir


@pytest.fixture(scope="session")
def dd_paper(tmp_path_factory, mirror) -> DataDir:
    dd = DataDir(tmp_path_factory.mktemp("paper_1m")).ensure()
    rep = ingest_from_mirror(
        dd,
        mirror.url,
        symbols=["BTCUSDT"],
        start=(2025, 1),
        end=(2025, 2),
        intervals=("1m", "5m"),
        use_rest=False,
        now_ms=REAL_NOW_MS,
    )
    assert rep.ok, rep.failed
    return dd
