"""The overfitting filters' thresholds and settings: the named presets and the defaults.

Pure values, shared by the filters over a stored sweep (:mod:`vibe_quant.research.filters`,
whose ``FilterConfig`` defaults are these) and by the calibration (:mod:`.calibrate`, whose
``current`` preset is read from here), so neither imports the other. Units: Sharpe ratios
annualised (√365); shares, PBO, DSR, embargo as fractions; window lengths in calendar months;
horizons in days.
"""

from __future__ import annotations

import math

from vibe_quant.research.overfitting.dsr import DSR_THRESHOLD
from vibe_quant.research.overfitting.pbo import DEFAULT_BLOCKS, PBO_THRESHOLD
from vibe_quant.research.overfitting.purged_kfold import MAX_STD_SHARPE, MIN_MEAN_SHARPE
from vibe_quant.research.overfitting.walk_forward import MIN_PROFITABLE_SHARE, MIN_WFE

SEED_THRESHOLDS: dict[str, float] = {
    "dsr_threshold": DSR_THRESHOLD,
    "pbo_threshold": PBO_THRESHOLD,
    "pkfold_min_mean": MIN_MEAN_SHARPE,
    "pkfold_max_std": MAX_STD_SHARPE,
    "wfa_min_wfe": MIN_WFE,
    "wfa_min_profitable": MIN_PROFITABLE_SHARE,
}
"""The seed design's thresholds (preset ``seed``): DSR ≥ 0.95; PBO ≤ 0.5; K-fold mean > 0.5 and
std < 1.0; WFE ≥ 0.5 and > 50 % profitable windows. Their calibration (SPEC.md §6) shows the
K-fold rule rejects skill and noise alike and the walk-forward rule lets 17 % of flukes through
at ρ = 0.9, so they are no longer the defaults."""

DEFAULT_THRESHOLDS: dict[str, float] = {
    "dsr_threshold": 0.94,
    "pbo_threshold": 0.23,
    "pkfold_min_mean": 1.95,
    "pkfold_max_std": math.inf,
    "wfa_min_wfe": 0.0,
    "wfa_min_profitable": 0.85,
}
"""Preset ``default``: from the calibration table of SPEC.md §6 (N = 100 trials, T = 730 days,
ρ ∈ {0, 0.3, 0.6, 0.9}, 500 simulated sweeps per cell), the recommended thresholds rounded in
the conservative direction — DSR 0.9371 → 0.94 (up), PBO 0.2357 → 0.23 (down), selection K-fold
mean 1.908 → 1.95 (up; std rule off), walk-forward WFE ≥ 0 with > 85 % profitable windows — so
that a best-of-100 with true Sharpe 0 passes each filter at most 5 % of the time at every ρ."""

PRESETS: dict[str, dict[str, float]] = {"default": DEFAULT_THRESHOLDS, "seed": SEED_THRESHOLDS}
"""Named threshold presets (``vibe-quant filter --preset NAME``)."""

DEFAULT_SETTINGS: dict[str, int | float | bool] = {
    "wfa_in_months": 9,
    "wfa_out_months": 3,
    "wfa_step_months": 1,
    "wfa_anchored": False,
    "pkfold_k": 5,
    "pkfold_embargo_pct": 0.01,
    "pkfold_horizon_days": 0,
    "cpcv_groups": 10,
    "cpcv_test_groups": 2,
    "pbo_blocks": DEFAULT_BLOCKS,
}
"""The filters' default settings (rolling 9/3/1-month walk-forward; K = 5 folds, 1 % embargo,
0-day label horizon; CPCV 10 groups, 2 test groups; PBO with 16 blocks)."""


def default_filter_values() -> dict[str, int | float | bool]:
    """Every default threshold and setting of the filters (``DEFAULT_SETTINGS`` and the
    ``default`` preset), by ``FilterConfig`` field name."""
    return {**DEFAULT_SETTINGS, **DEFAULT_THRESHOLDS}
