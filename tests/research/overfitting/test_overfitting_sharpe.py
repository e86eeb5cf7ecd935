"""The shared Sharpe convention: per period mean/std(ddof=1), annualised with √365."""

from __future__ import annotations

import math

import pytest

from vibe_quant.core.stats import DAYS_PER_YEAR, annualised_sharpe, sharpe_ratio


def test_per_period_and_annualised_sharpe_by_hand():
    # r = [0.01, −0.01, 0.02]: mean 0.0066667, SS 4.66667e-4, std(ddof=1) 0.0152753
    # → 0.436436 per day; × √365 = 19.104973 → 8.33808 per year
    r = [0.01, -0.01, 0.02]
    assert sharpe_ratio(r) == pytest.approx(0.436436, abs=1e-6)
    assert annualised_sharpe(r) == pytest.approx(8.33808, abs=1e-4)
    assert sharpe_ratio(r, periods_per_year=12) == pytest.approx(0.436436 * math.sqrt(12), abs=1e-5)
    assert DAYS_PER_YEAR == 365


def test_zero_variance_convention():
    assert sharpe_ratio([0.0, 0.0, 0.0]) == 0.0  # never traded
    assert sharpe_ratio([0.01, 0.01]) == math.inf
    assert sharpe_ratio([-0.01, -0.01]) == -math.inf


@pytest.mark.parametrize("bad", [[0.01], [], [0.01, math.nan], [[0.01, 0.02]], [0.01, math.inf]])
def test_bad_returns_rejected(bad):
    with pytest.raises(ValueError):
        sharpe_ratio(bad)


def test_bad_periods_per_year_rejected():
    with pytest.raises(ValueError):
        sharpe_ratio([0.01, 0.02], periods_per_year=0)
