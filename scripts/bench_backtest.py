#!/usr/bin/env python
"""Benchmark the backtest core; prints ONE JSON line on stdout.

* ``bars_per_s``: an EMA(12/26) cross (``vibe_quant.testing.strategies.EmaCross``, hand-written,
  always in the market, flips with one order) on BTCUSDT 5m 2023-01 → 2026-02 with funding and
  liquidation on — bars in the run divided by the engine's ``run()`` wall time;
  ``bars_per_s_end_to_end`` also counts the engine build, data feed and result assembly
  (trades, equity, metrics).
* ``tiny_run_overhead_ms``: median wall time of a complete ``run_backtest`` on 100 bars
  (fixed per-run cost).
* ``compiled_bars_per_s`` / ``handwritten_bars_per_s`` / ``compiled_vs_handwritten_ratio``: the
  DSL compiler section (``scripts/bench_compiler.py``; skip with ``--no-compiler``) — compiled
  ``strategies/ema_cross.yaml`` vs the same strategy hand-written, over the same period, and
  both against the no-op ceiling.
* ``vectorbt_loop_bars_per_s`` / ``vibe_quant_loop_bars_per_s``: a loop of single runs of the
  same EMA cross on 2024 in vectorbt and in a ``BacktestSession`` (only when ``vectorbt`` is
  importable: a benchmark-only dependency, ``pip install vectorbt``; skip with
  ``--no-vectorbt``).

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
from vibe_quant.core.paths import DataDir
from vibe_quant.testing.strategies import EmaCross  # EMA(fast/slow) cross, one order per flip

_TMP: list = []


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
        rep = ingest(
            tmp,
            symbols=["BTCUSDT"],
            intervals=["5m"],
            start=(2023, 1),
            end=(2026, 2),
            base_url=srv.url,
            rest_url="http://127.0.0.1:9",
            now_ms=1_780_000_000_000,
            progress=None,
        )
    if not rep.ok:
        raise SystemExit(f"ingest failed: {rep.failed}")
    return tmp


def vectorbt_section(md, start: str, end: str, loop: int = 10) -> dict:
    """A loop of single runs of the same EMA cross (always in the market, 0.05 % taker fee,
    0.01 BTC) with vectorbt (benchmark-only dependency; ``{"vectorbt": null}`` when it is not
    importable) and with ``BacktestSession`` re-runs (funding and liquidation on), fast period
    5…5+loop−1, slow 26, on the same bars, interleaved; bars/s per core = bars × runs / wall
    seconds (ours end to end: engine, trades, equity, metrics)."""
    try:
        import vectorbt as vbt
    except Exception:  # not installed (or broken): section skipped
        return {"vectorbt": None}
    import numpy as np
    import pandas as pd

    from vibe_quant.backtest.run import BacktestSession

    s_ns, e_ns = to_ns(start), to_ns(end, end=True)
    win = (md.close_ts > s_ns) & (md.close_ts <= e_ns)
    close = pd.Series(
        np.asarray(md.close, dtype=float)[win],
        index=pd.to_datetime(np.asarray(md.close_ts)[win], utc=True),
    )

    def vbt_run(fast: int) -> float:
        f = vbt.MA.run(close, fast, ewm=True).ma
        sl = vbt.MA.run(close, 26, ewm=True).ma
        up, down = f > sl, f < sl
        pf = vbt.Portfolio.from_signals(
            close,
            entries=up,
            exits=down,
            short_entries=down,
            short_exits=up,
            fees=0.0005,
            size=0.01,
            size_type="amount",
            init_cash=10_000,
            freq="5min",
        )
        return float(pf.total_return())

    vbt_run(12)  # numba compilation
    sess = BacktestSession(
        md.slice(s_ns - 300 * 300 * 10**9, e_ns), trade_start_ns=s_ns, leverage=2
    )
    sess.run(EmaCross, {"qty": 0.01, "fast": 12, "slow": 26})
    t_vbt = t_vq = 0.0
    for i in range(loop):
        t = time.perf_counter()
        vbt_run(5 + i)
        t_vbt += time.perf_counter() - t
        t = time.perf_counter()
        r = sess.run(EmaCross, {"qty": 0.01, "fast": 5 + i, "slow": 26})
        t_vq += time.perf_counter() - t
    sess.dispose()
    bars = int(win.sum())
    return {
        "vectorbt": vbt.__version__,
        "vectorbt_loop_runs": loop,
        "vectorbt_loop_bars_per_s": round(bars * loop / t_vbt),
        "vibe_quant_loop_bars_per_s": round(r.bars * loop / t_vq),
        "vibe_quant_vs_vectorbt_loop_ratio": round((r.bars / t_vq) / (bars / t_vbt), 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--repeat", type=int, default=5, help="tiny runs to take the median of")
    ap.add_argument(
        "--no-compiler",
        action="store_true",
        help="skip the DSL-compiler section (compiled ema_cross.yaml vs hand-written)",
    )
    ap.add_argument("--no-vectorbt", action="store_true", help="skip the vectorbt loop")
    ap.add_argument("--vectorbt-loop", type=int, default=10, help="runs in each loop")
    a = ap.parse_args()
    dd = _ensure_data(DataDir.resolve(a.data_dir))

    t = time.perf_counter()
    md = load_market_data(dd, "BTCUSDT", "5m", None, None)
    load_s = time.perf_counter() - t
    start, end = "2023-01-01", "2026-02-19"
    params = {"qty": 0.01, "fast": 12, "slow": 26}
    t = time.perf_counter()
    r = run_backtest(
        EmaCross, "BTCUSDT", start, end, data=md, leverage=2, starting_balance=10_000, params=params
    )
    total_s = time.perf_counter() - t

    tiny = md.slice(to_ns("2024-06-01"), to_ns("2024-06-01") + 100 * 300 * 10**9)
    times = []
    for _ in range(max(1, a.repeat)):
        t = time.perf_counter()
        run_backtest(
            EmaCross,
            "BTCUSDT",
            "2024-06-01",
            tiny.close_ts[-1],
            data=tiny,
            params={"qty": 0.01, "fast": 3, "slow": 5},
        )
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
    # ---- vectorbt comparison (issue 15; only when vectorbt is importable)
    if not a.no_vectorbt:
        doc.update(vectorbt_section(md, "2024-01-01", "2024-12-31", loop=a.vectorbt_loop))
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
