"""Benchmark: ingest BTCUSDT 5m 2023-01 → 2026-02 (+ funding) from a loopback mirror of
``../shared/data/binance-vision`` into a fresh archive + catalog. Prints one JSON line:
``{"bench": "ingest", "bars", "files", "seconds", "bars_per_s", "peak_rss_mb", ...}``.
Target: under 30 s on the 2-core dev machine."""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vibe_quant.core.paths import DataDir
from vibe_quant.data.ingest import ingest
from vibe_quant.testing import shared_data_dir
from vibe_quant.testing.servers import MirrorServer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--symbol", default="BTCUSDT")
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        MirrorServer(shared_data_dir() / "binance-vision") as mirror,
    ):
        dd = DataDir(Path(tmp)).ensure()
        t0 = time.perf_counter()
        rep = ingest(
            dd,
            symbols=[args.symbol],
            intervals=["5m"],
            start=(2023, 1),
            end=(2026, 2),
            base_url=mirror.url,
            rest_url="http://127.0.0.1:9",
            now_ms=1_780_000_000_000,
            workers=args.workers,
            progress=None,
        )
        secs = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    catalog_bars = sum(v["rows"] for v in rep.catalog["symbols"][args.symbol]["bars"].values())
    print(
        json.dumps(
            {
                "bench": "ingest",
                "symbol": args.symbol,
                "interval": "5m",
                "range": "2023-01..2026-02",
                "bars": rep.kline_rows_new,
                "funding_records": rep.funding_rows_new,
                "catalog_bars_all_intervals": catalog_bars,
                "files": rep.files_archived,
                "seconds": round(secs, 3),
                "bars_per_s": round(rep.kline_rows_new / secs),
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "ok": rep.ok,
            }
        )
    )


if __name__ == "__main__":
    main()
