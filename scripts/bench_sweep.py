"""Benchmark: the same screening sweep with 1 and with 2 workers.

Default: the first ``--combos`` (100) combinations of ``strategies/ema_cross.yaml`` on BTCUSDT
5m 2023-01-01 → 2024-12-31 (compiled by the DSL compiler; a grid smaller than ``--combos`` is
cycled), from ``--data-dir`` (ingested from a loopback mirror of ``../shared/data`` into a temp
dir when it has no catalog). Prints one JSON line: combos/s and bars/s per worker count, the
scaling ratio, the per-combination overhead beyond engine time, peak RSS per worker, each
worker's RSS after its last combination over its RSS after its 10th, the no-op ceiling (a
``VQStrategy`` doing nothing per bar, same bars and venue, in the parent) with the ratio of a
combination's engine time to it, and the 1,000-combination time projected from the 2-worker
rate. ``--workers 2`` runs only the 2-worker sweep (e.g. with ``--combos 1000``).
``--rss-loop N`` instead runs N combinations (the grid cycled) through a one-worker sweep and
prints the worker's RSS after the 10th, 100th, 1,000th … combination (of the process that ran
it), how many worker processes ran them and what a worker's start cost (``init_s``: compile and
loading the bars; ``startup_s``: the wall time per start beyond the combinations' own time, i.e.
spawn, imports, init and the parent's writes over all starts; ``first_combo_overhead_s``: a
fresh process's first combination beyond engine time, over the others' median);
``--max-combos-per-worker K`` / ``--max-fills-per-worker F`` set when a worker is replaced (0:
never; both 0 = before issue 15's fix). ``rss_last_vs_10th`` is, in the sweeps, the highest of
each worker process's RSS after its last combination over after its 10th; in the RSS loop, the
RSS after the N-th combination over after the 10th (whichever processes ran them; the
per-process figure is ``rss_last_vs_10th_per_process``). Targets (issue 15):
scaling ≥ 1.9×, overhead ≤ 25 ms, peak RSS ≤ 600 MB, RSS growth ≤ 1.10 (after 1,000 runs
against after 10), engine vs no-op ≥ 0.7.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _data_dir(arg: str | None, tmp: str) -> str:
    from vibe_quant.core.paths import DataDir
    from vibe_quant.data.ingest import ingest
    from vibe_quant.testing import shared_data_dir
    from vibe_quant.testing.servers import MirrorServer

    if arg and (Path(arg) / "catalog" / "data" / "bars").exists():
        return arg
    dd = DataDir(Path(tmp)).ensure()
    with MirrorServer(shared_data_dir() / "binance-vision") as m:
        ingest(
            dd,
            symbols=["BTCUSDT"],
            intervals=["5m"],
            start=(2023, 1),
            end=(2024, 12),
            base_url=m.url,
            use_rest=False,
            now_ms=1_780_000_000_000,
            progress=None,
        )
    return str(dd.root)


def _run(store_path: Path, spec, data_dir: str, workers: int, per_worker: int,
         fills: int) -> dict:
    from vibe_quant.research.screening.sweep import run_sweep
    from vibe_quant.store.state import StateStore

    results: list[dict] = []
    with StateStore.open(store_path) as store:
        t0 = time.perf_counter()
        rep = run_sweep(
            store,
            spec,
            data_dir=data_dir,
            workers=workers,
            progress=None,
            fresh=True,
            on_result=results.append,
            max_combos_per_worker=per_worker,
            max_fills_per_worker=fills,
        )
        wall = time.perf_counter() - t0
    ok = [r for r in results if r["status"] == "completed"]
    bars = sum(r["bars"] for r in ok)
    engine = statistics.fmean(r["engine_s"] for r in ok)
    in_worker = statistics.fmean(r["total_s"] - r["engine_s"] for r in ok)
    return {
        "workers": workers,
        "combos": rep.combos,
        "completed": rep.completed,
        "failed": rep.failed,
        "wall_s": round(wall, 3),
        "combos_per_s": round(rep.combos / wall, 3),
        "bars_per_s": round(bars / wall),
        "engine_s_per_combo": round(engine, 4),
        "overhead_ms_per_combo_in_worker": round(in_worker * 1000, 1),
        "overhead_ms_per_combo_end_to_end": round((wall * workers / rep.combos - engine) * 1000, 1),
        **_per_process(ok),
    }


def _per_process(ok: list[dict]) -> dict:
    """Worker processes of a sweep's completed results (in arrival order): how many, the
    highest peak RSS (MB), the highest RSS after a process's last combination over after its
    10th (processes with more than 10; target ≤ 1.10) and the combinations and fills each
    process ran."""
    procs: dict[int, list[dict]] = {}
    for r in ok:
        procs.setdefault(r["pid"], []).append(r)
    growth = [v[-1]["rss_mb"] / v[9]["rss_mb"] for v in procs.values()
              if len(v) > 10 and v[-1].get("rss_mb") and v[9].get("rss_mb")]
    return {"worker_processes": len(procs),
            "combos_fills_per_process": [(len(v), sum(r["fills"] for r in v))
                                         for v in procs.values()],
            "peak_rss_mb_per_worker": round(max(r["peak_rss_mb"] for r in ok), 1) if ok else None,
            "rss_last_vs_10th": round(max(growth), 3) if growth else None}


def _noop_ceiling(spec, data_dir: str, repeat: int = 3) -> dict:
    """Engine time of a ``VQStrategy`` doing nothing per bar on the sweep's bars and venue (the
    engine's own limit), best of ``repeat`` re-runs on one session, in this process."""
    from vibe_quant.backtest.run import BacktestSession
    from vibe_quant.research.screening.sweep import _spec_combos, sweep_warmup
    from vibe_quant.strategy.base import VQStrategy

    class NoopCeiling(VQStrategy):
        name = "noop_ceiling"

        def handle_bar(self, bar):
            pass

    combos, _, lev = _spec_combos(spec)
    md = _load(spec, data_dir, sweep_warmup(spec, combos))
    sess = BacktestSession(md, trade_start_ns=spec.start_ns, leverage=lev)
    runs = [sess.run(NoopCeiling, {}) for _ in range(repeat)]
    sess.dispose()
    return {"engine_s": min(r.elapsed_s for r in runs), "bars": runs[0].bars}


