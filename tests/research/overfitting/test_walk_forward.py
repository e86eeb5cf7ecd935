"""Walk-forward windows, walk-forward efficiency (simple annualisation), stitched OOS equity."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vibe_quant.research.overfitting.walk_forward import (
    WalkForwardWindow,
    WindowResult,
    daily_returns,
    equity_sharpe,
    generate_windows,
    stitch_equity_curves,
    summarise_walk_forward,
    walk_forward_efficiency,
)

UTC = "UTC"


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz=UTC)


# --- walk-forward efficiency -----------------------------------------------------------------


def test_wfe_of_the_issue_example_is_0_40():
    # (2000/30 per day) / (30000/180 per day) = 66.667 / 166.667 = 0.40
    assert walk_forward_efficiency(30_000, 180, 2_000, 30) == pytest.approx(0.40, abs=1e-15)


def test_wfe_is_simple_not_compound_annualisation():
    # 20 % over 73 days IS (= 100 %/yr simple) and 5 % over 36.5 days OOS (= 50 %/yr simple):
    # WFE = 0.5. Compounded it would be (1.05^10 − 1)/(1.2^5 − 1) = 0.6289/1.4883 = 0.4226.
    assert walk_forward_efficiency(0.20, 73, 0.05, 36.5) == pytest.approx(0.5, abs=1e-12)


def test_wfe_undefined_when_in_sample_not_profitable():
    assert walk_forward_efficiency(0.0, 180, 2_000, 30) is None
    assert walk_forward_efficiency(-5_000, 180, 2_000, 30) is None
    # a losing OOS with a profitable IS is defined and negative: (−1000/30)/(30000/180) = −0.2
    assert walk_forward_efficiency(30_000, 180, -1_000, 30) == pytest.approx(-0.2, abs=1e-12)


@pytest.mark.parametrize(
    "args", [(1.0, 0, 1.0, 30), (1.0, 180, 1.0, -1), (math.nan, 180, 1.0, 30), (1, 1, math.inf, 1)]
)
def test_wfe_rejects_bad_input(args):
    with pytest.raises(ValueError):
        walk_forward_efficiency(*args)


# --- windows -----------------------------------------------------------------------------------


def test_default_rolling_windows_over_2023_2024():
    # 9 months IS, 3 months OOS, 1 month step over [2023-01-01, 2025-01-01):
    # oos_end_k = 2023-01-01 + (12 + k) months <= 2025-01-01 → k = 0..12 → 13 windows.
    w = generate_windows("2023-01-01", "2025-01-01")
    assert len(w) == 13
    assert w[0] == WalkForwardWindow(
        0, ts("2023-01-01"), ts("2023-10-01"), ts("2023-10-01"), ts("2024-01-01")
    )
    assert w[1].is_start == ts("2023-02-01") and w[1].oos_end == ts("2024-02-01")
    assert w[-1] == WalkForwardWindow(
        12, ts("2024-01-01"), ts("2024-10-01"), ts("2024-10-01"), ts("2025-01-01")
    )
    # 2023-01-01 → 2023-10-01 is 273 days; 2023-10-01 → 2024-01-01 is 92 days
    assert w[0].is_days == 273.0 and w[0].oos_days == 92.0


def test_anchored_windows_grow_the_in_sample():
    rolling = generate_windows("2023-01-01", "2025-01-01")
    anchored = generate_windows("2023-01-01", "2025-01-01", anchored=True)
    assert len(anchored) == 13
    assert all(a.is_start == ts("2023-01-01") for a in anchored)
    assert [a.is_end for a in anchored] == [r.is_end for r in rolling]
    assert [(a.oos_start, a.oos_end) for a in anchored] == [
        (r.oos_start, r.oos_end) for r in rolling
    ]
    assert anchored[-1].is_days == 639.0  # 2023-01-01 → 2024-10-01


def test_timedelta_windows_and_timezone_conversion():
    # start given in UTC+2 = 2024-01-01 00:00 UTC. IS 10 d, OOS 5 d, step 5 d, end Jan 31:
    # oos_end_k = Jan 16 + 5k <= Jan 31 → k = 0..3 → 4 windows.
    w = generate_windows(
        "2024-01-01T02:00:00+02:00",
        "2024-01-31",
        in_sample=pd.Timedelta(days=10),
        out_of_sample=pd.Timedelta(days=5),
        step=pd.Timedelta(days=5),
    )
    assert len(w) == 4
    assert w[0].is_start == ts("2024-01-01") and str(w[0].is_start.tz) == "UTC"
    assert [x.oos_start for x in w] == [
        ts("2024-01-11"),
        ts("2024-01-16"),
        ts("2024-01-21"),
        ts("2024-01-26"),
    ]
    assert w[-1].oos_end == ts("2024-01-31")


def test_too_short_range_gives_no_windows_and_bad_ranges_raise():
    assert generate_windows("2024-01-01", "2024-12-01") == []  # 11 months < 9 + 3
    with pytest.raises(ValueError):
        generate_windows("2024-01-01", "2023-01-01")
    with pytest.raises(ValueError):
        generate_windows("2023-01-01", "2025-01-01", step=pd.Timedelta(0))


# --- stitching -----------------------------------------------------------------------------------


def _curve(start: str, values: list[float], freq: str = "1D") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq=freq, tz=UTC))


def test_stitching_non_overlapping_windows_compounds():
    # window 1: 100 → 110 → 99 (+10 %, −10 %); window 2 starts at its last point with its own
    # capital 50 → 55 → 60 (+10 %, +9.0909 %). Stitched from 1.0:
    # 1.0, 1.1, 0.99, 0.99·1.1 = 1.089, 1.089·60/55 = 1.188
    a = _curve("2024-01-01", [100.0, 110.0, 99.0])
    b = _curve("2024-01-03", [50.0, 55.0, 60.0])
    s = stitch_equity_curves([a, b])
    np.testing.assert_allclose(s.to_numpy(), [1.0, 1.1, 0.99, 1.089, 1.188], rtol=1e-12)
    assert list(s.index) == list(pd.date_range("2024-01-01", periods=5, freq="1D", tz=UTC))


def test_stitching_overlapping_windows_uses_latest_reoptimisation():
    # a covers Jan 1..3, b starts Jan 2 (overlap). a governs (Jan 1, Jan 2], b after Jan 2:
    # Jan 2: a's +10 % → 1.1; Jan 3: b's 55/50 = +10 % → 1.21 (a's −10 % on Jan 3 is ignored);
    # Jan 4: b's 60/55 → 1.21·12/11 = 1.32.
    a = _curve("2024-01-01", [100.0, 110.0, 99.0])
    b = _curve("2024-01-02", [50.0, 55.0, 60.0])
    s = stitch_equity_curves([a, b], initial=1000.0)
    np.testing.assert_allclose(s.to_numpy(), [1000.0, 1100.0, 1210.0, 1320.0], rtol=1e-12)


def test_stitching_rejects_bad_curves():
    a = _curve("2024-01-01", [100.0, 110.0, 99.0])
    with pytest.raises(ValueError):
        stitch_equity_curves([])
    with pytest.raises(ValueError):
        stitch_equity_curves([a, a])  # same start: not ordered
    with pytest.raises(ValueError):
        stitch_equity_curves([_curve("2024-01-01", [100.0, -1.0])])
    with pytest.raises(TypeError):
        stitch_equity_curves([pd.Series([1.0, 2.0])])


def test_equity_sharpe_uses_daily_closes_and_365_days():
    # 5-minute points; the last point of each UTC day is 1, 1.01, 0.9999, 1.019898 → daily
    # returns +1 %, −1 %, +2 %. mean 0.0066667; deviations .0033333, −.0166667, .0133333;
    # SS = 4.66667e-4 → var 2.33333e-4 → std 0.0152753 → 0.436436 per day
    # × √365 = 19.104973 → 8.33808
    closes = [1.0, 1.01, 0.9999, 1.019898]
    idx, vals = [], []
    for d, close in enumerate(closes):
        day = ts("2024-03-01") + pd.Timedelta(days=d)
        idx += [day + pd.Timedelta(hours=1), day + pd.Timedelta(hours=23, minutes=55)]
        vals += [5.0, close]  # an intraday value that must not matter
    eq = pd.Series(vals, index=pd.DatetimeIndex(idx))
    np.testing.assert_allclose(daily_returns(eq).to_numpy(), [0.01, -0.01, 0.02], rtol=1e-9)
    assert equity_sharpe(eq) == pytest.approx(8.33808, abs=1e-4)


# --- summary -------------------------------------------------------------------------------------


def _windows():
    return generate_windows(
        "2024-01-01",
        "2024-12-31",
        in_sample=pd.Timedelta(days=180),
        out_of_sample=pd.Timedelta(days=30),
        step=pd.Timedelta(days=30),
    )


def test_summary_pooled_wfe_profitable_share_and_rule():
    w = _windows()
    results = [
        WindowResult(w[0], 30_000, 2_000, params={"fast": 10}),
        WindowResult(w[1], 18_000, -600, params={"fast": 12}),
        WindowResult(w[2], -5_000, 1_200, params={"fast": 8}),
    ]
    s = summarise_walk_forward(results)
    # per window: 0.4; (−600/30)/(18000/180) = −20/100 = −0.2; undefined (IS ≤ 0)
    assert s.wfe_per_window[0] == pytest.approx(0.4, abs=1e-12)
    assert s.wfe_per_window[1] == pytest.approx(-0.2, abs=1e-12)
    assert s.wfe_per_window[2] is None
    # pooled: (2600/90) / (43000/540) = 2600·540 / (90·43000) = 1 404 000 / 3 870 000 = 0.362791
    assert s.wfe == pytest.approx(0.362791, abs=1e-6)
    assert s.profitable_share == pytest.approx(2 / 3)
    assert not s.passed  # WFE < 0.5
    assert s.params == ({"fast": 10}, {"fast": 12}, {"fast": 8})
    assert s.stitched_equity is None and s.stitched_sharpe is None


def test_summary_pass_rule_boundaries():
    w = _windows()
    # WFE exactly 0.5 passes (≥): IS 36000/180 = 200/day, OOS 3000/30 = 100/day in both windows
    ok = summarise_walk_forward(
        [WindowResult(w[0], 36_000, 3_000), WindowResult(w[1], 36_000, 3_000)]
    )
    assert ok.wfe == pytest.approx(0.5, abs=1e-12) and ok.profitable_share == 1.0 and ok.passed
    # exactly 50 % profitable fails (needs > 50 %): pooled WFE = (9000−1000)/60 / 200 = 0.667
    half = summarise_walk_forward(
        [WindowResult(w[0], 36_000, 9_000), WindowResult(w[1], 36_000, -1_000)]
    )
    assert half.wfe == pytest.approx(8000 / 60 / 200, abs=1e-12)
    assert half.profitable_share == 0.5 and not half.passed
    # zero OOS return is not profitable
    assert summarise_walk_forward([WindowResult(w[0], 1.0, 0.0)]).profitable_share == 0.0


def test_summary_with_equity_curves():
    w = _windows()
    a = _curve(str(w[0].oos_start.date()), [100.0, 110.0, 99.0])
    b = _curve(str(w[1].oos_start.date()), [50.0, 55.0, 60.0])
    s = summarise_walk_forward([WindowResult(w[0], 1.0, -0.01, a), WindowResult(w[1], 1.0, 0.2, b)])
    pd.testing.assert_series_equal(s.stitched_equity, stitch_equity_curves([a, b]))
    assert s.stitched_sharpe == pytest.approx(equity_sharpe(s.stitched_equity), rel=1e-12)
    with pytest.raises(ValueError):
        summarise_walk_forward([WindowResult(w[0], 1.0, 0.1, a), WindowResult(w[1], 1.0, 0.1)])
    with pytest.raises(ValueError):
        summarise_walk_forward([])
