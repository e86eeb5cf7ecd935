"""vibe_quant.venues."""
