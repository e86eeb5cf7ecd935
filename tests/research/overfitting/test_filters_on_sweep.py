"""The overfitting filters end to end on a real (hand-written-strategy) sweep, with the
numbers recomputed independently in the test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vibe_quant.backtest.run import run_backtest, to_ns
from vibe_quant.research.filters import FilterConfig, run_filters
from vibe_quant.research.screening.sweep import SweepSpec, run_sweep
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
        strategy_ref="tests.research.screening.strategies:EmaFlip",
        grid=GRID,
    )
    sw = run_sweep(store, spec, data_dir=str(real_data_dir.root), workers=2)
    cfg = FilterConfig(candidates="top:2")  # preset "default": K = 5, embargo 1 %, horizon 0
    rep = run_filters(
        store, sw.sweep_id, data_dir=str(real_data_dir.root), config=cfg
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
        assert row["passed"] == (dsr >= 0.94)  # preset "default" (seed design: 0.95)
        se = math.sqrt((1 - skew * s + (kurt - 1) / 4 * s * s) / (t - 1))
        assert row["details"]["sr_std"] == pytest.approx(se, rel=1e-9)


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
    from tests.research.screening.strategies import EmaFlip

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
    """The candidate's own fold Sharpes recomputed here: the candidate re-traded over the sweep
    period, its daily equity → simple daily returns → the K contiguous test folds the filter
    documents (``numpy.array_split`` of the 547 days into 5) → mean / std(ddof=1) · √365 per
    fold. They are reported beside the selection CV, whose verdict applies to every candidate
    (issue 11: the old candidate-only value was a slice of in-sample returns)."""
    from tests.research.screening.strategies import EmaFlip

    store, sw, rep = filtered
    df = _matrix(store, sw.sweep_id)
    res = store.filter_results(rep.filter_run_id)
    verdicts = store.filter_verdicts(rep.filter_run_id)
    sweep_pass = all(r["passed"] for r in res if r["combo_idx"] == -1)
    assert {r["filter"] for r in res if r["combo_idx"] == -1} == {"pbo", "wfa", "pkfold", "cpcv"}
    sel = next(r for r in res if r["combo_idx"] == -1 and r["filter"] == "pkfold")
    for c in rep.candidates:
        pk = next(r for r in res if r["combo_idx"] == c["combo_idx"] and r["filter"] == "pkfold")
        folds = pk["details"]["folds"]
        assert len(folds) == 5
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
        test_folds = np.array_split(np.arange(547), 5)
        sh = np.array([r[ix].mean() / r[ix].std(ddof=1) * math.sqrt(365) for ix in test_folds])
        days = run.daily_equity.index[1:]
        for f, ix, s in zip(folds, test_folds, sh):
            assert f["test_days"] == len(ix)
            assert (f["test_start"], f["test_end"]) == (
                str(days[ix[0]].date()),
                str(days[ix[-1]].date()),
            )
            assert f["oos_sharpe"] == pytest.approx(s, rel=1e-9)
            # Lo (2002) standard error of that fold Sharpe, by hand
            sd = s / math.sqrt(365)
            se = math.sqrt((1 + sd * sd / 2) / len(ix)) * math.sqrt(365)
            assert f["test_sharpe_se"] == pytest.approx(se, rel=1e-9)
        assert pk["details"]["fold_sharpes"] == pytest.approx(list(sh), rel=1e-9)
        assert pk["details"]["candidate_mean_test_sharpe"] == pytest.approx(sh.mean(), rel=1e-9)
        # value and verdict are the selection's (sweep-level row), default preset mean > 1.95
        assert pk["value"] == sel["value"] and pk["passed"] == sel["passed"]
        assert sel["passed"] == (sel["value"] > 1.95)
        own = [r["passed"] for r in res if r["combo_idx"] == c["combo_idx"]]
        assert verdicts[c["combo_idx"]] == (all(own) and sweep_pass) == c["passed_all"]


def test_filters_can_be_switched_off(filtered, real_data_dir):
    store, sw, _ = filtered
    rep = run_filters(
        store,
        sw.sweep_id,
        data_dir=str(real_data_dir.root),
        config=FilterConfig(wfa=False, pkfold=False, cpcv=False, pbo=False, candidates="all"),
    )
    res = store.filter_results(rep.filter_run_id)
    assert {r["filter"] for r in res} == {"dsr"} and len(res) == 6
    assert store.filter_verdicts(rep.filter_run_id) == {r["combo_idx"]: r["passed"] for r in res}


# ---------------------------------------------------------------- issue 11: selection CV, CPCV,
# and each verdict's false-positive rate and power at the sweep's own N, T and rho


def _sharpes(m):
    """Annualised Sharpe of every column, by hand (ddof 1, sqrt(365))."""
    return m.mean(axis=0) / m.std(axis=0, ddof=1) * math.sqrt(365)


def _rank_best_first(v, j):
    return float((v > v[j]).sum() + ((v == v[j]).sum() + 1) / 2)


def _train_rows(n, test, horizon, embargo):
    """Purge (closed label spans [d, d + horizon]) and right embargo, recomputed by hand:
    keep d when d + horizon < test start or d > test end + horizon; then drop the first
    ``embargo`` kept days after the test fold."""
    lo, hi = test[0], test[-1]
    kept = [d for d in range(n) if d not in set(test) and (d + horizon < lo or d > hi + horizon)]
    after = [d for d in kept if d > hi][:embargo]
    return np.array([d for d in kept if d not in set(after)])


def test_selection_cv_picks_on_training_days_only(filtered):
    """The sweep-level K-fold row recomputed with numpy: K = 5 contiguous folds of the 547
    days, embargo floor(547 · 1 %) = 5 days after each test fold, the best training Sharpe is
    selected and scored on the test fold (rank among all 6, Lo standard error)."""
    store, sw, rep = filtered
    df = _matrix(store, sw.sweep_id)
    m, cols = df.to_numpy(), list(df.columns)
    row = next(
        r
        for r in store.filter_results(rep.filter_run_id)
        if r["combo_idx"] == -1 and r["filter"] == "pkfold"
    )
    det = row["details"]
    assert det["k"] == 5 and det["n_strategies"] == 6 and det["n_days"] == 547
    tests = np.array_split(np.arange(547), 5)
    got = []
    for f, test in zip(det["folds"], tests):
        train = _train_rows(547, test, 0, 5)
        assert f["train_days"] == len(train) and f["embargoed"] == (5 if test[-1] < 546 else 0)
        tr, te = _sharpes(m[train]), _sharpes(m[test])
        j = int(np.argmax(tr))
        assert f["selected_combo_idx"] == cols[j] and f["params"] == GRID[cols[j]]
        assert f["train_sharpe"] == pytest.approx(tr[j], rel=1e-9)
        assert f["test_sharpe"] == pytest.approx(te[j], rel=1e-9)
        assert f["test_rank"] == _rank_best_first(te, j)
        sd = te[j] / math.sqrt(365)
        assert f["test_sharpe_se"] == pytest.approx(
            math.sqrt((1 + sd * sd / 2) / len(test)) * math.sqrt(365), rel=1e-9
        )
        got.append(te[j])
    assert row["value"] == pytest.approx(np.mean(got), rel=1e-9)
    assert det["std"] == pytest.approx(np.std(got, ddof=1), rel=1e-9)
    assert row["threshold"] == {"min_mean": 1.95, "max_std": "inf"}  # std rule off


def test_selection_cv_purges_label_horizons(filtered):
    """With a 3-day label horizon, training days whose span [d, d + 3] reaches the test fold
    are purged (recomputed by hand), and the selection uses only what is left."""
    store, sw, _ = filtered
    df = _matrix(store, sw.sweep_id)
    m = df.to_numpy()
    rep = run_filters(
        store,
        sw.sweep_id,
        data_dir="unused",
        config=FilterConfig(
            dsr=False, wfa=False, pbo=False, cpcv=False, pkfold_horizon_days=3, candidates="top:1"
        ),
    )
    det = rep.sweep_level["pkfold"]
    for f, test in zip(det["folds"], np.array_split(np.arange(547), 5)):
        train = _train_rows(547, test, 3, 5)
        assert f["train_days"] == len(train)
        assert f["purged"] == (3 if test[0] > 0 else 0) + (3 if test[-1] < 546 else 0)
        assert f["selected_combo_idx"] == int(df.columns[np.argmax(_sharpes(m[train]))])
    # custom settings: no calibrated preset applies, and the output says so
    assert rep.calibration["pkfold"]["fpr"] is None
    assert "no calibrated preset" in rep.calibration["pkfold"]["notes"][0]


def test_planted_edge_is_chosen_only_where_training_saw_it(filtered, tmp_path):
    """A seventh column = a real column plus a large edge only inside fold 2's test days: it
    is selected on every fold whose training days contain the edge, and never on fold 2 (its
    training days do not contain it)."""
    import sqlite3

    store, sw, _ = filtered
    db = tmp_path / "copy.db"
    with sqlite3.connect(db) as dst:
        store.conn.backup(dst)
    copy = StateStore.open(db)
    try:
        df = _matrix(copy, sw.sweep_id)
        tests = np.array_split(np.arange(547), 5)
        planted = df[0].to_numpy().copy()
        planted[tests[2]] += 0.01  # +1 %/day only in fold 2's test span
        row0 = copy.sweep_results(sw.sweep_id)[0]
        copy.record_sweep_result(
            sw.sweep_id,
            {
                "combo_idx": 6,
                "params": {"planted": True},
                "status": "completed",
                "metrics": {**row0["metrics"], "sharpe": 99.0},
                "daily_returns": planted.tolist(),
                "daily_start": str(df.index[0].date()),
            },
        )
        rep = run_filters(
            copy,
            sw.sweep_id,
            data_dir="unused",
            config=FilterConfig(dsr=False, wfa=False, pbo=False, candidates="top:1"),
        )
    finally:
        copy.close()
    chosen = [f["selected_combo_idx"] for f in rep.sweep_level["pkfold"]["folds"]]
    assert chosen[2] != 6 and all(c == 6 for i, c in enumerate(chosen) if i != 2)
    # the planted column is the candidate (screening Sharpe 99): beside the selection, its own
    # test folds, and the share of folds whose training chose it
    pk = rep.candidates[0]["filters"]["pkfold"]
    assert rep.candidates[0]["combo_idx"] == 6
    assert pk["fold_sharpes"][2] > 10 * max(
        abs(x) for i, x in enumerate(pk["fold_sharpes"]) if i != 2
    )


def test_cpcv_paths_recomputed_by_hand(filtered):
    """CPCV with 10 groups and 2 test groups: C(10, 2) = 45 splits and phi = 2/10 · 45 = 9
    paths; each split's selection and every path Sharpe recomputed with numpy (path p takes,
    for group g, the OOS returns of the p-th split, in itertools order, that tests g)."""
    import itertools

    store, sw, rep = filtered
    df = _matrix(store, sw.sweep_id)
    m, cols = df.to_numpy(), list(df.columns)
    c = rep.sweep_level["cpcv"]
    assert c["n_splits"] == 45 and c["n_paths"] == 9 == len(c["path_sharpes"])
    groups = np.array_split(np.arange(547), 10)
    splits = list(itertools.combinations(range(10), 2))
    sel = []
    for sp, tg in zip(c["splits"], splits):
        test = np.concatenate([groups[g] for g in tg])
        drop = set(test)
        for g in tg:  # 5-day embargo after each test group
            drop |= set(range(groups[g][-1] + 1, min(547, groups[g][-1] + 6)))
        train = np.array([d for d in range(547) if d not in drop])
        j = int(np.argmax(_sharpes(m[train])))
        assert sp["selected_combo_idx"] == cols[j] and sp["n_train"] == len(train)
        sel.append(j)
    for p in range(9):
        r = np.concatenate(
            [m[groups[g], sel[[s for s, tg in enumerate(splits) if g in tg][p]]] for g in range(10)]
        )
        assert c["path_sharpes"][p] == pytest.approx(_sharpes(r[:, None])[0], rel=1e-9)
    ps = np.array(c["path_sharpes"])
    assert c["share_below_zero"] == np.mean(ps < 0)
    assert c["quantiles"]["0.5"] == pytest.approx(np.median(ps), rel=1e-12)
    stored = next(
        r
        for r in store.filter_results(rep.filter_run_id)
        if r["combo_idx"] == -1 and r["filter"] == "cpcv"
    )
    assert stored["details"]["verdict"] is False and stored["passed"] is True


def _independent_rates(grid, preset, name, n, t, rho):
    """Trilinear interpolation in (log N, log T, rho) with scipy, clamped to the grid."""
    from scipy.interpolate import RegularGridInterpolator

    ax = grid["grid"]
    ts = [x for x in ax["t"] if x >= 365]  # walk-forward has no value at T = 180
    cells = {(c["n"], c["t"], c["rho"]): c["pass_rate"][preset][name] for c in grid["cells"]}
    out = {}
    for s in ("0.0", "1.0", "2.0", "3.0"):
        v = np.array(
            [[[cells[(a, b, r)][s] for r in ax["rho"]] for b in ts] for a in ax["n"]], dtype=float
        )
        f = RegularGridInterpolator((np.log(ax["n"]), np.log(ts), np.array(ax["rho"])), v)
        x = [
            [
                np.clip(math.log(n), math.log(ax["n"][0]), math.log(ax["n"][-1])),
                np.clip(math.log(t), math.log(ts[0]), math.log(ts[-1])),
                np.clip(rho, ax["rho"][0], ax["rho"][-1]),
            ]
        ]
        out[s] = float(f(x)[0])
    return out


def test_filter_output_carries_fpr_and_power_at_the_sweeps_n_t_rho(filtered):
    """Every filter's false-positive rate and power in the JSON document, interpolated at the
    sweep's N = 6 (clamped to the grid's 10, and said), T = 547 and rho = mean off-diagonal
    Pearson correlation of the return matrix (pandas), checked against scipy."""
    from vibe_quant.research.overfitting.filter_power import load_grid

    store, sw, rep = filtered
    df = _matrix(store, sw.sweep_id)
    c = df.corr().to_numpy()
    rho = (c.sum() - 6) / 30
    doc = rep.to_dict()
    assert doc["sweep_stats"]["n_trials"] == 6 and doc["sweep_stats"]["n_days"] == 547
    assert doc["sweep_stats"]["rho"] == pytest.approx(rho, rel=1e-9)
    grid = load_grid()
    for name in ("dsr", "pbo", "pkfold", "wfa"):
        cal = doc["calibration"][name]
        exp = _independent_rates(grid, "default", name, 6, 547, rho)
        assert cal["preset"] == "default"
        assert cal["fpr"] == pytest.approx(exp["0.0"], abs=1e-12)
        assert cal["power"] == pytest.approx({k: exp[k] for k in ("1.0", "2.0", "3.0")}, abs=1e-12)
        assert any("N (trials) = 6 outside" in n for n in cal["notes"])
        assert "lets through" in cal["summary"]
    # beside each verdict: sweep-level and per-candidate results carry the same numbers
    for name in ("pbo", "wfa", "pkfold"):
        assert doc["sweep_level"][name]["calibration"]["fpr"] == doc["calibration"][name]["fpr"]
    for cand in doc["candidates"]:
        for name in ("dsr", "pkfold"):
            assert cand["filters"][name]["calibration"] == doc["calibration"][name]
    stored = store.filter_results(rep.filter_run_id)
    assert all("calibration" in r["details"] for r in stored if r["filter"] != "cpcv")


def test_filter_cli_prints_rates_beside_verdicts(filtered, tmp_path, capsys):
    """``vibe-quant filter`` (summary and --json) on the stored sweep: each verdict line is
    followed by its false-positive rate and power; ``--preset seed`` stores the seed
    thresholds and reads the seed rows of the grid."""
    import json
    import sqlite3

    from vibe_quant.cli import main
    from vibe_quant.core.paths import DataDir

    store, sw, _ = filtered
    dd = DataDir(tmp_path / "dd").ensure()
    with sqlite3.connect(dd.state_db) as dst:
        store.conn.backup(dst)
    args = [
        "filter",
        str(sw.sweep_id),
        "--no-wfa",
        "--candidates",
        "top:1",
        "--data-dir",
        str(dd.root),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "purged K-fold CV of the selection (5 folds)" in out and "CPCV (10 groups" in out
    assert out.count("lets through") == 3  # pbo, pkfold, dsr
    assert main([*args, "--preset", "seed", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True
    assert {k: doc["calibration"][k]["preset"] for k in doc["calibration"]} == {
        "dsr": "seed",
        "pbo": "seed",
        "pkfold": "seed",
    }
    with StateStore.open(dd.state_db) as st:
        cfg = st.latest_filter_run(sw.sweep_id)["config"]
    assert (
        cfg["dsr_threshold"],
        cfg["pbo_threshold"],
        cfg["pkfold_min_mean"],
        cfg["pkfold_max_std"],
    ) == (0.95, 0.5, 0.5, 1.0)


def test_pipeline_report_draws_cpcv_and_rates(filtered, tmp_path):
    from vibe_quant.pipeline.report import write_pipeline_report
    from vibe_quant.pipeline.run import stored_filter_report

    store, sw, rep = filtered
    filt = stored_filter_report(store, rep.filter_run_id, sw.sweep_id)
    path = write_pipeline_report(
        tmp_path / "r.html",
        title="t",
        sweep_rows=store.sweep_results(sw.sweep_id),
        filters=filt,
        validations=[],
        shortlist=[],
    )
    html = path.read_text()
    assert "CPCV: out-of-sample Sharpe of the selection across 9 paths" in html
    assert "What a verdict means (calibration)" in html and "false-positive rate" in html
    assert "Purged K-fold CV of the selection" in html
    fpr = rep.calibration["dsr"]["fpr"] * 100
    assert f"{fpr:.2f} %" in html  # the DSR row of the calibration table
