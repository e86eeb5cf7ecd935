"""Purged K-fold cross-validation of the *selection procedure* of a sweep.

Source: López de Prado, M. (2018), "Advances in Financial Machine Learning" [AFML], ch. 7
(purged K-fold CV, snippets 7.1–7.3); standard error of a Sharpe ratio: Lo, A. W. (2002), "The
Statistics of Sharpe Ratios", Financial Analysts Journal 58(4), 36–52 (iid returns:
``SE(SR̂) ≈ √((1 + SR²/2) / T)`` for the per-period SR, × √q annualised).

What is cross-validated is the *choice* of a combination, not one fixed parameter set: in each
fold the combination with the best objective on the fold's purged and embargoed **training** days
is selected, and then scored on the **test** fold it never saw. A fixed candidate's Sharpe on the
test folds is only a slice of the same in-sample series (issue 11); here the candidate's own
test-fold Sharpe is reported *beside* the selection's, for comparison.

Definitions as implemented:

* Input: ``returns``, a ``T × N`` matrix of daily simple returns (row = UTC day in time order,
  column = sweep combination; no position = 0.0).
* Observations are the T days. Day ``d`` has the label span ``[t0[d], t1[d]]``: by default
  ``t0 = d`` and ``t1 = d + horizon_days`` (in days); or explicit ``t0``/``t1`` (any comparable
  times, e.g. UTC ns, as in ``purged_kfold.purged_kfold_splits``) — for a sweep use, per day, the
  latest exit among the trades open that day over all combinations.
* Folds, purging and embargo: ``purged_kfold.purged_kfold_splits`` (contiguous
  ``numpy.array_split`` folds, closed-interval purge, right-side embargo).
* Objective: annualised Sharpe ``mean/std(ddof=1)·√365`` (``sharpe.sharpe_ratio``, zero-variance
  rule 0 / ±inf). Selection: ``argmax`` over columns on the training rows (ties → lowest index).
* Test rank: among all N combinations on the test fold, **1 = best**; ties get the average rank.
* Fold standard error (Lo 2002): ``SE = √((1 + SR_d²/2) / T_test) · √365`` with ``SR_d`` the
  fold's per-period (daily) Sharpe — ≈ 1.58 annualised for a 146-day fold.
* Summary: mean and std (ddof=1) of the selections' test Sharpes, share of folds whose selection
  ranks in the better half on its test fold (``rank < (N + 1)/2``: the median itself does not
  count, as in PBO), the Lo standard error of one fold's Sharpe at the mean test Sharpe and the
  mean fold length, and that divided by √K for the mean (folds treated as independent).
* Pass rule (``passed``): ``mean_test_sharpe > min_mean`` and ``std_test_sharpe < max_std``
  (strict; ``max_std = inf`` disables the dispersion rule). Defaults are the purged K-fold
  thresholds of ``purged_kfold`` (``MIN_MEAN_SHARPE``, ``MAX_STD_SHARPE``); their false-positive
  rate and power are measured by ``vibe_quant.research.overfitting.calibrate``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from vibe_quant.core.errors import StatisticsInputError
from vibe_quant.core.jsonpolicy import jsonable
from vibe_quant.core.stats import DAYS_PER_YEAR
from vibe_quant.research.overfitting.purged_kfold import (
    MAX_STD_SHARPE,
    MIN_MEAN_SHARPE,
    PurgedFold,
    purged_kfold_splits,
)

_SQRT_YEAR = math.sqrt(DAYS_PER_YEAR)

DEFAULT_EMBARGO_PCT = 0.01
"""Embargo after each test fold when neither ``embargo_pct`` nor ``embargo_n`` is given."""


def _embargo_pct(embargo_pct: float | None, embargo_n: int | None) -> float:
    """The ``embargo_pct`` to pass on: 0 when a count is given, else the default or the value."""
    if embargo_pct is None:
        return 0.0 if embargo_n is not None else DEFAULT_EMBARGO_PCT
    return embargo_pct


def as_return_matrix(returns: ArrayLike, *, min_rows: int = 2, min_cols: int = 1) -> np.ndarray:
    """Validate a ``T × N`` matrix of per-period returns; returns ``float64``.

    Raises:
        ValueError: not 2-d, too few rows/columns, NaN or inf.
    """
    m = np.asarray(returns, dtype=float)
    if m.ndim != 2:
        raise StatisticsInputError(f"returns must be a 2-d T x N matrix, got shape {m.shape}")
    if m.shape[0] < min_rows or m.shape[1] < min_cols:
        raise StatisticsInputError(
            f"returns need at least {min_rows} rows and {min_cols} columns, got {m.shape}"
        )
    if not np.all(np.isfinite(m)):
        raise StatisticsInputError(
            "returns contain NaN or inf; fill days without a position with 0.0")
    return m


def column_sharpes(returns: np.ndarray, rows: np.ndarray | slice | None = None) -> np.ndarray:
    """Annualised Sharpe (``mean/std(ddof=1)·√365``) of every column over ``rows``; shape ``(N,)``.

    Zero-variance columns follow ``sharpe.sharpe_ratio``: 0.0 when the mean is 0, ±inf otherwise.
    Needs at least 2 rows (ValueError otherwise).
    """
    sub = returns if rows is None else returns[rows]
    if sub.shape[0] < 2:
        raise StatisticsInputError(f"a Sharpe ratio needs at least 2 returns, got {sub.shape[0]}")
    mean = sub.mean(axis=0)
    std = sub.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sr = mean / std
    zero = std == 0.0
    sr[zero] = np.where(mean[zero] == 0.0, 0.0, np.copysign(np.inf, mean[zero]))
    return sr * _SQRT_YEAR


def rank_best_first(values: np.ndarray, index: int) -> float:
    """Rank of ``values[index]`` among ``values``, 1 = largest; ties get the average rank."""
    v = values[index]
    greater = int(np.count_nonzero(values > v))
    tied = int(np.count_nonzero(values == v))
    return greater + (tied + 1) / 2.0


def lo_sharpe_standard_error(sharpe_annual: float, n_periods: float) -> float:
    """Lo (2002) iid standard error of an annualised Sharpe estimated on ``n_periods`` days.

    ``SE = √((1 + SR_d²/2) / T) · √365``, ``SR_d = sharpe_annual / √365`` (per-period Sharpe).
    Returns NaN for a non-finite Sharpe; raises ValueError for ``n_periods <= 0``.
    """
    if not n_periods > 0:
        raise StatisticsInputError(f"n_periods must be > 0, got {n_periods}")
    if not math.isfinite(sharpe_annual):
        return math.nan
    sr_d = sharpe_annual / _SQRT_YEAR
    return math.sqrt((1.0 + sr_d * sr_d / 2.0) / n_periods) * _SQRT_YEAR


def day_label_spans(n_days: int, horizon_days: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``t0 = 0..T-1`` and ``t1 = t0 + horizon_days`` (days): each day's label span.

    ``horizon_days`` = how many days after day ``d`` its outcome can still change (the longest
    holding period, in whole days). Raises ValueError for a negative horizon.
    """
    if isinstance(horizon_days, bool) or int(horizon_days) != horizon_days or horizon_days < 0:
        raise StatisticsInputError(f"horizon_days must be an integer >= 0, got {horizon_days}")
    t0 = np.arange(n_days, dtype=np.int64)
    return t0, t0 + int(horizon_days)


