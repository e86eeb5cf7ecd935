"""Overfitting filters: pure statistics over returns arrays (no store, no engine; an
import-linter contract keeps it so). The Sharpe convention shared by all of them (per period /
×sqrt(365)) is :mod:`vibe_quant.core.stats`.

Modules (one job each):

* ``dsr``           — PSR, deflated Sharpe ratio, E[max SR] over N trials, MinTRL.
* ``purged_kfold``  — purged K-fold splits with embargo; per-fold OOS Sharpe summary.
* ``pbo``           — probability of backtest overfitting by CSCV.
* ``walk_forward``  — walk-forward windows, walk-forward efficiency, stitched OOS equity.
* ``selection_cv``  — purged K-fold CV of the selection procedure over a sweep's return matrix.
* ``cpcv``          — combinatorial purged CV: backtest paths and their OOS Sharpe distribution.
* ``calibrate``     — each filter's false-positive rate and power on simulated sweeps.
* ``filter_power``  — those rates interpolated at a sweep's N, T and ρ from the packaged grid.
* ``thresholds``    — the named threshold presets (``default``, ``seed``) and default settings.

The filters over a stored sweep (``vibe-quant filter``) are :mod:`vibe_quant.research.filters`.

Definitions and formulas: ``SPEC.md §6``.
"""

# Names are imported on first use (PEP 562), so importing one light submodule (e.g. the
# calibration defaults the CLI shows) does not pull NumPy, pandas and SciPy in.
_EXPORTS = {
    "CPCVResult": "vibe_quant.research.overfitting.cpcv",
    "combinatorial_purged_cv": "vibe_quant.research.overfitting.cpcv",
    "n_paths": "vibe_quant.research.overfitting.cpcv",
    "DSR_THRESHOLD": "vibe_quant.research.overfitting.dsr",
    "DeflatedSharpeResult": "vibe_quant.research.overfitting.dsr",
    "ReturnMoments": "vibe_quant.research.overfitting.dsr",
    "deflated_sharpe_ratio": "vibe_quant.research.overfitting.dsr",
    "deflated_sharpe_test": "vibe_quant.research.overfitting.dsr",
    "expected_max_sharpe": "vibe_quant.research.overfitting.dsr",
    "expected_max_sharpe_factor": "vibe_quant.research.overfitting.dsr",
    "min_track_record_length": "vibe_quant.research.overfitting.dsr",
    "probabilistic_sharpe_ratio": "vibe_quant.research.overfitting.dsr",
    "return_moments": "vibe_quant.research.overfitting.dsr",
    "sharpe_ratio_std": "vibe_quant.research.overfitting.dsr",
    "trials_sharpe_variance": "vibe_quant.research.overfitting.dsr",
    "PBO_THRESHOLD": "vibe_quant.research.overfitting.pbo",
    "PBOResult": "vibe_quant.research.overfitting.pbo",
    "probability_of_backtest_overfitting": "vibe_quant.research.overfitting.pbo",
    "FoldSharpeSummary": "vibe_quant.research.overfitting.purged_kfold",
    "PurgedFold": "vibe_quant.research.overfitting.purged_kfold",
    "embargo_size": "vibe_quant.research.overfitting.purged_kfold",
    "iter_purged_kfold": "vibe_quant.research.overfitting.purged_kfold",
    "purged_kfold_splits": "vibe_quant.research.overfitting.purged_kfold",
    "summarise_fold_sharpes": "vibe_quant.research.overfitting.purged_kfold",
    "SelectionCVResult": "vibe_quant.research.overfitting.selection_cv",
    "selection_cv": "vibe_quant.research.overfitting.selection_cv",
    "DAYS_PER_YEAR": "vibe_quant.core.stats",
    "annualised_sharpe": "vibe_quant.core.stats",
    "sharpe_ratio": "vibe_quant.core.stats",
    "WalkForwardSummary": "vibe_quant.research.overfitting.walk_forward",
    "WalkForwardWindow": "vibe_quant.research.overfitting.walk_forward",
    "WindowResult": "vibe_quant.research.overfitting.walk_forward",
    "equity_sharpe": "vibe_quant.research.overfitting.walk_forward",
    "generate_windows": "vibe_quant.research.overfitting.walk_forward",
    "stitch_equity_curves": "vibe_quant.research.overfitting.walk_forward",
    "summarise_walk_forward": "vibe_quant.research.overfitting.walk_forward",
    "walk_forward_efficiency": "vibe_quant.research.overfitting.walk_forward",
}


def __getattr__(name: str):
    """Import the public name ``name`` from its submodule on first access."""
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


__all__ = [
    "CPCVResult",
    "DAYS_PER_YEAR",
    "DSR_THRESHOLD",
    "PBO_THRESHOLD",
    "DeflatedSharpeResult",
    "FoldSharpeSummary",
    "PBOResult",
    "PurgedFold",
    "ReturnMoments",
    "SelectionCVResult",
    "WalkForwardSummary",
    "WalkForwardWindow",
    "WindowResult",
    "annualised_sharpe",
    "combinatorial_purged_cv",
    "deflated_sharpe_ratio",
    "deflated_sharpe_test",
    "embargo_size",
    "equity_sharpe",
    "expected_max_sharpe",
    "expected_max_sharpe_factor",
    "generate_windows",
    "iter_purged_kfold",
    "min_track_record_length",
    "n_paths",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "purged_kfold_splits",
    "return_moments",
    "selection_cv",
    "sharpe_ratio",
    "sharpe_ratio_std",
    "stitch_equity_curves",
    "summarise_fold_sharpes",
    "summarise_walk_forward",
    "trials_sharpe_variance",
    "walk_forward_efficiency",
]
