"""``vibe-quant filter SWEEP_ID``: the overfitting filters over a finished screening sweep.

Each filter can be switched off; results (value, threshold, pass, details) are stored per
candidate (sweep-level filters under ``combo_idx = -1``), and ``passed_all`` is the AND of the
enabled filters for each candidate.

* **DSR** (per candidate, :mod:`.dsr`): the candidate's daily returns (per-period Sharpe, T,
  skewness, non-excess kurtosis); N = number of completed combinations of the sweep; V[SR] =
  variance of their *daily* Sharpe ratios. Pass: DSR ≥ threshold (0.95).
* **Walk-forward** (sweep-level, :mod:`.walk_forward`): windows over the sweep period (default
  rolling 9 months in-sample / 3 months out-of-sample / 1 month step). In each window every
  combination is scored on the in-sample span — its annualised Sharpe over the in-sample days
  of its full-period screening run — and the best one (ties: lowest index) is traded in a fresh
  backtest on the out-of-sample span (with indicator warm-up before it, no position carried
  in). *In-sample scores come from the full-period runs sliced to the window, so a position
  opened before the window start is carried into its first days*; the out-of-sample trading is
  an independent run. WFE, profitable share, stitched OOS curve and its Sharpe, and the chosen
  parameters are stored. Pass: WFE ≥ 0.5 and > 50 % profitable windows. The verdict applies to
  every candidate (it judges the strategy's selection procedure, not one parameter set). When
  the sweep period is shorter than in-sample + out-of-sample, no window forms: the filter fails
  (``value`` None) and its details carry ``not_run``, ``reason`` (why, and window lengths that
  would fit) and ``suggested`` (:func:`.walk_forward.no_window_reason`).
* **Purged K-fold** (per candidate, :mod:`.purged_kfold`): the candidate is re-run over the
  sweep period; observations are its daily returns, each with a horizon ``[day, max(day end,
  exit of every trade open that day)]``; K folds in time, training days whose horizon overlaps
  the test fold are purged and an embargo follows each test fold. The parameters are fixed, so
  nothing is fitted on the training days; their Sharpe is reported next to the test-fold
  (out-of-sample) Sharpe. Pass: mean OOS Sharpe > 0.5 and std < 1.0 (annualised, 365 days).
* **PBO** (sweep-level, :mod:`.pbo`): CSCV over the T × N matrix of the combinations' daily
  returns, S blocks (default 16). The sweep is flagged when PBO > 0.5; a flagged sweep fails
  every candidate's ``passed_all``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from vibe_quant.overfitting.dsr import DSR_THRESHOLD, deflated_sharpe_test
from vibe_quant.overfitting.pbo import (
    DEFAULT_BLOCKS,
    PBO_THRESHOLD,
    probability_of_backtest_overfitting,
)
from vibe_quant.overfitting.purged_kfold import (
    MAX_STD_SHARPE,
    MIN_MEAN_SHARPE,
    purged_kfold_splits,
    summarise_fold_sharpes,
)
from vibe_quant.overfitting.sharpe import annualised_sharpe
from vibe_quant.overfitting.walk_forward import (
    MIN_PROFITABLE_SHARE,
    MIN_WFE,
    WindowResult,
    generate_windows,
    no_window_reason,
    summarise_walk_forward,
)
from vibe_quant.screening.rerun import SweepRunner
from vibe_quant.store.state import StateStore

SWEEP_LEVEL = -1
NS_PER_DAY = 86_400 * 1_000_000_000


@dataclass
class FilterConfig:
    """Which filters run, and their thresholds (defaults from the issue and the papers)."""

    dsr: bool = True
    dsr_threshold: float = DSR_THRESHOLD
    wfa: bool = True
    wfa_in_months: int = 9
    wfa_out_months: int = 3
    wfa_step_months: int = 1
    wfa_anchored: bool = False
    wfa_min_wfe: float = MIN_WFE
    wfa_min_profitable: float = MIN_PROFITABLE_SHARE
    pkfold: bool = True
    pkfold_k: int = 5
    pkfold_embargo_pct: float = 0.01
    pkfold_min_mean: float = MIN_MEAN_SHARPE
    pkfold_max_std: float = MAX_STD_SHARPE
    pbo: bool = True
    pbo_blocks: int = DEFAULT_BLOCKS
    pbo_threshold: float = PBO_THRESHOLD
    candidates: str = "pareto"  # pareto | passed | all | top:N


@dataclass
class FilterReport:
    sweep_id: int
    filter_run_id: int
    candidates: list[dict[str, Any]]
    sweep_level: dict[str, Any]
    passed: list[int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, (np.floating, np.integer)):
        return _clean(x.item())
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def select_candidates(rows: list[dict[str, Any]], how: str) -> list[dict[str, Any]]:
    """Candidates among completed rows: ``pareto`` (the Pareto front; when empty, the best by
    Sharpe), ``passed`` (rows passing the hard filters), ``all``, or ``top:N`` by Sharpe."""
    done = [r for r in rows if r["status"] == "completed"]
    by_sharpe = sorted(done, key=lambda r: -_finite(r["metrics"].get("sharpe")))
    if how == "pareto":
        front = [r for r in by_sharpe if r["is_pareto"]]
        return front or by_sharpe[:1]
    if how == "passed":
        return [r for r in by_sharpe if r["passes_filters"]]
    if how == "all":
        return by_sharpe
    if how.startswith("top:"):
        return by_sharpe[: int(how.split(":", 1)[1])]
    raise ValueError(f"candidates must be pareto, passed, all or top:N, not {how!r}")


def _finite(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return -math.inf
    return v if math.isfinite(v) else (-math.inf if math.isnan(v) else v)


def _returns_matrix(rows: list[dict[str, Any]]) -> tuple[pd.DatetimeIndex, np.ndarray, list[int]]:
    """(dates, T × N daily returns, combo indices) of the completed rows, aligned on dates."""
    series = {}
    for r in rows:
        if r["status"] != "completed" or not r.get("daily_returns"):
            continue
        idx = pd.date_range(r["daily_start"], periods=len(r["daily_returns"]), freq="D", tz="UTC")
        series[r["combo_idx"]] = pd.Series(r["daily_returns"], index=idx, dtype=float)
    df = pd.DataFrame(series).sort_index().fillna(0.0)
    return df.index, df.to_numpy(), list(df.columns)


def run_filters(
    store: StateStore,
    sweep_id: int,
    *,
    data_dir: str,
    config: FilterConfig | None = None,
    progress: bool = True,
) -> FilterReport:
    """Run the enabled filters on a sweep and store every result (one transaction).

    Raises:
        LookupError: unknown sweep; ValueError: a sweep with no completed combination.
    """
    cfg = config or FilterConfig()
    sweep = store.sweep(sweep_id)
    if sweep is None:
        raise LookupError(f"no sweep {sweep_id}")
    rows = store.sweep_results(sweep_id, with_returns=True)
    dates, R, cols = _returns_matrix(rows)
    if not cols:
        raise ValueError(f"sweep {sweep_id} has no completed combination to filter")
    cands = select_candidates(rows, cfg.candidates)
    results: list[dict[str, Any]] = []
    sweep_level: dict[str, Any] = {}
    runner: SweepRunner | None = None

    # ---- sweep-level: PBO
    pbo_pass = True
    if cfg.pbo:
        try:
            pbo = probability_of_backtest_overfitting(R, cfg.pbo_blocks, cfg.pbo_threshold)
            pbo_pass = not pbo.overfit
            det = {
                "n_blocks": pbo.n_blocks,
                "block_size": pbo.block_size,
                "combinations": len(pbo.logits),
                "n_strategies": R.shape[1],
                "n_periods": R.shape[0],
                "logit_quantiles": {
                    q: float(np.quantile(pbo.logits, q)) for q in (0.05, 0.25, 0.5, 0.75, 0.95)
                },
                "logits_hist": np.histogram(pbo.logits, bins=20)[0].tolist(),
                "logits_hist_edges": np.histogram(pbo.logits, bins=20)[1].tolist(),
                "flagged": pbo.overfit,
            }
            value = pbo.pbo
        except ValueError as e:
            pbo_pass, value, det = False, None, {"error": str(e)}
        results.append(
            {
                "combo_idx": SWEEP_LEVEL,
                "filter": "pbo",
                "value": value,
                "threshold": cfg.pbo_threshold,
                "passed": pbo_pass,
                "details": det,
            }
        )
        sweep_level["pbo"] = {"value": value, "passed": pbo_pass, **det}

    # ---- sweep-level: walk-forward with re-optimisation
    wfa_pass = True
    if cfg.wfa:
        runner = runner or SweepRunner(sweep, data_dir)
        value, wfa_pass, det = _walk_forward(runner, sweep, dates, R, cols, rows, cfg, progress)
        results.append(
            {
                "combo_idx": SWEEP_LEVEL,
                "filter": "wfa",
                "value": value,
                "threshold": {
                    "min_wfe": cfg.wfa_min_wfe,
                    "min_profitable_share": cfg.wfa_min_profitable,
                },
                "passed": wfa_pass,
                "details": det,
            }
        )
        sweep_level["wfa"] = {"value": value, "passed": wfa_pass, **det}

    # ---- per candidate: DSR and purged K-fold
    sr_daily = np.array(
        [_finite(r["metrics"].get("sharpe_daily")) for r in rows if r["status"] == "completed"]
    )
    sr_daily = sr_daily[np.isfinite(sr_daily)]
    n_trials = int(len(cols))
    sr_var = float(np.var(sr_daily, ddof=1)) if len(sr_daily) > 1 else 0.0
    verdicts: dict[int, bool] = {}
    out_cands = []
    it = tqdm(cands, desc="filters", unit="cand", disable=not progress, leave=False)
    for r in it:
        ci = r["combo_idx"]
        ok = pbo_pass and wfa_pass
        entry = {
            "combo_idx": ci,
            "params": r["params"],
            "sharpe": r["metrics"].get("sharpe"),
            "filters": {},
        }
        if cfg.dsr:
            rets = np.asarray(r["daily_returns"], dtype=float)
            try:
                d = deflated_sharpe_test(rets, n_trials, sr_var, cfg.dsr_threshold)
                det = _clean(asdict(d))
                value, passed = d.value, d.passed
            except ValueError as e:
                value, passed, det = None, False, {"error": str(e)}
            results.append(
                {
                    "combo_idx": ci,
                    "filter": "dsr",
                    "value": value,
                    "threshold": cfg.dsr_threshold,
                    "passed": passed,
                    "details": det,
                }
            )
            entry["filters"]["dsr"] = {
                "value": value,
                "passed": passed,
                "psr": det.get("psr"),
                "sr0": det.get("sr0"),
                "min_trl": det.get("min_trl"),
            }
            ok = ok and passed
        if cfg.pkfold:
            runner = runner or SweepRunner(sweep, data_dir)
            value, passed, det = _purged_kfold(runner, r["params"], cfg)
            results.append(
                {
                    "combo_idx": ci,
                    "filter": "pkfold",
                    "value": value,
                    "threshold": {"min_mean": cfg.pkfold_min_mean, "max_std": cfg.pkfold_max_std},
                    "passed": passed,
                    "details": det,
                }
            )
            entry["filters"]["pkfold"] = {
                "value": value,
                "passed": passed,
                "std": det.get("std"),
                "fold_sharpes": det.get("fold_sharpes"),
            }
            ok = ok and passed
        verdicts[ci] = ok
        entry["passed_all"] = ok
        out_cands.append(entry)
    run_id = store.create_filter_run(
        sweep_id, {**asdict(cfg), "n_trials": n_trials, "trials_sr_variance": sr_var}
    )
    store.record_filter_results(run_id, [_clean(x) for x in results], verdicts)
    return FilterReport(
        sweep_id=sweep_id,
        filter_run_id=run_id,
        candidates=_clean(out_cands),
        sweep_level=_clean(sweep_level),
        passed=[c for c, v in verdicts.items() if v],
    )


def _walk_forward(
    runner: SweepRunner,
    sweep: dict[str, Any],
    dates: pd.DatetimeIndex,
    R: np.ndarray,
    cols: list[int],
    rows: list[dict[str, Any]],
    cfg: FilterConfig,
    progress: bool,
) -> tuple[float | None, bool, dict]:
    start = pd.Timestamp(sweep["start_ns"], unit="ns", tz="UTC")
    end = pd.Timestamp(sweep["end_ns"], unit="ns", tz="UTC")
    windows = generate_windows(
        start,
        end,
        in_sample=pd.DateOffset(months=cfg.wfa_in_months),
        out_of_sample=pd.DateOffset(months=cfg.wfa_out_months),
        step=pd.DateOffset(months=cfg.wfa_step_months),
        anchored=cfg.wfa_anchored,
    )
    if not windows:
        why = no_window_reason(
            start, end, cfg.wfa_in_months, cfg.wfa_out_months, cfg.wfa_step_months
        )
        return None, False, {"error": why["reason"], "not_run": True, **why}
    params_of = {r["combo_idx"]: r["params"] for r in rows}
    wres, chosen = [], []
    for w in tqdm(windows, desc="walk-forward", unit="window", disable=not progress, leave=False):
        mask = (dates >= w.is_start) & (dates < w.is_end)
        seg = R[mask]
        scores = []
        for j in range(seg.shape[1]):
            try:
                scores.append(_finite(annualised_sharpe(seg[:, j])))
            except ValueError:
                scores.append(-math.inf)
        best = int(np.argmax(scores))  # first maximum: ties go to the lowest combo index
        combo = cols[best]
        is_ret = float(np.prod(1.0 + seg[:, best]) - 1.0)
        res = runner.run(params_of[combo], int(w.oos_start.value), int(w.oos_end.value))
        eq = res.daily_equity
        oos_ret = float(eq.iloc[-1] / eq.iloc[0] - 1.0)
        wres.append(
            WindowResult(
                window=w,
                is_return=is_ret,
                oos_return=oos_ret,
                oos_equity=eq,
                params=params_of[combo],
            )
        )
        chosen.append(
            {
                "window": w.index,
                "is_start": w.is_start.isoformat(),
                "is_end": w.is_end.isoformat(),
                "oos_end": w.oos_end.isoformat(),
                "combo_idx": combo,
                "params": params_of[combo],
                "is_sharpe": scores[best],
                "is_return": is_ret,
                "oos_return": oos_ret,
                "oos_trades": len(res.trades),
            }
        )
    summ = summarise_walk_forward(wres, cfg.wfa_min_wfe, cfg.wfa_min_profitable)
    st = summ.stitched_equity
    det = {
        "windows": chosen,
        "n_windows": summ.n_windows,
        "wfe": summ.wfe,
        "wfe_per_window": list(summ.wfe_per_window),
        "profitable_share": summ.profitable_share,
        "stitched_sharpe": summ.stitched_sharpe,
        "stitched_equity": (
            [[t.isoformat(), float(v)] for t, v in st.items()] if st is not None else None
        ),
        "anchored": cfg.wfa_anchored,
    }
    return summ.wfe, summ.passed, _clean(det)


def _purged_kfold(
    runner: SweepRunner, params: dict[str, Any], cfg: FilterConfig
) -> tuple[float | None, bool, dict]:
    from vibe_quant.backtest.metrics import daily_returns

    res = runner.run(params)
    eq = res.daily_equity
    r = daily_returns(eq.to_numpy())
    days = eq.index[1:]
    t0 = days.asi8.astype(np.int64)
    t1 = t0 + NS_PER_DAY - 1
    for t in res.trades:  # a day's horizon extends to the exit of every trade open that day
        lo = np.searchsorted(t0, int(t.entry_ts) - NS_PER_DAY + 1)
        hi = np.searchsorted(t0, int(t.exit_ts), side="right")
        t1[lo:hi] = np.maximum(t1[lo:hi], int(t.exit_ts))
    try:
        folds = purged_kfold_splits(t0, t1, cfg.pkfold_k, embargo_pct=cfg.pkfold_embargo_pct)
    except ValueError as e:
        return None, False, {"error": str(e)}
    oos, ins, info = [], [], []
    for f in folds:
        s_oos = annualised_sharpe(r[f.test]) if len(f.test) > 1 else float("nan")
        s_is = annualised_sharpe(r[f.train]) if len(f.train) > 1 else float("nan")
        oos.append(s_oos)
        ins.append(s_is)
        info.append(
            {
                "fold": f.fold,
                "test_days": len(f.test),
                "train_days": len(f.train),
                "purged": len(f.purged),
                "embargoed": len(f.embargoed),
                "test_start": str(days[f.test[0]].date()),
                "test_end": str(days[f.test[-1]].date()),
                "oos_sharpe": s_oos,
                "is_sharpe": s_is,
            }
        )
    oos_arr = np.array(oos, dtype=float)
    if np.isnan(oos_arr).any():
        return (
            None,
            False,
            _clean({"error": "a fold has fewer than 2 daily returns", "folds": info}),
        )
    s = summarise_fold_sharpes(oos_arr, cfg.pkfold_min_mean, cfg.pkfold_max_std)
    return (
        s.mean,
        s.passed,
        _clean(
            {
                "fold_sharpes": list(s.sharpes),
                "mean": s.mean,
                "std": s.std,
                "folds": info,
                "k": cfg.pkfold_k,
                "embargo_pct": cfg.pkfold_embargo_pct,
                "trades": len(res.trades),
            }
        ),
    )
