"""Fixtures of the screening tests."""

from __future__ import annotations

import pytest

from vibe_quant.paths import DataDir


@pytest.fixture(scope="module")
def jan_2024_dir(tmp_path_factory, mirror) -> DataDir:
    from vibe_quant.data.ingest import ingest

    dd = DataDir(tmp_path_factory.mktemp("jan2024_sweep")).ensure()
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
    assert rep.ok
    return dd