def _rss_loop(store_path: Path, spec, data_dir: str, runs: int, per_worker: int | None,
              fills: int | None) -> dict:
    """RSS (MB) after the 10th, 100th, 1,000th … of ``runs`` combinations of a one-worker sweep
    (results arrive in order), worker processes used and the cost of starting one."""
    from vibe_quant.research.screening.sweep import run_sweep
    from vibe_quant.store.state import StateStore

    grid = [spec.grid[i % len(spec.grid)] for i in range(runs)]
    results: list[dict] = []
    with StateStore.open(store_path) as store:
        t0 = time.perf_counter()
        run_sweep(store, spec.replace(grid=grid), data_dir=data_dir, workers=1, progress=None,
                  fresh=True, on_result=results.append, max_combos_per_worker=per_worker,
                  max_fills_per_worker=fills)
        wall = time.perf_counter() - t0
    failed = [r for r in results if r["status"] != "completed"]
    results = [r for r in results if r["status"] == "completed"]
    rss = {str(n): round(results[n - 1]["rss_mb"], 1) for n in (1, 10, 100, 1000, 10000, runs)
           if n <= len(results)}
    procs = _per_process(results)
    pids = procs["worker_processes"]
    inits = [r["init_s"] for r in results if r.get("init_s")]
    # a fresh process's first combination (session, bar arrays) beyond the others' median
    over = [r["total_s"] - r["engine_s"] for r in results]
    first = [o for r, o in zip(results, over) if r.get("init_s")]
    rest = [o for r, o in zip(results, over) if not r.get("init_s")]
    return {"rss_loop_runs": runs,
            "failed": [(r["combo_idx"], r.get("error", "")[:300]) for r in failed],
            "rss_mb_after_runs": rss,
            "rss_last_vs_10th": (round(rss[str(runs)] / rss["10"], 3)
                                 if "10" in rss and str(runs) in rss else None),
            "rss_last_vs_10th_per_process": procs["rss_last_vs_10th"],
            "worker_processes": pids,
            "combos_fills_per_process": procs["combos_fills_per_process"],
            "peak_rss_mb": procs["peak_rss_mb_per_worker"],
            "rss_loop_s_per_run": round(wall / runs, 3),
            "init_s_per_worker": round(statistics.fmean(inits), 3) if inits else None,
            "startup_s_per_worker": round((wall - sum(r["total_s"] for r in results)) / pids, 3),
            "first_combo_overhead_s": (round(statistics.fmean(first) - statistics.median(rest),
                                             3) if first and rest else None)}


