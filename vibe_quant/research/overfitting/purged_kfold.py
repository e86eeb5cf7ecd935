"""Purged K-fold cross-validation with embargo, and the per-fold OOS Sharpe summary.

Source: López de Prado, M. (2018), "Advances in Financial Machine Learning" [AFML], chapter 7:
§7.4.1 purging (snippet 7.1 ``getTrainTimes``), §7.4.2 embargo (snippet 7.2
``getEmbargoTimes``), §7.4.3 the ``PurgedKFold`` class (snippet 7.3).

Definitions as implemented:

* Observation ``i`` (a label / trade) spans the closed interval ``[t0[i], t1[i]]``: ``t0`` is when
  it starts (entry, or the bar the features are taken at), ``t1`` when its outcome is known (exit).
  Observations must be sorted by ``t0`` (non-decreasing) and ``t1[i] >= t0[i]``.
* Folds: the index range ``0..n-1`` is cut into ``k`` contiguous folds with
  ``numpy.array_split`` (the first ``n mod k`` folds get one extra observation), as in snippet 7.3.
* The test fold ``[i, j)`` spans ``[t0[i], max(t1[i:j])]``.
* **Purging**: a training observation is dropped when its closed interval intersects the test
  span, i.e. it is kept only if ``t1 < t0[i]`` (it ended before the test fold started) or
  ``t0 > max(t1[i:j])`` (it starts after every test label has resolved). This is the
  closed-interval rule of snippet 7.1. Note: snippet 7.3 keeps an observation whose ``t1``
  equals the test start exactly, or whose ``t0`` equals the test end exactly (it uses ``<=`` and
  ``searchsorted``); this module purges those touching cases too (a shared price point is a
  shared outcome). Away from exact equalities the two give identical train sets.
* **Embargo**: after each test fold, the first ``h`` observations that survived purging on the
  right of the test fold are also dropped (snippet 7.3: ``indices[maxT1Idx + mbrg:]``). ``h`` is
  either a count (``embargo_n``) or ``floor(n · embargo_pct)`` (snippet 7.3's
  ``int(X.shape[0] * pctEmbargo)``; a 1e-9 tolerance keeps ``10 × 0.3`` at 3). There is no
  embargo before a test fold.

Per-fold OOS Sharpe summary: ``summarise_fold_sharpes`` — see its docstring for units.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from vibe_quant.core.errors import StatisticsInputError

MIN_MEAN_SHARPE = 0.5
"""Default pass rule: mean annualised OOS Sharpe across folds must exceed this …"""
MAX_STD_SHARPE = 1.0
"""… and their standard deviation (ddof=1) must be below this."""


def _as_times(values: ArrayLike, name: str) -> np.ndarray:
    """1-d array of mutually comparable times; tz-aware datetimes become UTC ``datetime64[ns]``."""
    if isinstance(values, (pd.Series, pd.Index)) and isinstance(values.dtype, pd.DatetimeTZDtype):
        values = pd.DatetimeIndex(values).tz_convert("UTC").tz_localize(None)
    arr = np.asarray(values)
    if arr.dtype == object:
        try:
            idx = pd.DatetimeIndex(arr)
        except (TypeError, ValueError) as exc:
            raise StatisticsInputError(f"{name}: cannot interpret values as times") from exc
        if idx.tz is not None:
            idx = idx.tz_convert("UTC").tz_localize(None)
        arr = idx.to_numpy()
    if arr.ndim != 1:
        raise StatisticsInputError(f"{name} must be 1-d, got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise StatisticsInputError(f"{name} contains NaN or inf")
    if arr.dtype.kind == "M" and np.any(np.isnat(arr)):
        raise StatisticsInputError(f"{name} contains NaT")
    return arr


@dataclass(frozen=True)
class PurgedFold:
    """One split: integer positions (into the observation arrays), sorted ascending."""

    fold: int
    train: np.ndarray
    test: np.ndarray
    purged: np.ndarray
    """Positions removed from training by purging (overlap with the test span)."""
    embargoed: np.ndarray
    """Positions removed from training by the embargo."""


def embargo_size(n_obs: int, embargo_pct: float = 0.0, embargo_n: int | None = None) -> int:
    """Number of observations embargoed after each test fold.

    ``embargo_n`` if given, else ``floor(n_obs · embargo_pct + 1e-9)`` ([AFML] snippet 7.3).

    Raises:
        ValueError: both given (``embargo_n`` with a non-zero ``embargo_pct``), pct outside
            [0, 1), negative count.
    """
    if embargo_n is not None:
        if embargo_pct:
            raise StatisticsInputError("give either embargo_pct or embargo_n, not both")
        if isinstance(embargo_n, bool) or int(embargo_n) != embargo_n or embargo_n < 0:
            raise StatisticsInputError(f"embargo_n must be an integer >= 0, got {embargo_n}")
        return int(embargo_n)
    if not 0.0 <= embargo_pct < 1.0:
        raise StatisticsInputError(f"embargo_pct must be in [0, 1), got {embargo_pct}")
    return math.floor(n_obs * embargo_pct + 1e-9)


def purged_kfold_splits(
    t0: ArrayLike,
    t1: ArrayLike,
    n_splits: int = 5,
    *,
    embargo_pct: float = 0.0,
    embargo_n: int | None = None,
) -> list[PurgedFold]:
    """Purged K-fold train/test splits with embargo ([AFML] ch. 7, snippets 7.1–7.3).

    Args:
        t0: shape ``(n,)``, start time of each observation, sorted non-decreasing. Numbers,
            ``datetime64`` or pandas timestamps (tz-aware ones are compared in UTC).
        t1: shape ``(n,)``, end time (when the label/trade outcome is known), ``t1 >= t0``,
            same type as ``t0``.
        n_splits: number of folds K, ``2 <= K <= n``.
        embargo_pct: fraction of ``n`` embargoed after each test fold (see ``embargo_size``).
        embargo_n: alternatively, the embargo as a count of observations.

    Returns:
        K ``PurgedFold`` objects in fold order; ``train``, ``test``, ``purged``, ``embargoed`` are
        disjoint, sorted int64 position arrays whose union is ``0..n-1``.

    Raises:
        ValueError: length mismatch, unsorted ``t0``, ``t1 < t0``, NaN/NaT, K out of range, bad
            embargo arguments.
    """
    a0 = _as_times(t0, "t0")
    a1 = _as_times(t1, "t1")
    n = a0.size
    if a1.size != n:
        raise StatisticsInputError(f"t0 and t1 lengths differ: {n} vs {a1.size}")
    if isinstance(n_splits, bool) or int(n_splits) != n_splits or not 2 <= n_splits <= n:
        raise StatisticsInputError(f"n_splits must be an integer in [2, n={n}], got {n_splits}")
    if np.any(a0[1:] < a0[:-1]):
        raise StatisticsInputError("t0 must be sorted in non-decreasing order")
    if np.any(a1 < a0):
        raise StatisticsInputError("every t1 must be >= its t0")
    h = embargo_size(n, embargo_pct, embargo_n)

    positions = np.arange(n)
    folds: list[PurgedFold] = []
    for k, test in enumerate(np.array_split(positions, int(n_splits))):
        i, j = int(test[0]), int(test[-1]) + 1
        train, purged, embargoed = _purge_and_embargo(a0, a1, [(i, j)], h)
        folds.append(
            PurgedFold(
                fold=k,
                train=train,
                test=test.astype(np.int64),
                purged=purged,
                embargoed=embargoed,
            )
        )
    return folds


def _purge_and_embargo(
    a0: np.ndarray, a1: np.ndarray, blocks: list[tuple[int, int]], h: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, purged, embargoed) positions for test blocks ``[i, j)`` (sorted, disjoint,
    non-adjacent); the closed-interval purge and right-side embargo of the module doc, per block."""
    n = a0.size
    positions = np.arange(n)
    outside = np.ones(n, dtype=bool)
    for i, j in blocks:
        outside[i:j] = False
    keep = outside.copy()
    for i, j in blocks:
        keep &= (a1 < a0[i]) | (a0 > a1[i:j].max())
    purged = positions[outside & ~keep]
    embargo = np.zeros(n, dtype=bool)
    for _, j in blocks:
        embargo[positions[keep & (positions >= j)][:h]] = True
    keep &= ~embargo
    return positions[keep], purged, positions[embargo]


