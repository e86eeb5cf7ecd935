"""vibe_quant.research."""
