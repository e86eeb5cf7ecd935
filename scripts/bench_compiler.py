#!/usr/bin/env python
"""Benchmark the DSL compiler's runtime; prints ONE JSON line on stdout.

Compiled ``strategies/ema_cross.yaml`` against the same strategy written by hand
(``tests/strategy/handwritten.py``: plain ``VQStrategy``, no compiler code; identical fills —
``tests/strategy/test_parity.py``) on BTCUSDT 5m 2023-01-01 → 2026-02-19, in one process, on one
loaded data set, leverage 3, funding and liquidation guard on. ``*_bars_per_s`` = bars in the
run / the engine's ``run()`` wall time (best of ``--repeat`` runs each, interleaved);
``ratio`` = compiled / hand-written (target ≥ 0.9). ``*_vs_noop_ratio``: against the no-op
ceiling (a ``VQStrategy`` doing nothing per bar: the engine's own limit on the same bars and
venue; target ≥ 0.7 for ``ema_cross.yaml`` and for the most order-heavy shipped strategy,
``bollinger_breakout.yaml``; ``--no-heavy`` skips the latter).

    .venv/bin/python scripts/bench_compiler.py [--data-dir DIR] [--repeat 3]

Data: the catalog of ``--data-dir`` (default ``./data`` / ``$VIBE_QUANT_DATA_DIR``); ingested
into a temporary dir from ``../shared/data`` when it has no BTCUSDT 5m bars (as
``bench_backtest.py`` does).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "strategy"))
sys.path.insert(0, str(ROOT / "scripts"))

START, END = "2023-01-01", "2026-02-19"


HEAVY = "bollinger_breakout"  # the shipped strategy placing the most orders (ATR trailing stop)


def compiler_section(md, repeat: int = 3, heavy: bool = True) -> dict:
    """Time compiled vs hand-written ema_cross on ``md`` (a loaded ``MarketData``), and both
    against the no-op ceiling (a ``VQStrategy`` whose ``handle_bar`` does nothing: engine + bar
    dispatch, same bars and venue) — plus the most order-heavy shipped strategy when ``heavy``.
    Runs are interleaved (noop, hand, compiled, heavy, noop, …); best of ``repeat`` each."""
    from handwritten import HandEmaCross  # tests/strategy/handwritten.py

    from vibe_quant.backtest import run_backtest
    from vibe_quant.strategy.base import VQStrategy
    from vibe_quant.strategy.compiler import compile_strategy

    class NoopCeiling(VQStrategy):
        name = "noop_ceiling"

        def handle_bar(self, bar):
            pass

    cs = compile_strategy(ROOT / "strategies" / "ema_cross.yaml")
    kw = dict(data=md, leverage=cs.leverage(), warmup_bars=cs.warmup_bars)
    specs = [("noop", NoopCeiling, kw), ("hand", HandEmaCross, kw), ("compiled", cs, kw)]
    if heavy:
        hs = compile_strategy(ROOT / "strategies" / f"{HEAVY}.yaml")
        specs.append(
            ("heavy", hs, dict(data=md, leverage=hs.leverage(), warmup_bars=hs.warmup_bars))
        )
    best = {k: None for k, _, _ in specs}
    runs = {}
    for _ in range(max(1, repeat)):
        for key, spec, kws in specs:
            r = run_backtest(spec, "BTCUSDT", START, END, **kws)
            runs[key] = r
            if best[key] is None or r.elapsed_s < best[key]:
                best[key] = r.elapsed_s
    c, h = runs["compiled"], runs["hand"]
    nb = runs["noop"].bars / best["noop"]
    same = [(f.ts, f.side, f.qty, f.price) for f in c.fills] == [
        (f.ts, f.side, f.qty, f.price) for f in h.fills
    ]
    cb, hb = c.bars / best["compiled"], h.bars / best["hand"]
    out = {
        "compiler_benchmark": "ema_cross_yaml_vs_handwritten_btcusdt_5m",
        "compiler_period": [START, END],
        "compiler_bars": c.bars,
        "compiler_fills": len(c.fills),
        "compiler_identical_fills": same,
        "compiled_engine_run_s": round(best["compiled"], 3),
        "handwritten_engine_run_s": round(best["hand"], 3),
        "compiled_bars_per_s": round(cb),
        "handwritten_bars_per_s": round(hb),
        "compiled_vs_handwritten_ratio": round(cb / hb, 3),
        "noop_ceiling_bars_per_s": round(nb),
        "compiled_vs_noop_ratio": round(cb / nb, 3),
        "handwritten_vs_noop_ratio": round(hb / nb, 3),
    }
    if heavy:
        hv = runs["heavy"]
        hvb = hv.bars / best["heavy"]
        out.update(
            {
                "heavy_strategy": f"{HEAVY}.yaml",
                "heavy_fills": len(hv.fills),
                "heavy_bars_per_s": round(hvb),
                "heavy_vs_noop_ratio": round(hvb / nb, 3),
            }
        )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-heavy", action="store_true", help="skip bollinger_breakout.yaml")
    a = ap.parse_args()
    from bench_backtest import _ensure_data

    from vibe_quant.backtest.marketdata import load_market_data
    from vibe_quant.core.paths import DataDir

    dd = _ensure_data(DataDir.resolve(a.data_dir))
    t = time.perf_counter()
    md = load_market_data(dd, "BTCUSDT", "5m", None, None)
    load_s = time.perf_counter() - t
    doc = compiler_section(md, a.repeat, heavy=not a.no_heavy)
    doc["catalog_load_s"] = round(load_s, 3)
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
