"""Local stand-ins for what lies outside the machine (Binance, Telegram), speaking the real
protocols on 127.0.0.1. Used by tests, benchmarks and the offline setup script."""

from vibe_quant.core.paths import SHARED_DATA_ENV, shared_data_dir

__all__ = ["SHARED_DATA_ENV", "shared_data_dir"]

