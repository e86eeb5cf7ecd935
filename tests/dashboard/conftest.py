"""A data dir holding a real sweep, filter run, validation and pipeline (real BTCUSDT 5m data,
real engine, through the CLI a user types), shared by the dashboard tests of one session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from vibe_quant.core.paths import DataDir

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "vibe_quant" / "dashboard" / "app.py"
START, END = "2024-01-01", "2024-04-30"


def cli_env(dd: DataDir, strategies: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VIBE_QUANT_JOB", "VIBE_QUANT_TELEGRAM"))
    }
    env.update(
        {
            "VIBE_QUANT_DATA_DIR": str(dd.root),
            "VIBE_QUANT_STRATEGIES_DIR": str(strategies),
            "VIBE_QUANT_JOB_HEARTBEAT_S": "0.5",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def run_cli(
    dd: DataDir, *argv: str, ok_codes: tuple[int, ...] = (0,), timeout: float = 900
) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "vibe_quant", *argv, "--data-dir", str(dd.root), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(dd, ROOT / "strategies"),
    )
    assert out.returncode in ok_codes, (argv, out.returncode, out.stderr[-3000:])
    return json.loads(out.stdout)


@dataclass
class Store:
    dd: DataDir
    strategies: Path
    sweep_id: int
    filter_run_id: int
    validation_run_id: int
    pipeline_id: int


def private_copy(real_data_dir: DataDir, root: Path) -> DataDir:
    """A data dir with a copy of the real archive and catalog (tests write state into it)."""
    dd = DataDir(root).ensure()
    shutil.copyfile(real_data_dir.archive_db, dd.archive_db)
    shutil.rmtree(dd.catalog)
    shutil.copytree(real_data_dir.catalog, dd.catalog)
    return dd


@pytest.fixture(scope="session")
def dash_store(real_data_dir, mirror, tmp_path_factory) -> Store:
    base = tmp_path_factory.mktemp("dashboard")
    dd = private_copy(real_data_dir, base / "dd")
    strategies = base / "strategies"
    strategies.mkdir()
    shutil.copy(ROOT / "strategies" / "ema_cross.yaml", strategies / "ema_cross.yaml")
    strat = str(strategies / "ema_cross.yaml")
    sw = run_cli(
        dd,
        "sweep",
        strat,
        "--symbol",
        "BTCUSDT",
        "--start",
        START,
        "--end",
        END,
        "--max-combos",
        "6",
        "--workers",
        "2",
    )
    sid = sw["sweep_id"]
    fl = run_cli(
        dd,
        "filter",
        str(sid),
        "--wfa-in",
        "2",
        "--wfa-out",
        "1",
        "--k",
        "3",
        "--pbo-blocks",
        "4",
        "--candidates",
        "top:2",
        ok_codes=(0, 1),
    )
    va = run_cli(dd, "validate", str(sid), "--top", "2")
    pl = run_cli(
        dd,
        "pipeline",
        strat,
        "--symbol",
        "BTCUSDT",
        "--start",
        START,
        "--end",
        END,
        "--max-combos",
        "6",
        "--workers",
        "2",
        "--filters",
        "dsr",
        "--top",
        "1",
        "--base-url",
        mirror.url,
        "--no-rest",
        ok_codes=(0, 1),
    )
    return Store(
        dd, strategies, sid, fl["filter_run_id"], va["validation_run_id"], pl["pipeline_id"]
    )
