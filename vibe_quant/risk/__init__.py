"""Risk: circuit breakers and named presets.

The structured run event log is :mod:`vibe_quant.backtest.events`.


* :mod:`vibe_quant.risk.breakers` — :class:`BreakerConfig`, :class:`RiskMonitor`,
  :class:`RiskEvent` (evaluated inside the engine by ``VQStrategy``; ``run_backtest(risk=...)``).
* :mod:`vibe_quant.risk.presets` — :class:`RiskPreset`, :func:`parse_preset`,
  :func:`apply_preset` (by name from the state DB).

Rules and units: ``SPEC.md §9``.
"""

from vibe_quant.risk.breakers import BreakerConfig, RiskEvent, RiskMonitor
from vibe_quant.risk.presets import (
    AppliedPreset,
    PresetError,
    RiskPreset,
    apply_preset,
    parse_preset,
)

__all__ = [
    "AppliedPreset",
    "BreakerConfig",
    "PresetError",
    "RiskEvent",
    "RiskMonitor",
    "RiskPreset",
    "apply_preset",
    "parse_preset",
]
