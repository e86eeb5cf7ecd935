"""Lockstep harness: the local exchange (paused) replays real 1m bars one minute at a time and
serves the strategy's 5m klines aggregated from them (SPEC §13). :meth:`PaperRig.step` closes
one 5m strategy bar as five 1m steps; after a minute in which the venue filled something (a
stop, take-profit or limit hit inside the 5m bar) and after the 5th minute, it waits until the
paper child has reacted (processed the bar) and the venue is quiet (no new order, fill or intent
for ``quiet_s``)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from vibe_quant.core.paths import DataDir
from vibe_quant.testing.exchange import TEST_API_KEY, TEST_API_SECRET, LocalExchange

# EMA 2/5 trades every few bars; a 0.3 % stop and 0.6 % target are hit inside 5m bars, on the
# 1m path, a few times in the tests' spans
PARAMS = ["ema_fast.period=2", "ema_slow.period=5", "stop_loss.pct=0.3", "take_profit.pct=0.6"]
REPLAY_FROM = "2025-01-28"
BAR_NS = 300 * 10**9  # the strategy's bar (ema_cross.yaml: 5m)
MINUTES_PER_BAR = 5  # 1m replay steps per strategy bar


def paper_env(**extra: str) -> dict[str, str]:
    env = dict(
        os.environ,
        VIBE_QUANT_BINANCE_API_KEY=TEST_API_KEY,
        VIBE_QUANT_BINANCE_API_SECRET=TEST_API_SECRET,
        VIBE_QUANT_PAPER_LOG_LEVEL="INFO",
        VIBE_QUANT_PAPER_BACKOFF_S="0.2",
    )
    env.update(extra)
    return env


def cli(dd: DataDir, *args: str, env: dict | None = None, check: bool = True):
    r = subprocess.run(
        [sys.executable, "-m", "vibe_quant", *args, "--data-dir", str(dd.root)],
        env=env or paper_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and r.returncode != 0:
        raise AssertionError(f"{args}: rc {r.returncode}\n{r.stdout}\n{r.stderr[-3000:]}")
    return r


class PaperRig:
    """A fresh data dir (archive copied from ``src``), a paused local exchange and a paper run."""

    def __init__(self, src: DataDir, tmp: Path, name: str):
        self.root = tmp / name
        self.root.mkdir()
        self.dd = DataDir(self.root / "dd").ensure()
        shutil.copy(src.archive_db, self.dd.archive_db)
        self.ex = LocalExchange(
            self.dd,
            interval="1m",
            replay_from=REPLAY_FROM,
            speed=1.0,
            start="paused",
            state_db=self.root / "exchange.db",
            log_path=self.root / "exchange.log",
        )
        self.run_id: int | None = None

    def start(self) -> PaperRig:
        self.ex.start()
        r = cli(
            self.dd,
            "paper",
            "start",
            "strategies/ema_cross.yaml",
            "--symbol",
            "BTCUSDT",
            *sum((["--param", p] for p in PARAMS), []),
            "--exchange",
            self.ex.rest,
            "--json",
        )
        self.run_id = json.loads(r.stdout)["id"]
        self.wait(lambda row: row.get("child_state") == "trading", 90, "child trading")
        return self

    def row(self) -> dict[str, Any]:
        con = sqlite3.connect(self.dd.state_db, timeout=30)
        con.row_factory = sqlite3.Row
        try:
            return dict(
                con.execute("SELECT * FROM paper_runs WHERE id=?", (self.run_id,)).fetchone()
            )
        finally:
            con.close()

    def count(self, table: str) -> int:
        con = sqlite3.connect(self.dd.state_db, timeout=30)
        try:
            return con.execute(
                f"SELECT COUNT(*) FROM {table} WHERE run_id=?", (self.run_id,)
            ).fetchone()[0]
        finally:
            con.close()

    def wait(self, cond, timeout_s: float, what: str) -> dict[str, Any]:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            row = self.row()
            if cond(row):
                return row
            time.sleep(0.05)
        raise AssertionError(
            f"timed out waiting for {what}: {self.row()}\n"
            + Path(self.row()["log_path"]).read_text()[-4000:]
        )

    def cursor_ns(self) -> int:
        return self.ex.admin("GET", "/admin/state")["replay"]["cursor_ms"] * 1_000_000

    def venue_counts(self) -> tuple[int, int, int]:
        """(orders, algo orders, trades) the exchange has recorded."""
        st = self.ex.admin("GET", "/admin/state")["counts"]
        return st["orders"], st["algo_orders"], st["trades"]

    def quiet(self, quiet_s: float = 0.12) -> None:
        prev = None
        while True:
            snap = (
                *self.venue_counts(),
                self.count("paper_intents"),
                self.count("paper_fills"),
                self.row()["heartbeat_ns"] is not None,
            )
            if snap == prev:
                return
            prev = snap
            time.sleep(quiet_s)

    def step(self, on_stepped=None, at_minute: int = MINUTES_PER_BAR) -> int:
        """Close one strategy bar (five 1m steps); wait until the child processed it and the
        venue is quiet. ``on_stepped(cursor_ns)`` runs right after minute ``at_minute``
        (1…5) closed, before anything is awaited (where the crash test kills the child)."""
        for minute in range(1, MINUTES_PER_BAR + 1):
            before = self.venue_counts()
            self.ex.admin("POST", "/admin/step", n=1)
            if minute == at_minute and on_stepped is not None:
                on_stepped(self.cursor_ns())
            if minute < MINUTES_PER_BAR and self.venue_counts()[2] != before[2]:
                self.quiet()  # a fill inside the bar: let the child place / cancel what follows
        bar = self.cursor_ns()  # the strategy bar that just closed closes at the cursor
        assert bar % BAR_NS == 0, f"replay cursor {bar} is not on a {BAR_NS // 10**9}s boundary"
        self.wait(
            lambda row: (
                (row.get("last_bar_ns") or 0) >= bar and row.get("child_state") == "trading"
            ),
            120,
            f"bar {bar}",
        )
        self.quiet()
        return bar

    def close(self) -> None:
        if self.run_id is not None:
            cli(self.dd, "paper", "stop", str(self.run_id), check=False)
            row = self.row()
            for pid in (row.get("child_pid"), row.get("supervisor_pid")):
                if pid:
                    try:
                        os.kill(int(pid), 9)
                    except (ProcessLookupError, PermissionError):
                        pass
        self.ex.stop()
