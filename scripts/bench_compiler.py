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
``bollinger_breakout.yaml``; ``--no-heavy`` skips the latter). ``*_orders_floor_vs_noop_ratio``:
the same for :func:`orders_floor` of the strategy's run — its fills' market orders sent at their
bars with no other work, what the engine alone spends on those bars and fills; no strategy with
these fills can beat it on this engine.

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
        heavy_kw = dict(data=md, leverage=hs.leverage(), warmup_bars=hs.warmup_bars)
        specs.append(("heavy", hs, heavy_kw))
    best = {k: None for k, _, _ in specs}
    runs = {}
    for _ in range(max(1, repeat)):
        for key, spec, kws in specs:
            r = run_backtest(spec, "BTCUSDT", START, END, **kws)
            runs[key] = r
            if best[key] is None or r.elapsed_s < best[key]:
                best[key] = r.elapsed_s
    c, h = runs["compiled"], runs["hand"]
    # the orders floor: the same fills' orders, known in advance, sent with no per-event work
    floors = [("floor", orders_floor(runs["compiled"]), kw)]
    if heavy:
        floors.append(("heavy_floor", orders_floor(runs["heavy"]), heavy_kw))
    for _ in range(max(1, repeat)):
        for key, spec, kws in [specs[0], *floors]:
            r = run_backtest(spec, "BTCUSDT", START, END, **kws)
            best[key] = min(best.get(key) or r.elapsed_s, r.elapsed_s)
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
        # no strategy with these fills can be faster on this engine (target 0.7 is above it
        # when this is below 0.7)
        "compiled_orders_floor_vs_noop_ratio": round(best["noop"] / best["floor"], 3),
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
                "heavy_orders_floor_vs_noop_ratio": round(best["noop"] / best["heavy_floor"], 3),
            }
        )
    return out


def orders_floor(result) -> type:
    """A ``VQStrategy`` that sends, at each bar where ``result`` has fills, one market order per
    filled order (its side, its total filled quantity), and does nothing else: no per-bar work
    beyond the base class's cache purge, no order or position handlers. It makes as many fills
    as ``result`` on the same bars (a stop or target filled inside a bar becomes a market order
    at that bar's close), so its run time is what the engine itself spends on the bars and
    those fills: a floor for any strategy with them (SPEC §3 "Where a run's time goes")."""
    import nautilus_trader.core.nautilus_pyo3 as n3

    from vibe_quant.strategy.base import PURGE_EVERY_BARS, VQStrategy

    plan: dict[int, list[tuple[int, float]]] = {}
    orders: dict[str, list] = {}
    for f in result.fills:
        o = orders.get(f.order_id)
        if o is None or o[0] != f.ts:
            o = orders[f.order_id] = [f.ts, f.side, 0.0]
            plan.setdefault(f.ts, []).append(o)
        o[2] += f.qty
    buy, sell = n3.OrderSide.BUY, n3.OrderSide.SELL

    class OrdersFloor(VQStrategy):
        name = "orders_floor"

        def on_bar(self, bar):
            ts = bar.ts_event
            self._bars_seen += 1
            if self._bars_seen % PURGE_EVERY_BARS == 0 and self.cache.orders_closed_count():
                self.cache.purge_closed_orders(ts, 0)  # as VQStrategy (NETTING slows without)
                self.cache.purge_account_events(ts, 0)
            for _, side, qty in plan.get(ts, ()):
                self.submit_order(self.order_factory.market(
                    self.ctx.instrument_id, buy if side > 0 else sell,
                    n3.Quantity(qty, self.ctx.size_precision)))

        def handle_bar(self, bar):
            pass

        def _ignore(self, event):
            pass

        on_order_filled = on_order_accepted = on_order_canceled = _ignore
        on_position_opened = on_position_changed = on_position_closed = _ignore

    return OrdersFloor


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
