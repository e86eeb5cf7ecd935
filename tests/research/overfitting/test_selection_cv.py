"""Purged K-fold CV of the selection procedure (AFML ch. 7) — hand-worked splits, planted edges."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import rankdata

from vibe_quant.core.stats import annualised_sharpe
from vibe_quant.research.overfitting.purged_kfold import purged_train_positions
from vibe_quant.research.overfitting.selection_cv import lo_sharpe_standard_error, selection_cv

# Hand-worked label set of tests/research/overfitting/test_purged_kfold.py: t0 = 0..9,
#   t1 = 1.5 1.5 4.5 3.5 5.5 7.5 6.5 8.5 8.5 9.5;  K = 3 → tests [0..3], [4..6], [7..9];
#   train without embargo: [5..9], [0 1 3 8 9], [0 1 2 3 4 6]; with h = 1: [6..9], [0 1 3 9], same.
T0 = np.arange(10.0)
T1 = np.array([1.5, 1.5, 4.5, 3.5, 5.5, 7.5, 6.5, 8.5, 8.5, 9.5])


def test_train_sizes_follow_the_hand_worked_purge_and_embargo():
    rng = np.random.default_rng(0)
    m = rng.normal(0, 0.01, size=(10, 3))
    res = selection_cv(m, 3, t0=T0, t1=T1, embargo_n=1)
    assert [f.n_train for f in res.folds] == [4, 4, 6]
    assert [f.n_purged for f in res.folds] == [1, 2, 1]
    assert [f.n_embargoed for f in res.folds] == [1, 1, 0]
    assert [(f.test_start, f.test_end) for f in res.folds] == [(0, 4), (4, 7), (7, 10)]
    # the selection is the argmax of the training Sharpe, over the hand-worked training rows
    trains = [[6, 7, 8, 9], [0, 1, 3, 9], [0, 1, 2, 3, 4, 6]]
    for f, rows in zip(res.folds, trains):
        sr = [annualised_sharpe(m[rows, j]) for j in range(3)]
        assert f.selected == int(np.argmax(sr))
        assert f.train_sharpe == pytest.approx(max(sr), rel=1e-12)


def test_multi_block_test_set_is_purged_around_each_block():
    # test = {0, 1} ∪ {7, 8, 9}. Block [0, 2): span [0, 1.5] → keep t0 > 1.5: 2..6.
    # Block [7, 10): span [7, 9.5] → keep t1 < 7: 2 (4.5), 3 (3.5), 4 (5.5), 6 (6.5); 5 (7.5)
    # is purged. Embargo h = 1 after block [0, 2): the first survivor ≥ 2 is 2.
    train, purged, embargoed = purged_train_positions(T0, T1, [7, 8, 9, 0, 1], embargo_n=1)
    assert train.tolist() == [3, 4, 6]
    assert purged.tolist() == [5]
    assert embargoed.tolist() == [2]
    # a single contiguous block is one fold of purged_kfold_splits (fold 1 above)
    train, purged, _ = purged_train_positions(T0, T1, [4, 5, 6])
    assert train.tolist() == [0, 1, 3, 8, 9]
    assert purged.tolist() == [2, 7]


def test_fold_values_agree_with_the_sharpe_helper_and_scipy_ranks():
    rng = np.random.default_rng(1)
    m = rng.standard_t(5, size=(300, 12)) * 0.01
    res = selection_cv(m, 4, horizon_days=2, embargo_pct=0.02, candidate=5)
    for f in res.folds:
        rows = np.arange(f.test_start, f.test_end)
        test_sr = np.array([annualised_sharpe(m[rows, j]) for j in range(12)])
        assert f.test_sharpe == pytest.approx(test_sr[f.selected], rel=1e-10)
        ranks_best_first = rankdata(-test_sr)  # average ties, 1 = best
        assert f.test_rank == ranks_best_first[f.selected]
        assert f.candidate_test_sharpe == pytest.approx(test_sr[5], rel=1e-10)
        assert f.candidate_test_rank == ranks_best_first[5]
    sharpes = [f.test_sharpe for f in res.folds]
    assert res.mean_test_sharpe == pytest.approx(np.mean(sharpes))
    assert res.std_test_sharpe == pytest.approx(np.std(sharpes, ddof=1))
    top = np.mean([f.test_rank < 6.5 for f in res.folds])
    assert res.top_half_share == pytest.approx(top)
    assert res.candidate_mean_test_sharpe == pytest.approx(
        np.mean([f.candidate_test_sharpe for f in res.folds])
    )
    assert res.to_dict()["folds"][0]["fold"] == 0  # JSON-ready


def test_planted_edge_is_selected_in_every_fold():
    rng = np.random.default_rng(7)
    t, n, col = 730, 50, 17
    m = rng.normal(0.0, 0.01, size=(t, n))
    m[:, col] += 0.01 * 6.0 / math.sqrt(365)  # true annualised Sharpe 6 in column 17 only
    res = selection_cv(m, 5, embargo_pct=0.01, candidate=col)
    assert [f.selected for f in res.folds] == [col] * 5
    assert res.selected_candidate_share == 1.0
    assert res.mean_test_sharpe > 3.0


def test_edge_only_in_one_test_span_is_not_selected_on_that_folds_training_data():
    # Column 3 earns its edge only on rows 292..437 (fold 2's test span with K = 5, T = 730);
    # everywhere else it is noise like the others. On fold 2 the training rows exclude that span,
    # so a selection that only looks at training data cannot pick column 3 there, although it is
    # the best column on that test fold. On the other folds its training rows contain the edge.
    rng = np.random.default_rng(3)
    t, n = 730, 20
    m = rng.normal(0.0, 0.01, size=(t, n))
    span = np.arange(292, 438)
    m[span, 3] += 0.01  # per-day Sharpe ≈ 1 inside the span
    res = selection_cv(m, 5, embargo_pct=0.01)
    f2 = res.folds[2]
    assert (f2.test_start, f2.test_end) == (292, 438)
    assert f2.selected != 3
    test_sr = [annualised_sharpe(m[span, j]) for j in range(n)]
    assert int(np.argmax(test_sr)) == 3  # it is the hindsight winner of that test fold
    assert [f.selected for i, f in enumerate(res.folds) if i != 2] == [3, 3, 3, 3]


def test_lo_standard_error():
    # SR ≈ 0 on a 146-day fold: √(365/146) = √2.5 = 1.5811 (issue 11); SR_d = 1 → √1.5·√(365/146)
    assert lo_sharpe_standard_error(0.0, 146) == pytest.approx(math.sqrt(2.5))
    assert lo_sharpe_standard_error(math.sqrt(365), 146) == pytest.approx(
        math.sqrt(1.5 / 146) * math.sqrt(365)
    )
    assert math.isnan(lo_sharpe_standard_error(math.inf, 146))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"candidate": 4}, "candidate"),
        ({"t0": T0}, "both t0 and t1"),
        ({"n_splits": 6}, "need >= 2 each"),
    ],
)
def test_bad_input_is_rejected(kwargs, match):
    m = np.zeros((10, 4))
    with pytest.raises(ValueError, match=match):
        selection_cv(m, **{"n_splits": 3, **kwargs})
