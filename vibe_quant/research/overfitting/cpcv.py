"""Combinatorial purged cross-validation (CPCV) of a sweep's selection procedure.

Source: López de Prado, M. (2018), "Advances in Financial Machine Learning" [AFML], ch. 12
("Backtesting through cross-validation"): §12.4 the combinatorial purged CV method, Figure 12.1
(N = 6, k = 2: 15 splits, 5 paths); purging and embargo as in ch. 7
(``purged_kfold.purged_train_positions``).

Definitions as implemented:

* Input: ``returns``, ``T × M`` daily simple returns (rows = days in time order, columns = the
  sweep's M combinations). The T rows are cut into ``N`` contiguous groups by
  ``numpy.array_split`` (the first ``T mod N`` groups get one more row).
* Splits: every choice of ``k`` test groups, ``C(N, k)`` of them, in
  ``itertools.combinations(range(N), k)`` order. The training rows of a split are the rows of
  the other ``N − k`` groups, purged around every test block (label spans ``[t0, t1]``, default
  ``t1 = t0 + horizon_days``) and embargoed after it.
* Selection: on each split's training rows the combination with the highest annualised Sharpe
  (``mean/std(ddof=1)·√365``) is chosen (ties → lowest index); its returns on the split's test
  groups are its out-of-sample returns.
* Paths ([AFML] §12.4): each group is a test group in ``C(N − 1, k − 1)`` splits, so there are
  ``φ = k/N · C(N, k) = C(N − 1, k − 1)`` backtest paths. Path ``p`` takes, for group ``g``, the
  out-of-sample returns of the ``p``-th split (in split order) that tests ``g`` — the assignment
  of Figure 12.1, in which every (split, test group) pair is used by exactly one path. A path
  may take two groups from the same split (in Figure 12.1 path 1 takes groups 1 and 2 from
  split 1); what is guaranteed is that each group of a path is out-of-sample for the strategy
  that trades it.
* Per path: the concatenated daily returns (T rows) → annualised Sharpe. Reported: the
  distribution over the φ paths (mean, std ddof=1, quantiles 5/25/50/75/95 % of the finite ones by
  ``numpy.quantile`` linear interpolation, share of paths with Sharpe < 0).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from vibe_quant.core.errors import StatisticsInputError
from vibe_quant.core.jsonpolicy import jsonable
from vibe_quant.research.overfitting.purged_kfold import purged_train_positions
from vibe_quant.research.overfitting.selection_cv import (
    _embargo_pct,
    as_return_matrix,
    column_sharpes,
    day_label_spans,
)

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def n_paths(n_groups: int, n_test_groups: int) -> int:
    """φ = k/N · C(N, k) = C(N − 1, k − 1), the number of CPCV backtest paths ([AFML] §12.4).

    Raises:
        ValueError: not ``1 <= k < N``.
    """
    _check_nk(n_groups, n_test_groups)
    return math.comb(n_groups - 1, n_test_groups - 1)


def _check_nk(n: int, k: int) -> None:
    for label, v in (("n_groups", n), ("n_test_groups", k)):
        if isinstance(v, bool) or int(v) != v:
            raise StatisticsInputError(f"{label} must be an integer, got {v}")
    if not 1 <= k < n:
        raise StatisticsInputError(f"need 1 <= n_test_groups < n_groups, got N={n}, k={k}")


def cpcv_splits(n_groups: int, n_test_groups: int) -> tuple[tuple[int, ...], ...]:
    """The ``C(N, k)`` test-group tuples, in ``itertools.combinations`` order."""
    _check_nk(n_groups, n_test_groups)
    return tuple(itertools.combinations(range(n_groups), n_test_groups))


def cpcv_path_assignment(n_groups: int, n_test_groups: int) -> np.ndarray:
    """Path assembly of [AFML] §12.4: ``A[p, g]`` = index (into ``cpcv_splits``) of the split
    whose out-of-sample returns path ``p`` uses for group ``g``; shape ``(φ, N)``, int.

    For every group ``g`` the splits testing ``g`` are listed in split order and the ``p``-th of
    them goes to path ``p``. Example N = 4, k = 2 (splits 0:(0,1) 1:(0,2) 2:(0,3) 3:(1,2)
    4:(1,3) 5:(2,3)) → ``[[0, 0, 1, 2], [1, 3, 3, 4], [2, 4, 5, 5]]``.
    """
    splits = cpcv_splits(n_groups, n_test_groups)
    phi = n_paths(n_groups, n_test_groups)
    a = np.empty((phi, n_groups), dtype=np.int64)
    for g in range(n_groups):
        testing = [s for s, groups in enumerate(splits) if g in groups]
        a[:, g] = testing  # exactly φ of them
    return a


@dataclass(frozen=True)
class CPCVSplit:
    """One CPCV split: its test groups, training-set sizes and the selected column."""

    split: int
    test_groups: tuple[int, ...]
    n_train: int
    n_purged: int
    n_embargoed: int
    selected: int
    train_sharpe: float
    """Annualised (√365) training Sharpe of the selected column."""


@dataclass(frozen=True)
class CPCVResult:
    """CPCV outcome (module doc); frozen, ``to_dict()`` is JSON-serialisable."""

    n_obs: int
    n_strategies: int
    n_groups: int
    n_test_groups: int
    n_splits: int
    n_paths: int
    group_bounds: tuple[tuple[int, int], ...]
    """Half-open row range of each group."""
    embargo: int
    splits: tuple[CPCVSplit, ...]
    path_assignment: tuple[tuple[int, ...], ...]
    """``[p][g]`` = split whose OOS returns path p uses for group g."""
    path_sharpes: tuple[float, ...]
    """Annualised Sharpe of each path's OOS daily returns."""
    mean_sharpe: float
    std_sharpe: float
    quantiles: dict[str, float]
    """Keys ``"0.05"``, ``"0.25"``, ``"0.5"``, ``"0.75"``, ``"0.95"``."""
    share_below_zero: float
    """Share of paths with Sharpe < 0."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (:mod:`vibe_quant.core.jsonpolicy`: NaN → ``None``,
        ±inf → ``"inf"``/``"-inf"``)."""
        return jsonable(asdict(self))


