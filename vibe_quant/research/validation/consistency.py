"""Screening vs validation consistency of one candidate.

Definitions (S = annualised Sharpe, R = total return, DD = max drawdown; all from
:mod:`vibe_quant.backtest.metrics`, the same equity-curve definitions in both modes):

* ``sharpe_degradation_pct  = (S_scr − S_val) / |S_scr| × 100``
* ``return_degradation_pct  = (R_scr − R_val) / |R_scr| × 100``
* ``drawdown_degradation_pct = (DD_val − DD_scr) / DD_scr × 100``

Positive = validation is worse (lower Sharpe or return, deeper drawdown). ``None`` when the
screening value is 0 or not finite (no meaningful base).

``execution_sensitive`` = the candidate loses more than half its screening Sharpe:
``S_val < S_scr / 2`` (⇔ ``sharpe_degradation_pct > 50``), defined only for ``S_scr > 0``;
``None`` when the screening Sharpe is ≤ 0 or either Sharpe is not finite (nothing to lose).
"""

from __future__ import annotations

import math
from typing import Any

SENSITIVE_LOSS = 0.5  # share of the screening Sharpe whose loss flags a candidate


def _f(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def degradation_pct(screening: Any, validation: Any, *, higher_is_better: bool = True
                    ) -> float | None:
    """Percentage by which ``validation`` is worse than ``screening`` (see module doc)."""
    s, v = _f(screening), _f(validation)
    if s is None or v is None or s == 0:
        return None
    return ((s - v) if higher_is_better else (v - s)) / abs(s) * 100.0


def execution_sensitive(screening_sharpe: Any, validation_sharpe: Any) -> bool | None:
    """True when validation keeps less than half of a positive screening Sharpe."""
    s, v = _f(screening_sharpe), _f(validation_sharpe)
    if s is None or v is None or s <= 0:
        return None
    return v < s * (1.0 - SENSITIVE_LOSS)


def consistency(screening: dict[str, Any], validation: dict[str, Any]) -> dict[str, Any]:
    """Consistency row from two metric dicts (keys ``sharpe``, ``total_return``,
    ``max_drawdown``, ``trades``, ``fees``)."""
    ss, vs = screening.get("sharpe"), validation.get("sharpe")
    sr, vr = screening.get("total_return"), validation.get("total_return")
    sd, vd = screening.get("max_drawdown"), validation.get("max_drawdown")
    return {
        "screening_sharpe": _f(ss), "validation_sharpe": _f(vs),
        "sharpe_degradation_pct": degradation_pct(ss, vs),
        "screening_return": _f(sr), "validation_return": _f(vr),
        "return_degradation_pct": degradation_pct(sr, vr),
        "screening_max_drawdown": _f(sd), "validation_max_drawdown": _f(vd),
        "drawdown_degradation_pct": degradation_pct(sd, vd, higher_is_better=False),
        "screening_trades": screening.get("trades"), "validation_trades": validation.get("trades"),
        "execution_sensitive": execution_sensitive(ss, vs),
    }
