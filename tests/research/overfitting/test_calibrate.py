"""Filter calibration: vectorised filters equal the library ones; a DSR row agrees with an
independent simulation of the Bailey & López de Prado (2014) formula; thresholds; CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from vibe_quant.core.stats import annualised_sharpe
from vibe_quant.research.overfitting import calibrate as cal
from vibe_quant.research.overfitting.pbo import probability_of_backtest_overfitting
from vibe_quant.research.overfitting.walk_forward import (
    WindowResult,
    generate_windows,
    summarise_walk_forward,
)


def test_vectorised_pbo_equals_the_library_pbo():
    rng = np.random.default_rng(2)
    cscv = cal._CSCV(400, 16)
    for rho in (0.0, 0.8):
        m = cal.simulate_sweep(rng, 400, 30, rho, 0.0)
        shifts = [0.0, 0.0015, 0.004]
        fast = cscv.pbo_shifted(m, shifts)
        for d, value in zip(shifts, fast):
            shifted = m.copy()
            shifted[:, 0] += d
            assert value == probability_of_backtest_overfitting(shifted, 16).pbo


def test_matrix_walk_forward_equals_summarise_walk_forward():
    rng = np.random.default_rng(3)
    th = cal.FilterThresholds()
    m = cal.simulate_sweep(rng, 800, 15, 0.6, 2.0)
    wfe, share = cal.walk_forward_statistics(m, cal.walk_forward_rows(800, th))
    start = cal.WFA_START
    results = []
    for w in generate_windows(start, start + pd.Timedelta(days=800)):
        lo, hi, oos_hi = ((x - start).days for x in (w.is_start, w.is_end, w.oos_end))
        best = int(np.argmax([annualised_sharpe(m[lo:hi, j]) for j in range(15)]))
        results.append(
            WindowResult(
                window=w,
                is_return=float(np.prod(1 + m[lo:hi, best]) - 1),
                oos_return=float(np.prod(1 + m[hi:oos_hi, best]) - 1),
            )
        )
    ref = summarise_walk_forward(results)
    assert wfe == pytest.approx(ref.wfe, rel=1e-9)
    assert share == ref.profitable_share


def test_mean_pairwise_correlation():
    x = np.array([0.01, -0.02, 0.03, 0.0, 0.015])
    # columns x, x, −x and a never-traded column (left out): pairs 1, −1, −1 → mean −1/3
    m = np.column_stack([x, x, -x, np.zeros(5)])
    assert cal.mean_pairwise_correlation(m) == pytest.approx(-1 / 3)
    rng = np.random.default_rng(4)
    sim = cal.simulate_noise(rng, 20_000, 6, 0.6)
    assert cal.mean_pairwise_correlation(sim) == pytest.approx(0.6, abs=0.02)
    with pytest.raises(ValueError):
        cal.mean_pairwise_correlation(np.column_stack([x, np.zeros(5)]))


def test_recommended_thresholds_hand_worked():
    # alpha = 0.25, two ρ with four null simulations each.
    # DSR (pass ≥ c): ρ₁ [.1 .2 .3 .9] needs c > .3; ρ₂ [.5 .6 .7 .8] needs c > .7 → c = 0.8.
    # PBO (pass ≤ c): ρ₁ [.1 .2 .6 .7] allows c < .2; ρ₂ [.3 .4 .5 .6] allows c < .4 → c = 0.1.
    # purged K-fold mean (pass > c): ρ₁ [0 1 2 3] → c ≥ 2; ρ₂ [0 0 0 5] → c ≥ 0 → c = 2.
    def cell(dsr, pbo, mean):
        z = np.zeros(4)
        return {
            "dsr": np.array(dsr),
            "pbo": np.array(pbo),
            "pk_mean": np.array(mean),
            "pk_std": z,
            "wfe": z,
            "wfa_share": z,
        }

    stats = {
        0.0: {0.0: cell([0.1, 0.2, 0.3, 0.9], [0.1, 0.2, 0.6, 0.7], [0, 1, 2, 3])},
        0.5: {0.0: cell([0.5, 0.6, 0.7, 0.8], [0.3, 0.4, 0.5, 0.6], [0, 0, 0, 5])},
    }
    rec = cal.recommend_thresholds(stats, cal.FilterThresholds(), ("dsr", "pbo", "pkfold"), 0.25)
    assert rec["dsr"]["dsr_threshold"] == 0.8
    assert rec["pbo"]["pbo_threshold"] == 0.1
    assert rec["pkfold"]["pkfold_min_mean"] == 2.0


def test_current_preset_is_read_from_the_filter_config():
    from vibe_quant.research.filters import FilterConfig

    cfg, cur = FilterConfig(), cal.FilterThresholds.current()
    for name in ("dsr_threshold", "pbo_threshold", "pbo_blocks", "pkfold_k", "wfa_min_wfe"):
        assert getattr(cur, name) == getattr(cfg, name)


def test_chunks_make_results_independent_of_the_number_of_sims():
    kw = dict(
        n_strategies=10,
        n_days=100,
        rho=0.3,
        true_sharpes=(0.0, 1.0),
        seed=5,
        thresholds=cal.FilterThresholds(),
        filters=("dsr",),
    )
    a = cal.simulate_statistics(n_sims=60, **kw)
    b = cal.simulate_statistics(n_sims=50, **kw)
    np.testing.assert_array_equal(a[1.0]["dsr"][:50], b[1.0]["dsr"])


@pytest.mark.slow
def test_results_do_not_depend_on_the_worker_count():
    kw = dict(
        n_strategies=10,
        n_days=100,
        rho=0.3,
        true_sharpes=(0.0, 1.0),
        seed=5,
        thresholds=cal.FilterThresholds(),
        filters=("dsr",),
        n_sims=60,
    )
    a = cal.simulate_statistics(**kw)
    c = cal.simulate_statistics(workers=2, **kw)
    np.testing.assert_array_equal(a[1.0]["dsr"], c[1.0]["dsr"])


def _independent_dsr_pass_rate(n, t, rho, sr_annual, sims=200_000, seed=0):
    """Pass rate of DSR ≥ 0.95 simulated straight from the sampling distribution of Sharpe ratios.

    Per-period sample Sharpe of N equicorrelated columns ≈ true SR + Z/√T with corr(Z) = ρ; the
    best of N is deflated with Bailey & López de Prado (2014):
    SR0 = √V · [(1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N e))],
    DSR = Φ[(SR − SR0)·√(T − 1) / √(1 − γ3·SR + (γ4 − 1)/4·SR²)], γ3 = 0 and γ4 the kurtosis of
    the simulated returns (Student-t 5: excess 6, mixed by the factor model: 6·(ρ² + (1 − ρ)²)).
    """
    rng = np.random.default_rng(seed)
    gamma = 0.5772156649015329
    kurt = 3.0 + 6.0 * (rho**2 + (1.0 - rho) ** 2)
    z = math.sqrt(rho) * rng.standard_normal((sims, 1)) + math.sqrt(1 - rho) * rng.standard_normal(
        (sims, n)
    )
    sr = z / math.sqrt(t)
    sr[:, 0] += sr_annual / math.sqrt(365)
    best = sr.max(axis=1)
    e_max = (1 - gamma) * norm.ppf(1 - 1 / n) + gamma * norm.ppf(1 - 1 / (n * math.e))
    sr0 = np.sqrt(sr.var(axis=1, ddof=1)) * e_max
    dsr = norm.cdf((best - sr0) * math.sqrt(t - 1) / np.sqrt(1 + (kurt - 1) / 4 * best**2))
    return float(np.mean(dsr >= 0.95))


@pytest.mark.slow
def test_dsr_row_agrees_with_an_independent_simulation():
    n, t = 50, 365
    res = cal.calibrate(
        n_strategies=n,
        n_days=t,
        rhos=(0.0, 0.6),
        true_sharpes=(2.0,),
        n_sims=2000,
        filters=("dsr",),
        current=cal.FilterThresholds(),
        workers=1,
    )
    rows = [r for r in res.table if r["filter"] == "dsr" and r["preset"].startswith("current")]
    assert len(rows) == 2
    for row in rows:
        for sr in (0.0, 2.0):
            expected = _independent_dsr_pass_rate(n, t, row["rho"], sr)
            assert row["pass_rate"][str(sr)] == pytest.approx(expected, abs=0.02)


def test_cli_json_states_n_t_and_rho(capsys):
    from vibe_quant.cli import build_parser, main

    code = main(
        [
            "filter",
            "calibrate",
            "--trials",
            "10",
            "--days",
            "120",
            "--sims",
            "20",
            "--filters",
            "dsr,pkfold",
            "--workers",
            "1",
            "--rho",
            "0.75",
            "--json",
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    s = doc["settings"]
    assert (s["n_strategies"], s["n_days"]) == (10, 120)
    assert s["rhos"] == [0.0, 0.3, 0.6, 0.75, 0.9]
    assert {r["filter"] for r in doc["table"]} == {"dsr", "pkfold"}
    assert set(doc["table"][0]["pass_rate"]) == {"0.0", "0.5", "1.0", "2.0", "3.0"}
    assert set(doc["recommended"]) == {"dsr", "pkfold"}
    # bad input: one line, non-zero exit, no traceback
    assert main(["filter", "calibrate", "--trials", "1", "--workers", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: trials")
    # `filter SWEEP_ID` still parses as before
    assert build_parser().parse_args(["filter", "7"]).sweep_id == 7
