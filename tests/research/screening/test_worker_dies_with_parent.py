"""SIGKILL of a sweep's parent leaves no worker process alive.

Spawn workers of ``ProcessPoolExecutor`` outlive a parent killed with SIGKILL (CPython issue
111873; measured before the fix: both ≈0.5 GB workers were still running minutes later). The
test kills the parent of a real sweep while its workers run and reads the process table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[3]


def _workers(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_sigkill_of_the_parent_ends_every_worker(jan_2024_dir):
    cmd = [sys.executable, "-m", "vibe_quant", "sweep", "strategies/ema_cross.yaml", "--symbol",
           "BTCUSDT", "--start", "2024-01-05", "--end", "2024-01-31", "--workers", "2",
           "--data-dir", str(jan_2024_dir.root), "--json"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    descendants: list[psutil.Process] = []
    try:
        deadline = time.time() + 120
        spawned: list[psutil.Process] = []
        while time.time() < deadline:
            spawned = [p for p in _workers(proc.pid)
                       if "spawn_main" in " ".join(p.cmdline())]
            if len(spawned) >= 2:
                break
            assert proc.poll() is None, "the sweep ended before its workers started"
            time.sleep(0.2)
        assert len(spawned) >= 2, "no spawn workers seen"
        descendants = _workers(proc.pid)  # workers and multiprocessing's resource tracker
        time.sleep(1.0)  # the workers are busy (compiling, loading bars, running combos)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        gone, alive = psutil.wait_procs(descendants, timeout=15)
        assert alive == [], [(p.pid, p.cmdline()[-2:]) for p in alive]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in descendants:  # never leave a worker behind, even when the test fails
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
