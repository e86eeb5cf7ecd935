"""vibe_quant.venues.binance."""
