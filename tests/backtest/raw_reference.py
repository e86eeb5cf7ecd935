"""Reference values read straight from the raw files in ``../shared/data/binance-api`` (not
through vibe-quant's instrument code), for hand computations in the liquidation tests."""

from __future__ import annotations

import json
from pathlib import Path


def btc_brackets(shared_data: Path) -> list[tuple[float, float, float, float]]:
    """BTCUSDT leverage brackets as ``(notional floor, notional cap, maintenance margin rate,
    cum)`` — USDT, USDT, fraction, USDT — from ``leverage_brackets_BTC_ETH_SOL.json``."""
    doc = json.loads(
        (shared_data / "binance-api" / "leverage_brackets_BTC_ETH_SOL.json").read_text()
    )
    return [
        (
            float(b["info"]["notionalFloor"]),
            float(b["info"]["notionalCap"]),
            float(b["info"]["maintMarginRatio"]),
            float(b["info"]["cum"]),
        )
        for b in doc["BTC/USDT:USDT"]
    ]
