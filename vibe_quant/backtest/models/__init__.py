"""vibe_quant.backtest.models."""
