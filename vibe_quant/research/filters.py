"""``vibe-quant filter SWEEP_ID``: the overfitting filters over a finished screening sweep.

Each filter can be switched off; results (value, threshold, pass, details) are stored per
candidate (sweep-level filters under ``combo_idx = -1``), and ``passed_all`` is the AND of the
enabled filters for each candidate. Thresholds come from a named preset (``PRESETS``, defined in
:mod:`.overfitting.thresholds`: ``default``, chosen from the calibration of SPEC.md §6, or
``seed``, the seed design's) and can be overridden one by one. Every result carries in
``details["calibration"]`` the filter's false-positive rate and power at the sweep's own N
(completed combinations), T (days) and ρ (mean pairwise correlation of the daily-return
matrix), interpolated from the packaged calibration grid (:mod:`.filter_power`) when the
filter's thresholds and settings are those of a preset.

* **DSR** (per candidate, :mod:`.dsr`): the candidate's daily returns (per-period Sharpe, T,
  skewness, non-excess kurtosis); N = number of completed combinations of the sweep; V[SR] =
  variance of their *daily* Sharpe ratios. Pass: DSR ≥ threshold (default 0.94).
* **Walk-forward** (sweep-level, :mod:`.walk_forward`): windows over the sweep period (default
  rolling 9 months in-sample / 3 months out-of-sample / 1 month step). In each window every
  combination is scored on the in-sample span — its annualised Sharpe over the in-sample days
  of its full-period screening run — and the best one (ties: lowest index) is traded in a fresh
  backtest on the out-of-sample span (with indicator warm-up before it, no position carried
  in). *In-sample scores come from the full-period runs sliced to the window, so a position
  opened before the window start is carried into its first days*; the out-of-sample trading is
  an independent run. WFE, profitable share, stitched OOS curve and its Sharpe, and the chosen
  parameters are stored. Pass: WFE ≥ min_wfe and profitable share > min_profitable (default
  0 and 0.85). The verdict applies to every candidate (it judges the strategy's selection
  procedure, not one parameter set). When the sweep period is shorter than in-sample +
  out-of-sample, no window forms: the filter fails (``value`` None) and its details carry
  ``not_run``, ``reason`` (why, and window lengths that would fit) and ``suggested``
  (:func:`.walk_forward.no_window_reason`).
* **Purged K-fold CV of the selection** (sweep-level, :mod:`.selection_cv`; AFML ch. 7): the
  observations are the T days of the sweep's ``T × N`` daily-return matrix, day ``d`` with label
  span ``[d, d + horizon_days]`` (default 0: a marked-to-market daily return is known at the
  day's close; serial dependence across a fold boundary is what the embargo, default 1 % of T,
  removes). K contiguous folds (default 5); in each, the combination with the best annualised
  Sharpe on the purged and embargoed *training* days is selected and scored on the test fold.
  Stored per fold: the chosen combination and its parameters, its training and test Sharpe,
  its rank among all N on the test fold (1 = best), Lo's (2002) standard error of its test
  Sharpe and the hindsight-best test Sharpe. Pass: mean test Sharpe of the selections >
  min_mean (default 1.95) and, when set, their std < max_std (default off). The verdict applies
  to every candidate; each candidate's own ``pkfold`` row carries the same value and verdict
  with its own train/test Sharpe, test rank and standard error per fold beside the
  selection's (``fold_sharpes`` = the candidate's test-fold Sharpes).
* **CPCV** (sweep-level, informational, :mod:`.cpcv`; AFML ch. 12): the same selection over
  ``C(N_g, k)`` splits of N_g groups (default 10 groups, 2 test groups → φ = 9 paths); stored:
  the path Sharpe ratios, their mean, std, quantiles and share below zero, and each split's
  selection. Not a verdict (``passed`` is always true and ``details["verdict"]`` false).
* **PBO** (sweep-level, :mod:`.pbo`): CSCV over the T × N matrix of the combinations' daily
  returns, S blocks (default 16). The sweep is flagged when PBO > threshold (default 0.23); a
  flagged sweep fails every candidate's ``passed_all``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from vibe_quant.core.config import FrozenConfig
from vibe_quant.core.errors import ConfigError, NotFoundError
from vibe_quant.core.jsonpolicy import jsonable
from vibe_quant.core.progress import ProgressCallback, emit
from vibe_quant.core.stats import annualised_sharpe
from vibe_quant.research.overfitting.calibrate import mean_pairwise_correlation
from vibe_quant.research.overfitting.cpcv import combinatorial_purged_cv
from vibe_quant.research.overfitting.dsr import deflated_sharpe_test, sharpe_ratio_std
from vibe_quant.research.overfitting.filter_power import describe, error_rates
from vibe_quant.research.overfitting.pbo import probability_of_backtest_overfitting
from vibe_quant.research.overfitting.purged_kfold import purged_kfold_splits
from vibe_quant.research.overfitting.selection_cv import (
    column_sharpes,
    day_label_spans,
    lo_sharpe_standard_error,
    rank_best_first,
    selection_cv,
)
from vibe_quant.research.overfitting.thresholds import (  # noqa: F401  (re-exported)
    DEFAULT_SETTINGS,
    DEFAULT_THRESHOLDS,
    PRESETS,
    SEED_THRESHOLDS,
)
from vibe_quant.research.overfitting.walk_forward import (
    WindowResult,
    generate_windows,
    no_window_reason,
    summarise_walk_forward,
)
from vibe_quant.research.screening.rerun import SweepRunner
from vibe_quant.store.state import StateStore

SWEEP_LEVEL = -1


class FilterConfigError(ConfigError, ValueError):
    """An unknown filter preset or candidate rule, or a sweep with nothing to filter; still a
    ``ValueError``."""


class SweepNotFoundError(NotFoundError, LookupError):
    """No sweep with that id in the state database; still a ``LookupError``."""


class FilterConfig(FrozenConfig):
    """Which filters run, their settings and thresholds (a frozen config; preset ``default``,
    ``seed()`` gives the seed design's thresholds). Sharpe ratios annualised (√365), shares as
    fractions, window lengths in months; defaults from :mod:`.overfitting.thresholds`.
    ``candidates``: ``pareto`` | ``passed`` | ``all`` | ``top:N`` (:func:`select_candidates`).
    """

    dsr: bool = True
    dsr_threshold: float = DEFAULT_THRESHOLDS["dsr_threshold"]
    wfa: bool = True
    wfa_in_months: int = DEFAULT_SETTINGS["wfa_in_months"]
    wfa_out_months: int = DEFAULT_SETTINGS["wfa_out_months"]
    wfa_step_months: int = DEFAULT_SETTINGS["wfa_step_months"]
    wfa_anchored: bool = DEFAULT_SETTINGS["wfa_anchored"]
    wfa_min_wfe: float = DEFAULT_THRESHOLDS["wfa_min_wfe"]
    wfa_min_profitable: float = DEFAULT_THRESHOLDS["wfa_min_profitable"]
    pkfold: bool = True
    pkfold_k: int = DEFAULT_SETTINGS["pkfold_k"]
    pkfold_embargo_pct: float = DEFAULT_SETTINGS["pkfold_embargo_pct"]
    pkfold_horizon_days: int = DEFAULT_SETTINGS["pkfold_horizon_days"]
    pkfold_min_mean: float = DEFAULT_THRESHOLDS["pkfold_min_mean"]
    pkfold_max_std: float = DEFAULT_THRESHOLDS["pkfold_max_std"]
    cpcv: bool = True
    cpcv_groups: int = DEFAULT_SETTINGS["cpcv_groups"]
    cpcv_test_groups: int = DEFAULT_SETTINGS["cpcv_test_groups"]
    pbo: bool = True
    pbo_blocks: int = DEFAULT_SETTINGS["pbo_blocks"]
    pbo_threshold: float = DEFAULT_THRESHOLDS["pbo_threshold"]
    candidates: str = "pareto"

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> FilterConfig:
        """Config with the thresholds of preset ``name`` (``PRESETS``), then ``overrides``.

        Raises:
            FilterConfigError (a ``ValueError``): unknown preset name.
        """
        if name not in PRESETS:
            raise FilterConfigError(
                f"unknown filter preset {name!r}; choose from {', '.join(PRESETS)}", preset=name)
        return cls(**{**PRESETS[name], **overrides})

    @classmethod
    def seed(cls, **overrides: Any) -> FilterConfig:
        """The seed design's thresholds (``SEED_THRESHOLDS``)."""
        return cls.preset("seed", **overrides)

    def preset_of(self, name: str) -> str | None:
        """The preset whose thresholds and settings filter ``name`` (dsr, pbo, pkfold, wfa) uses
        here, or None when they match neither — calibration then does not apply."""
        return next(
            (
                p
                for p in PRESETS
                if _settings(self, name) == _settings(FilterConfig.preset(p), name)
            ),
            None,
        )


_SETTINGS = {
    "dsr": ("dsr_threshold",),
    "pbo": ("pbo_threshold", "pbo_blocks"),
    "pkfold": (
        "pkfold_min_mean",
        "pkfold_max_std",
        "pkfold_k",
        "pkfold_embargo_pct",
        "pkfold_horizon_days",
    ),
    "wfa": (
        "wfa_min_wfe",
        "wfa_min_profitable",
        "wfa_in_months",
        "wfa_out_months",
        "wfa_step_months",
        "wfa_anchored",
    ),
}


def _settings(cfg: FilterConfig, name: str) -> tuple:
    return tuple(getattr(cfg, k) for k in _SETTINGS[name])


@dataclass
class FilterReport:
    """What ``run_filters`` computed and stored; ``to_dict()`` is the ``--json`` document.

    ``sweep_stats``: ``n_trials`` (N, completed combinations), ``n_days`` (T, rows of the
    return matrix) and ``rho`` (mean pairwise correlation of its columns) — where the filters'
    false-positive rates and power (``calibration`` per filter, :mod:`.filter_power`) are read.
    """

    sweep_id: int
    filter_run_id: int
    candidates: list[dict[str, Any]]
    sweep_level: dict[str, Any]
    passed: list[int]
    sweep_stats: dict[str, Any]
    calibration: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    raise FilterConfigError(f"candidates must be pareto, passed, all or top:N, not {how!r}",
                            candidates=how)


def _finite(x: Any) -> float:
    """``x`` as a float for ranking: NaN and non-numbers sort last (−inf), ±inf kept."""
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
    progress: ProgressCallback | None = None,
) -> FilterReport:
    """Run the enabled filters on a sweep and store every result (one transaction).

    Every stored result carries, in ``details["calibration"]``, the filter's false-positive
    rate and power at this sweep's N, T and measured ρ (:func:`.filter_power.error_rates`);
    CPCV is stored as a sweep-level row ``cpcv`` that is not a verdict (``passed`` always true,
    ``details["verdict"] = false``). ``progress`` gets a
    :class:`~vibe_quant.core.progress.ProgressEvent` after each walk-forward window (task
    ``"walk-forward"``) and each candidate (task ``"filters"``).

    Raises:
        SweepNotFoundError (a ``LookupError``): unknown sweep.
        FilterConfigError (a ``ValueError``): a sweep with no completed combination.
    """
    cfg = config or FilterConfig()
    sweep = store.sweep(sweep_id)
    if sweep is None:
        raise SweepNotFoundError(f"no sweep {sweep_id}", sweep_id=sweep_id)
    rows = store.sweep_results(sweep_id, with_returns=True)
    dates, R, cols = _returns_matrix(rows)
    if not cols:
        raise FilterConfigError(f"sweep {sweep_id} has no completed combination to filter",
                                sweep_id=sweep_id)
    cands = select_candidates(rows, cfg.candidates)
    params_of = {r["combo_idx"]: r["params"] for r in rows}
    results: list[dict[str, Any]] = []
    sweep_level: dict[str, Any] = {}
    runner: SweepRunner | None = None
    n_trials, n_days = int(len(cols)), int(R.shape[0])
    try:
        rho: float | None = mean_pairwise_correlation(R)
    except ValueError:
        rho = None
    sweep_stats = {"n_trials": n_trials, "n_days": n_days, "rho": rho}
    calibration = {
        f: error_rates(cfg.preset_of(f), f, n_trials, n_days, rho)
        for f in ("dsr", "pbo", "pkfold", "wfa")
        if getattr(cfg, f)
    }
    for c in calibration.values():
        c["summary"] = describe(c)

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
        det["calibration"] = calibration["pbo"]
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
        det["calibration"] = calibration["wfa"]
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

    # ---- sweep-level: purged K-fold CV of the selection procedure
    pk_pass = True
    pk: _SelectionCV | None = None
    pk_threshold = {"min_mean": cfg.pkfold_min_mean, "max_std": cfg.pkfold_max_std}
    if cfg.pkfold:
        pk = _selection_cv(dates, R, cols, params_of, cfg)
        pk.sweep["calibration"] = calibration["pkfold"]
        pk_pass = pk.passed
        results.append(
            {
                "combo_idx": SWEEP_LEVEL,
                "filter": "pkfold",
                "value": pk.value,
                "threshold": pk_threshold,
                "passed": pk_pass,
                "details": pk.sweep,
            }
        )
        sweep_level["pkfold"] = {"value": pk.value, "passed": pk_pass, **pk.sweep}

    # ---- sweep-level, not a verdict: combinatorial purged CV
    if cfg.cpcv:
        value, det = _cpcv(R, cols, params_of, cfg)
        results.append(
            {
                "combo_idx": SWEEP_LEVEL,
                "filter": "cpcv",
                "value": value,
                "threshold": None,
                "passed": True,
                "details": det,
            }
        )
        sweep_level["cpcv"] = {"value": value, "passed": True, **det}

    # ---- per candidate: DSR, and the candidate's own folds beside the selection CV
    sr_daily = np.array(
        [_finite(r["metrics"].get("sharpe_daily")) for r in rows if r["status"] == "completed"]
    )
    sr_daily = sr_daily[np.isfinite(sr_daily)]
    sr_var = float(np.var(sr_daily, ddof=1)) if len(sr_daily) > 1 else 0.0
    col_of = {c: j for j, c in enumerate(cols)}
    verdicts: dict[int, bool] = {}
    out_cands = []
    emit(progress, "filters", 0, len(cands))
    for n_done, r in enumerate(cands, 1):
        ci = r["combo_idx"]
        ok = pbo_pass and wfa_pass and pk_pass
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
                det = jsonable(asdict(d))
                # standard error of the per-period Sharpe (PSR denominator) and annualised
                se = sharpe_ratio_std(d.sr, d.t, d.skew, d.kurt)
                det["sr_std"] = se
                det["sharpe_annual_se"] = se * math.sqrt(365)
                value, passed = d.value, d.passed
            except ValueError as e:
                value, passed, det = None, False, {"error": str(e)}
            det["calibration"] = calibration["dsr"]
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
                "calibration": calibration["dsr"],
            }
            ok = ok and passed
        if pk is not None:
            det = pk.candidate(ci, col_of.get(ci))
            det["calibration"] = calibration["pkfold"]
            results.append(
                {
                    "combo_idx": ci,
                    "filter": "pkfold",
                    "value": pk.value,
                    "threshold": pk_threshold,
                    "passed": pk_pass,
                    "details": det,
                }
            )
            entry["filters"]["pkfold"] = {
                "value": pk.value,
                "passed": pk_pass,
                "candidate_mean_test_sharpe": det.get("candidate_mean_test_sharpe"),
                "std": det.get("std"),
                "fold_sharpes": det.get("fold_sharpes"),
                "fold_sharpe_se": det.get("fold_sharpe_se"),
                "calibration": calibration["pkfold"],
            }
        verdicts[ci] = ok
        entry["passed_all"] = ok
        out_cands.append(entry)
        emit(progress, "filters", n_done, len(cands), f"combo {ci}")
    run_id = store.create_filter_run(
        sweep_id,
        {
            **cfg.to_dict(),
            "n_trials": n_trials,
            "trials_sr_variance": sr_var,
            "n_days": n_days,
            "rho": rho,
            "presets": {f: cfg.preset_of(f) for f in ("dsr", "pbo", "pkfold", "wfa")},
        },
    )
    store.record_filter_results(run_id, [jsonable(x) for x in results], verdicts)
    return FilterReport(
        sweep_id=sweep_id,
        filter_run_id=run_id,
        candidates=jsonable(out_cands),
        sweep_level=jsonable(sweep_level),
        passed=[c for c, v in verdicts.items() if v],
        sweep_stats=jsonable(sweep_stats),
        calibration=jsonable(calibration),
    )


