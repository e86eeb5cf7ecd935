"""Fixtures of the paper-trading tests: real BTCUSDT 5m bars (2025-01 → 2025-02, the window of
the real 1m archive, 2025-01-27 → 02-26) and funding ingested once per session from the loopback
data.binance.vision mirror into a data dir with the catalog (for the backtest oracle), and a
harness that runs ``vibe-quant exchange serve`` + ``vibe-quant paper start`` in lockstep."""

from __future__ import annotations

import pytest

from tests.conftest import REAL_NOW_MS, ingest_from_mirror
from vibe_quant.core.paths import DataDir


@pytest.fixture(scope="session")
def dd_paper(tmp_path_factory, mirror) -> DataDir:
    dd = DataDir(tmp_path_factory.mktemp("paper_5m")).ensure()
    rep = ingest_from_mirror(
        dd,
        mirror.url,
        symbols=["BTCUSDT"],
        start=(2025, 1),
        end=(2025, 2),
        use_rest=False,
        now_ms=REAL_NOW_MS,
    )
    assert rep.ok, rep.failed
    return dd
