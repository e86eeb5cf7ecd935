"""The ``validation`` fidelity preset: square-root fill model + latency preset + VIP-tier fees.

Importing this module registers the default preset (``retail`` latency, VIP 0, k = 0.1,
spread 1 tick, window 20 bars) with :func:`vibe_quant.backtest.venue.register_preset`; the
backtest layer imports it on first use of ``mode="validation"`` (``venue.PRESET_PROVIDERS``),
so ``run_backtest(..., mode="validation")`` always runs this preset on the same code path as
screening. Funding and liquidation are unchanged from screening.

:func:`use_validation` temporarily installs another configuration (per ``validate`` call).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from vibe_quant.backtest.models.fees import DEFAULT_TIER, fee_factory, fee_rates
from vibe_quant.backtest.models.fill import ImpactParams, SqrtImpactFillModel, attach_bar_feed
from vibe_quant.backtest.models.latency import DEFAULT_LATENCY, latency_factory, latency_ns
from vibe_quant.backtest.venue import PRESETS, FidelityPreset, register_preset

MODE = "validation"


@dataclass(frozen=True)
class ValidationSettings:
    """Execution settings of validation runs.

    Attributes:
        latency: latency preset name (``colocated`` 1 ms, ``domestic`` 20 ms, ``international``
            100 ms, ``retail`` 200 ms, ``none``).
        fee_tier: Binance USDⓈ-M VIP tier 0..9.
        impact: square-root fill-model parameters.
    """

    latency: str = DEFAULT_LATENCY
    fee_tier: int = DEFAULT_TIER
    impact: ImpactParams = ImpactParams()

    def __post_init__(self) -> None:
        latency_ns(self.latency)
        fee_rates(self.fee_tier)

    def to_dict(self) -> dict:
        maker, taker = fee_rates(self.fee_tier)
        return {**asdict(self), "latency_ns": latency_ns(self.latency), "maker_fee": maker,
                "taker_fee": taker}


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


def validation_preset(settings: ValidationSettings | None = None) -> FidelityPreset:
    """A ``validation`` :class:`FidelityPreset` for ``settings`` (defaults: see module doc)."""
    s = settings or ValidationSettings()
    return FidelityPreset(
        MODE,
        fill_model=FillModelFactory(s.impact),
        latency_model=latency_factory(s.latency),
        fee_model=fee_factory(s.fee_tier),
        attach=attach_bar_feed(s.impact.window, latency_ns(s.latency)),
    )


def install(settings: ValidationSettings | None = None) -> FidelityPreset:
    """Register (replace) the ``validation`` preset; returns it."""
    p = validation_preset(settings)
    register_preset(p)
    return p


@contextmanager
def use_validation(settings: ValidationSettings | None = None) -> Iterator[FidelityPreset]:
    """Install a ``validation`` preset for the duration of the block, then restore the old one."""
    old = PRESETS.get(MODE)
    p = install(settings)
    try:
        yield p
    finally:
        if old is not None:
            register_preset(old)


install()
