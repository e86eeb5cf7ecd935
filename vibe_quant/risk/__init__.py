"""Position sizing and risk: circuit breakers, named presets, the structured event log.

* :mod:`vibe_quant.risk.breakers` — :class:`BreakerConfig`, :class:`RiskMonitor`,
  :class:`RiskEvent` (evaluated inside the engine by ``VQStrategy``; ``run_backtest(risk=...)``).
* :mod:`vibe_quant.risk.presets` — :class:`RiskPreset`, :func:`parse_preset`,
  :func:`apply_preset` (by name from the state DB).
* :mod:`vibe_quant.risk.events` — :func:`build_events`, :func:`write_jsonl`, :func:`log_run`.

Rules and units: ``SPEC.md §9``.
"""

from vibe_quant.risk.breakers import BreakerConfig, RiskEvent, RiskMonitor
from vibe_quant.risk.events import (
    build_events,
    log_completed_run,
    log_run,
    read_jsonl,
    write_jsonl,
)
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
    "build_events",
    "log_completed_run",
    "log_run",
    "parse_preset",
    "read_jsonl",
    "write_jsonl",
]
