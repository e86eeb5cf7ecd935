"""Calibration of the overfitting filters as a use case: simulate sweeps with a known true
Sharpe of the best combination and tabulate each filter's pass rate per true Sharpe and
correlation ρ (true Sharpe 0 = false-positive rate, the others = power; SPEC.md §6).

The defaults (:data:`DEFAULT_STRATEGIES` …) import no NumPy/SciPy, so a transport can show
them at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vibe_quant.core.errors import VibeQuantError
from vibe_quant.research.overfitting.calibration_defaults import (
    DEFAULT_DAYS,
    DEFAULT_RHOS,
    DEFAULT_SEED,
    DEFAULT_SIMS,
    DEFAULT_STRATEGIES,
    FILTERS,
)

__all__ = ["CalibrationInputError", "DEFAULT_DAYS", "DEFAULT_RHOS", "DEFAULT_SEED",
           "DEFAULT_SIMS", "DEFAULT_STRATEGIES", "FILTERS", "calibrate"]


class CalibrationInputError(VibeQuantError, ValueError):
    """A calibration setting is out of range (N, T, ρ, simulations, filters, workers); exit 1
    as before the error tree, also a ``ValueError``."""


def calibrate(
    *, n_strategies: int = DEFAULT_STRATEGIES, n_days: int = DEFAULT_DAYS,
    extra_rhos: Sequence[float] = (), n_sims: int = DEFAULT_SIMS, seed: int = DEFAULT_SEED,
    filters: Sequence[str] = FILTERS, workers: int = 1,
) -> Any:
    """Simulate and tabulate (see :func:`vibe_quant.research.overfitting.calibrate.calibrate`).

    Args:
        n_strategies: N, combinations per simulated sweep (≥ 2).
        n_days: T, daily returns per combination.
        extra_rhos: pairwise correlations simulated besides :data:`DEFAULT_RHOS`.
        n_sims: simulated sweeps per (ρ, true Sharpe) cell; seed: random seed.
        filters: subset of :data:`FILTERS`; workers: processes (≥ 1; results do not depend
            on it).

    Returns:
        The ``CalibrationResult`` (``to_dict()``: ``settings``, ``table``, ``recommended``,
        ``elapsed_s``).

    Raises:
        CalibrationInputError: a setting out of range (one line naming it).
    """
    from vibe_quant.research.overfitting import calibrate as cal

    try:
        if workers < 1:
            raise CalibrationInputError(f"--workers must be >= 1, got {workers}")
        return cal.calibrate(n_strategies=n_strategies, n_days=n_days,
                             rhos=(*DEFAULT_RHOS, *extra_rhos), n_sims=n_sims, seed=seed,
                             filters=tuple(filters), workers=workers)
    except CalibrationInputError:
        raise
    except ValueError as e:
        raise CalibrationInputError(str(e)) from e
