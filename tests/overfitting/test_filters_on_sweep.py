"""The overfitting filters end to end on a real (hand-written-strategy) sweep, with the
numbers recomputed independently in the test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vibe_quant.backtest.run import run_backtest, to_ns
from vibe_quant.overfitting.filters import FilterConfig, run_filters
from vibe_quant.screening.sweep import SweepSpec, run_sweep
from vibe_quant.store.state import StateStore

START, END = "2023-01-01", "2024-06-30"
GRID = [{"fast": f, "slow": s, "qty": 0.01} for f in (8, 21, 34) for s in (89, 233)]


@pytest.fixture(scope="module")
def filtered(tmp_path_factory, real_data_dir):
    db = tmp_path_factory.mktemp("flt") / "s.db"
    store = StateStore.open(db)
    spec = SweepSpec(
        yaml_text="",
        symbol="BTCUSDT",
        start_ns=to_ns(START),
        end_ns=to_ns(END, end=True),
        strategy_ref="tests.screening.strategies:EmaFlip",
        grid=GRID,
    )
    sw = run_sweep(store, spec, data_dir=str(real_data_dir.root), workers=2, progress=False)
    cfg = FilterConfig(candidates="top:2", pkfold_k=4)
    rep = run_filters(
        store, sw.sweep_id, data_dir=str(real_data_dir.root), config=cfg, progress=False
    )
    yield store, sw, rep
    store.close()


def _matrix(store, sweep_id):
    cols = {}
    for r in store.sweep_results(sweep_id, with_returns=True):
        idx = pd.date_range(r["daily_start"], periods=len(r["daily_returns"]), tz="UTC")
        cols[r["combo_idx"]] = pd.Series(r["daily_returns"], index=idx)
    return pd.DataFrame(cols)


def test_dsr_equals_an_independent_computation(filtered):
    store, sw, rep = filtered
    df = _matrix(store, sw.sweep_id)
    assert df.shape == (547, 6)  # 2023-01-01 .. 2024-06-30
    sr = df.mean() / df.std(ddof=1)  # per-period (daily) Sharpe of each trial
    n, v = len(sr), float(sr.var(ddof=1))
    g = 0.5772156649015329
    sr0 = math.sqrt(v) * (
        (1 - g) * stats.norm.ppf(1 - 1 / n) + g * stats.norm.ppf(1 - 1 / (n * math.e))
    )
    res = {(r["combo_idx"], r["filter"]): r for r in store.filter_results(rep.filter_run_id)}
    for c in rep.candidates:
        x = df[c["combo_idx"]].to_numpy()
        t = len(x)
        skew = stats.skew(x)  # biased (divisor T) moments
        kurt = stats.kurtosis(x, fisher=False)  # non-excess
        s = x.mean() / x.std(ddof=1)
        z = (s - sr0) * math.sqrt(t - 1) / math.sqrt(1 - skew * s + (kurt - 1) / 4 * s * s)
        dsr = stats.norm.cdf(z)
        row = res[(c["combo_idx"], "dsr")]
        assert row["value"] == pytest.approx(dsr, abs=1e-9)
        assert row["details"]["sr0"] == pytest.approx(sr0, rel=1e-9)
        assert row["passed"] == (dsr >= 0.95)


def test_walk_forward_reoptimises_on_in_sample_and_trades_out_of_sample(filtered, real_data_dir):
    store, sw, rep = filtered
    df = _matrix(store, sw.sweep_id)
    wfa = rep.sweep_level["wfa"]
    # 18 months with 9 in / 3 out / 1 step: OOS ends 2023-13 .. 2024-07 → 7 windows
    assert wfa["n_windows"] == 7
    for w in wfa["windows"]:
        seg = df[(df.index >= w["is_start"]) & (df.index < w["is_end"])]
        scores = seg.mean() / seg.std(ddof=1) * math.sqrt(365)
        assert w["combo_idx"] == int(scores.idxmax())
        assert w["is_return"] == pytest.approx(
            float((1 + seg[w["combo_idx"]]).prod() - 1), rel=1e-9
        )
    w = wfa["windows"][3]  # re-trade one window out of sample independently
    from tests.screening.strategies import EmaFlip

    oos = run_backtest(
        EmaFlip,
        "BTCUSDT",
        to_ns(pd.Timestamp(w["is_end"])),
        to_ns(pd.Timestamp(w["oos_end"])),
        params=w["params"],
        data_dir=real_data_dir,
    )
    eq = oos.daily_equity
    assert w["oos_return"] == pytest.approx(eq.iloc[-1] / eq.iloc[0] - 1, rel=1e-9)
    # Pooled WFE by hand: (Σ R_oos / Σ d_oos) / (Σ R_is / Σ d_is), undefined when Σ R_is ≤ 0.
    days = lambda a, b: (pd.Timestamp(b) - pd.Timestamp(a)).total_seconds() / 86400  # noqa: E731
    ws = wfa["windows"]
    r_is, r_oos = sum(x["is_return"] for x in ws), sum(x["oos_return"] for x in ws)
    d_is = sum(days(x["is_start"], x["is_end"]) for x in ws)
    d_oos = sum(days(x["is_end"], x["oos_end"]) for x in ws)
    if r_is <= 0:
        assert wfa["wfe"] is None and wfa["passed"] is False
    else:
        assert wfa["wfe"] == pytest.approx((r_oos / d_oos) / (r_is / d_is), rel=1e-9)
    assert wfa["profitable_share"] == sum(x["oos_return"] > 0 for x in ws) / 7


def test_purged_kfold_and_verdicts(filtered, real_data_dir):
    """Fold OOS Sharpes recomputed here: the candidate re-traded over the sweep period, its
    daily equity → simple daily returns → the K contiguous test folds the filter documents
    (``numpy.array_split`` of the 547 days into 4) → mean / std(ddof=1) · √365 per fold."""
    from tests.screening.strategies import EmaFlip

    store, sw, rep = filtered
    df = _matrix(store, sw.sweep_id)
    res = store.filter_results(rep.filter_run_id)
    verdicts = store.filter_verdicts(rep.filter_run_id)
    sweep_pass = all(r["passed"] for r in res if r["combo_idx"] == -1)
    assert {r["filter"] for r in res if r["combo_idx"] == -1} == {"pbo", "wfa"}
    for c in rep.candidates:
        pk = next(r for r in res if r["combo_idx"] == c["combo_idx"] and r["filter"] == "pkfold")
        folds = pk["details"]["folds"]
        assert len(folds) == 4
        assert sum(f["test_days"] for f in folds) == 547
        for f in folds:  # purged + embargoed + train + test = all observations
            assert f["train_days"] + f["test_days"] + f["purged"] + f["embargoed"] == 547
        run = run_backtest(
            EmaFlip,
            "BTCUSDT",
            to_ns(START),
            to_ns(END, end=True),
            params=GRID[c["combo_idx"]],
            data_dir=real_data_dir,
        )
        eq = run.daily_equity.to_numpy()
        r = eq[1:] / eq[:-1] - 1
        assert len(r) == 547 and eq.min() > 0
        # the same returns as the sweep's own run of this combination (stored)
        np.testing.assert_allclose(r, df[c["combo_idx"]].to_numpy(), rtol=0, atol=1e-12)
        test_folds = np.array_split(np.arange(547), 4)
        sh = np.array([r[ix].mean() / r[ix].std(ddof=1) * math.sqrt(365) for ix in test_folds])
        days = run.daily_equity.index[1:]
        for f, ix, s in zip(folds, test_folds, sh):
            assert f["test_days"] == len(ix)
            assert (f["test_start"], f["test_end"]) == (
                str(days[ix[0]].date()),
                str(days[ix[-1]].date()),
            )
            assert f["oos_sharpe"] == pytest.approx(s, rel=1e-9)
        assert pk["details"]["fold_sharpes"] == pytest.approx(list(sh), rel=1e-9)
        assert pk["value"] == pytest.approx(sh.mean(), rel=1e-9)
        assert pk["passed"] == (sh.mean() > 0.5 and sh.std(ddof=1) < 1.0)
        own = [r["passed"] for r in res if r["combo_idx"] == c["combo_idx"]]
        assert verdicts[c["combo_idx"]] == (all(own) and sweep_pass) == c["passed_all"]


def test_filters_can_be_switched_off(filtered, real_data_dir):
    store, sw, _ = filtered
    rep = run_filters(
        store,
        sw.sweep_id,
        data_dir=str(real_data_dir.root),
        progress=False,
        config=FilterConfig(wfa=False, pkfold=False, pbo=False, candidates="all"),
    )
    res = store.filter_results(rep.filter_run_id)
    assert {r["filter"] for r in res} == {"dsr"} and len(res) == 6
    assert store.filter_verdicts(rep.filter_run_id) == {r["combo_idx"]: r["passed"] for r in res}