def _merge_positions(test: np.ndarray) -> list[tuple[int, int]]:
    """Sorted unique positions → maximal contiguous half-open blocks ``[(i, j), …]``."""
    if test.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(test) != 1)
    starts = np.concatenate([[test[0]], test[breaks + 1]])
    ends = np.concatenate([test[breaks], [test[-1]]]) + 1
    return [(int(a), int(b)) for a, b in zip(starts, ends)]


def purged_train_positions(
    t0: ArrayLike,
    t1: ArrayLike,
    test: ArrayLike,
    *,
    embargo_pct: float = 0.0,
    embargo_n: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training positions for an arbitrary test set (possibly several separate blocks).

    The generalisation of ``purged_kfold_splits`` needed by combinatorial purged CV ([AFML]
    ch. 12, §12.4: "purging and embargoing" around every test group). The test positions are
    merged into maximal contiguous blocks ``[i, j)``; for each block the closed-interval purge of
    the module doc (keep only ``t1 < t0[i]`` or ``t0 > max(t1[i:j])``) and the right-side embargo
    of ``h`` surviving observations apply. With one contiguous block this is exactly one fold of
    ``purged_kfold_splits``.

    Args:
        t0, t1: shape ``(n,)``, label start/end times as in ``purged_kfold_splits``.
        test: integer positions in ``0..n-1`` (any order, no duplicates), non-empty.
        embargo_pct, embargo_n: see ``embargo_size`` (``h`` from ``n``).

    Returns:
        ``(train, purged, embargoed)`` sorted int64 position arrays; with the test positions they
        partition ``0..n-1``.

    Raises:
        ValueError: as ``purged_kfold_splits``; empty, duplicate or out-of-range test positions.
    """
    a0 = _as_times(t0, "t0")
    a1 = _as_times(t1, "t1")
    n = a0.size
    if a1.size != n:
        raise StatisticsInputError(f"t0 and t1 lengths differ: {n} vs {a1.size}")
    if np.any(a0[1:] < a0[:-1]):
        raise StatisticsInputError("t0 must be sorted in non-decreasing order")
    if np.any(a1 < a0):
        raise StatisticsInputError("every t1 must be >= its t0")
    pos = np.asarray(test)
    if pos.ndim != 1 or pos.size == 0 or pos.dtype.kind not in "iu":
        raise StatisticsInputError("test must be a non-empty 1-d array of integer positions")
    pos = np.sort(pos.astype(np.int64))
    if pos[0] < 0 or pos[-1] >= n or np.any(np.diff(pos) == 0):
        raise StatisticsInputError(f"test positions must be distinct and in [0, {n - 1}]")
    h = embargo_size(n, embargo_pct, embargo_n)
    return _purge_and_embargo(a0, a1, _merge_positions(pos), h)


def iter_purged_kfold(
    t0: ArrayLike,
    t1: ArrayLike,
    n_splits: int = 5,
    *,
    embargo_pct: float = 0.0,
    embargo_n: int | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` position pairs (sklearn style), semantics of ``purged_kfold_splits``."""
    for f in purged_kfold_splits(t0, t1, n_splits, embargo_pct=embargo_pct, embargo_n=embargo_n):
        yield f.train, f.test


@dataclass(frozen=True)
class FoldSharpeSummary:
    """Per-fold OOS Sharpe summary (annualised, 365 daily periods per year)."""

    sharpes: tuple[float, ...]
    mean: float
    std: float
    """Sample standard deviation (ddof=1); NaN with a single fold."""
    min_mean: float
    max_std: float
    passed: bool
    """``mean > min_mean and std < max_std`` (False if either is NaN)."""


def summarise_fold_sharpes(
    fold_sharpes: ArrayLike,
    min_mean: float = MIN_MEAN_SHARPE,
    max_std: float = MAX_STD_SHARPE,
) -> FoldSharpeSummary:
    """Mean and dispersion of the out-of-sample Sharpe ratios of the K test folds.

    Units: each value must be the **annualised** Sharpe of the fold's daily OOS returns,
    ``mean(r_daily) / std(r_daily, ddof=1) · sqrt(365)`` (``sharpe.annualised_sharpe``); the
    default thresholds (mean > 0.5, std < 1.0) are in those units.

    Args:
        fold_sharpes: shape ``(K,)``, K ≥ 1. ±inf (zero-variance fold with non-zero mean) is
            allowed and propagates into mean/std (then the std test fails).
        min_mean: pass requires ``mean > min_mean`` (strict).
        max_std: pass requires ``std < max_std`` (strict); std uses ddof=1.

    Returns:
        ``FoldSharpeSummary``.

    Raises:
        ValueError: not 1-d, empty, or contains NaN.
    """
    arr = np.asarray(fold_sharpes, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise StatisticsInputError(
            f"fold_sharpes must be a non-empty 1-d array, got shape {arr.shape}")
    if np.any(np.isnan(arr)):
        raise StatisticsInputError("fold_sharpes contains NaN")
    with np.errstate(invalid="ignore"):
        mean = float(arr.mean())
        std = float(arr.std(ddof=1)) if arr.size > 1 else math.nan
    passed = bool(mean > min_mean and std < max_std)
    return FoldSharpeSummary(
        sharpes=tuple(float(x) for x in arr),
        mean=mean,
        std=std,
        min_mean=float(min_mean),
        max_std=float(max_std),
        passed=passed,
    )
