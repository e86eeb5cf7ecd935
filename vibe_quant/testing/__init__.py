"""Local stand-ins for what lies outside the machine (Binance, Telegram), speaking the real
protocols on 127.0.0.1. Used by tests, benchmarks and the offline setup script."""

import os
from pathlib import Path

SHARED_DATA_ENV = "VIBE_QUANT_SHARED_DATA"


def shared_data_dir() -> Path:
    """``../shared/data`` relative to the project root (or ``$VIBE_QUANT_SHARED_DATA``).

    Raises FileNotFoundError with a clear message when it is not there.
    """
    env = os.environ.get(SHARED_DATA_ENV)
    p = Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"
    if not (p / "binance-vision").is_dir():
        raise FileNotFoundError(
            f"shared market data not found at {p} (set {SHARED_DATA_ENV} to the folder holding "
            "binance-vision/ and binance-api/)"
        )
    return p
