"""Probabilistic and Deflated Sharpe Ratio, expected maximum Sharpe, minimum track record length.

Sources:

* [BLdP12] Bailey, D. H. & López de Prado, M. (2012), "The Sharpe Ratio Efficient Frontier",
  Journal of Risk 15(2), 3–44 — PSR and minimum track record length (MinTRL).
* [BLdP14] Bailey, D. H. & López de Prado, M. (2014), "The Deflated Sharpe Ratio: Correcting for
  Selection Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management 40(5),
  94–107 (SSRN 2460551) — E[max SR] over N trials, DSR, and the numerical example
  (N = 100, T = 1250, SR0 = 0.1132, DSR = 0.9004).
* [AFML] López de Prado, M. (2018), "Advances in Financial Machine Learning", ch. 14 (efficiency
  statistics: PSR, DSR) — the same formulas restated.

Equation numbers: the papers could not be consulted when this was written, so each formula is
cited by paper and name rather than by an equation number; the published numerical examples
(reproduced in tests/research/overfitting/test_dsr.py) pin the formulas down.

Units (read this before calling anything here):

* Every Sharpe ratio is **per period** (non-annualised): daily returns → daily Sharpe. Annual
  figures must be converted first (SR_daily = SR_annual / sqrt(periods per year), variance of
  Sharpe ratios V_daily = V_annual / periods per year).
* ``t`` is the number of return periods ``T`` the Sharpe was estimated on.
* ``skew`` is the skewness γ3 and ``kurt`` the **non-excess** kurtosis γ4 (3 for a normal) of
  those same returns. Passing excess kurtosis is the classic mistake; values below 1 are
  impossible for non-excess kurtosis and are rejected, and so is anything violating Pearson's
  inequality γ4 ≥ 1 + γ3².
* ``return_moments(returns)`` computes (SR, T, γ3, γ4) from a returns array in exactly these
  conventions so callers cannot mix them up.

Formulas (Z = standard normal CDF, Z⁻¹ its inverse, scipy.stats.norm):

    σ̂(SR)·sqrt(T−1) = sqrt(1 − γ3·SR + (γ4 − 1)/4 · SR²)                     [BLdP12], [BLdP14]
    PSR(SR*)  = Z[(SR − SR*)·sqrt(T − 1) / sqrt(1 − γ3·SR + (γ4 − 1)/4·SR²)]   [BLdP12], [BLdP14]
    E[max_N]  ≈ (1 − γ)·Z⁻¹[1 − 1/N] + γ·Z⁻¹[1 − 1/(N·e)],  γ = 0.5772…     [BLdP14] (false
                                                               strategy / expected maximum)
    SR0       = E[SR_n] + sqrt(V[SR_n]) · E[max_N]    (E[SR_n] = 0 in the paper)  [BLdP14]
    DSR       = PSR(SR0)                                                       [BLdP14]
    MinTRL    = 1 + (1 − γ3·SR + (γ4 − 1)/4·SR²) · (Z⁻¹[α] / (SR − SR*))²    [BLdP12]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import norm

from vibe_quant.core.errors import StatisticsInputError
from vibe_quant.core.stats import as_returns

EULER_GAMMA = float(np.euler_gamma)
"""Euler–Mascheroni constant γ ≈ 0.5772156649."""

DSR_THRESHOLD = 0.95
"""Default pass threshold: a candidate passes the deflated-Sharpe filter when DSR ≥ 0.95."""

_PEARSON_TOL = 1e-9


class ReturnMoments(NamedTuple):
    """Inputs of PSR/DSR computed from one returns series, in the units those functions expect.

    Attributes:
        sr: per-period Sharpe ratio ``mean / std(ddof=1)``.
        t: number of return periods T.
        skew: skewness γ3 = m3 / m2^1.5 (moment estimator, ``scipy.stats.skew(bias=True)``).
        kurt: non-excess kurtosis γ4 = m4 / m2² (``scipy.stats.kurtosis(fisher=False,
            bias=True)``; 3 for a normal distribution).
    """

    sr: float
    t: int
    skew: float
    kurt: float


def return_moments(returns: ArrayLike) -> ReturnMoments:
    """Per-period Sharpe, T, skewness and non-excess kurtosis of a returns series.

    Args:
        returns: shape ``(T,)``, ``T >= 3``, simple per-period returns (e.g. daily), finite.

    Returns:
        ``ReturnMoments(sr, t, skew, kurt)``; ``m_k`` below are central moments with divisor T
        (population moments of the sample — they always satisfy Pearson's inequality), while the
        Sharpe uses the sample standard deviation (ddof=1)::

            sr = mean / std(ddof=1);  skew = m3 / m2**1.5;  kurt = m4 / m2**2

    Raises:
        ValueError: bad shape, fewer than 3 values, NaN/inf, or zero variance (SR undefined).
    """
    arr = as_returns(returns, min_len=3)
    mean = float(arr.mean())
    dev = arr - mean
    m2 = float(np.mean(dev**2))
    if not m2 > 0.0:
        raise StatisticsInputError(
            "returns have zero variance: Sharpe ratio, skewness, kurtosis undefined")
    m3 = float(np.mean(dev**3))
    m4 = float(np.mean(dev**4))
    sr = mean / float(arr.std(ddof=1))
    return ReturnMoments(sr=sr, t=int(arr.size), skew=m3 / m2**1.5, kurt=m4 / m2**2)


def _check_common(sr: float, t: int | None, skew: float, kurt: float) -> None:
    for label, value in (("sr", sr), ("skew", skew), ("kurt", kurt)):
        if not math.isfinite(value):
            raise StatisticsInputError(f"{label} must be finite, got {value}")
    if t is not None and (int(t) != t or t < 2):
        raise StatisticsInputError(f"t (number of return periods) must be an integer >= 2, got {t}")
    if kurt < 1.0:
        raise StatisticsInputError(
            f"kurt={kurt} < 1 is impossible for non-excess kurtosis (normal = 3); "
            "did you pass excess kurtosis?"
        )
    if kurt < 1.0 + skew * skew - _PEARSON_TOL * max(1.0, kurt):
        raise StatisticsInputError(
            f"kurt={kurt}, skew={skew} violate Pearson's inequality kurt >= 1 + skew**2; "
            "kurt must be non-excess kurtosis of the same returns"
        )


def _sr_variance_factor(sr: float, skew: float, kurt: float) -> float:
    """``1 − γ3·SR + (γ4 − 1)/4·SR²`` = (T − 1)·Var[SR̂] under non-normal iid returns."""
    factor = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    if not factor > 0.0:
        raise StatisticsInputError(
            f"1 - skew*sr + (kurt-1)/4*sr**2 = {factor} <= 0 for sr={sr}, skew={skew}, "
            f"kurt={kurt}: Sharpe ratio standard error undefined (is sr per-period?)"
        )
    return factor


def sharpe_ratio_std(sr: float, t: int, skew: float, kurt: float) -> float:
    """Standard error of an estimated per-period Sharpe ratio ([BLdP12]; [BLdP14] PSR denominator).

    ``σ̂(SR) = sqrt((1 − γ3·SR + (γ4 − 1)/4·SR²) / (T − 1))``.

    Args:
        sr: per-period Sharpe; t: number of periods (≥ 2); skew: γ3; kurt: non-excess γ4.

    Raises:
        ValueError: non-finite inputs, t < 2, kurt inconsistent (see module doc), or a
            non-positive variance factor.
    """
    _check_common(sr, t, skew, kurt)
    return math.sqrt(_sr_variance_factor(sr, skew, kurt) / (t - 1))


def probabilistic_sharpe_ratio(
    sr: float, t: int, skew: float, kurt: float, sr_benchmark: float = 0.0
) -> float:
    """Probabilistic Sharpe Ratio PSR(SR*) — probability that the true Sharpe exceeds SR*.

    ``PSR = Z[(SR − SR*)·sqrt(T − 1) / sqrt(1 − γ3·SR + (γ4 − 1)/4·SR²)]``
    ([BLdP12] PSR definition; restated in [BLdP14] and [AFML] ch. 14).

    Example (from [BLdP12], as quoted in issue 5): monthly SR = 1.585/sqrt(12), γ3 = −2.448,
    γ4 = 10.164, T = 24, SR* = 0 → PSR = 0.9132.

    Args:
        sr: observed per-period Sharpe ratio (same periods as ``t``).
        t: number of return periods T (integer ≥ 2).
        skew: skewness γ3 of the returns.
        kurt: non-excess kurtosis γ4 of the returns (3 for normal).
        sr_benchmark: benchmark SR*, per period.

    Returns:
        A probability in [0, 1].

    Raises:
        ValueError: see ``sharpe_ratio_std``; non-finite ``sr_benchmark``.
    """
    _check_common(sr, t, skew, kurt)
    if not math.isfinite(sr_benchmark):
        raise StatisticsInputError(f"sr_benchmark must be finite, got {sr_benchmark}")
    z = (sr - sr_benchmark) * math.sqrt(t - 1) / math.sqrt(_sr_variance_factor(sr, skew, kurt))
    return float(norm.cdf(z))


def expected_max_sharpe_factor(n_trials: int) -> float:
    """Approximate E[max] of N iid standard normals, the selection-bias factor of [BLdP14].

    ``E[max_N] ≈ (1 − γ)·Z⁻¹[1 − 1/N] + γ·Z⁻¹[1 − 1/(N·e)]`` with γ the Euler–Mascheroni
    constant ([BLdP14], expected maximum Sharpe ratio / "false strategy" result; also Bailey,
    Borwein, López de Prado & Zhu 2014, Notices AMS, Proposition 1). For N = 100 it is 2.5306.

    Args:
        n_trials: number of (independent) trials N, integer ≥ 1. For N = 1 there is no
            selection and the exact expectation 0.0 is returned (the approximation would give
            −inf because Z⁻¹[0] = −inf).

    Raises:
        ValueError: ``n_trials`` not an integer ≥ 1.
    """
    if isinstance(n_trials, bool) or int(n_trials) != n_trials or n_trials < 1:
        raise StatisticsInputError(f"n_trials must be an integer >= 1, got {n_trials}")
    n = int(n_trials)
    if n == 1:
        return 0.0
    return float(
        (1.0 - EULER_GAMMA) * norm.ppf(1.0 - 1.0 / n)
        + EULER_GAMMA * norm.ppf(1.0 - 1.0 / (n * math.e))
    )


def expected_max_sharpe(n_trials: int, sr_variance: float, mean_sr: float = 0.0) -> float:
    """SR0: expected maximum Sharpe among N trials whose true Sharpe is ``mean_sr`` ([BLdP14]).

    ``SR0 = mean_sr + sqrt(V[{SR_n}]) · E[max_N]`` (see ``expected_max_sharpe_factor``). The
    paper uses ``mean_sr = 0`` (the null of no skill). Paper example: N = 100, V = 0.5/250 (daily)
    → SR0 = 0.1132 per day.

    Args:
        n_trials: number of trials N (integer ≥ 1).
        sr_variance: variance of the trials' **per-period** Sharpe ratios, ≥ 0 (same periods as
            the Sharpe being deflated). ``trials_sharpe_variance`` computes it.
        mean_sr: expected per-period Sharpe of a trial under the null (default 0).

    Returns:
        SR0, per period.

    Raises:
        ValueError: ``n_trials`` invalid, ``sr_variance`` negative or non-finite, ``mean_sr``
            non-finite.
    """
    if not (math.isfinite(sr_variance) and sr_variance >= 0.0):
        raise StatisticsInputError(f"sr_variance must be finite and >= 0, got {sr_variance}")
    if not math.isfinite(mean_sr):
        raise StatisticsInputError(f"mean_sr must be finite, got {mean_sr}")
    return mean_sr + math.sqrt(sr_variance) * expected_max_sharpe_factor(n_trials)


def trials_sharpe_variance(trial_sharpes: ArrayLike) -> float:
    """V[{SR_n}]: sample variance (ddof=1) of the N trials' per-period Sharpe ratios.

    Args:
        trial_sharpes: shape ``(N,)``, N ≥ 2, finite per-period Sharpe ratios of every trial
            (e.g. every sweep combination, including the losers).

    Raises:
        ValueError: bad shape, fewer than 2 values, non-finite values.
    """
    arr = as_returns(trial_sharpes, name="trial_sharpes", min_len=2)
    return float(arr.var(ddof=1))


def deflated_sharpe_ratio(
    sr: float,
    t: int,
    skew: float,
    kurt: float,
    n_trials: int,
    sr_variance: float,
    mean_sr: float = 0.0,
) -> float:
    """Deflated Sharpe Ratio DSR = PSR(SR0) ([BLdP14]; [AFML] ch. 14).

    ``DSR = Z[(SR − SR0)·sqrt(T − 1) / sqrt(1 − γ3·SR + (γ4 − 1)/4·SR²)]`` with SR0 from
    ``expected_max_sharpe(n_trials, sr_variance, mean_sr)``. Paper example: SR = 2.5/sqrt(250),
    T = 1250, γ3 = −3, γ4 = 10, N = 100, V = 0.5/250 → DSR = 0.9004. Pass when
    ``DSR >= DSR_THRESHOLD`` (0.95).

    Args:
        sr, t, skew, kurt: per-period Sharpe, number of periods, γ3, non-excess γ4 of the
            selected strategy's returns (see ``return_moments``).
        n_trials: number of trials N the strategy was selected from.
        sr_variance: variance of the trials' per-period Sharpe ratios.
        mean_sr: null-hypothesis mean Sharpe of a trial (default 0, as in the paper).

    Returns:
        A probability in [0, 1].

    Raises:
        ValueError: as in ``probabilistic_sharpe_ratio`` and ``expected_max_sharpe``.
    """
    sr0 = expected_max_sharpe(n_trials, sr_variance, mean_sr)
    return probabilistic_sharpe_ratio(sr, t, skew, kurt, sr_benchmark=sr0)


def min_track_record_length(
    sr: float, skew: float, kurt: float, sr_benchmark: float = 0.0, confidence: float = 0.95
) -> float:
    """Minimum track record length MinTRL, in return periods ([BLdP12]).

    ``MinTRL = 1 + (1 − γ3·SR + (γ4 − 1)/4·SR²) · (Z⁻¹[confidence] / (SR − SR*))²`` — the
    number of periods T at which ``PSR(SR*) == confidence`` (solve the PSR formula for T).

    Args:
        sr: observed per-period Sharpe; skew: γ3; kurt: non-excess γ4.
        sr_benchmark: SR*, per period.
        confidence: α in (0, 1), default 0.95.

    Returns:
        MinTRL as a real number of periods (not rounded; take ``ceil`` for a count).
        ``math.inf`` when ``sr <= sr_benchmark`` (no track record length can establish it).

    Raises:
        ValueError: invalid moments (see module doc), confidence outside (0, 1).
    """
    _check_common(sr, None, skew, kurt)
    if not 0.0 < confidence < 1.0:
        raise StatisticsInputError(f"confidence must be in (0, 1), got {confidence}")
    if not math.isfinite(sr_benchmark):
        raise StatisticsInputError(f"sr_benchmark must be finite, got {sr_benchmark}")
    factor = _sr_variance_factor(sr, skew, kurt)
    if sr <= sr_benchmark:
        return math.inf
    return 1.0 + factor * (float(norm.ppf(confidence)) / (sr - sr_benchmark)) ** 2


@dataclass(frozen=True)
class DeflatedSharpeResult:
    """Outcome of the deflated-Sharpe filter for one candidate (all Sharpe values per period)."""

    value: float
    """DSR, a probability."""
    threshold: float
    passed: bool
    """``value >= threshold``."""
    sr: float
    sr0: float
    t: int
    skew: float
    kurt: float
    n_trials: int
    sr_variance: float
    psr: float
    """PSR against a zero benchmark, for reference."""
    min_trl: float
    """MinTRL (periods) for PSR(SR0) to reach ``threshold``; inf if SR ≤ SR0."""


def deflated_sharpe_test(
    returns: ArrayLike,
    n_trials: int,
    sr_variance: float,
    threshold: float = DSR_THRESHOLD,
    mean_sr: float = 0.0,
) -> DeflatedSharpeResult:
    """Run the deflated-Sharpe filter on one candidate's per-period returns.

    Computes ``return_moments(returns)``, then SR0, DSR, PSR(0) and MinTRL against SR0 at
    ``threshold`` confidence. ``sr_variance`` must be in the same per-period units as
    ``returns`` (e.g. variance of the sweep combinations' daily Sharpe ratios).

    Raises:
        ValueError: see ``return_moments``, ``deflated_sharpe_ratio``; threshold not in (0, 1).
    """
    if not 0.0 < threshold < 1.0:
        raise StatisticsInputError(f"threshold must be in (0, 1), got {threshold}")
    m = return_moments(returns)
    sr0 = expected_max_sharpe(n_trials, sr_variance, mean_sr)
    value = probabilistic_sharpe_ratio(m.sr, m.t, m.skew, m.kurt, sr_benchmark=sr0)
    return DeflatedSharpeResult(
        value=value,
        threshold=threshold,
        passed=value >= threshold,
        sr=m.sr,
        sr0=sr0,
        t=m.t,
        skew=m.skew,
        kurt=m.kurt,
        n_trials=int(n_trials),
        sr_variance=float(sr_variance),
        psr=probabilistic_sharpe_ratio(m.sr, m.t, m.skew, m.kurt, 0.0),
        min_trl=min_track_record_length(m.sr, m.skew, m.kurt, sr0, threshold),
    )
