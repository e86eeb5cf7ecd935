"""Sweep ranking: hard filters and Pareto front over (Sharpe, 1 − max drawdown, profit factor)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_quant.research.screening.ranking import hard_filter_mask, pareto_front, rank_sweep

INF, NAN = math.inf, math.nan


def test_hard_filters_with_inclusive_boundaries_and_nan():
    rows = [
        # trades, mdd, pf        expected
        (60, 0.20, 1.5),  # pass
        (49, 0.10, 2.0),  # fail: trades < 50
        (50, 0.30, 1.0),  # pass: every boundary is inclusive
        (100, 0.31, 3.0),  # fail: drawdown > 30 %
        (100, 0.10, 0.99),  # fail: profit factor < 1
        (100, 0.10, NAN),  # fail: profit factor undefined
        (100, 0.10, INF),  # pass: no losing trade
        (100, NAN, 2.0),  # fail: drawdown unknown
    ]
    trades, mdd, pf = map(list, zip(*rows, strict=True))
    mask = hard_filter_mask(trades, mdd, pf)
    assert mask.tolist() == [True, False, True, False, False, False, True, False]
    custom = hard_filter_mask(
        trades, mdd, pf, min_trades=40, max_drawdown_limit=0.5, min_profit_factor=0.95
    )
    assert custom.tolist() == [True, True, True, True, True, False, True, False]


# Hand-made set (objectives maximised: SR, 1 − mdd, PF):
#   r0 (2.0, .80, 1.5)   front: nothing has SR ≥ 2 and better elsewhere except its duplicate r3
#   r1 (1.5, .90, 1.8)   front: beats r0 on drawdown and PF
#   r2 (1.0, .80, 1.2)   dominated by r0 (and r1)
#   r3 (2.0, .80, 1.5)   duplicate of r0: duplicates do not dominate each other → front
#   r4 (NaN, 1.0, 10)    NaN objective → ignored (would otherwise dominate on two axes)
#   r5 (0.5, .95, inf)   front: best drawdown, infinite PF
#   r6 (0.4, .95, inf)   dominated by r5 (equal mdd, equal inf PF, lower SR)
#   r7 (3.0, .50, 1.1)   front: best Sharpe
#   r8 (1.9, .75, 1.4)   dominated only by r0/r3 (r1 has lower SR, r7 worse drawdown)
SR = [2.0, 1.5, 1.0, 2.0, NAN, 0.5, 0.4, 3.0, 1.9]
MDD = [0.20, 0.10, 0.20, 0.20, 0.0, 0.05, 0.05, 0.50, 0.25]
PF = [1.5, 1.8, 1.2, 1.5, 10.0, INF, INF, 1.1, 1.4]
FRONT = [True, True, False, True, False, True, False, True, False]


def test_pareto_front_on_hand_made_set():
    assert pareto_front(SR, MDD, PF).tolist() == FRONT


def test_ineligible_rows_neither_join_nor_shape_the_front():
    # drop r0 and r3 → r8 is no longer dominated (r1 SR 1.5 < 1.9; r7 mdd .5 > .25)
    eligible = [False, True, True, False, True, True, True, True, True]
    expected = [False, True, False, False, False, True, False, True, True]
    assert pareto_front(SR, MDD, PF, eligible=eligible).tolist() == expected


def test_negative_drawdown_is_rejected():
    with pytest.raises(ValueError, match="positive fraction"):
        pareto_front([1.0, 2.0], [0.1, -0.2], [1.5, 1.5])
    with pytest.raises(ValueError):
        hard_filter_mask([60], [-0.1], [1.5])
    with pytest.raises(ValueError):
        pareto_front([1.0, 2.0], [0.1], [1.5, 1.5])


def test_rank_sweep_front_is_among_filtered_rows():
    df = pd.DataFrame(
        {
            "combo": ["a", "b", "c", "d"],
            "trades": [120, 30, 80, 90],
            # b has the best Sharpe but too few trades; d is dominated by a
            "sharpe": [1.8, 4.0, 1.2, 1.0],
            "max_drawdown": [0.15, 0.05, 0.10, 0.20],
            "profit_factor": [1.6, 3.0, 1.4, 1.3],
        }
    )
    out = rank_sweep(df)
    assert out["passes_filters"].tolist() == [True, False, True, True]
    # among a, c, d: a (1.8, .85, 1.6), c (1.2, .90, 1.4) both front; d dominated by a
    assert out["is_pareto"].tolist() == [True, False, True, False]
    assert "is_pareto" not in df.columns  # input untouched
    with pytest.raises(ValueError, match="missing"):
        rank_sweep(df.drop(columns="sharpe"))


def _dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a >= b) and np.any(a > b))


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0, NAN]),
            st.sampled_from([0.0, 0.1, 0.2, 0.5]),
            st.sampled_from([0.5, 1.0, 1.5, INF, NAN]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_front_is_exactly_the_non_dominated_finite_rows(rows):
    sr, mdd, pf = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    front = pareto_front(sr, mdd, pf)
    obj = np.column_stack([sr, 1 - mdd, pf])
    valid = ~np.isnan(obj).any(axis=1)
    for i in range(len(rows)):
        if not valid[i]:
            assert not front[i]
            continue
        dominated = any(_dominates(obj[j], obj[i]) for j in range(len(rows)) if valid[j])
        assert front[i] == (not dominated)
    if valid.any():
        assert front.any()
