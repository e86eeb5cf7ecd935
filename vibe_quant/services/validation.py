"""Validation of a sweep's top candidates as a use case: re-run them with the square-root
impact fill model, a latency preset and Binance VIP-tier fees, store the runs and one
screening-vs-validation consistency row per candidate (see
:mod:`vibe_quant.research.validation.validate`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vibe_quant.backtest.models.params import (
    DEFAULT_K,
    DEFAULT_LATENCY,
    DEFAULT_SPREAD_TICKS,
    DEFAULT_TIER,
    DEFAULT_TOP,
    DEFAULT_WINDOW,
    LATENCY_PRESETS,
    VIP_FEES,
)
from vibe_quant.core.errors import ConfigError
from vibe_quant.core.paths import DataDir
from vibe_quant.core.progress import ProgressCallback

__all__ = ["DEFAULT_K", "DEFAULT_LATENCY", "DEFAULT_SPREAD_TICKS", "DEFAULT_TIER", "DEFAULT_TOP",
           "DEFAULT_WINDOW", "LATENCY_PRESETS", "VIP_FEES", "ValidationOptionError",
           "ValidationOutcome", "validate"]


class ValidationOptionError(ConfigError, ValueError):
    """A validation option is out of range (latency preset, tier, impact parameter, top)."""


@dataclass(frozen=True)
class ValidationOutcome:
    """A stored validation run.

    Attributes:
        report: the :class:`vibe_quant.research.validation.validate.ValidationReport`
            (``validation_run_id``, ``candidates``, ``failed``, ``execution_sensitive``,
            ``config``, ``seconds``; ``to_dict()`` for JSON).
        config: the :class:`~vibe_quant.research.validation.validate.ValidateConfig` used
            (``settings.latency``, ``settings.fee_tier``, ``settings.impact.k`` …).
    """

    report: Any
    config: Any

    @property
    def ok(self) -> bool:
        """True when every candidate's validation run completed."""
        return not self.report.failed


def validate(
    dd: DataDir, sweep_id: int, *, top: int = DEFAULT_TOP, only_passed: bool = False,
    own_bars: bool = False, latency: str = DEFAULT_LATENCY, fee_tier: int = DEFAULT_TIER,
    k: float = DEFAULT_K, spread_ticks: float = DEFAULT_SPREAD_TICKS,
    window: int = DEFAULT_WINDOW, progress: ProgressCallback | None = None,
) -> ValidationOutcome:
    """Validate the ``top`` candidates (by screening Sharpe; ``only_passed``: only those that
    passed the sweep's latest filter run) of sweep ``sweep_id``.

    Args:
        own_bars: execute on the strategy's own bars instead of the finest archived bars.
        latency: latency preset name (:data:`LATENCY_PRESETS`); fee_tier: VIP tier
            (:data:`VIP_FEES`); k: square-root impact prefactor (each candidate also runs at
            0.5k and 2k); spread_ticks: bid/ask spread in ticks; window: bars for volatility
            and average volume.

    Raises:
        ValidationOptionError: an option out of range (exit 2).
        SweepMissingError, SweepNotRunError: see :func:`vibe_quant.services.filters.
            require_sweep`.
    """
    from vibe_quant.research.validation.validate import (
        ValidateConfig,
        settings_from,
        validate_sweep,
    )
    from vibe_quant.services.filters import require_sweep
    from vibe_quant.store.state import StateStore

    try:
        cfg = ValidateConfig(top=top, only_passed=only_passed, finest=not own_bars,
                             settings=settings_from(latency, fee_tier, k, spread_ticks, window))
    except ValueError as e:
        raise ValidationOptionError(str(e)) from e
    with StateStore.open(dd) as store:
        require_sweep(store, sweep_id, dd)
        rep = validate_sweep(store, sweep_id, data_dir=str(dd.root), config=cfg,
                             progress=progress)
    return ValidationOutcome(report=rep, config=cfg)
