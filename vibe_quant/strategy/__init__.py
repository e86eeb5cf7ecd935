"""vibe_quant.strategy."""
