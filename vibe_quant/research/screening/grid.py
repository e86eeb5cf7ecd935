"""Which parameter combinations a sweep runs.

``grid``: the strategy's full Cartesian sweep grid (``vibe_quant.dsl.sweep_grid``, last key
varying fastest); with ``max_combos`` smaller than the grid, an evenly strided subset
(indices ``round(i · n / max_combos)``) so the whole range of every key is still covered.
``random``: a uniform sample without replacement of ``max_combos`` grid points, drawn with
``numpy.random.default_rng(seed)`` and kept in grid order — the same seed gives the same sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vibe_quant.core.errors import ConfigError

SAMPLES = ("grid", "random")


class SweepConfigError(ConfigError, ValueError):
    """A sweep setting or ranking input is invalid (also a ``ValueError``, its old base)."""


def select_combos(
    grid: list[dict[str, Any]], *, sample: str = "grid", max_combos: int | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Pick the combinations to run from the full ``grid`` (see module doc).

    Raises:
        SweepConfigError: unknown ``sample`` or ``max_combos < 1``.
    """
    if sample not in SAMPLES:
        raise SweepConfigError(f"sample must be one of {SAMPLES}, not {sample!r}",
                               sample=sample)
    n = len(grid)
    if max_combos is not None and max_combos < 1:
        raise SweepConfigError("max_combos must be at least 1", max_combos=max_combos)
    k = n if max_combos is None else min(max_combos, n)
    if k == n:
        return list(grid)
    if sample == "grid":
        idx = sorted({min(n - 1, round(i * n / k)) for i in range(k)})
    else:
        idx = sorted(np.random.default_rng(seed).choice(n, size=k, replace=False).tolist())
    return [grid[i] for i in idx]
