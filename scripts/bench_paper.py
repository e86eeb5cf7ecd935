"""Benchmark of paper trading on the local exchange: one JSON line.

Runs ``vibe-quant exchange serve`` replaying real BTCUSDT 1m bars (2025-01-28 on; the
strategy's 5m klines aggregated from them, SPEC §13) at replay speed and a ``vibe-quant paper``
run of ``strategies/ema_cross.yaml`` (EMA 2/5, so it trades
often) against it for ``--seconds``; then reports

* ``latency_ms`` p50 / p99 / max: bar close → order submit inside the child, i.e. from the
  moment the node hands the closed kline to the strategy (wall clock at ``on_bar``) to the
  ``submit_order`` call of the entry / exit it decided (the ``latency_ms`` of ``order`` events;
  protective orders placed on fills are not bar-caused and are excluded); target p99 ≤ 50 ms;
* ``peak_rss_mb`` of the paper child (sampled every 0.2 s with psutil, incl. its threads);
* bars processed, orders and fills.

Needs the 1m archive: ``--data-dir`` (default: ingest 2025-01/02 from ../shared/data into a
temporary directory through the loopback mirror).

    .venv/bin/python scripts/bench_paper.py [--seconds 60] [--speed 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument(
        "--speed", type=float, default=3000.0, help="1m bars: 3000 = 20 ms per minute"
    )
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()

    import psutil

    from vibe_quant.core.paths import DataDir
    from vibe_quant.testing.exchange import TEST_API_KEY, TEST_API_SECRET, LocalExchange

    tmp = Path(tempfile.mkdtemp(prefix="bench_paper_"))
    if args.data_dir:
        src = DataDir(Path(args.data_dir))
    else:
        from vibe_quant.data.ingest import ingest
        from vibe_quant.testing import shared_data_dir
        from vibe_quant.testing.servers import MirrorServer

        src = DataDir(tmp / "src").ensure()
        with MirrorServer(shared_data_dir() / "binance-vision") as m:
            rep = ingest(
                src,
                symbols=["BTCUSDT"],
                intervals=["1m"],
                start=(2025, 1),
                end=(2025, 2),
                base_url=m.url,
                rest_url="http://127.0.0.1:9",
                use_rest=False,
                now_ms=1_780_000_000_000,
                progress=None,
                build_catalog=False,
            )
            assert rep.ok, rep.failed
    dd = DataDir(tmp / "dd").ensure()
    import shutil

    shutil.copy(src.archive_db, dd.archive_db)
    env = dict(
        os.environ,
        VIBE_QUANT_BINANCE_API_KEY=TEST_API_KEY,
        VIBE_QUANT_BINANCE_API_SECRET=TEST_API_SECRET,
        VIBE_QUANT_PAPER_LOG_LEVEL="WARNING",
    )
    ex = LocalExchange(
        dd,
        interval="1m",
        replay_from="2025-01-28",
        speed=args.speed,
        start="subscribe",
        state_db=tmp / "x.db",
        log_path=tmp / "x.log",
    ).start()
    run_id = None
    peak = 0
    try:
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "vibe_quant",
                "paper",
                "start",
                "strategies/ema_cross.yaml",
                "--symbol",
                "BTCUSDT",
                "--param",
                "ema_fast.period=2",
                "--param",
                "ema_slow.period=5",
                "--exchange",
                ex.rest,
                "--data-dir",
                str(dd.root),
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        run_id = json.loads(r.stdout)["id"]
        from vibe_quant.store import paper_sql as Q
        from vibe_quant.store.state import StateStore

        end = time.monotonic() + args.seconds
        with StateStore.open(dd) as st:
            while time.monotonic() < end:
                pid = (Q.run(st.conn, run_id) or {}).get("child_pid")
                if pid:
                    try:
                        peak = max(peak, psutil.Process(pid).memory_info().rss)
                    except psutil.Error:
                        pass
                time.sleep(0.2)
            row = Q.run(st.conn, run_id)
            evs = Q.events(st.conn, run_id, kind="order")
            n_fills = len(Q.fills(st.conn, run_id))
    finally:
        if run_id is not None:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "vibe_quant",
                    "paper",
                    "stop",
                    str(run_id),
                    "--data-dir",
                    str(dd.root),
                ],
                env=env,
                capture_output=True,
                cwd=ROOT,
            )
        ex.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    lat = sorted(
        e["payload"]["latency_ms"]
        for e in evs
        if e["payload"].get("role") in ("entry", "exit")
        and e["payload"].get("latency_ms") is not None
    )

    def pct(q: float) -> float | None:
        if not lat:
            return None
        return round(lat[min(len(lat) - 1, int(q * (len(lat) - 1) + 0.5))], 3)

    print(
        json.dumps(
            {
                "bench": "paper",
                "seconds": args.seconds,
                "speed": args.speed,
                "bars": None
                if row["last_bar_ns"] is None or row["trade_start_ns"] is None
                else (row["last_bar_ns"] - row["trade_start_ns"]) // 300_000_000_000,
                "orders": len(evs),
                "fills": n_fills,
                "decisions_timed": len(lat),
                "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": lat[-1] if lat else None},
                "target_p99_ms": 50,
                "peak_rss_mb": round(peak / 2**20, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
