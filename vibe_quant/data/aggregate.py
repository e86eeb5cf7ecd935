"""Aggregate OHLCV bars to a higher interval (numpy, vectorised).

A target bar covering ``[t, t + T)`` is built from the source bars whose ``open_time`` lies in
it: open = first open, high = max high, low = min low, close = last close, volume = sum. Only
*complete* target bars are emitted (all ``T / S`` source bars present), so a gap in the source
never produces a bar that pretends to cover time it does not. This equals a pandas
``resample(T, label='left', closed='left')`` restricted to windows with a full count.
"""

from __future__ import annotations

import numpy as np

from vibe_quant.core.errors import ConfigError


class IntervalMismatchError(ConfigError, ValueError):
    """A target interval that is not a whole multiple of the source interval (a ValueError)."""


def aggregate(cols: dict[str, np.ndarray], source_ms: int, target_ms: int) -> dict[str, np.ndarray]:
    """Aggregate ascending source bars (``open_time`` int64 ms, OHLCV float64) to ``target_ms``.

    Returns the same keys (``open_time`` = target bar open, ms).

    Raises:
        IntervalMismatchError: (a ValueError) ``target_ms`` is not a multiple of ``source_ms``.
    """
    if target_ms % source_ms:
        raise IntervalMismatchError(f"{target_ms} ms is not a multiple of {source_ms} ms",
                                    source_ms=source_ms, target_ms=target_ms)
    k = target_ms // source_ms
    ot = cols["open_time"]
    if len(ot) == 0:
        return {key: v[:0] for key, v in cols.items()}
    keys = ot - (ot % target_ms)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    counts = np.diff(np.r_[starts, len(keys)])
    full = counts == k
    out = {
        "open_time": keys[starts],
        "open": cols["open"][starts],
        "high": np.maximum.reduceat(cols["high"], starts),
        "low": np.minimum.reduceat(cols["low"], starts),
        "close": cols["close"][np.r_[starts[1:], len(keys)] - 1],
        "volume": np.add.reduceat(cols["volume"], starts),
    }
    out = {key: v[full] for key, v in out.items()}
    out["close_time"] = out["open_time"] + target_ms - 1
    return out
