"""Purged K-fold CV with embargo (AFML ch. 7) — hand-worked train sets, with and without embargo."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_quant.research.overfitting.purged_kfold import (
    embargo_size,
    iter_purged_kfold,
    purged_kfold_splits,
    summarise_fold_sharpes,
)

# Hand-worked label set: 10 observations, start t0 = 0..9, end t1 (half-integers, so no label
# boundary ever coincides exactly with another observation's start):
#   i : 0    1    2    3    4    5    6    7    8    9
#   t0: 0    1    2    3    4    5    6    7    8    9
#   t1: 1.5  1.5  4.5  3.5  5.5  7.5  6.5  8.5  8.5  9.5
# K = 3 folds by array_split: [0,1,2,3], [4,5,6], [7,8,9].
#
# Fold 0: test span [t0[0], max t1[0..3]] = [0, 4.5]. Left: nothing. Right: keep t0 > 4.5 →
#         5..9; obs 4 (t0 = 4 ∈ [0, 4.5]) is purged.                    train = 5 6 7 8 9
# Fold 1: test span [4, max(5.5, 7.5, 6.5)] = [4, 7.5]. Left: keep t1 < 4 → 0 (1.5), 1 (1.5),
#         3 (3.5); obs 2 (t1 = 4.5 ≥ 4) purged. Right: keep t0 > 7.5 → 8, 9; obs 7 (t0 = 7)
#         purged.                                                        train = 0 1 3 8 9
# Fold 2: test span [7, 9.5]. Left: keep t1 < 7 → 0,1,2,3,4 (t1 ≤ 5.5) and 6 (6.5); obs 5
#         (t1 = 7.5) purged. Right: nothing.                             train = 0 1 2 3 4 6
#
# Embargo 10 % of 10 → h = 1: drop the first surviving observation right of each test fold.
#   fold 0: 5 dropped → 6 7 8 9;  fold 1: 8 dropped → 0 1 3 9;  fold 2: none on the right.
# Embargo 20 % → h = 2: fold 0: 5, 6 dropped → 7 8 9;  fold 1: 8, 9 dropped → 0 1 3.
T0 = np.arange(10.0)
T1 = np.array([1.5, 1.5, 4.5, 3.5, 5.5, 7.5, 6.5, 8.5, 8.5, 9.5])
TESTS = [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
TRAIN_NO_EMBARGO = [[5, 6, 7, 8, 9], [0, 1, 3, 8, 9], [0, 1, 2, 3, 4, 6]]
TRAIN_EMBARGO_1 = [[6, 7, 8, 9], [0, 1, 3, 9], [0, 1, 2, 3, 4, 6]]
TRAIN_EMBARGO_2 = [[7, 8, 9], [0, 1, 3], [0, 1, 2, 3, 4, 6]]


def _trains(folds):
    return [f.train.tolist() for f in folds]


def test_hand_worked_train_sets_without_embargo():
    folds = purged_kfold_splits(T0, T1, 3)
    assert [f.test.tolist() for f in folds] == TESTS
    assert _trains(folds) == TRAIN_NO_EMBARGO
    assert [f.purged.tolist() for f in folds] == [[4], [2, 7], [5]]
    assert all(f.embargoed.size == 0 for f in folds)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"embargo_pct": 0.1}, TRAIN_EMBARGO_1),
        ({"embargo_n": 1}, TRAIN_EMBARGO_1),
        ({"embargo_pct": 0.2}, TRAIN_EMBARGO_2),
        ({"embargo_n": 2}, TRAIN_EMBARGO_2),
        ({"embargo_pct": 0.05}, TRAIN_NO_EMBARGO),  # floor(0.5) = 0
    ],
)
def test_hand_worked_train_sets_with_embargo(kwargs, expected):
    assert _trains(purged_kfold_splits(T0, T1, 3, **kwargs)) == expected


def _afml_snippet_7_3(t1: pd.Series, n_splits: int, pct_embargo: float):
    """AFML snippet 7.3 ``PurgedKFold.split``, transcribed (``.iloc`` for positional access)."""
    indices = np.arange(t1.shape[0])
    mbrg = int(t1.shape[0] * pct_embargo)
    test_starts = [(i[0], i[-1] + 1) for i in np.array_split(np.arange(t1.shape[0]), n_splits)]
    for i, j in test_starts:
        t0 = t1.index[i]
        test_indices = indices[i:j]
        max_t1_idx = t1.index.searchsorted(t1.iloc[test_indices].max())
        train_indices = t1.index.searchsorted(t1[t1 <= t0].index)
        if max_t1_idx < t1.shape[0]:
            train_indices = np.concatenate((train_indices, indices[max_t1_idx + mbrg :]))
        yield train_indices, test_indices


@pytest.mark.parametrize("pct", [0.0, 0.1, 0.2])
def test_agrees_with_afml_snippet_7_3_away_from_exact_touches(pct):
    ours = list(iter_purged_kfold(T0, T1, 3, embargo_pct=pct))
    afml = list(_afml_snippet_7_3(pd.Series(T1, index=T0), 3, pct))
    assert [(a.tolist(), b.tolist()) for a, b in ours] == [
        (a.tolist(), b.tolist()) for a, b in afml
    ]


def test_touching_labels_are_purged_closed_interval_rule():
    # t0 = 0..5, t1 = t0 + 1 (each label ends exactly when the next starts), K = 2:
    # fold 0 test [0,1,2], span [0, 3]: obs 3 starts at 3 = span end → purged (snippet 7.3 would
    #   keep it); train = 4, 5.
    # fold 1 test [3,4,5], span [3, 6]: obs 2 ends at 3 = span start → purged; train = 0, 1.
    t0 = np.arange(6)
    folds = purged_kfold_splits(t0, t0 + 1, 2)
    assert _trains(folds) == [[4, 5], [0, 1]]
    assert [f.purged.tolist() for f in folds] == [[3], [2]]


def test_utc_timestamps_behave_like_numbers():
    # Same label set in hours after 2024-01-01 UTC, given as tz-aware pandas objects; a
    # different input zone must not change anything (comparison in UTC).
    base = pd.Timestamp("2024-01-01", tz="UTC")
    t0 = pd.DatetimeIndex([base + pd.Timedelta(hours=h) for h in T0])
    t1 = pd.Series([base + pd.Timedelta(hours=h) for h in T1]).dt.tz_convert("Asia/Tokyo")
    assert _trains(purged_kfold_splits(t0, t1, 3, embargo_n=1)) == TRAIN_EMBARGO_1
    assert _trains(purged_kfold_splits(t0.to_numpy(), t1.to_numpy(), 3)) == TRAIN_NO_EMBARGO


def test_uneven_folds_follow_array_split():
    # n = 7, K = 3 → folds of 3, 2, 2; zero-length labels (t1 = t0) never overlap neighbours.
    folds = purged_kfold_splits(np.arange(7), np.arange(7), 3)
    assert [f.test.tolist() for f in folds] == [[0, 1, 2], [3, 4], [5, 6]]
    assert _trains(folds) == [[3, 4, 5, 6], [0, 1, 2, 5, 6], [0, 1, 2, 3, 4]]


def test_embargo_size():
    assert embargo_size(10, 0.1) == 1
    assert embargo_size(10, 0.3) == 3  # 10·0.3 = 3.0000000000000004 in floating point
    assert embargo_size(100, 0.29) == 29  # 100·0.29 = 28.999999999999996
    assert embargo_size(10, embargo_n=4) == 4
    with pytest.raises(ValueError):
        embargo_size(10, 0.1, 1)
    with pytest.raises(ValueError):
        embargo_size(10, 1.0)
    with pytest.raises(ValueError):
        embargo_size(10, embargo_n=-1)


@pytest.mark.parametrize(
    ("t0", "t1", "k"),
    [
        ([0, 2, 1], [3, 3, 3], 2),  # t0 not sorted
        ([0, 1, 2], [1, 0, 3], 2),  # t1 < t0
        ([0, 1, 2], [1, 2], 2),  # length mismatch
        ([0, 1, 2], [1, 2, 3], 4),  # K > n
        ([0, 1, 2], [1, 2, 3], 1),  # K < 2
        ([0, 1, np.nan], [1, 2, 3], 2),
    ],
)
def test_bad_input_is_rejected(t0, t1, k):
    with pytest.raises(ValueError):
        purged_kfold_splits(t0, t1, k)


@settings(max_examples=80, deadline=None)
@given(
    data=st.data(),
    n=st.integers(4, 40),
    k=st.integers(2, 6),
    h=st.integers(0, 3),
)
def test_no_training_label_overlaps_its_test_fold(data, n, k, h):
    k = min(k, n)
    starts = np.cumsum(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    horizons = np.array(data.draw(st.lists(st.integers(0, 8), min_size=n, max_size=n)))
    t0, t1 = starts.astype(float), (starts + horizons).astype(float)
    for f in purged_kfold_splits(t0, t1, k, embargo_n=h):
        lo, hi = t0[f.test[0]], t1[f.test].max()
        # partition of all positions
        parts = np.concatenate([f.train, f.test, f.purged, f.embargoed])
        assert sorted(parts.tolist()) == list(range(n))
        # the guarantee: no kept training label intersects [lo, hi]
        tr = f.train
        assert np.all((t1[tr] < lo) | (t0[tr] > hi))
        # purging removes only overlapping labels, and the embargo only ≤ h right-side ones
        assert np.all(~((t1[f.purged] < lo) | (t0[f.purged] > hi)))
        assert f.embargoed.size <= h
        assert np.all(f.embargoed > f.test[-1])
        if f.embargoed.size:
            assert np.all(f.train[f.train > f.test[-1]] > f.embargoed.max())


def test_fold_sharpe_summary_pass_and_fail():
    # [1.2, 0.8, 1.0]: mean 1.0; deviations .2, −.2, 0 → var (.04+.04)/2 = .04 → std 0.2 → pass
    s = summarise_fold_sharpes([1.2, 0.8, 1.0])
    assert s.mean == pytest.approx(1.0, abs=1e-12)
    assert s.std == pytest.approx(0.2, abs=1e-12)
    assert s.passed
    # [3, −1, 1.5]: mean 3.5/3 = 1.1667; deviations 1.8333, −2.1667, 0.3333;
    # SS = 3.3611 + 4.6944 + 0.1111 = 8.1667 → var 4.0833 → std 2.0207 → fails on std
    s = summarise_fold_sharpes([3.0, -1.0, 1.5])
    assert s.mean == pytest.approx(1.166667, abs=1e-6)
    assert s.std == pytest.approx(2.020726, abs=1e-6)
    assert not s.passed
    # mean exactly 0.5 is not > 0.5 (strict); std 0.5 < 1
    assert not summarise_fold_sharpes([1.0, 0.5, 0.0]).passed
    # a looser custom rule lets the same folds pass
    assert summarise_fold_sharpes([1.0, 0.5, 0.0], min_mean=0.4).passed


def test_fold_sharpe_summary_edge_cases():
    one = summarise_fold_sharpes([2.0])
    assert one.mean == 2.0 and math.isnan(one.std) and not one.passed
    assert not summarise_fold_sharpes([1.0, math.inf]).passed
    with pytest.raises(ValueError):
        summarise_fold_sharpes([1.0, math.nan])
    with pytest.raises(ValueError):
        summarise_fold_sharpes([])
