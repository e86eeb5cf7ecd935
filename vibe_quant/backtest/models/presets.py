"""The fidelity presets, built as values: ``screening`` and ``validation``.

A run gets its preset explicitly (``run_backtest(..., mode=preset)`` or a preset name), so
nothing is registered globally and concurrent runs with different settings cannot interfere:

* :func:`screening_preset` — the engine's own fills, no latency, VIP 0 fees;
* :func:`validation_preset` — square-root fill model + latency preset + VIP-tier fees for a
  :class:`ValidationSettings` (defaults: ``retail`` latency, VIP 0, k = 1, spread 1 tick,
  window 20 bars); funding and liquidation are unchanged from screening;
* :func:`resolve_preset` — the preset of a ``mode`` argument (a name or a preset itself).
"""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from vibe_quant.backtest.models.fees import DEFAULT_TIER, fee_factory, fee_rates
from vibe_quant.backtest.models.fill import ImpactParams, SqrtImpactFillModel, attach_bar_feed
from vibe_quant.backtest.models.latency import DEFAULT_LATENCY, latency_factory, latency_ns
from vibe_quant.backtest.venue import BacktestConfigError, FidelityPreset
from vibe_quant.core.config import FrozenConfig

SCREENING = "screening"
MODE = "validation"
#: the preset names :func:`resolve_preset` builds
MODES = (SCREENING, MODE)


class ValidationSettings(FrozenConfig):
    """Execution settings of validation runs (a frozen config).

    Attributes:
        latency: latency preset name (``colocated`` 1 ms, ``domestic`` 20 ms, ``international``
            100 ms, ``retail`` 200 ms, ``none``).
        fee_tier: Binance USDⓈ-M VIP tier 0..9.
        impact: square-root fill-model parameters.

    Raises (construction):
        pydantic ``ValidationError`` (a ``ValueError``) wrapping :class:`BacktestConfigError`:
        unknown latency preset or tier (:func:`settings_error` unwraps it).
    """

    latency: str = DEFAULT_LATENCY
    fee_tier: int = DEFAULT_TIER
    impact: ImpactParams = ImpactParams()

    @model_validator(mode="after")
    def _check(self) -> ValidationSettings:
        latency_ns(self.latency)
        fee_rates(self.fee_tier)
        return self

    def describe(self) -> dict[str, Any]:
        """:meth:`to_dict` plus what the fields mean: ``latency_ns`` (ns or None),
        ``maker_fee`` and ``taker_fee`` (fractions of notional)."""
        maker, taker = fee_rates(self.fee_tier)
        return {**self.to_dict(), "latency_ns": latency_ns(self.latency),
                "maker_fee": maker, "taker_fee": taker}


def settings_error(exc: Exception) -> Exception:
    """The vibe-quant error inside a pydantic ``ValidationError`` raised by one of these
    configs (its first ``BacktestConfigError``), else ``exc`` itself."""
    for err in getattr(exc, "errors", lambda: [])():
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, BacktestConfigError):
            return inner
    return exc


class FillModelFactory:
    """``(seed) -> SqrtImpactFillModel``; keeps the models it made (``last``) so a caller can
    read their slippage log and errors after a run."""

    def __init__(self, params: ImpactParams) -> None:
        self.params = params
        self.last: SqrtImpactFillModel | None = None

    def __call__(self, seed: int) -> SqrtImpactFillModel:
        del seed  # deterministic model
        self.last = SqrtImpactFillModel(self.params)
        return self.last


def screening_preset() -> FidelityPreset:
    """The ``screening`` preset: engine fills at the top of the bar book, no latency model,
    the instrument's VIP 0 maker/taker fees."""
    return FidelityPreset(SCREENING)


def validation_preset(settings: ValidationSettings | None = None) -> FidelityPreset:
    """A fresh ``validation`` :class:`FidelityPreset` for ``settings`` (defaults: see module
    doc). Its ``fill_model`` is a :class:`FillModelFactory` (``.last`` = the model of the last
    run made with this preset)."""
    s = settings or ValidationSettings()
    return FidelityPreset(
        MODE,
        fill_model=FillModelFactory(s.impact),
        latency_model=latency_factory(s.latency),
        fee_model=fee_factory(s.fee_tier),
        attach=attach_bar_feed(s.impact.window, latency_ns(s.latency)),
    )


def resolve_preset(mode: str | FidelityPreset) -> FidelityPreset:
    """The preset of a run's ``mode``: a :class:`FidelityPreset` as given, or a new one by
    name (``"screening"`` / ``"validation"`` with default :class:`ValidationSettings`).

    Raises:
        BacktestConfigError (a ``ValueError``): an unknown name.
    """
    if isinstance(mode, FidelityPreset):
        return mode
    if mode == SCREENING:
        return screening_preset()
    if mode == MODE:
        return validation_preset()
    raise BacktestConfigError(f"unknown mode {mode!r}; expected one of {sorted(MODES)} or a "
                              "FidelityPreset", mode=mode)
