"""Defaults of ``vibe-quant filter calibrate`` (:mod:`vibe_quant.research.overfitting.calibrate`).

Kept apart from the simulation so the command line can show them without importing NumPy,
pandas and SciPy at start-up.
"""

DEFAULT_RHOS = (0.0, 0.3, 0.6, 0.9)
"""Cross-correlations ρ between a simulated sweep's combinations."""
DEFAULT_SHARPES = (0.0, 0.5, 1.0, 2.0, 3.0)
"""True annualised Sharpe ratios of the best combination (√365 convention)."""
DEFAULT_STRATEGIES = 100
"""N, combinations per simulated sweep."""
DEFAULT_DAYS = 730
"""T, daily returns per combination."""
DEFAULT_SIMS = 500
"""Simulated sweeps per (ρ, true Sharpe) cell (≈ ±1.9 pp at a 5 % rate)."""
DEFAULT_SEED = 11
FILTERS = ("dsr", "pbo", "pkfold", "wfa")
"""The filters calibrated, as named in ``vibe-quant filter``."""
