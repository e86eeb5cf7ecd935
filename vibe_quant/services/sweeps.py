"""The screening sweep of a strategy file as a use case (create or resume, run what is
missing, rank; see :mod:`vibe_quant.research.screening.sweep`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibe_quant.core.paths import DataDir
from vibe_quant.core.progress import ProgressCallback

__all__ = ["SweepOutcome", "sweep_file"]


@dataclass(frozen=True)
class SweepOutcome:
    """A sweep that ran (or resumed).

    Attributes:
        report: the :class:`vibe_quant.research.screening.sweep.SweepReport` (``sweep_id``,
            ``combos``, ``completed``, ``failed``, ``resumed``, ``ran_now``, ``seconds``,
            ``combos_per_s``, ``pareto``, ``best``; ``to_dict()`` for JSON).
        first_error: the first line of the first failed combination's error ("" when none
            failed; "unknown" when it has no text).
    """

    report: Any
    first_error: str

    @property
    def ok(self) -> bool:
        """True when no combination failed."""
        return self.report.failed == 0


def sweep_file(
    dd: DataDir, strategy: str, *, symbol: str, start_ns: int, end_ns: int,
    interval: str | None = None, workers: int | None = None, max_combos: int | None = None,
    sample: str = "grid", seed: int = 0, leverage: float | None = None,
    balance: float = 10_000.0, resume: int | None = None, fresh: bool = False,
    progress: ProgressCallback | None = None,
) -> SweepOutcome:
    """Sweep the parameter grid of strategy file ``strategy`` on ``symbol`` over
    ``(start_ns, end_ns]`` (UTC epoch ns). An unfinished identical sweep resumes unless
    ``fresh``; ``resume`` continues that sweep id.

    Args:
        interval: bar interval (default the strategy's timeframe).
        workers: processes (default the CPU count); does not change results.
        max_combos, sample, seed: at most ``max_combos`` combinations, ``"grid"`` or
            ``"random"`` sampling with ``seed``.
        leverage: account leverage (default the strategy's ``sizing.leverage``).
        balance: starting balance, USDT.

    Raises:
        OSError: the strategy file cannot be read. StrategyError: invalid strategy.
        MissingDataError: the catalog holds no bars for the window (nothing is created).
        SweepStartupError: the workers could not start (nothing is recorded).
    """
    from vibe_quant.dsl import load_strategy
    from vibe_quant.research.screening.sweep import SweepSpec, run_sweep
    from vibe_quant.store.state import StateStore

    path = Path(strategy)
    text = path.read_text()
    spec = load_strategy(text, file=str(path))
    sweep = SweepSpec(yaml_text=text, symbol=symbol.upper(), start_ns=start_ns, end_ns=end_ns,
                      interval=interval or spec.timeframe, sample=sample, max_combos=max_combos,
                      seed=seed, leverage=leverage, starting_balance=balance)
    with StateStore.open(dd) as store:
        rep = run_sweep(store, sweep, data_dir=str(dd.root), workers=workers, progress=progress,
                        resume_id=resume, fresh=fresh)
        first_error = next((r.get("error") or "" for r in store.sweep_results(rep.sweep_id)
                            if r["status"] == "failed"), "")
    if rep.failed:
        first_error = (first_error.splitlines() or ["unknown"])[0]
    return SweepOutcome(report=rep, first_error=first_error)