def _load(spec, data_dir: str, warm: int):
    from vibe_quant.backtest.marketdata import load_market_data
    from vibe_quant.core.intervals import interval_ms
    from vibe_quant.core.paths import DataDir

    return load_market_data(DataDir.resolve(data_dir), spec.symbol, spec.interval,
                            spec.start_ns - warm * interval_ms(spec.interval) * 1_000_000,
                            spec.end_ns)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--strategy", default=str(ROOT / "strategies" / "ema_cross.yaml"))
    ap.add_argument("--combos", type=int, default=100)
    ap.add_argument("--start", default="2023-01-01")
    ap.add_argument("--end", default="2024-12-31")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--workers", default="1,2", help="worker counts to run, e.g. 2")
    ap.add_argument("--rss-loop", type=int, default=0, metavar="N",
                    help="only the RSS loop: N combinations through a one-worker sweep")
    ap.add_argument("--max-combos-per-worker", type=int, default=None, metavar="K",
                    help="replace a worker after K combinations (0: never; default: the sweep's)")
    ap.add_argument("--max-fills-per-worker", type=int, default=None, metavar="F",
                    help="replace a worker once its results carry F fills (0: never; default: "
                         "the sweep's)")
    args = ap.parse_args()

    from vibe_quant.backtest.run import to_ns
    from vibe_quant.dsl import load_strategy, sweep_grid
    from vibe_quant.research.screening.sweep import SweepSpec

    text = Path(args.strategy).read_text()
    full = sweep_grid(load_strategy(text))
    grid = [full[i % len(full)] for i in range(args.combos)]
    counts = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        dd = _data_dir(args.data_dir, tmp)
        spec = SweepSpec(
            yaml_text=text,
            symbol="BTCUSDT",
            start_ns=to_ns(args.start),
            end_ns=to_ns(args.end, end=True),
            grid=grid,
        )
        from vibe_quant.research.screening.sweep import MAX_COMBOS_PER_WORKER, MAX_FILLS_PER_WORKER

        k = (MAX_COMBOS_PER_WORKER if args.max_combos_per_worker is None
             else args.max_combos_per_worker)
        f = (MAX_FILLS_PER_WORKER if args.max_fills_per_worker is None
             else args.max_fills_per_worker)
        head = {"bench": "sweep", "strategy": Path(args.strategy).name,
                "range": f"{args.start}..{args.end}", "max_combos_per_worker": k,
                "max_fills_per_worker": f}
        if args.rss_loop:
            print(json.dumps({**head, **_rss_loop(Path(tmp) / "rss.db", spec, dd,
                                                  args.rss_loop, k, f)}))
            return
        noops, runs = [], {}
        for w in counts:  # interleaved: ceiling, sweep, ceiling, sweep
            noops.append(_noop_ceiling(spec, dd))
            runs[w] = _run(Path(tmp) / f"s{w}.db", spec, dd, w, k, f)
    noop_s = min(n["engine_s"] for n in noops)
    out = {**head, **{f"{'one' if w == 1 else 'two' if w == 2 else w}_worker"
                      f"{'' if w == 1 else 's'}": r for w, r in runs.items()}}
    if 1 in runs and 2 in runs:
        out["scaling"] = round(runs[2]["combos_per_s"] / runs[1]["combos_per_s"], 3)
    first = runs[counts[0]]
    # the no-op ceiling (engine + bar dispatch, same bars/venue) and a combination's engine time
    # against it (the first worker count's sweep; target ≥ 0.7)
    out["noop_engine_s"] = round(noop_s, 4)
    out["noop_bars_per_s"] = round(noops[0]["bars"] / noop_s)
    out["engine_vs_noop_ratio"] = round(noop_s / first["engine_s_per_combo"], 3)
    if 2 in runs:
        out["projected_1000_combos_2_workers_min"] = round(1000 / runs[2]["combos_per_s"] / 60,
                                                           2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
