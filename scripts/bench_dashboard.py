"""Benchmark: time until each dashboard page has rendered its data in a real browser.

Store: one real screening sweep of ``strategies/ema_cross.yaml`` (BTCUSDT 5m, January 2024,
6 combinations) and one real validation-mode run of its best combination, then the sweep's
rows cloned into a 1,000-row sweep (parameters renumbered) and the full run (metrics, trades,
daily equity) cloned to 100 runs — the page queries and charts see the sizes, the numbers are
real. Data: ``--data-dir`` when it has a catalog, else BTCUSDT 5m 2024-01 → 2024-03 ingested from
a loopback mirror of ``../shared/data`` into a temp dir.

``vibe-quant dashboard`` serves the store on a free loopback port; Debian's ``/usr/bin/chromium``
(Playwright, headless) opens each page by URL ``--repeats`` times (after one warm-up visit) and
measures navigation → the page's footer drawn (its last element, after every table) and every
Plotly chart of the page drawn. Prints one JSON line: p50/p95/max seconds per page, the store
sizes and ``ok`` (every page's p95 ≤ 2 s, the target).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_P95_S = 2.0


def _source(arg: str | None, tmp: Path):
    from vibe_quant.core.paths import DataDir
    from vibe_quant.data.ingest import ingest
    from vibe_quant.testing import shared_data_dir
    from vibe_quant.testing.servers import MirrorServer

    if arg and (Path(arg) / "catalog" / "data" / "bars").exists():
        return DataDir(Path(arg).resolve())
    dd = DataDir(tmp / "source").ensure()
    with MirrorServer(shared_data_dir() / "binance-vision") as m:
        ingest(
            dd,
            symbols=["BTCUSDT"],
            intervals=["5m"],
            start=(2024, 1),
            end=(2024, 3),
            base_url=m.url,
            use_rest=False,
            now_ms=1_780_000_000_000,
            progress=None,
        )
    return dd


def _clone(state_db: Path, sweep_id: int, run_id: int, sweep_rows: int, runs: int) -> None:
    con = sqlite3.connect(state_db, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    src = con.execute("SELECT * FROM sweeps WHERE id=?", (sweep_id,)).fetchone()
    cols = [c[0] for c in con.execute("SELECT * FROM sweeps LIMIT 0").description]
    row = dict(zip(cols, src))
    rows = con.execute(
        "SELECT * FROM sweep_results WHERE sweep_id=? ORDER BY combo_idx", (sweep_id,)
    ).fetchall()
    rcols = [c[0] for c in con.execute("SELECT * FROM sweep_results LIMIT 0").description]
    combos = []
    new = []
    for i in range(sweep_rows):
        r = dict(zip(rcols, rows[i % len(rows)]))
        params = {"ema_fast.period": 5 + i % 40, "ema_slow.period": 40 + 5 * (i // 40)}
        combos.append(params)
        r.update(combo_idx=i, params=json.dumps(params, sort_keys=True))
        new.append(r)
    row.update(
        id=None, identity=row["identity"] + "-bench", combos=json.dumps(combos), n_combos=sweep_rows
    )
    cur = con.execute(
        f"INSERT INTO sweeps ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
        [row[c] for c in cols],
    )
    sid = cur.lastrowid
    for r in new:
        r["sweep_id"] = sid
    con.executemany(
        f"INSERT INTO sweep_results ({','.join(rcols)}) VALUES ({','.join('?' * len(rcols))})",
        [[r[c] for c in rcols] for r in new],
    )
    have = con.execute("SELECT COUNT(*) FROM backtest_runs").fetchone()[0]
    for _ in range(max(0, runs - have)):
        rid = con.execute(
            "INSERT INTO backtest_runs (strategy_id, strategy_name, symbols, "
            "interval, start_ns, end_ns, params, mode, leverage, starting_balance,"
            " seed, status, started_at, finished_at, error) SELECT strategy_id, "
            "strategy_name, symbols, interval, start_ns, end_ns, params, mode, "
            "leverage, starting_balance, seed, status, started_at, finished_at, "
            "error FROM backtest_runs WHERE id=?",
            (run_id,),
        ).lastrowid
        for table in ("backtest_results", "trades", "equity_curves"):
            tcols = [c[0] for c in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
            rest = [c for c in tcols if c != "run_id"]
            con.execute(
                f"INSERT INTO {table} (run_id, {','.join(rest)}) SELECT ?, "
                f"{','.join(rest)} FROM {table} WHERE run_id=?",
                (rid, run_id),
            )
    con.execute("COMMIT")
    con.close()


def _build(src, root: Path, sweep_rows: int, runs: int) -> tuple[int, int]:
    from vibe_quant.core.paths import DataDir
    from vibe_quant.research.screening.sweep import SweepSpec, run_sweep
    from vibe_quant.research.validation.validate import ValidateConfig, validate_sweep
    from vibe_quant.store.state import StateStore

    dd = DataDir(root)
    root.mkdir()
    os.symlink(src.catalog, root / "catalog")
    (root / "archive").mkdir()
    os.symlink(src.archive_db, root / "archive" / "raw_data.db")
    dd.ensure()
    text = (ROOT / "strategies" / "ema_cross.yaml").read_text()
    from vibe_quant.backtest.run import to_ns

    spec = SweepSpec(
        yaml_text=text,
        symbol="BTCUSDT",
        start_ns=to_ns("2024-01-01"),
        end_ns=to_ns("2024-01-31", end=True),
        interval="5m",
        max_combos=6,
    )
    with StateStore.open(dd) as store:
        rep = run_sweep(store, spec, data_dir=str(src.root), workers=2, progress=None)
        vrep = validate_sweep(
            store,
            rep.sweep_id,
            data_dir=str(src.root),
            config=ValidateConfig(top=1),
            progress=None,
        )
        run_id = next(c["run_id"] for c in vrep.candidates if c.get("run_id"))
    _clone(dd.state_db, rep.sweep_id, run_id, sweep_rows, runs)
    with StateStore.open(dd) as store:
        n_rows = store.conn.execute(
            "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM sweep_results GROUP BY sweep_id)"
        ).fetchone()[0]
        n_runs = store.conn.execute("SELECT COUNT(*) FROM backtest_runs").fetchone()[0]
    return int(n_rows), int(n_runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None, help="a data dir with BTCUSDT 5m catalogued")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--sweep-rows", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=100)
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT / "tests" / "dashboard"))
    from server_util import (
        PAGES,
        browser_missing,
        browser_page,
        dashboard,
        unexplained_errors,
        wait_rendered,
    )

    why = browser_missing()
    if why:
        print(json.dumps({"ok": False, "error": why}))
        return 1
    with tempfile.TemporaryDirectory(prefix="bench_dashboard_") as tmp:
        t = Path(tmp)
        src = _source(a.data_dir, t)
        n_rows, n_runs = _build(src, t / "store", a.sweep_rows, a.runs)
        strategies = t / "strategies"
        strategies.mkdir()
        (strategies / "ema_cross.yaml").write_text(
            (ROOT / "strategies" / "ema_cross.yaml").read_text()
        )
        env = {**os.environ, "VIBE_QUANT_DATA_DIR": str(t / "store")}
        times: dict[str, list[float]] = {u: [] for u, _ in PAGES}
        with (
            dashboard(t / "store", strategies, env) as (base, _),
            browser_page(1400, 2200) as (page, errors, _bad),
        ):
            for rep in range(a.repeats + 1):
                for url, title in PAGES:
                    t0 = time.perf_counter()
                    page.goto(f"{base}/{url}")
                    wait_rendered(page, title)  # footer, every chart's SVG, every table
                    if rep:  # the first round warms the server's imports
                        times[url].append(time.perf_counter() - t0)
        pages = {
            u or "strategies": {
                "p50_s": round(float(np.percentile(v, 50)), 3),
                "p95_s": round(float(np.percentile(v, 95)), 3),
                "max_s": round(max(v), 3),
                "n": len(v),
            }
            for u, v in times.items()
        }
    print(
        json.dumps(
            {
                "bench": "dashboard",
                "sweep_rows": n_rows,
                "runs": n_runs,
                "repeats": a.repeats,
                "pages": pages,
                "target_p95_s": TARGET_P95_S,
                "console_errors": len(unexplained_errors(errors, _bad)),
                "ok": all(p["p95_s"] <= TARGET_P95_S for p in pages.values()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
