"""Deflated Sharpe Ratio, PSR, E[max SR], MinTRL — against the papers' published numbers.

Expected values come from Bailey & López de Prado (2014, "The Deflated Sharpe Ratio", numerical
example) and (2012, "The Sharpe Ratio Efficient Frontier", PSR example), and from arithmetic
written out below; none of them is produced by the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_quant.research.overfitting.dsr import (
    DSR_THRESHOLD,
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

# --- the DSR paper's numerical example -------------------------------------------------------
# Annual SR 2.5 over T = 1250 daily observations, N = 100 trials, annual V[SR_n] = 0.5,
# skew −3, (non-excess) kurtosis 10. Daily: SR = 2.5/√250 = 0.158114, V = 0.5/250 = 0.002.
PAPER_SR = 2.5 / math.sqrt(250)
PAPER_V = 0.5 / 250
PAPER_T = 1250
PAPER_N = 100


def test_expected_max_factor_for_100_trials_is_2_5306():
    # (1−γ)·Z⁻¹(0.99) + γ·Z⁻¹(1 − 1/(100e)) = 0.42278·2.32635 + 0.57722·2.68021 = 2.5306
    assert expected_max_sharpe_factor(100) == pytest.approx(2.5306, abs=1e-4)


def test_paper_sr0_is_0_1132_daily():
    # SR0 = √0.002 · 2.5306 = 0.044721 · 2.5306 = 0.11317
    assert expected_max_sharpe(PAPER_N, PAPER_V) == pytest.approx(0.1132, abs=1e-4)


def test_paper_dsr_is_0_9004():
    # z = (0.158114 − 0.113172)·√1249 / √(1 + 3·0.158114 + 9/4·0.025)
    #   = 0.044942·35.3412 / √1.530592 = 1.58831 / 1.23717 = 1.28382 → Z(1.28382) = 0.9004
    dsr = deflated_sharpe_ratio(PAPER_SR, PAPER_T, -3.0, 10.0, PAPER_N, PAPER_V)
    assert dsr == pytest.approx(0.9004, abs=1e-4)
    assert dsr < DSR_THRESHOLD  # the paper's strategy does not pass at 95 %


def test_paper_psr_example_is_0_9132():
    # Monthly SR 1.585/√12 = 0.457550, skew −2.448, kurt 10.164, T = 24, SR* = 0:
    # z = 0.457550·√23 / √(1 + 2.448·0.457550 + 9.164/4·0.209352)
    #   = 2.194347 / √2.599708 = 2.194347 / 1.612361 = 1.36095 → Z = 0.9132
    psr = probabilistic_sharpe_ratio(1.585 / math.sqrt(12), 24, -2.448, 10.164, 0.0)
    assert psr == pytest.approx(0.9132, abs=1e-4)


def test_sharpe_ratio_std_of_psr_example():
    # √(2.599708 / 23) = √0.1130308 = 0.336200
    se = sharpe_ratio_std(1.585 / math.sqrt(12), 24, -2.448, 10.164)
    assert se == pytest.approx(0.336200, abs=1e-5)


def test_min_track_record_length_of_psr_example():
    # MinTRL = 1 + 2.599708 · (1.644854 / 0.457550)² = 1 + 2.599708 · 12.92341 = 34.597 months
    mintrl = min_track_record_length(1.585 / math.sqrt(12), -2.448, 10.164, 0.0, 0.95)
    assert mintrl == pytest.approx(34.597, abs=2e-3)
    # 35 months is enough for 95 % confidence, 34 is not
    assert probabilistic_sharpe_ratio(1.585 / math.sqrt(12), 35, -2.448, 10.164) >= 0.95
    assert probabilistic_sharpe_ratio(1.585 / math.sqrt(12), 34, -2.448, 10.164) < 0.95


def test_min_track_record_length_is_infinite_when_sr_not_above_benchmark():
    assert min_track_record_length(0.1, 0.0, 3.0, sr_benchmark=0.1) == math.inf
    assert min_track_record_length(-0.1, 0.0, 3.0) == math.inf


def test_single_trial_has_no_selection_bias():
    # N = 1: E[max] of one standard normal is exactly 0, so SR0 = 0 and DSR = PSR(0)
    assert expected_max_sharpe_factor(1) == 0.0
    assert expected_max_sharpe(1, 0.01) == 0.0
    assert deflated_sharpe_ratio(0.1, 500, -0.5, 5.0, 1, 0.01) == pytest.approx(
        probabilistic_sharpe_ratio(0.1, 500, -0.5, 5.0, 0.0), abs=1e-15
    )


def test_normal_returns_psr_matches_textbook_standard_error():
    # skew 0, kurt 3: denominator √(1 + SR²/2), the Lo (2002) iid-normal standard error.
    # SR 0.1 daily, T = 401: z = 0.1·20 / √1.005 = 1.995019 → Z = 0.976979
    assert probabilistic_sharpe_ratio(0.1, 401, 0.0, 3.0) == pytest.approx(0.976979, abs=1e-6)


def test_return_moments_of_a_hand_worked_series():
    # r = [0, 0, 0, 0.04]: mean 0.01; deviations −.01, −.01, −.01, .03
    # m2 = (3·1e-4 + 9e-4)/4 = 3e-4; m3 = (−3e-6 + 27e-6)/4 = 6e-6; m4 = (3e-8 + 81e-8)/4 = 21e-8
    # skew = 6e-6 / (3e-4)^1.5 = 2/√3; kurt = 21e-8 / 9e-8 = 7/3 (non-excess)
    # std(ddof=1) = √(12e-4 / 3) = 0.02 → SR = 0.5
    m = return_moments([0.0, 0.0, 0.0, 0.04])
    assert m.t == 4
    assert m.sr == pytest.approx(0.5, rel=1e-12)
    assert m.skew == pytest.approx(2 / math.sqrt(3), rel=1e-12)
    assert m.kurt == pytest.approx(7 / 3, rel=1e-12)


def test_return_moments_use_non_excess_kurtosis():
    rng = np.random.default_rng(7)
    m = return_moments(rng.normal(0.0, 0.01, 200_000))
    assert m.kurt == pytest.approx(3.0, abs=0.05)  # normal → 3, not 0
    assert m.skew == pytest.approx(0.0, abs=0.03)


@pytest.mark.parametrize(
    "bad",
    [[0.01, 0.01, 0.01], [0.01, float("nan"), 0.02], [0.01, 0.02], [[0.01, 0.02, 0.03]]],
)
def test_return_moments_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        return_moments(bad)


def test_excess_kurtosis_is_rejected():
    with pytest.raises(ValueError, match="excess"):
        probabilistic_sharpe_ratio(0.1, 100, 0.0, 0.0)  # excess kurtosis of a normal


def test_pearson_inequality_is_enforced():
    with pytest.raises(ValueError, match="Pearson"):
        probabilistic_sharpe_ratio(0.1, 100, -3.0, 9.0)  # needs kurt >= 1 + 9 = 10
    # the paper's own example sits exactly on the bound and must be accepted
    probabilistic_sharpe_ratio(0.1, 100, -3.0, 10.0)


@pytest.mark.parametrize("t", [1, 0, 10.5])
def test_bad_t_is_rejected(t):
    with pytest.raises(ValueError):
        probabilistic_sharpe_ratio(0.1, t, 0.0, 3.0)


@pytest.mark.parametrize("n", [0, -1, 2.5])
def test_bad_trial_count_is_rejected(n):
    with pytest.raises(ValueError):
        expected_max_sharpe_factor(n)


def test_negative_sr_variance_is_rejected():
    with pytest.raises(ValueError):
        expected_max_sharpe(10, -1e-6)


def test_trials_sharpe_variance_is_sample_variance():
    # mean 0.2; squared deviations .01, 0, .01 → Σ = .02, ddof=1 → .01
    assert trials_sharpe_variance([0.1, 0.2, 0.3]) == pytest.approx(0.01, rel=1e-12)
    with pytest.raises(ValueError):
        trials_sharpe_variance([0.1])


def test_deflated_sharpe_test_on_returns():
    # 100 repetitions of [0, 0, 0, 0.04]: population moments as above (skew 2/√3, kurt 7/3),
    # std(ddof=1) = √(3e-4 · 400/399) = 0.0173422 → SR = 0.576628 per period, T = 400.
    r = np.tile([0.0, 0.0, 0.0, 0.04], 100)
    res = deflated_sharpe_test(r, n_trials=1, sr_variance=0.0)
    assert res.sr == pytest.approx(0.576628, abs=1e-6)
    assert res.sr0 == 0.0
    assert res.t == 400
    # z = 0.576628·√399 / √(1 − 1.154701·0.576628 + (4/3)/4·0.332500) = 11.51815/0.667082
    #   = 17.27 → DSR ≈ 1
    assert res.value == pytest.approx(1.0, abs=1e-12)
    assert res.passed

    # 1000 trials, V = 0.5: factor = 0.42278·Z⁻¹(0.999) + 0.57722·Z⁻¹(1 − 1/(1000e))
    # = 0.42278·3.09023 + 0.57722·3.37590 = 3.2551; SR0 = √0.5·3.2551
    # = 2.292 > SR → DSR ≈ 0 → fails; MinTRL is infinite.
    res = deflated_sharpe_test(r, n_trials=1000, sr_variance=0.5)
    assert res.sr0 == pytest.approx(math.sqrt(0.5) * 3.2551, abs=1e-3)
    assert res.value < 1e-6
    assert not res.passed
    assert res.min_trl == math.inf
    assert res.threshold == DSR_THRESHOLD


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=2, max_value=10_000))
def test_expected_max_factor_increases_with_trials(n):
    assert expected_max_sharpe_factor(n + 1) > expected_max_sharpe_factor(n) > 0.0


@settings(max_examples=60, deadline=None)
@given(
    sr=st.floats(min_value=0.02, max_value=0.5),
    skew=st.floats(min_value=-2.0, max_value=1.0),
    extra_kurt=st.floats(min_value=0.0, max_value=10.0),
)
def test_min_trl_is_where_psr_crosses_confidence(sr, skew, extra_kurt):
    kurt = 1.0 + skew * skew + extra_kurt
    try:
        mintrl = min_track_record_length(sr, skew, kurt, 0.0, 0.95)
    except ValueError:  # non-positive variance factor for extreme combinations
        return
    t_enough = max(2, math.ceil(mintrl))
    assert probabilistic_sharpe_ratio(sr, t_enough, skew, kurt) >= 0.95 - 1e-12
    if mintrl > 3:
        assert probabilistic_sharpe_ratio(sr, math.floor(mintrl) - 1, skew, kurt) < 0.95


@settings(max_examples=60, deadline=None)
@given(
    sr=st.floats(min_value=-0.3, max_value=0.3),
    n=st.integers(min_value=1, max_value=1000),
    v=st.floats(min_value=0.0, max_value=0.01),
)
def test_dsr_never_exceeds_psr_at_zero(sr, n, v):
    # SR0 >= 0 for mean_sr = 0, and PSR is decreasing in its benchmark
    assert (
        deflated_sharpe_ratio(sr, 500, 0.0, 4.0, n, v)
        <= probabilistic_sharpe_ratio(sr, 500, 0.0, 4.0, 0.0) + 1e-15
    )
