"""At most one alert message per kind per interval (default 60 s); the rest are counted.

Rule, per kind, with ``now`` from an injectable clock (UTC epoch seconds):

* an event is **sent** when no message of its kind went out in the last ``interval_s``
  (``now − last_sent ≥ interval_s``, or never sent); the message then carries
  ``+N more <kind> since HH:MM UTC`` for the N events suppressed since the last message;
* otherwise it is **suppressed**: counted, and the latest suppressed event kept;
* :meth:`Throttle.due` turns kinds with suppressed events whose interval has elapsed into one
  summary message each (counts as that kind's message); :meth:`Throttle.drain` does so for every
  kind regardless of the interval (used on shutdown, so nothing counted is lost).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from vibe_quant.alerts.config import AlertConfigError
from vibe_quant.alerts.events import AlertEvent
from vibe_quant.alerts.format import format_alert, suppressed_note, truncate


@dataclass
class _KindState:
    last_sent: float | None = None
    suppressed: int = 0
    latest: AlertEvent | None = None


@dataclass(frozen=True)
class Outgoing:
    """A message ready to send: ``kind`` of the alert, ``text``, ``suppressed`` events it
    summarises (0 for a plain alert)."""

    kind: str
    text: str
    suppressed: int = 0


class Throttle:
    """Thread-safe per-kind limiter. ``clock()`` returns UTC epoch seconds (``time.time``)."""

    def __init__(self, interval_s: float = 60.0, clock: Callable[[], float] = time.time):
        if interval_s < 0:
            raise AlertConfigError(f"interval_s must be ≥ 0, got {interval_s}")
        self.interval_s = interval_s
        self.clock = clock
        self._state: dict[str, _KindState] = {}
        self._labels: dict[str, str] = {}
        self._lock = threading.Lock()

    def offer(self, event: AlertEvent) -> Outgoing | None:
        """The message to send for ``event`` now, or None when it is suppressed (counted)."""
        text = format_alert(event)
        now = self.clock()
        with self._lock:
            self._labels[event.kind] = event.label
            st = self._state.setdefault(event.kind, _KindState())
            if st.last_sent is not None and now - st.last_sent < self.interval_s:
                st.suppressed += 1
                st.latest = event
                return None
            n = st.suppressed
            if n:
                text = truncate(f"{text}\n({suppressed_note(n, event.label, st.last_sent)})")
            st.last_sent, st.suppressed, st.latest = now, 0, None
            return Outgoing(event.kind, text, n)

    def due(self) -> list[Outgoing]:
        """Summaries for kinds whose suppressed events wait and whose interval has elapsed."""
        return self._summaries(force=False)

    def drain(self) -> list[Outgoing]:
        """Summaries for every kind with suppressed events, interval or not."""
        return self._summaries(force=True)

    def pending(self) -> dict[str, int]:
        """Suppressed-and-not-yet-summarised counts per kind."""
        with self._lock:
            return {k: s.suppressed for k, s in self._state.items() if s.suppressed}

    def _summaries(self, force: bool) -> list[Outgoing]:
        now = self.clock()
        out = []
        with self._lock:
            for kind, st in self._state.items():
                if not st.suppressed or st.latest is None or st.last_sent is None:
                    continue
                if not force and now - st.last_sent < self.interval_s:
                    continue
                note = suppressed_note(st.suppressed, self._labels[kind], st.last_sent)
                text = truncate(f"{note}; latest:\n{format_alert(st.latest)}")
                out.append(Outgoing(kind, text, st.suppressed))
                st.last_sent, st.suppressed, st.latest = now, 0, None
        return out
