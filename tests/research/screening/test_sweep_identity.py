"""A 100-combination screening sweep gives the same stored results as the stored fixture.

The fixture (``fixtures/ema_cross_100_btcusdt_5m_2024h1.json``) was written by this module's
``main`` from a sweep of ``strategies/ema_cross.yaml`` (its first 100 grid combinations) on real
BTCUSDT 5m bars 2024-01-01 → 2024-06-30, 2 workers, screening mode (funding and liquidation
on), BEFORE the speed work of issue 15. For every combination it holds every stored metric
(full float precision, as ``repr``), the fill count, a sha256 of the fill log (time, side, qty,
price, commission, tag, liquidity, liquidation adjustment) and a sha256 of the stored daily
returns. A speed change that moves one fill, one fee or one float digit fails this test.

Regenerate (only when a change is MEANT to change fills; say so in the change):

    .venv/bin/python -m tests.research.screening.test_sweep_identity --write --data-dir DIR
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = Path(__file__).parent / "fixtures" / "ema_cross_100_btcusdt_5m_2024h1.json"
STRATEGY = ROOT / "strategies" / "ema_cross.yaml"
START, END = "2024-01-01", "2024-06-30"
COMBOS = 100


def _canon(v: Any) -> Any:
    """A metric value as an exactly comparable JSON value (floats as ``repr``: every digit,
    NaN and ±inf included)."""
    if isinstance(v, float):
        return repr(v)
    return v


def _returns_digest(rets: list[float] | None) -> str:
    return hashlib.sha256(",".join(repr(float(x)) for x in (rets or [])).encode()).hexdigest()


def run_identity_sweep(data_dir: str, db: Path, workers: int = 2) -> dict[str, Any]:
    """Run the sweep and return ``{"combos": [{combo_idx, params, metrics, fills,
    fills_sha256, daily_returns_sha256, daily_start}, …]}`` from the stored rows."""
    from vibe_quant.backtest.run import to_ns
    from vibe_quant.dsl import load_strategy, sweep_grid
    from vibe_quant.research.screening.sweep import SweepSpec, run_sweep
    from vibe_quant.store.state import StateStore

    text = STRATEGY.read_text()
    grid = sweep_grid(load_strategy(text))[:COMBOS]
    spec = SweepSpec(
        yaml_text=text,
        symbol="BTCUSDT",
        start_ns=to_ns(START),
        end_ns=to_ns(END, end=True),
        grid=grid,
    )
    raw: dict[int, dict[str, Any]] = {}
    with StateStore.open(db) as store:
        rep = run_sweep(
            store,
            spec,
            data_dir=data_dir,
            workers=workers,
            progress=None,
            fresh=True,
            on_result=lambda r: raw.__setitem__(r["combo_idx"], r),
            fills_digest=True,
        )
        rows = store.sweep_results(rep.sweep_id, with_returns=True)
    out = []
    for r in rows:
        w = raw.get(r["combo_idx"], {})
        out.append(
            {
                "combo_idx": r["combo_idx"],
                "params": r["params"],
                "status": r["status"],
                "metrics": {k: _canon(v) for k, v in sorted(r["metrics"].items())},
                "fills": w.get("fills"),
                "fills_sha256": w.get("fills_sha256"),
                "daily_returns_sha256": _returns_digest(r["daily_returns"]),
                "daily_start": r.get("daily_start"),
            }
        )
    return {
        "strategy": STRATEGY.name,
        "symbol": "BTCUSDT",
        "interval": "5m",
        "window": [START, END],
        "combos": out,
    }


@pytest.mark.slow
def test_sweep_results_identical_to_fixture(tmp_path, real_data_dir):
    want = json.loads(FIXTURE.read_text())
    got = run_identity_sweep(str(real_data_dir.root), tmp_path / "s.db")
    assert len(got["combos"]) == len(want["combos"]) == COMBOS
    diffs = []
    for g, w in zip(got["combos"], want["combos"], strict=True):
        assert g["combo_idx"] == w["combo_idx"] and g["params"] == w["params"]
        for key in ("status", "fills", "fills_sha256", "daily_returns_sha256", "daily_start"):
            if g[key] != w[key]:
                diffs.append(
                    f"combo {g['combo_idx']} {g['params']}: {key} {w[key]!r} -> {g[key]!r}"
                )
        for k in sorted(set(g["metrics"]) | set(w["metrics"])):
            if g["metrics"].get(k) != w["metrics"].get(k):
                diffs.append(
                    f"combo {g['combo_idx']} {g['params']}: metric {k} "
                    f"{w['metrics'].get(k)} -> {g['metrics'].get(k)}"
                )
    assert not diffs, f"{len(diffs)} differences, first 20:\n" + "\n".join(diffs[:20])


def test_fixture_is_a_real_sweep():
    """The fixture holds 100 completed combinations that traded (a sanity check on the stored
    file itself: its trade counts are positive and differ across parameters)."""
    doc = json.loads(FIXTURE.read_text())
    rows = doc["combos"]
    assert len(rows) == COMBOS and all(r["status"] == "completed" for r in rows)
    assert all(r["fills"] >= 2 * int(r["metrics"]["trades"]) > 0 for r in rows)
    assert len({r["fills_sha256"] for r in rows}) > 90
    assert not any(math.isnan(float(r["metrics"]["total_return"])) for r in rows)


def main(argv: list[str]) -> int:
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(description="write the sweep identity fixture")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        doc = run_identity_sweep(a.data_dir, Path(tmp) / "s.db", a.workers)
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    if a.write:
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(text)
        print(f"wrote {FIXTURE}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
