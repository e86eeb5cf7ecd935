"""Latency presets for validation runs (Nautilus ``StaticLatencyModel``).

| preset | one-way latency |
|---|---|
| ``colocated`` | 1 ms |
| ``domestic`` | 20 ms |
| ``international`` | 100 ms |
| ``retail`` | 200 ms |
| ``none`` | no latency model (as screening) |

The latency is applied as the model's ``base_latency_nanos`` (added to inserts, updates and
cancels alike).

What a latency below one bar can and cannot change ON BAR DATA (measured on NautilusTrader
1.231's Rust engine with 5-minute bars, ``tests/research/validation/test_latency.py``):

* It CAN only do one thing: an order sent at the close of bar t reaches the simulated exchange
  after the next data point, so a market order fills at the close of bar t+1 instead of bar t,
  and a stop/limit/cancel takes effect from bar t+1. Every latency from 1 ns up to exactly one
  bar (300 s on 5m bars) gives the SAME fills; the four presets are indistinguishable.
* It CANNOT model the price drift during 1–200 ms (the simulation has no prices between bar
  closes), queue position, or a latency-dependent fill: the cost it adds is one bar of price
  movement, which on 5m bars is orders of magnitude more than a real 200 ms delay. Read it as a
  "decide on bar t, execute on bar t+1" stress test, not as a measurement of latency cost.
* Side effect: the strategy's ``on_bar`` for bar t+1 runs BEFORE the order from bar t fills, so a
  strategy that sizes from its filled position alone sends the same order again (see
  ``SPEC.md §8``).
"""

from __future__ import annotations

from typing import Any

from nautilus_trader.core import nautilus_pyo3 as n3

from vibe_quant.backtest.models.params import DEFAULT_LATENCY, LATENCY_PRESETS, NS_PER_MS
from vibe_quant.backtest.venue import BacktestConfigError

__all__ = ["DEFAULT_LATENCY", "LATENCY_PRESETS", "NS_PER_MS", "latency_factory", "latency_ns"]


def latency_ns(name: str) -> int | None:
    """Latency of a preset in ns (None for ``none``).

    Raises:
        BacktestConfigError (a ``ValueError``): unknown preset name."""
    try:
        return LATENCY_PRESETS[name]
    except (KeyError, TypeError):
        raise BacktestConfigError(
            f"unknown latency preset {name!r}; expected one of {sorted(LATENCY_PRESETS)}",
            latency=name,
        ) from None


def latency_factory(name: str):
    """Preset factory ``(seed) -> StaticLatencyModel``, or None for ``none``."""
    ns = latency_ns(name)
    if ns is None:
        return None

    def make(seed: int) -> Any:
        del seed  # static: nothing random
        return n3.StaticLatencyModel(base_latency_nanos=ns)

    return make
