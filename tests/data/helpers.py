"""Helpers for data tests: temporary partial copies of the shared mirror."""

from __future__ import annotations

import shutil
from pathlib import Path

KLINES = "data/futures/um/monthly/klines"
FUNDING = "data/futures/um/monthly/fundingRate"


def copy_months(
    shared: Path, dest: Path, symbol: str, interval: str, periods: list[str], funding: bool = True
) -> Path:
    """Copy some months (zip + CHECKSUM) of the shared mirror into ``dest`` (a temp mirror)."""
    src = shared / "binance-vision"
    for p in periods:
        names = [f"{KLINES}/{symbol}/{interval}/{symbol}-{interval}-{p}.zip"]
        if funding:
            names.append(f"{FUNDING}/{symbol}/{symbol}-fundingRate-{p}.zip")
        for n in names:
            for suffix in ("", ".CHECKSUM"):
                s = src / (n + suffix)
                d = dest / (n + suffix)
                d.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(s, d)
    return dest
