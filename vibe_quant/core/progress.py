"""Progress reporting from library code: a callback, never a bar drawn by the library.

Long work (ingest, a sweep, filters, validation, the pipeline) takes ``progress:
ProgressCallback | None``. It calls ``progress(ProgressEvent(...))`` when a unit of work ends;
the caller decides how to show it (the CLI draws tqdm bars with :func:`tqdm_progress`, a
background job writes a heartbeat, a test collects the events, the dashboard polls the store).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a long task.

    Attributes:
        task: what is being done (``"ingest"``, ``"sweep"``, ``"validation"``, ``"stage"`` …).
        done: units finished so far (≥ 0).
        total: units in all, or ``None`` when unknown.
        label: what the last unit was (a month, a combination, a stage name), may be ``""``.
    """

    task: str
    done: int
    total: int | None = None
    label: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


def emit(progress: ProgressCallback | None, task: str, done: int, total: int | None = None,
         label: str = "") -> None:
    """Call ``progress`` with one event when it is not ``None``."""
    if progress is not None:
        progress(ProgressEvent(task, done, total, label))


@contextmanager
def tqdm_progress(enabled: bool = True, **tqdm_kwargs: Any) -> Iterator[ProgressCallback | None]:
    """A callback drawing one tqdm bar per ``task`` on stderr (for transports such as the CLI);
    yields ``None`` when ``enabled`` is false. Bars are closed on exit."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def cb(ev: ProgressEvent) -> None:
        bar = bars.get(ev.task)
        if bar is None:
            bar = bars[ev.task] = tqdm(total=ev.total, desc=ev.task, unit="", leave=False,
                                       **tqdm_kwargs)
        if ev.total is not None and bar.total != ev.total:
            bar.total = ev.total
        bar.n = ev.done
        if ev.label:
            bar.set_postfix_str(ev.label, refresh=False)
        bar.refresh()

    try:
        yield cb
    finally:
        for bar in reversed(list(bars.values())):  # the lowest bar first: the cursor ends at
            bar.close()                            # the start of a clean line
