"""Progress of the command a job runs, read by its heartbeat thread.

Two sources, first one that answers wins:

1. A ``sweep`` job: the sweep's stored results — ``COUNT(sweep_results)`` of the sweep the job
   runs over its ``n_combos`` — which also gives the result reference ``{"sweep_id": N}``
   (:class:`SweepProbe`). It needs no hook in the sweep and is exact even after a resume.
2. The command's own progress events: the transport wraps the progress callback it hands to
   the library with :func:`reporting`, so each :class:`~vibe_quant.core.progress.ProgressEvent`
   with a known total (ingest files, filter / validation candidates, walk-forward windows) is
   kept by :func:`report`; its unit is the event's ``task``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vibe_quant.core.progress import ProgressCallback, ProgressEvent

if TYPE_CHECKING:
    from vibe_quant.store.state import StateStore

Progress = tuple[float, float, str]
"""``(done, total, unit)``, e.g. ``(3, 6, "combo")``."""

_lock = threading.Lock()
_reported: Progress | None = None


def report(done: float, total: float, unit: str) -> None:
    """Report the progress of the running command (``done`` of ``total`` ``unit``s)."""
    global _reported
    with _lock:
        _reported = (float(done), float(total), str(unit))


def reported() -> Progress | None:
    """The last value given to :func:`report` in this process, or None."""
    with _lock:
        return _reported


def reporting(progress: ProgressCallback | None) -> ProgressCallback:
    """``progress`` (may be ``None``) extended to :func:`report` every event with a known
    total, so the job's heartbeat records it as ``(done, total, task)``."""

    def cb(ev: ProgressEvent) -> None:
        if ev.total is not None:
            report(ev.done, ev.total, ev.task)
        if progress is not None:
            progress(ev)

    return cb


@dataclass(frozen=True)
class SweepProbe:
    """Finds, in the state DB, the sweep a ``sweep`` job runs.

    Attributes:
        yaml_text: the strategy YAML text the sweep stores.
        symbol: e.g. ``"BTCUSDT"``.
        start_ns, end_ns: the sweep's window, UTC epoch ns.
        interval: the bar interval, e.g. ``"5m"``.
        sweep_id: the sweep given with ``--resume``, else ``None``.
    """

    yaml_text: str
    symbol: str
    start_ns: int
    end_ns: int
    interval: str
    sweep_id: int | None = None

    def __call__(self, store: StateStore, since: str) -> tuple[Progress, dict[str, Any]] | None:
        """``((done, total, "combo"), {"sweep_id": N})`` of the newest matching sweep running or
        finished at/after ``since`` (ISO UTC); None when it does not exist yet."""
        from vibe_quant.store import jobs_sql

        found = jobs_sql.sweep_progress(
            store,
            yaml_text=self.yaml_text,
            symbol=self.symbol,
            start_ns=self.start_ns,
            end_ns=self.end_ns,
            interval=self.interval,
            since=since,
            sweep_id=self.sweep_id,
        )
        if found is None:
            return None
        sweep_id, done, total = found
        return (float(done), float(total), "combo"), {"sweep_id": sweep_id}
