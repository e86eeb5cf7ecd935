"""Probability of Backtest Overfitting (CSCV): hand-worked cases and a brute-force cross-check.

Convention under test (see vibe_quant/research/overfitting/pbo.py): PBO = share of combinations with
λ ≤ 0 (λ = 0, the OOS median, counts as overfit); IS ties → lowest column index wins; OOS ties →
average rank; ω = rank / (N + 1), rank 1 = worst.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata

from vibe_quant.research.overfitting.pbo import n_combinations, probability_of_backtest_overfitting

# Block contents for hand-worked cases: each block has two rows. Values are multiples of 2⁻⁶
# (exact in binary floating point), so equal multisets give bit-identical Sharpe ratios.
U = 2.0**-6
G = (1 * U, 3 * U)  # "good"
BAD = (-1 * U, 1 * U)  # "bad"
M = (0 * U, 2 * U)  # "medium"


def _column(*blocks: tuple[float, float]) -> np.ndarray:
    return np.array([v for blk in blocks for v in blk])


def test_in_sample_winner_always_loses_out_of_sample_gives_pbo_1():
    # Strategy A has per-block levels a = (5, 1, −2, −4)·U (each block: level ± U), which sum
    # to 0; strategy B = −A. On any half J: SR_B(J) = −SR_A(J) (same deviations, negated mean),
    # and mean_A(J̄) = −mean_A(J) because A sums to 0. No two levels sum to 0, so the IS winner
    # (the one with positive IS mean) always has a negative OOS mean → OOS rank 1 of 2 →
    # ω = 1/3 → λ = ln(1/2) < 0 in all C(4,2) = 6 combinations → PBO = 1.
    levels = np.array([5.0, 1.0, -2.0, -4.0]) * U
    a = np.concatenate([[lv - U, lv + U] for lv in levels])
    res = probability_of_backtest_overfitting(np.column_stack([a, -a]), n_blocks=4)
    assert res.pbo == 1.0
    assert res.overfit
    np.testing.assert_array_equal(res.oos_ranks, np.ones(6))
    np.testing.assert_allclose(res.logits, np.full(6, math.log(0.5)), rtol=1e-12)


def test_mirror_pair_with_random_returns_and_16_blocks_gives_pbo_1():
    # Same argument with random daily returns demeaned over the whole sample: B = −A.
    rng = np.random.default_rng(11)
    a = rng.normal(0.0, 0.01, 16 * 20)
    a -= a.mean()
    res = probability_of_backtest_overfitting(np.column_stack([a, -a]), n_blocks=16)
    assert len(res.logits) == 12_870
    assert res.pbo == 1.0


def test_one_strategy_dominating_every_block_gives_pbo_0():
    # Column 0 earns 1 % a day with 0.1 % noise (per-period SR ≈ 10); the other four are
    # zero-mean 1 % noise (SR within ±0.5 on any half of 160 days). Column 0 wins in-sample and
    # is best out-of-sample in every combination: rank N = 5 → ω = 5/6 → λ = ln 5 > 0.
    rng = np.random.default_rng(3)
    t = 320
    strong = 0.01 + rng.normal(0.0, 0.001, t)
    noise = rng.normal(0.0, 0.01, (t, 4))
    res = probability_of_backtest_overfitting(np.column_stack([strong, noise]), n_blocks=16)
    assert res.pbo == 0.0
    assert not res.overfit
    np.testing.assert_array_equal(res.is_winners, np.zeros(12_870, dtype=int))
    np.testing.assert_allclose(res.logits, math.log(5.0), rtol=1e-12)


# Hand-worked three-strategy case, S = 4 blocks of 2 rows:
#   A = G G G B,  B = G B B B,  C = G B M M
# Sharpe (per period, ddof=1) of the union of two blocks, by hand (units U cancel):
#   GG {1,3,1,3}:   mean 2,   SS 4,  sd √(4/3)  → SR = 2/1.1547   = 1.7321
#   GM {1,3,0,2}:   mean 1.5, SS 5,  sd √(5/3)  → SR = 1.5/1.2910 = 1.1619
#   MM {0,2,0,2}:   mean 1,   SS 4,  sd √(4/3)  → SR = 1/1.1547   = 0.8660
#   GB {1,3,−1,1}:  mean 1,   SS 8,  sd √(8/3)  → SR = 1/1.6330   = 0.6124
#   BM {−1,1,0,2}:  mean 0.5, SS 5,  sd √(5/3)  → SR = 0.5/1.2910 = 0.3873
#   BB {−1,1,−1,1}: mean 0,                       SR = 0
# Combinations in itertools order (IS blocks, 0-based), IS winner, its OOS rank among 3:
#   IS {0,1}: A GG 1.73 | B GB .61 | C GB .61 → A.  OOS {2,3}: A GB .61, B BB 0, C MM .87
#             → A is the strict median: rank 2, ω = 2/4, λ = 0            (overfit under ≤)
#   IS {0,2}: A GG | B GB | C GM 1.16 → A.  OOS {1,3}: A GB .61, B BB 0, C BM .39 → rank 3,
#             ω = 3/4, λ = ln 3
#   IS {0,3}: A GB .61 | B GB .61 | C GM 1.16 → C.  OOS {1,2}: A GG 1.73, B BB 0, C BM .39
#             → rank 2, λ = 0                                             (overfit under ≤)
#   IS {1,2}: A GG | B BB | C BM → A.  OOS {0,3}: A GB .61, B GB .61 (identical data),
#             C GM 1.16 → A tied with B for worst: average rank 1.5, ω = 1.5/4,
#             λ = ln(0.375/0.625) = ln 0.6
#   IS {1,3}: A GB .61 | B BB 0 | C BM .39 → A.  OOS {0,2}: A GG, B GB, C GM → rank 3, λ = ln 3
#   IS {2,3}: A GB .61 | B BB 0 | C MM .87 → C.  OOS {0,1}: A GG 1.73, B GB .61, C GB .61
#             (B, C identical) → C tied for worst: rank 1.5, λ = ln 0.6
# λ ≤ 0 in combinations 1, 3, 4, 6 → PBO = 4/6 = 2/3 (with a strict "< 0" it would be 2/6).
HAND = np.column_stack([_column(G, G, G, BAD), _column(G, BAD, BAD, BAD), _column(G, BAD, M, M)])


def test_hand_worked_three_strategy_case_with_ties_at_zero():
    res = probability_of_backtest_overfitting(HAND, n_blocks=4)
    assert res.combinations == ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
    np.testing.assert_array_equal(res.is_winners, [0, 0, 2, 0, 0, 2])
    np.testing.assert_array_equal(res.oos_ranks, [2.0, 3.0, 2.0, 1.5, 3.0, 1.5])
    expected = [0.0, math.log(3), 0.0, math.log(0.6), math.log(3), math.log(0.6)]
    np.testing.assert_allclose(res.logits, expected, rtol=1e-12, atol=0.0)
    assert res.logits[0] == 0.0 and res.logits[2] == 0.0  # exactly on the boundary
    assert res.pbo == pytest.approx(4 / 6, abs=1e-15)
    assert res.overfit  # 2/3 > 0.5
    assert res.block_size == 2 and res.rows_dropped == 0


def test_three_way_out_of_sample_tie_is_the_median():
    # A = G M, B = M G, C = G G (S = 2). IS {0}: A G, B M, C G → A and C tie in-sample
    # (2/√2 = 1.414 each) → lowest index, A, wins. OOS {1}: A M (1/√2), B G (1.414), C G →
    # A rank 1 → λ < 0. IS {1}: A M .707, B G 1.414, C G 1.414 → B. OOS {0}: A G, B M, C G:
    # B rank 1 → λ < 0. PBO = 1.
    x = np.column_stack([_column(G, M), _column(M, G), _column(G, G)])
    res = probability_of_backtest_overfitting(x, n_blocks=2)
    np.testing.assert_array_equal(res.is_winners, [0, 1])
    np.testing.assert_array_equal(res.oos_ranks, [1.0, 1.0])
    assert res.pbo == 1.0
    # All three identical out of sample → average rank (1+2+3)/3 = 2 → ω = 1/2 → λ = 0 → overfit.
    # A = G M, B = BAD M, C = BAD M: IS {0} → A wins (G); OOS {1}: all M → rank 2, λ = 0.
    # IS {1}: all M, three-way IS tie → A (lowest index); OOS {0}: A G 1.414, B, C BAD 0 → rank 3.
    y = np.column_stack([_column(G, M), _column(BAD, M), _column(BAD, M)])
    res = probability_of_backtest_overfitting(y, n_blocks=2)
    np.testing.assert_array_equal(res.oos_ranks, [2.0, 3.0])
    np.testing.assert_array_equal(res.logits, [0.0, math.log(3)])
    assert res.pbo == 0.5
    assert not res.overfit  # 0.5 is not > 0.5


def test_oldest_rows_are_dropped_when_t_is_not_a_multiple_of_s():
    # 3 wild rows prepended to the hand case: T = 11, S = 4 → B = 2, the oldest 3 rows dropped.
    junk = np.array([[9.0, -9.0, 0.5], [-7.0, 3.0, 1.0], [100.0, 0.0, -1.0]])
    res = probability_of_backtest_overfitting(np.vstack([junk, HAND]), n_blocks=4)
    assert res.rows_dropped == 3
    assert res.pbo == pytest.approx(4 / 6, abs=1e-15)
    np.testing.assert_array_equal(res.oos_ranks, [2.0, 3.0, 2.0, 1.5, 3.0, 1.5])


def test_never_traded_column_has_sharpe_zero_not_nan():
    # Column 1 is all zeros (never traded): Sharpe 0 everywhere. Column 0 = G in block 0 and
    # BAD−1 (all negative: −2U, 0) in block 1. IS {0}: col 0 SR 1.414 > 0 → wins; OOS {1}:
    # col 0 mean −U < 0 → SR < 0 → rank 1 → λ < 0. IS {1}: col 0 SR < 0, col 1 SR 0 → col 1
    # wins; OOS {0}: col 1 SR 0 < 1.414 → rank 1 → λ < 0. PBO = 1, no NaN anywhere.
    x = np.column_stack([_column(G, (-2 * U, 0.0)), np.zeros(4)])
    res = probability_of_backtest_overfitting(x, n_blocks=2)
    np.testing.assert_array_equal(res.is_winners, [0, 1])
    np.testing.assert_array_equal(res.oos_ranks, [1.0, 1.0])
    assert res.pbo == 1.0


@pytest.mark.parametrize(
    ("shape", "s"),
    [((32,), 4), ((32, 1), 4), ((32, 3), 3), ((32, 3), 0), ((7, 3), 4)],
)
def test_bad_input_is_rejected(shape, s):
    with pytest.raises(ValueError):
        probability_of_backtest_overfitting(np.zeros(shape), n_blocks=s)


def test_nan_is_rejected():
    x = np.zeros((16, 3))
    x[5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        probability_of_backtest_overfitting(x, n_blocks=4)


def test_n_combinations():
    assert n_combinations(16) == 12_870
    assert n_combinations(4) == 6


def _brute_force_pbo(x: np.ndarray, s: int) -> tuple[float, np.ndarray]:
    """Straight transcription of CSCV (independent of the vectorised implementation)."""
    t = (x.shape[0] // s) * s
    x = x[x.shape[0] - t :]
    blocks = np.split(x, s)
    ranks = []
    for combo in itertools.combinations(range(s), s // 2):
        is_rows = np.vstack([blocks[i] for i in combo])
        oos_rows = np.vstack([blocks[i] for i in range(s) if i not in combo])
        is_sr = is_rows.mean(axis=0) / is_rows.std(axis=0, ddof=1)
        oos_sr = oos_rows.mean(axis=0) / oos_rows.std(axis=0, ddof=1)
        winner = int(np.argmax(is_sr))
        ranks.append(rankdata(oos_sr)[winner])
    ranks = np.array(ranks)
    return float(np.mean(ranks <= (x.shape[1] + 1) / 2)), ranks


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    s=st.sampled_from([2, 4, 6, 8]),
    n=st.integers(2, 6),
    extra=st.integers(0, 7),
    per_block=st.integers(2, 6),
)
def test_matches_brute_force_cscv(seed, s, n, extra, per_block):
    rng = np.random.default_rng(seed)
    # distinct drifts so columns differ; continuous noise → no exact ties
    x = rng.normal(0.0, 0.01, (s * per_block + extra, n)) + rng.normal(0.0, 0.003, n)
    pbo_bf, ranks_bf = _brute_force_pbo(x, s)
    res = probability_of_backtest_overfitting(x, n_blocks=s)
    np.testing.assert_array_equal(res.oos_ranks, ranks_bf)
    assert res.pbo == pytest.approx(pbo_bf, abs=1e-15)
    assert 0.0 <= res.pbo <= 1.0
    assert res.rows_dropped == x.shape[0] % s


def test_default_16_blocks_is_fast_enough_for_a_sweep():
    # 2 years of daily returns × 100 configurations: 12 870 combinations
    rng = np.random.default_rng(0)
    res = probability_of_backtest_overfitting(rng.normal(0, 0.01, (730, 100)))
    assert res.n_blocks == 16 and res.block_size == 45 and res.rows_dropped == 10
    assert len(res.logits) == 12_870