@dataclass(frozen=True)
class SelectionFold:
    """One fold of the selection CV. Positions are row indices; Sharpe ratios annualised (√365)."""

    fold: int
    test_start: int
    """First test row."""
    test_end: int
    """One past the last test row (half-open)."""
    n_train: int
    n_purged: int
    n_embargoed: int
    selected: int
    """Column chosen on the training rows (highest training Sharpe; ties → lowest index)."""
    train_sharpe: float
    test_sharpe: float
    """The selected column's Sharpe on the test fold."""
    test_rank: float
    """Its rank among all N columns on the test fold, 1 = best, ties averaged."""
    test_sharpe_se: float
    """Lo (2002) standard error of ``test_sharpe`` (annualised)."""
    best_test_sharpe: float
    """The best Sharpe any column reached on this test fold (hindsight, for scale)."""
    candidate_test_sharpe: float | None = None
    """The candidate column's own test-fold Sharpe (``None`` without a candidate)."""
    candidate_test_rank: float | None = None
    candidate_train_sharpe: float | None = None


@dataclass(frozen=True)
class SelectionCVResult:
    """Purged K-fold CV of the selection procedure (module doc). JSON-ready via ``to_dict``."""

    folds: tuple[SelectionFold, ...]
    n_obs: int
    n_strategies: int
    n_splits: int
    embargo: int
    """Observations embargoed after each test fold."""
    mean_test_sharpe: float
    std_test_sharpe: float
    """ddof=1 over the K folds."""
    top_half_share: float
    """Share of folds where the selection's test rank < (N + 1)/2."""
    fold_sharpe_se: float
    """Lo (2002) SE of one fold's annualised Sharpe at ``mean_test_sharpe`` and mean fold length."""
    mean_sharpe_se: float
    """``fold_sharpe_se / √K``: standard error of ``mean_test_sharpe``."""
    min_mean: float
    max_std: float
    passed: bool
    """``mean_test_sharpe > min_mean and std_test_sharpe < max_std``."""
    candidate: int | None = None
    candidate_mean_test_sharpe: float | None = None
    selected_candidate_share: float | None = None
    """Share of folds whose training data selected the candidate itself."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (:mod:`vibe_quant.core.jsonpolicy`: NaN → ``None``,
        ±inf → ``"inf"``/``"-inf"``)."""
        return jsonable(asdict(self))


