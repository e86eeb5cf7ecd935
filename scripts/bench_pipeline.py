"""Benchmark: wall time per stage of the CI pipeline run —
``vibe-quant pipeline strategies/ema_cross.yaml --symbol BTCUSDT --start 2023-01-01
--end 2024-12-31`` — on a fresh data dir fed from a loopback mirror of ``../shared/data``.
Prints one JSON line: seconds per stage (data, sweep, filters, validation, report), total,
combos and survivors.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--strategy", default=str(ROOT / "strategies" / "ema_cross.yaml"))
    ap.add_argument("--start", default="2023-01-01")
    ap.add_argument("--end", default="2024-12-31")
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()

    from vibe_quant.core.paths import DataDir
    from vibe_quant.pipeline.run import PipelineConfig, run_pipeline
    from vibe_quant.testing import shared_data_dir
    from vibe_quant.testing.servers import MirrorServer

    with tempfile.TemporaryDirectory() as tmp, MirrorServer(
            shared_data_dir() / "binance-vision") as mirror:
        cfg = PipelineConfig(yaml_text=Path(args.strategy).read_text(), symbol="BTCUSDT",
                             start=args.start, end=args.end, workers=args.workers,
                             base_url=mirror.url, use_rest=False,
                             report=str(Path(tmp) / "report.html"))
        t0 = time.perf_counter()
        doc = run_pipeline(DataDir(Path(tmp)), cfg, progress=None)
        total = time.perf_counter() - t0
    print(json.dumps({
        "bench": "pipeline", "strategy": Path(args.strategy).name,
        "range": f"{args.start}..{args.end}", "combos": doc["sweep"]["combos"],
        "survivors": len(doc["shortlist"]), "stage_seconds": doc["stage_seconds"],
        "total_seconds": round(total, 3),
    }))


if __name__ == "__main__":
    main()
