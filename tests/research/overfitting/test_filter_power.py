"""Interpolation of the packaged calibration grid and the threshold presets (issue 11)."""

from __future__ import annotations

import math

import pytest

from vibe_quant.research.filters import FilterConfig
from vibe_quant.research.overfitting.filter_power import (
    error_rates,
    interpolate_pass_rates,
    load_grid,
)


def _cell(grid, n, t, rho, preset="default", name="dsr"):
    return next(
        c["pass_rate"][preset][name]
        for c in grid["cells"]
        if (c["n"], c["t"], c["rho"]) == (n, t, rho)
    )


def test_grid_points_are_returned_exactly():
    g = load_grid()
    ax = g["grid"]
    for n in ax["n"]:
        for t in ax["t"]:
            for rho in ax["rho"]:
                for preset in ("default", "seed"):
                    for name in ("dsr", "pbo", "pkfold", "wfa"):
                        got = interpolate_pass_rates(preset, name, n, t, rho, g)
                        assert got["pass_rate"] == _cell(g, n, t, rho, preset, name)
                        assert got["clamped"] == []


def test_between_grid_points_by_hand():
    """Half-way in rho (0.15 between 0 and 0.3) is the mean of the two cells; the geometric
    mean of two grid N (√(30·100)) is half-way in log N; a point inside a cube in all three
    coordinates at weights (1/2, 1/2, 1/3) is the weighted sum of its 8 corners."""
    g = load_grid()
    a, b = _cell(g, 100, 730, 0.0), _cell(g, 100, 730, 0.3)
    got = interpolate_pass_rates("default", "dsr", 100, 730, 0.15, g)["pass_rate"]
    assert got == pytest.approx({k: (a[k] + b[k]) / 2 for k in a}, abs=1e-12)
    a, b = _cell(g, 30, 365, 0.6, name="pkfold"), _cell(g, 100, 365, 0.6, name="pkfold")
    got = interpolate_pass_rates("default", "pkfold", math.sqrt(3000), 365, 0.6, g)["pass_rate"]
    assert got == pytest.approx({k: (a[k] + b[k]) / 2 for k in a}, abs=1e-12)
    n, t, rho = math.sqrt(100 * 300), math.sqrt(730 * 1460), 0.4  # rho: 1/3 of 0.3 → 0.6
    exp = dict.fromkeys(a, 0.0)
    for nn, wn in ((100, 0.5), (300, 0.5)):
        for tt, wt in ((730, 0.5), (1460, 0.5)):
            for rr, wr in ((0.3, 2 / 3), (0.6, 1 / 3)):
                c = _cell(g, nn, tt, rr, name="pbo")
                for k in exp:
                    exp[k] += wn * wt * wr * c[k]
    got = interpolate_pass_rates("default", "pbo", n, t, rho, g)["pass_rate"]
    assert got == pytest.approx(exp, abs=1e-12)


def test_outside_the_grid_is_clamped_and_said():
    g = load_grid()
    got = interpolate_pass_rates("seed", "pbo", 5, 3000, 0.95, g)
    assert got["pass_rate"] == _cell(g, 10, 1460, 0.9, "seed", "pbo")
    assert (
        len(got["clamped"]) == 3
        and "N (trials) = 5 outside the calibrated 10–300" in (got["clamped"][0])
    )
    # walk-forward cannot run at T = 180: no value, and the reason
    assert interpolate_pass_rates("default", "wfa", 100, 200, 0.3, g)["pass_rate"] is None
    r = error_rates("default", "wfa", 100, 200, 0.3)
    assert r["fpr"] is None and "not calibrated at T = 200" in r["notes"][-1]
    r = error_rates("default", "dsr", 100, 730, -0.1)
    assert r["fpr"] == _cell(g, 100, 730, 0.0)["0.0"] and "rates at rho = 0" in r["notes"][-1]


def test_seed_preset_reproduces_the_seed_thresholds():
    s = FilterConfig.seed()
    assert (s.dsr_threshold, s.pbo_threshold) == (0.95, 0.5)
    assert (s.pkfold_min_mean, s.pkfold_max_std) == (0.5, 1.0)
    assert (s.wfa_min_wfe, s.wfa_min_profitable) == (0.5, 0.5)
    d = FilterConfig()
    assert (d.dsr_threshold, d.pbo_threshold, d.pkfold_min_mean) == (0.94, 0.23, 1.95)
    assert d.pkfold_max_std == math.inf and (d.wfa_min_wfe, d.wfa_min_profitable) == (0, 0.85)
    assert {f: s.preset_of(f) for f in ("dsr", "pbo", "pkfold", "wfa")} == dict.fromkeys(
        ("dsr", "pbo", "pkfold", "wfa"), "seed"
    )
    assert FilterConfig(pkfold_k=4).preset_of("pkfold") is None
    assert FilterConfig(pkfold_k=4).preset_of("dsr") == "default"
    with pytest.raises(ValueError, match="unknown filter preset 'x'"):
        FilterConfig.preset("x")


def test_grid_states_its_presets_and_precision():
    g = load_grid()
    assert g["presets"]["seed"]["dsr_threshold"] == 0.95
    assert g["presets"]["default"]["pkfold_max_std"] == "off"
    assert g["standard_error_at_5pct"] == pytest.approx(math.sqrt(0.05 * 0.95 / g["n_sims"]))
    assert len(g["cells"]) == len(g["grid"]["n"]) * len(g["grid"]["t"]) * len(g["grid"]["rho"])