def combinatorial_purged_cv(
    returns: ArrayLike,
    n_groups: int = 6,
    n_test_groups: int = 2,
    *,
    horizon_days: int = 0,
    t0: ArrayLike | None = None,
    t1: ArrayLike | None = None,
    embargo_pct: float | None = None,
    embargo_n: int | None = None,
) -> CPCVResult:
    """CPCV of "pick the best combination by annualised Sharpe on the training rows".

    Args:
        returns: ``T × M`` daily simple returns, finite, M ≥ 1; ``T >= 2·N`` so that every group
            has ≥ 2 rows.
        n_groups: N (default 6); n_test_groups: k (default 2), ``1 <= k < N``.
        horizon_days, t0, t1: label spans for purging (as ``selection_cv.selection_cv``).
        embargo_pct, embargo_n: embargo after every test block (``purged_kfold.embargo_size``);
            give at most one; default 1 % of T (``selection_cv.DEFAULT_EMBARGO_PCT``).

    Returns:
        ``CPCVResult``: per split the selection, the φ path Sharpe ratios and their distribution.

    Raises:
        ValueError: bad matrix or N/k, too few rows, a split whose purged training set has
            fewer than 2 rows, only one of ``t0``/``t1``.
    """
    m = as_return_matrix(returns)
    n_obs, n_cols = m.shape
    _check_nk(n_groups, n_test_groups)
    if n_obs < 2 * n_groups:
        raise StatisticsInputError(f"need T >= 2 * n_groups rows, got T={n_obs}, N={n_groups}")
    if (t0 is None) != (t1 is None):
        raise StatisticsInputError("give both t0 and t1 (label spans) or neither")
    if t0 is None:
        t0, t1 = day_label_spans(n_obs, horizon_days)
    if np.asarray(t0).shape[0] != n_obs:
        raise StatisticsInputError(
            f"t0/t1 need one value per row: {np.asarray(t0).shape[0]} vs {n_obs}")
    groups = np.array_split(np.arange(n_obs), int(n_groups))
    bounds = tuple((int(g[0]), int(g[-1]) + 1) for g in groups)
    splits = cpcv_splits(n_groups, n_test_groups)
    assign = cpcv_path_assignment(n_groups, n_test_groups)
    out: list[CPCVSplit] = []
    embargo = 0
    for s, test_groups in enumerate(splits):
        test = np.concatenate([groups[g] for g in test_groups])
        train, purged, embargoed = purged_train_positions(
            t0, t1, test, embargo_pct=_embargo_pct(embargo_pct, embargo_n), embargo_n=embargo_n
        )
        if train.size < 2:
            raise StatisticsInputError(
                f"split {s} (test groups {test_groups}) keeps {train.size} training rows after "
                "purging/embargo; need >= 2 (fewer test groups, shorter horizon or embargo)"
            )
        train_sr = column_sharpes(m, train)
        sel = int(np.argmax(train_sr))
        embargo = max(embargo, int(embargoed.size))
        out.append(
            CPCVSplit(
                split=s,
                test_groups=tuple(int(g) for g in test_groups),
                n_train=int(train.size),
                n_purged=int(purged.size),
                n_embargoed=int(embargoed.size),
                selected=sel,
                train_sharpe=float(train_sr[sel]),
            )
        )
    path_sr = []
    for p in range(assign.shape[0]):
        r = np.concatenate(
            [m[lo:hi, out[assign[p, g]].selected] for g, (lo, hi) in enumerate(bounds)]
        )
        path_sr.append(float(column_sharpes(r[:, None])[0]))
    arr = np.array(path_sr)
    finite = arr[np.isfinite(arr)]
    with np.errstate(invalid="ignore"):
        mean = float(arr.mean())
        std = float(arr.std(ddof=1)) if arr.size > 1 else math.nan
    qs = np.quantile(finite, QUANTILES) if finite.size else np.full(len(QUANTILES), math.nan)
    return CPCVResult(
        n_obs=int(n_obs),
        n_strategies=int(n_cols),
        n_groups=int(n_groups),
        n_test_groups=int(n_test_groups),
        n_splits=len(splits),
        n_paths=int(assign.shape[0]),
        group_bounds=bounds,
        embargo=embargo,
        splits=tuple(out),
        path_assignment=tuple(tuple(int(x) for x in row) for row in assign),
        path_sharpes=tuple(path_sr),
        mean_sharpe=mean,
        std_sharpe=std,
        quantiles={str(q): float(v) for q, v in zip(QUANTILES, qs)},
        share_below_zero=float(np.count_nonzero(arr < 0) / arr.size),
    )
