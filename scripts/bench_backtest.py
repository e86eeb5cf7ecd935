#!/usr/bin/env python
"""Benchmark the backtest core; prints ONE JSON line on stdout.

* ``bars_per_s``: an EMA(12/26) cross (hand-written ``VQStrategy``, always in the market, flips
  with one order) on BTCUSDT 5m 2023-01 → 2026-02 with funding and liquidation on — bars in the
  run divided by the engine's ``run()`` wall time; ``bars_per_s_end_to_end`` also counts the
  engine build, data feed and result assembly (trades, equity, metrics).
* ``tiny_run_overhead_ms``: median wall time of a complete ``run_backtest`` on 100 bars
  (fixed per-run cost).
* ``compiled_bars_per_s`` / ``handwritten_bars_per_s`` / ``compiled_vs_handwritten_ratio``: the
  DSL compiler section (``scripts/bench_compiler.py``; skip with ``--no-compiler``) — compiled
  ``strategies/ema_cross.yaml`` vs the same strategy hand-written, over the same period.

Data: the catalog of ``--data-dir`` (default ``./data`` / ``$VIBE_QUANT_DATA_DIR``). When it has
no BTCUSDT 5m bars, the script ingests them into a temporary data dir (deleted at exit) from a
loopback mirror of ``../shared/data`` (the real ingest path) first (≈15 s).

    .venv/bin/python scripts/bench_backtest.py [--data-dir DIR] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from vibe_quant.backtest import run_backtest
from vibe_quant.backtest.marketdata import load_market_data
from vibe_quant.backtest.run import to_ns
from vibe_quant.backtest.strategy import VQStrategy
from vibe_quant.paths import DataDir

_TMP: list = []


class EmaCross(VQStrategy):
    """EMA(fast/slow) cross: long ``qty`` when fast > slow, else short (one order per flip)."""

    name = "bench_ema_cross"

    def on_strategy_start(self):
        from nautilus_trader.core.nautilus_pyo3 import ExponentialMovingAverage

        self.fast = ExponentialMovingAverage(int(self.params.get("fast", 12)))
        self.slow = ExponentialMovingAverage(int(self.params.get("slow", 26)))

    def on_strategy_reset(self):
        self.on_strategy_start()

    def handle_bar(self, bar):
        self.fast.handle_bar(bar)
        self.slow.handle_bar(bar)
        if not (self.can_trade and self.slow.initialized):
            return
        q = float(self.params["qty"])
        want = q if self.fast.value > self.slow.value else -q
        if want != self.position_qty:
            self.target(want)


def _ensure_data(dd: DataDir) -> DataDir:
    from vibe_quant.data.catalog import catalog_bar_counts

    if catalog_bar_counts(dd).get("BTCUSDT-PERP.BINANCE-5-MINUTE-LAST-EXTERNAL", 0) > 300_000:
        return dd
    from vibe_quant.data.ingest import ingest
    from vibe_quant.testing import shared_data_dir
    from vibe_quant.testing.servers import MirrorServer

    _TMP.append(tempfile.TemporaryDirectory(prefix="vq-bench-"))  # removed at exit
    tmp = DataDir(Path(_TMP[-1].name)).ensure()
    print(f"no BTCUSDT 5m catalog in {dd.root}: ingesting into {tmp.root}", file=sys.stderr)
    with MirrorServer(shared_data_dir() / "binance-vision") as srv:
        rep = ingest(tmp, symbols=["BTCUSDT"], intervals=["5m"], start=(2023, 1), end=(2026, 2),
                     base_url=srv.url, rest_url="http://127.0.0.1:9", now_ms=1_780_000_000_000,
                     progress=False)
    if not rep.ok:
        raise SystemExit(f"ingest failed: {rep.failed}")
    return tmp


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--repeat", type=int, default=5, help="tiny runs to take the median of")
    ap.add_argument("--no-compiler", action="store_true",
                    help="skip the DSL-compiler section (compiled ema_cross.yaml vs hand-written)")
    a = ap.parse_args()
    dd = _ensure_data(DataDir.resolve(a.data_dir))

    t = time.perf_counter()
    md = load_market_data(dd, "BTCUSDT", "5m", None, None)
    load_s = time.perf_counter() - t
    start, end = "2023-01-01", "2026-02-19"
    params = {"qty": 0.01, "fast": 12, "slow": 26}
    t = time.perf_counter()
    r = run_backtest(EmaCross, "BTCUSDT", start, end, data=md, leverage=2,
                     starting_balance=10_000, params=params)
    total_s = time.perf_counter() - t

    tiny = md.slice(to_ns("2024-06-01"), to_ns("2024-06-01") + 100 * 300 * 10**9)
    times = []
    for _ in range(max(1, a.repeat)):
        t = time.perf_counter()
        run_backtest(EmaCross, "BTCUSDT", "2024-06-01", tiny.close_ts[-1], data=tiny,
                     params={"qty": 0.01, "fast": 3, "slow": 5})
        times.append(time.perf_counter() - t)

    doc = {
        "benchmark": "ema_cross_12_26_btcusdt_5m",
        "period": [start, end],
        "bars": r.bars,
        "fills": len(r.fills),
        "trades": len(r.trades),
        "liquidations": r.metrics["liquidations"],
        "funding_usdt": round(r.total_funding, 4),
        "engine_run_s": round(r.elapsed_s, 3),
        "bars_per_s": round(r.bars / r.elapsed_s),
        "end_to_end_s": round(total_s, 3),
        "bars_per_s_end_to_end": round(r.bars / total_s),
        "catalog_load_s": round(load_s, 3),
        "tiny_run_bars": len(tiny.bars),
        "tiny_run_overhead_ms": round(statistics.median(times) * 1000, 2),
        "reconciliation_error_usdt": r.reconciliation_error,
    }
    # ---- DSL compiler section (issue 4; code in scripts/bench_compiler.py): compiled
    # strategies/ema_cross.yaml vs the same strategy hand-written, same data, one process.
    if not a.no_compiler:
        sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
        from bench_compiler import compiler_section

        doc.update(compiler_section(md, repeat=3))
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
