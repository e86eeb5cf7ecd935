"""The overfitting filters over a stored sweep as a use case: deflated Sharpe, walk-forward,
purged K-fold CV of the selection, CPCV, PBO (SPEC.md §7), each verdict with its
false-positive rate and power at the sweep's N, T and ρ.

Also the sweep lookup shared with validation (:func:`require_sweep`): an unknown sweep is
:class:`SweepMissingError` (exit 2), a sweep none of whose combinations completed is
:class:`SweepNotRunError` (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vibe_quant.core.errors import NotFoundError, StrategyRunError
from vibe_quant.core.paths import DataDir
from vibe_quant.core.progress import ProgressCallback

if TYPE_CHECKING:
    from vibe_quant.store.state import StateStore

__all__ = ["FilterOutcome", "SweepMissingError", "SweepNotRunError", "describe_power",
           "filter_config", "problems_of", "require_sweep", "run_filters"]


class SweepMissingError(NotFoundError, LookupError):
    """No sweep with that id in the data dir (exit 2, as a bad argument)."""

    exit_code = 2


class SweepNotRunError(StrategyRunError):
    """The sweep exists but none of its combinations completed."""


@dataclass(frozen=True)
class FilterOutcome:
    """A stored filter run.

    Attributes:
        report: the :class:`vibe_quant.research.filters.FilterReport` (``filter_run_id``,
            ``sweep_level``, ``candidates``, ``passed``, ``calibration``, ``sweep_stats``;
            ``to_dict()`` for JSON).
        problems: one line per enabled sweep-level filter that could not run.
    """

    report: Any
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when every enabled filter ran."""
        return not self.problems


def require_sweep(store: StateStore, sweep_id: int, dd: DataDir) -> Any:
    """The stored sweep ``sweep_id`` with at least one completed combination.

    Raises:
        SweepMissingError: no such sweep in this data dir.
        SweepNotRunError: none of its combinations completed (the message gives the first
            failure's error).
    """
    sweep = store.sweep(sweep_id)
    if sweep is None:
        raise SweepMissingError(f"no sweep {sweep_id} in {dd.state_db}: run `vibe-quant sweep "
                                "STRATEGY.yaml --symbol SYMBOL --start … --end …` first (it "
                                "prints the sweep id), or pass the right --data-dir",
                                sweep_id=sweep_id)
    rows = store.sweep_results(sweep_id)
    if not any(r["status"] == "completed" for r in rows):
        failed = [r for r in rows if r["status"] == "failed"]
        cause = (f"{len(failed)} failed, first error: "
                 f"{((failed[0].get('error') or '').splitlines() or ['unknown'])[0]}"
                 if failed else "none has run yet: re-run the same `vibe-quant sweep` command")
        raise SweepNotRunError(f"sweep {sweep_id} has no completed combination of "
                               f"{sweep.get('n_combos', len(rows))} ({cause})",
                               sweep_id=sweep_id)
    return sweep


def filter_config(preset: str = "default", **settings: Any) -> Any:
    """A :class:`vibe_quant.research.filters.FilterConfig` with the thresholds of ``preset``
    (``default`` or ``seed``), then ``settings`` (its field names; ``None`` values are left
    to the preset).

    Raises:
        FilterConfigError: (a ConfigError and ValueError) unknown preset or field value.
    """
    from vibe_quant.research.filters import FilterConfig

    return FilterConfig.preset(preset, **{k: v for k, v in settings.items() if v is not None})


def problems_of(sweep_level: dict[str, Any]) -> list[str]:
    """One line per enabled sweep-level filter that could not run (e.g. walk-forward on a
    period shorter than one window)."""
    out = []
    for name, v in sweep_level.items():
        if v.get("value") is None and (v.get("reason") or v.get("error")):
            out.append(f"{name}: {v.get('reason') or v.get('error')}")
    return out


def describe_power(rates: dict[str, Any] | None) -> str:
    """One line on a filter's false-positive rate and power (``""`` for none)."""
    from vibe_quant.research.overfitting.filter_power import describe

    return describe(rates)


def run_filters(dd: DataDir, sweep_id: int, config: Any = None, *,
                progress: ProgressCallback | None = None) -> FilterOutcome:
    """Run the enabled filters of ``config`` (default :func:`filter_config`) on sweep
    ``sweep_id`` and store every result (see :func:`vibe_quant.research.filters.run_filters`).

    Raises:
        SweepMissingError, SweepNotRunError: see :func:`require_sweep`.
    """
    from vibe_quant.research.filters import run_filters as run
    from vibe_quant.store.state import StateStore

    with StateStore.open(dd) as store:
        require_sweep(store, sweep_id, dd)
        rep = run(store, sweep_id, data_dir=str(dd.root), config=config or filter_config(),
                  progress=progress)
    return FilterOutcome(report=rep, problems=tuple(problems_of(rep.sweep_level)))
