"""Overfitting filters: pure statistics over returns arrays (no I/O, no engine).

Modules (one job each):

* ``sharpe``        — the Sharpe convention shared by all of them (per period / ×sqrt(365)).
* ``dsr``           — PSR, deflated Sharpe ratio, E[max SR] over N trials, MinTRL.
* ``purged_kfold``  — purged K-fold splits with embargo; per-fold OOS Sharpe summary.
* ``pbo``           — probability of backtest overfitting by CSCV.
* ``walk_forward``  — walk-forward windows, walk-forward efficiency, stitched OOS equity.
* ``selection_cv``  — purged K-fold CV of the selection procedure over a sweep's return matrix.
* ``cpcv``          — combinatorial purged CV: backtest paths and their OOS Sharpe distribution.
* ``calibrate``     — each filter's false-positive rate and power on simulated sweeps.
* ``filter_power``  — those rates interpolated at a sweep's N, T and ρ from the packaged grid.
* ``filters``       — the filters over a stored sweep (``vibe-quant filter``); threshold presets.

Definitions and formulas: ``SPEC.md §6``.
"""

from vibe_quant.overfitting.cpcv import CPCVResult, combinatorial_purged_cv, n_paths
from vibe_quant.overfitting.dsr import (
    DSR_THRESHOLD,
    DeflatedSharpeResult,
    ReturnMoments,
    deflated_sharpe_ratio,
    deflated_sharpe_test,
    expected_max_sharpe,
    expected_max_sharpe_factor,
    min_track_record_length,
    probabilistic_sharpe_ratio,
    return_moments,
    sharpe_ratio_std,
    trials_sharpe_variance,
)
from vibe_quant.overfitting.pbo import PBO_THRESHOLD, PBOResult, probability_of_backtest_overfitting
from vibe_quant.overfitting.purged_kfold import (
    FoldSharpeSummary,
    PurgedFold,
    embargo_size,
    iter_purged_kfold,
    purged_kfold_splits,
    summarise_fold_sharpes,
)
from vibe_quant.overfitting.selection_cv import SelectionCVResult, selection_cv
from vibe_quant.overfitting.sharpe import DAYS_PER_YEAR, annualised_sharpe, sharpe_ratio
from vibe_quant.overfitting.walk_forward import (
    WalkForwardSummary,
    WalkForwardWindow,
    WindowResult,
    equity_sharpe,
    generate_windows,
    stitch_equity_curves,
    summarise_walk_forward,
    walk_forward_efficiency,
)

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
