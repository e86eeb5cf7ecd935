"""Combinatorial purged CV (AFML ch. 12): path count, hand-worked path assembly, purging."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from vibe_quant.research.overfitting.cpcv import (
    combinatorial_purged_cv,
    cpcv_path_assignment,
    cpcv_splits,
    n_paths,
)


@pytest.mark.parametrize(
    ("n", "k", "phi"),
    # φ = k/N · C(N, k): 2/6·15 = 5;  2/4·6 = 3;  1/5·5 = 1;  3/6·20 = 10;  2/10·45 = 9
    [(6, 2, 5), (4, 2, 3), (5, 1, 1), (6, 3, 10), (10, 2, 9)],
)
def test_number_of_paths(n, k, phi):
    assert n_paths(n, k) == phi
    assert len(cpcv_splits(n, k)) == math.comb(n, k)
    assert cpcv_path_assignment(n, k).shape == (phi, n)


def test_path_assembly_hand_worked_n4_k2():
    # splits 0:(0,1) 1:(0,2) 2:(0,3) 3:(1,2) 4:(1,3) 5:(2,3)
    # group 0 is tested in splits 0,1,2; group 1 in 0,3,4; group 2 in 1,3,5; group 3 in 2,4,5;
    # path p takes the p-th of them for every group.
    assert cpcv_splits(4, 2) == ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
    assert cpcv_path_assignment(4, 2).tolist() == [[0, 0, 1, 2], [1, 3, 3, 4], [2, 4, 5, 5]]


def test_path_assembly_matches_afml_figure_12_1():
    # N = 6, k = 2 (AFML Fig. 12.1, 1-based S1..S15 there, 0-based here): path 1 is
    # G1←S1, G2←S1, G3←S2, G4←S3, G5←S4, G6←S5; path 5 is G1←S5, G2←S9, G3←S12, G4←S14,
    # G5←S15, G6←S15.
    a = cpcv_path_assignment(6, 2)
    assert a[0].tolist() == [0, 0, 1, 2, 3, 4]
    assert a[4].tolist() == [4, 8, 11, 13, 14, 14]
    # every (split, test group) pair is used by exactly one path, always out-of-sample
    splits = cpcv_splits(6, 2)
    used = sorted((int(a[p, g]), g) for p in range(5) for g in range(6))
    assert used == sorted((s, g) for s, groups in enumerate(splits) for g in groups)


def _brute_force(m, n, k):
    """Independent CPCV without purging: numpy Sharpe per column, argmax, AFML assignment."""
    groups = np.array_split(np.arange(m.shape[0]), n)
    splits = list(itertools.combinations(range(n), k))
    selected = []
    for test in splits:
        train = np.concatenate([groups[g] for g in range(n) if g not in test])
        x = m[train]
        selected.append(int(np.argmax(x.mean(0) / x.std(0, ddof=1))))
    phi = math.comb(n - 1, k - 1)
    out = []
    for p in range(phi):
        parts = []
        for g in range(n):
            s = [i for i, t in enumerate(splits) if g in t][p]
            parts.append(m[groups[g], selected[s]])
        r = np.concatenate(parts)
        out.append(r.mean() / r.std(ddof=1) * math.sqrt(365))
    return selected, out


def test_selection_and_path_sharpes_match_a_brute_force_reimplementation():
    rng = np.random.default_rng(5)
    m = rng.standard_t(5, size=(240, 8)) * 0.01
    m[:120, 2] += 0.004  # column 2 is good early, column 5 late: selections differ by split
    m[120:, 5] += 0.004
    res = combinatorial_purged_cv(m, 6, 2, embargo_n=0)
    sel, path_sr = _brute_force(m, 6, 2)
    assert [s.selected for s in res.splits] == sel
    assert len(set(sel)) > 1
    assert res.n_paths == 5 and len(res.path_sharpes) == 5
    np.testing.assert_allclose(res.path_sharpes, path_sr, rtol=1e-10)
    assert res.mean_sharpe == pytest.approx(np.mean(path_sr))
    assert res.quantiles["0.5"] == pytest.approx(np.median(path_sr))
    assert res.share_below_zero == pytest.approx(np.mean(np.array(path_sr) < 0))
    json.dumps(res.to_dict(), allow_nan=False)  # frozen result, JSON-serialisable


def test_purging_and_embargo_around_both_test_groups():
    # T = 20, N = 4 groups of 5 rows, k = 2, horizon 2 days (t1 = t0 + 2), embargo 1 row.
    # Split 1 tests groups (0, 2) = rows 0–4 and 10–14.
    #   block [0, 5): span [0, 6] → rows 5, 6 purged (t0 ≤ 6); embargo → first survivor ≥ 5 = 7.
    #   block [10, 15): span [10, 16] → rows 8 (t1 = 10), 9 (t1 = 11) and 15, 16 (t0 ≤ 16)
    #   purged; embargo → first survivor ≥ 15 = 17.  Training rows left: 18, 19.
    m = np.random.default_rng(0).normal(0, 0.01, size=(20, 3))
    res = combinatorial_purged_cv(m, 4, 2, horizon_days=2, embargo_n=1)
    s = res.splits[1]
    assert s.test_groups == (0, 2)
    assert (s.n_train, s.n_purged, s.n_embargoed) == (2, 6, 2)
    x = m[[18, 19]]
    assert s.selected == int(np.argmax(x.mean(0) / x.std(0, ddof=1)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_test_groups"):
        n_paths(4, 4)
    with pytest.raises(ValueError, match="T >= 2"):
        combinatorial_purged_cv(np.zeros((7, 2)), 4, 2)
    with pytest.raises(ValueError, match="training rows"):
        combinatorial_purged_cv(np.zeros((20, 2)), 4, 3, horizon_days=5)
