"""Run the local Binance USDⓈ-M exchange (``vibe-quant exchange serve``) as a subprocess, for
tests and benchmarks, and ingest the real 1m bars it replays.

Example::

    ingest_1m(data_dir, mirror.url)                  # BTCUSDT 1m 2025-01/02 + funding
    with LocalExchange(data_dir, replay_from="2025-01-28", start="paused") as ex:
        ex.admin("POST", "/admin/step", n=5)
        client = ex.client()                          # signed FuturesRestClient
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from vibe_quant.core.paths import DataDir

TEST_API_KEY = "vq-test-key-3f9a1c"
TEST_API_SECRET = "vq-test-secret-8d27e4b1"


def ingest_1m(
    data_dir: DataDir,
    mirror_url: str,
    symbols: tuple[str, ...] = ("BTCUSDT",),
    months: tuple[tuple[int, int], tuple[int, int]] = ((2025, 1), (2025, 2)),
) -> None:
    """Ingest real 1m klines and funding of ``symbols`` from a loopback data.binance.vision
    mirror into ``data_dir``'s raw archive (no REST, no catalog)."""
    from vibe_quant.data.ingest import ingest

    report = ingest(
        data_dir.ensure(),
        symbols=list(symbols),
        intervals=["1m"],
        start=months[0],
        end=months[1],
        base_url=mirror_url,
        rest_url="http://127.0.0.1:9",
        use_rest=False,
        now_ms=1_780_000_000_000,
        progress=None,
        build_catalog=False,
    )
    if not report.ok:
        raise RuntimeError(f"ingest failed: {report.failed}")


class LocalExchange:
    """``vibe-quant exchange serve`` in a child process (stdout's first line = the ready JSON).

    Args:
        start: ``subscribe`` | ``paused`` | ``now`` (see ``--start``).
        port: 0 = a free port; pass the previous one to restart on the same URL.
    """

    def __init__(
        self,
        data_dir: DataDir,
        *,
        symbols: str = "BTCUSDT",
        interval: str = "1m",
        replay_from: str = "2025-01-28",
        speed: float = 600.0,
        start: str = "paused",
        port: int = 0,
        state_db: str | Path | None = None,
        balance: float = 10_000.0,
        leverage: int = 20,
        api_key: str = TEST_API_KEY,
        api_secret: str = TEST_API_SECRET,
        log_path: str | Path | None = None,
    ):
        self.args = [
            "exchange",
            "serve",
            "--symbols",
            symbols,
            "--interval",
            interval,
            "--replay-from",
            replay_from,
            "--speed",
            str(speed),
            "--start",
            start,
            "--port",
            str(port),
            "--data-dir",
            str(data_dir.root),
            "--balance",
            str(balance),
            "--leverage",
            str(leverage),
        ]
        if state_db is not None:
            self.args += ["--state-db", str(state_db)]
        self.api_key, self.api_secret = api_key, api_secret
        self.log_path = Path(log_path) if log_path else None
        self.proc: subprocess.Popen | None = None
        self.info: dict[str, Any] = {}

    def start(self, timeout_s: float = 60.0) -> LocalExchange:
        env = dict(
            os.environ,
            VIBE_QUANT_EXCHANGE_API_KEY=self.api_key,
            VIBE_QUANT_EXCHANGE_API_SECRET=self.api_secret,
        )
        err = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vibe_quant", *self.args],
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            text=True,
        )
        if self.log_path:
            err.close()
        t0 = time.monotonic()
        line = self.proc.stdout.readline()
        if not line:
            rc = self.proc.wait(timeout=max(1.0, timeout_s - (time.monotonic() - t0)))
            raise RuntimeError(f"exchange exited with {rc} before it listened")
        self.info = json.loads(line)
        return self

    @property
    def rest(self) -> str:
        return self.info["rest"]

    @property
    def ws(self) -> str:
        return self.info["ws"]

    @property
    def port(self) -> int:
        return int(self.rest.rsplit(":", 1)[1])

    def admin(self, method: str, path: str, **params: Any) -> Any:
        r = httpx.request(method, self.rest + path, params=params or None, timeout=30)
        r.raise_for_status()
        return r.json()

    def client(self):
        from vibe_quant.exchange.client import FuturesRestClient

        return FuturesRestClient(self.rest, self.api_key, self.api_secret)

    def stop(self, timeout_s: float = 15.0) -> int | None:
        """SIGTERM and wait (SIGKILL after ``timeout_s``); returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self) -> None:
        """SIGKILL (a crash) and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> LocalExchange:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