def _walk_forward(
    runner: SweepRunner,
    sweep: dict[str, Any],
    dates: pd.DatetimeIndex,
    R: np.ndarray,
    cols: list[int],
    rows: list[dict[str, Any]],
    cfg: FilterConfig,
    progress: ProgressCallback | None,
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
    emit(progress, "walk-forward", 0, len(windows))
    for w in windows:
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
        emit(progress, "walk-forward", len(wres), len(windows), f"window {w.index}")
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
    if summ.wfe is None:  # ran, but has no value: say why (the verdict is then "fail")
        det["no_value_reason"] = (
            "walk-forward efficiency undefined: the pooled in-sample return of the "
            "re-optimised windows is not positive (no in-sample edge to be efficient "
            "about, Pardo 2008); "
            f"{sum(1 for r in wres if r.oos_return > 0)} of {summ.n_windows} out-of-sample "
            "windows were profitable"
        )
    return summ.wfe, summ.passed, jsonable(det)


@dataclass
class _SelectionCV:
    """Selection CV over the sweep matrix, with what is needed to report any candidate."""

    value: float | None
    passed: bool
    sweep: dict[str, Any]
    folds: list[dict[str, Any]]
    train_sr: list[np.ndarray]
    test_sr: list[np.ndarray]
    test_len: list[int]
    selected: list[int]

    def candidate(self, combo_idx: int, col: int | None) -> dict[str, Any]:
        """Details of one candidate's row: its own train/test Sharpe, test rank and Lo SE per
        fold beside the selection's, the selection's verdict and summary."""
        base = {
            "verdict_of": "selection",
            "selection_mean_test_sharpe": self.value,
            "selection_fold_sharpes": self.sweep.get("fold_sharpes"),
            "fold_sharpe_se": self.sweep.get("fold_sharpe_se"),
            "mean_sharpe_se": self.sweep.get("mean_sharpe_se"),
        }
        if col is None or not self.test_sr:
            return jsonable({**base, "error": self.sweep.get("error", "candidate not in matrix")})
        folds, own = [], []
        for f, tr, te, n, sel in zip(
            self.folds, self.train_sr, self.test_sr, self.test_len, self.selected
        ):
            s_te = float(te[col])
            own.append(s_te)
            folds.append(
                {
                    **{
                        k: f[k]
                        for k in (
                            "fold",
                            "test_days",
                            "train_days",
                            "purged",
                            "embargoed",
                            "test_start",
                            "test_end",
                        )
                    },
                    "oos_sharpe": s_te,
                    "is_sharpe": float(tr[col]),
                    "test_rank": rank_best_first(te, col),
                    "test_sharpe_se": lo_sharpe_standard_error(s_te, n),
                    "selected_combo_idx": f["selected_combo_idx"],
                    "selected_is_candidate": sel == col,
                    "selection_test_sharpe": f["test_sharpe"],
                }
            )
        arr = np.array(own, dtype=float)
        return jsonable(
            {
                **base,
                "folds": folds,
                "fold_sharpes": own,
                "candidate_mean_test_sharpe": float(arr.mean()),
                "mean": float(arr.mean()),
                "std": float(arr.std(ddof=1)) if len(arr) > 1 else math.nan,
                "selected_share": sum(1 for x in self.selected if x == col) / len(self.selected),
                "k": self.sweep.get("k"),
                "embargo_pct": self.sweep.get("embargo_pct"),
            }
        )


def _selection_cv(
    dates: pd.DatetimeIndex,
    R: np.ndarray,
    cols: list[int],
    params_of: dict[int, Any],
    cfg: FilterConfig,
) -> _SelectionCV:
    """Purged K-fold CV of "pick the combination with the best annualised Sharpe" over the
    sweep's ``T × N`` daily-return matrix (:func:`.selection_cv.selection_cv`)."""
    settings = {
        "k": cfg.pkfold_k,
        "embargo_pct": cfg.pkfold_embargo_pct,
        "horizon_days": cfg.pkfold_horizon_days,
        "n_strategies": int(R.shape[1]),
        "n_days": int(R.shape[0]),
        "objective": "annualised Sharpe (sqrt(365), ddof=1) on the training days",
    }
    try:
        t0, t1 = day_label_spans(R.shape[0], cfg.pkfold_horizon_days)
        splits = purged_kfold_splits(t0, t1, cfg.pkfold_k, embargo_pct=cfg.pkfold_embargo_pct)
        res = selection_cv(
            R,
            cfg.pkfold_k,
            folds=splits,
            min_mean=cfg.pkfold_min_mean,
            max_std=cfg.pkfold_max_std,
        )
    except ValueError as e:
        return _SelectionCV(None, False, {**settings, "error": str(e)}, [], [], [], [], [])
    folds, train_sr, test_sr = [], [], []
    for f, sf in zip(res.folds, splits):
        train_sr.append(column_sharpes(R, sf.train))
        test_sr.append(column_sharpes(R, sf.test))
        combo = cols[f.selected]
        folds.append(
            {
                "fold": f.fold,
                "test_days": int(sf.test.size),
                "train_days": int(sf.train.size),
                "purged": int(sf.purged.size),
                "embargoed": int(sf.embargoed.size),
                "test_start": str(dates[f.test_start].date()),
                "test_end": str(dates[f.test_end - 1].date()),
                "selected_combo_idx": combo,
                "params": params_of.get(combo),
                "train_sharpe": f.train_sharpe,
                "test_sharpe": f.test_sharpe,
                "test_rank": f.test_rank,
                "test_sharpe_se": f.test_sharpe_se,
                "best_test_sharpe": f.best_test_sharpe,
            }
        )
    sweep = jsonable(
        {
            **settings,
            "folds": folds,
            "fold_sharpes": [f.test_sharpe for f in res.folds],
            "mean": res.mean_test_sharpe,
            "std": res.std_test_sharpe,
            "top_half_share": res.top_half_share,
            "fold_sharpe_se": res.fold_sharpe_se,
            "mean_sharpe_se": res.mean_sharpe_se,
            "std_rule": cfg.pkfold_max_std != math.inf,
        }
    )
    return _SelectionCV(
        value=res.mean_test_sharpe if math.isfinite(res.mean_test_sharpe) else None,
        passed=res.passed,
        sweep=sweep,
        folds=folds,
        train_sr=train_sr,
        test_sr=test_sr,
        test_len=[int(sf.test.size) for sf in splits],
        selected=[f.selected for f in res.folds],
    )


def _cpcv(
    R: np.ndarray, cols: list[int], params_of: dict[int, Any], cfg: FilterConfig
) -> tuple[float | None, dict[str, Any]]:
    """CPCV of the selection (:func:`.cpcv.combinatorial_purged_cv`), splits' selections mapped
    to combination indices and parameters; (mean path Sharpe, details)."""
    try:
        res = combinatorial_purged_cv(
            R,
            cfg.cpcv_groups,
            cfg.cpcv_test_groups,
            horizon_days=cfg.pkfold_horizon_days,
            embargo_pct=cfg.pkfold_embargo_pct,
        )
    except ValueError as e:
        return None, {
            "error": f"CPCV could not run: {e}",
            "verdict": False,
            "n_groups": cfg.cpcv_groups,
            "n_test_groups": cfg.cpcv_test_groups,
        }
    d = res.to_dict()
    for sp in d["splits"]:
        sp["selected_combo_idx"] = cols[sp["selected"]]
        sp["params"] = params_of.get(cols[sp["selected"]])
    d["verdict"] = False
    d["note"] = (
        "distribution of the out-of-sample Sharpe of the selection across the CPCV paths "
        "(AFML ch. 12); informational, not a pass/fail filter"
    )
    return (res.mean_sharpe if math.isfinite(res.mean_sharpe) else None), jsonable(d)
