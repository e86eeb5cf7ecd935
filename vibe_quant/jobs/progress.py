"""Progress of the command a job runs, read by its heartbeat thread.

Three sources, first one that answers wins:

1. :func:`report` — a command calls ``report(done, total, unit)`` (a no-op cost outside jobs).
2. A ``sweep`` job: the sweep's stored results — ``COUNT(sweep_results)`` of the sweep the job
   runs over its ``n_combos`` — which also gives the result reference ``{"sweep_id": N}``
   (:class:`SweepProbe`). It needs no hook in the sweep and is exact even after a resume.
3. The outermost live tqdm progress bar of the process (ingest files, filter / validation
   candidates, walk-forward windows): the numbers the terminal would show. Bars are off under
   ``--json``, so a ``--json`` job other than a sweep reports no progress.
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import Any

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


def tqdm_progress() -> Progress | None:
    """``(n, total, unit)`` of the outermost live tqdm bar with a total, or None."""
    from tqdm import tqdm

    with tqdm.get_lock():
        bars = [
            b
            for b in list(getattr(tqdm, "_instances", ()))
            if not getattr(b, "disable", True) and getattr(b, "total", None)
        ]
    if not bars:
        return None
    b = min(bars, key=lambda b: abs(getattr(b, "pos", 0)))
    return float(b.n), float(b.total), str(b.unit)


class SweepProbe:
    """Finds the sweep a ``vibe-quant sweep`` job runs, from its own arguments, in the DB."""

    def __init__(self, args: argparse.Namespace) -> None:
        from vibe_quant.cli.common import parse_window
        from vibe_quant.dsl import load_strategy

        self.yaml_text = Path(args.strategy).read_text()
        self.symbol = str(args.symbol).upper()
        self.start_ns, self.end_ns = parse_window(args.start, args.end)
        self.interval = args.interval or load_strategy(self.yaml_text).timeframe
        self.sweep_id = args.resume

    @classmethod
    def for_args(cls, args: argparse.Namespace) -> SweepProbe | None:
        """A probe for a parsed ``sweep`` command line; None for other commands or arguments
        the command itself will refuse."""
        if getattr(args, "command", None) != "sweep":
            return None
        try:
            return cls(args)
        except Exception:  # the sweep command reports its own input errors
            return None

    def __call__(self, store: Any, since: str) -> tuple[Progress, dict[str, Any]] | None:
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
