"""vibe_quant.core."""