def selection_cv(
    returns: ArrayLike,
    n_splits: int = 5,
    *,
    horizon_days: int = 0,
    t0: ArrayLike | None = None,
    t1: ArrayLike | None = None,
    embargo_pct: float | None = None,
    embargo_n: int | None = None,
    candidate: int | None = None,
    min_mean: float = MIN_MEAN_SHARPE,
    max_std: float = MAX_STD_SHARPE,
    folds: Sequence[PurgedFold] | None = None,
) -> SelectionCVResult:
    """Purged K-fold CV of "pick the best combination by annualised Sharpe" (module doc).

    Args:
        returns: ``T × N`` daily simple returns (rows = days in time order, columns = the sweep's
            combinations), finite, N ≥ 1.
        n_splits: K, ``2 <= K``, and every test fold and training set needs ≥ 2 rows.
        horizon_days: label horizon in days when ``t0``/``t1`` are not given (see
            ``day_label_spans``).
        t0, t1: optional explicit label spans, shape ``(T,)`` each (give both or neither).
        embargo_pct, embargo_n: embargo after each test fold (``purged_kfold.embargo_size``);
            give at most one; default ``DEFAULT_EMBARGO_PCT`` (1 % of T, as the purged K-fold
            filter).
        candidate: optional column index whose own test-fold Sharpe is reported beside.
        min_mean, max_std: pass rule thresholds (annualised Sharpe units).
        folds: precomputed ``purged_kfold_splits`` over the T rows (for repeated calls on
            matrices with the same rows, e.g. the calibration); then ``n_splits``, the label
            spans and the embargo arguments are ignored.

    Returns:
        ``SelectionCVResult`` (frozen).

    Raises:
        ValueError: bad matrix, only one of ``t0``/``t1``, length mismatch, K out of range, a fold
            or training set with fewer than 2 rows, candidate out of range; see also
            ``purged_kfold_splits``.
    """
    m = as_return_matrix(returns)
    n_obs, n_cols = m.shape
    if candidate is not None and not 0 <= int(candidate) < n_cols:
        raise StatisticsInputError(
            f"candidate must be a column index in [0, {n_cols - 1}], got {candidate}")
    if folds is None:
        if (t0 is None) != (t1 is None):
            raise StatisticsInputError("give both t0 and t1 (label spans) or neither")
        if t0 is None:
            t0, t1 = day_label_spans(n_obs, horizon_days)
        if np.asarray(t0).shape[0] != n_obs:
            raise StatisticsInputError(
                f"t0/t1 need one value per row: {np.asarray(t0).shape[0]} vs {n_obs}")
        folds = purged_kfold_splits(
            t0, t1, n_splits, embargo_pct=_embargo_pct(embargo_pct, embargo_n), embargo_n=embargo_n
        )
    out: list[SelectionFold] = []
    for f in folds:
        if f.test.size < 2 or f.train.size < 2:
            raise StatisticsInputError(
                f"fold {f.fold} has {f.test.size} test and {f.train.size} training rows; "
                "need >= 2 each (fewer folds, a shorter horizon or embargo)"
            )
        train_sr = column_sharpes(m, f.train)
        test_sr = column_sharpes(m, f.test)
        sel = int(np.argmax(train_sr))
        cand: dict[str, Any] = {}
        if candidate is not None:
            c = int(candidate)
            cand = {
                "candidate_test_sharpe": float(test_sr[c]),
                "candidate_test_rank": rank_best_first(test_sr, c),
                "candidate_train_sharpe": float(train_sr[c]),
            }
        out.append(
            SelectionFold(
                fold=f.fold,
                test_start=int(f.test[0]),
                test_end=int(f.test[-1]) + 1,
                n_train=int(f.train.size),
                n_purged=int(f.purged.size),
                n_embargoed=int(f.embargoed.size),
                selected=sel,
                train_sharpe=float(train_sr[sel]),
                test_sharpe=float(test_sr[sel]),
                test_rank=rank_best_first(test_sr, sel),
                test_sharpe_se=lo_sharpe_standard_error(float(test_sr[sel]), f.test.size),
                best_test_sharpe=float(test_sr.max()),
                **cand,
            )
        )
    return summarise_selection_folds(
        out,
        n_obs=n_obs,
        n_strategies=n_cols,
        embargo=_embargo_of(folds),
        candidate=candidate,
        min_mean=min_mean,
        max_std=max_std,
    )


