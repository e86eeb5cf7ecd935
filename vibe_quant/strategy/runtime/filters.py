"""Entry time filters, evaluated at the decision time = close time of the base bar (UTC ns).

* sessions: ``[start, end)`` minute-of-day windows (UTC); ``end < start`` crosses midnight;
  none = all day.
* blocked weekdays: the UTC weekday of the decision time (a bar closing Saturday 00:00 is
  Saturday).
* funding blackout: no entry when ``|t − f| ≤ N minutes`` for the last funding time ``f`` seen
  in the funding data or the next scheduled one. Funding times come from the instrument's
  ``FundingRateUpdate`` stream (never hard-coded hours): the last update's ``ts_event``, and the
  next time = its ``next_funding_ns`` if given, else ``ts_event + interval`` minutes (the update's
  own ``interval`` field — Binance publishes the schedule in advance). Until the first update
  has been seen the blackout cannot be ruled out, so entries are refused (the compiler adds one
  funding interval of warm-up bars so that this never happens inside the run window).
"""

from __future__ import annotations

from vibe_quant.core.intervals import NS_PER_DAY, NS_PER_MINUTE
from vibe_quant.dsl.models import WEEKDAYS, TimeFilters


def weekday(ts_ns: int) -> int:
    """UTC weekday of ``ts_ns``: 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday)."""
    return (ts_ns // NS_PER_DAY + 3) % 7


class TimeFilter:
    """Compiled :class:`~vibe_quant.dsl.models.TimeFilters`; :meth:`allows` per decision."""

    def __init__(self, tf: TimeFilters) -> None:
        self.sessions = [s.minutes() for s in tf.sessions]
        self.blocked = frozenset(WEEKDAYS.index(d) for d in tf.blocked_weekdays)
        self.blackout_ns = int(tf.funding_blackout_minutes) * NS_PER_MINUTE
        self.active = bool(self.sessions or self.blocked or self.blackout_ns)
        self.needs_funding = self.blackout_ns > 0
        self.last_funding_ns: int | None = None
        self.next_funding_ns: int | None = None
        self.refused_no_funding = 0

    def on_funding(self, ts_ns: int, interval_min: int | None, next_ns: int | None) -> None:
        """Record one funding update (times UTC ns, interval minutes)."""
        self.last_funding_ns = int(ts_ns)
        if next_ns and int(next_ns) > int(ts_ns):  # else a settlement stamp, not a schedule
            self.next_funding_ns = int(next_ns)
        elif interval_min:
            self.next_funding_ns = int(ts_ns) + int(interval_min) * NS_PER_MINUTE
        else:
            self.next_funding_ns = None

    def in_session(self, ts_ns: int) -> bool:
        if not self.sessions:
            return True
        m = (ts_ns // NS_PER_MINUTE) % 1440
        for s, e in self.sessions:
            if (s <= m < e) if s < e else (m >= s or m < e):
                return True
        return False

    def near_funding(self, ts_ns: int) -> bool:
        if self.last_funding_ns is None:
            self.refused_no_funding += 1
            return True
        b = self.blackout_ns
        if abs(ts_ns - self.last_funding_ns) <= b:
            return True
        nxt = self.next_funding_ns
        return nxt is not None and abs(nxt - ts_ns) <= b

    def allows(self, ts_ns: int) -> bool:
        """True when an entry may be placed at decision time ``ts_ns``."""
        if not self.active:
            return True
        if self.blocked and weekday(ts_ns) in self.blocked:
            return False
        if not self.in_session(ts_ns):
            return False
        if self.needs_funding and self.near_funding(ts_ns):
            return False
        return True
