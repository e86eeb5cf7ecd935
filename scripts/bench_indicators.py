#!/usr/bin/env python
"""Benchmark the DSL's streaming indicators: constant work per bar; prints ONE JSON line.

Every registry indicator (``vibe_quant.dsl.registry.INDICATORS``, default parameters and source)
is fed the same BTCUSDT 5m bars one at a time through ``update()``. The wall time of the first
``--block`` updates is compared with that of the last ``--block`` updates of a ``--bars`` feed
(best of ``--repeat`` fresh feeds each, ``time.perf_counter``). An implementation that recomputes
its history on every bar costs ~``bars / block`` times more at the end; a constant-work one
stays near 1. ``growth`` = last / first; ``constant_work`` is true when every indicator's growth
is below ``--max-growth`` (default 3). Times are machine-dependent (wall clock, shared cores),
which is why this is a benchmark and not a test; the outputs are checked against textbook
formulas in ``tests/strategy/test_indicators.py``.

    .venv/bin/python scripts/bench_indicators.py [--data-dir DIR] [--bars 100000]
        [--block 2000] [--repeat 3] [--max-growth 3]

JSON fields: ``bars``, ``block``, ``repeat``, ``max_growth``, ``constant_work`` (bool),
``worst`` (indicator with the largest growth), ``per_indicator``: {type: {``first_us``,
``last_us`` (µs per update, mean over the block), ``growth``}}, ``seconds`` (total wall time).

Data: the catalog of ``--data-dir`` (default ``./data`` / ``$VIBE_QUANT_DATA_DIR``); ingested
into a temporary dir from ``../shared/data`` when it has no BTCUSDT 5m bars (as
``bench_backtest.py`` does). Exit code 1 with one line on stderr when the catalog has fewer
than ``--bars`` bars or the arguments are out of range.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))


def _arrays(md, n: int) -> list[tuple[float, float, float, float, float, int]]:
    """The last ``n`` bars of ``md`` as (open, high, low, close, volume, close ts ns) rows."""
    return [
        (
            b.open.as_double(),
            b.high.as_double(),
            b.low.as_double(),
            b.close.as_double(),
            b.volume.as_double(),
            int(b.ts_event),
        )
        for b in md.bars[-n:]
    ]


def _feed_once(type_name: str, rows, block: int) -> tuple[float, float]:
    """Seconds spent on the first and on the last ``block`` updates of one fresh feed."""
    from vibe_quant.strategy.runtime.indicators import build

    ind = build(type_name, {}, None)
    up = ind.update
    n = len(rows)
    t0 = time.perf_counter()
    for r in rows[:block]:
        up(*r)
    first = time.perf_counter() - t0
    for r in rows[block : n - block]:
        up(*r)
    t0 = time.perf_counter()
    for r in rows[n - block :]:
        up(*r)
    last = time.perf_counter() - t0
    return first, last


def bench(rows, block: int, repeat: int, max_growth: float) -> dict:
    """Per-indicator first/last block timings over ``rows`` (see the module docstring)."""
    from vibe_quant.dsl.registry import INDICATORS

    per = {}
    for t in sorted(INDICATORS):
        firsts, lasts = zip(*(_feed_once(t, rows, block) for _ in range(max(1, repeat))))
        first, last = min(firsts), min(lasts)
        per[t] = {
            "first_us": round(first / block * 1e6, 3),
            "last_us": round(last / block * 1e6, 3),
            "growth": round(last / first, 3) if first > 0 else None,
        }
    growth = {t: v["growth"] for t, v in per.items() if v["growth"] is not None}
    worst = max(growth, key=growth.get) if growth else None
    return {
        "constant_work": all(g < max_growth for g in growth.values()),
        "worst": worst,
        "per_indicator": per,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--bars", type=int, default=100_000, help="bars fed to each indicator")
    ap.add_argument("--block", type=int, default=2_000, help="updates timed at each end")
    ap.add_argument("--repeat", type=int, default=3, help="fresh feeds per indicator (best)")
    ap.add_argument("--max-growth", type=float, default=3.0)
    a = ap.parse_args()
    if not (a.block >= 1 and a.bars >= 2 * a.block and a.max_growth > 1):
        print(
            f"bench_indicators: need --block ≥ 1, --bars ≥ 2 × --block and --max-growth > 1 "
            f"(got {a.block}, {a.bars}, {a.max_growth})",
            file=sys.stderr,
        )
        return 1
    from bench_backtest import _ensure_data

    from vibe_quant.backtest.marketdata import load_market_data
    from vibe_quant.core.paths import DataDir

    t = time.perf_counter()
    dd = _ensure_data(DataDir.resolve(a.data_dir))
    md = load_market_data(dd, "BTCUSDT", "5m", None, None)
    if len(md.bars) < a.bars:
        print(
            f"bench_indicators: the BTCUSDT 5m catalog in {dd.root} has {len(md.bars)} bars, "
            f"fewer than --bars {a.bars}; pass a smaller --bars",
            file=sys.stderr,
        )
        return 1
    rows = _arrays(md, a.bars)
    doc = {
        "benchmark": "streaming_indicators_constant_work_btcusdt_5m",
        "bars": len(rows),
        "block": a.block,
        "repeat": a.repeat,
        "max_growth": a.max_growth,
    }
    doc.update(bench(rows, a.block, a.repeat, a.max_growth))
    doc["seconds"] = round(time.perf_counter() - t, 3)
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