def _embargo_of(folds: Sequence[PurgedFold]) -> int:
    return max((int(f.embargoed.size) for f in folds), default=0)


def summarise_selection_folds(
    folds: list[SelectionFold],
    *,
    n_obs: int,
    n_strategies: int,
    embargo: int,
    candidate: int | None = None,
    min_mean: float = MIN_MEAN_SHARPE,
    max_std: float = MAX_STD_SHARPE,
) -> SelectionCVResult:
    """Summary statistics and pass rule over the folds (module doc)."""
    k = len(folds)
    sr = np.array([f.test_sharpe for f in folds], dtype=float)
    with np.errstate(invalid="ignore"):
        mean = float(sr.mean())
        std = float(sr.std(ddof=1)) if k > 1 else math.nan
    top = sum(1 for f in folds if 2.0 * f.test_rank < n_strategies + 1) / k
    mean_len = float(np.mean([f.test_end - f.test_start for f in folds]))
    se = lo_sharpe_standard_error(mean, mean_len)
    passed = bool(mean > min_mean and (max_std == math.inf or std < max_std))
    cand_mean = sel_share = None
    if candidate is not None:
        cand_mean = float(np.mean([f.candidate_test_sharpe for f in folds]))
        sel_share = sum(1 for f in folds if f.selected == int(candidate)) / k
    return SelectionCVResult(
        folds=tuple(folds),
        n_obs=int(n_obs),
        n_strategies=int(n_strategies),
        n_splits=k,
        embargo=int(embargo),
        mean_test_sharpe=mean,
        std_test_sharpe=std,
        top_half_share=top,
        fold_sharpe_se=se,
        mean_sharpe_se=se / math.sqrt(k),
        min_mean=float(min_mean),
        max_std=float(max_std),
        passed=passed,
        candidate=None if candidate is None else int(candidate),
        candidate_mean_test_sharpe=cand_mean,
        selected_candidate_share=sel_share,
    )
