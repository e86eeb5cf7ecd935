"""The replay clock: which archived bar closes next, and when.

The **cursor** is the open time (UTC ms) of the next bar to close; market time ("now") equals
the cursor, i.e. the close time of the last replayed bar + 1 ms. One :meth:`Replay.step`
closes the bars opening at the next open time ≥ cursor (all symbols together), in this order,
in ONE database transaction together with the new cursor:

1. funding events with time in (previous cursor, bar open] settle at the mark price of the last
   close (so a position opened on the bar closing at the funding time pays it, as in the
   backtest);
2. resting orders, algo orders and the liquidation price are matched along the bar's
   O→H→L→C path (fills stamped with the bar's close time ``open + interval − 1``);
3. the bar's close becomes the last/mark price and the cursor moves to ``open + interval``.

The caller then publishes the user events, the closed kline (``k.x = true``, ``k.T`` = open +
interval − 1 ms), the klines of every longer interval in :attr:`Replay.kline_intervals` (those a
client subscribed to) whose bucket the step completed — a 5m kline aggregated from 1m bars when
the cursor passes its close, so a 5m bar reaches the client right after its last 1m bar — and
a ``markPriceUpdate`` (mark = close, funding rate and next funding time).
At ``speed`` S one bar of ``interval`` ms closes every ``interval / S`` ms of wall time (speed
600 on 1m bars = 10 minutes of market per second). The replay starts paused when asked to, or
waits for the first kline subscription, and ends (``finished``) after the last archived bar.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from vibe_quant.core.errors import ConfigError
from vibe_quant.core.intervals import interval_ms
from vibe_quant.exchange.engine import Engine
from vibe_quant.exchange.market import MarketData
from vibe_quant.exchange.store import ExchangeStore

START_NOW, START_ON_SUBSCRIBE, START_PAUSED = "now", "subscribe", "paused"


class ExchangeConfigError(ConfigError, ValueError):
    """An invalid setting of the local exchange (e.g. a replay speed that is not > 0)."""


class Replay:
    """Cursor, funding cursor and stepping; persisted in the store's ``meta`` table.

    Args:
        replay_from_ms: where a NEW state starts (first bar with open ≥ it); a state database
            that already has a cursor resumes from it.
    """

    def __init__(
        self, market: MarketData, store: ExchangeStore, engine: Engine, replay_from_ms: int
    ):
        self.market, self.store, self.engine = market, store, engine
        iv = market.interval_ms
        with store.transaction():
            cursor = store.get_meta("cursor_ms")
            if cursor is None:
                first = market.next_open_after(replay_from_ms)
                cursor = first if first is not None else replay_from_ms
                store.set_meta("cursor_ms", cursor)
                store.set_meta("replay_from_ms", replay_from_ms)
                for s in market.symbols:
                    store.set_meta(f"funding_done:{s}", cursor)
                store.set_meta("bars_replayed", 0)
        self.cursor = int(cursor)
        self.funding_done = {
            s: int(store.get_meta(f"funding_done:{s}", self.cursor)) for s in market.symbols
        }
        self.bars_replayed = int(store.get_meta("bars_replayed", 0))
        #: longer kline intervals published as their buckets close (see the module docstring)
        self.kline_intervals: set[str] = set()
        for s, ser in market.series.items():
            px = ser.last_close_before(self.cursor, iv)
            if px is not None:
                engine.last_price[s] = px
        engine.now_ms = self.cursor

    @property
    def finished(self) -> bool:
        return self.market.next_open_after(self.cursor) is None

    def step(self) -> tuple[list[dict], list[tuple[str, dict]]]:
        """Close the next bar(s). Returns ``(user events, [(stream name, market event)])``;
        both empty when the archive is exhausted."""
        t = self.market.next_open_after(self.cursor)
        if t is None:
            return [], []
        iv = self.market.interval_ms
        prev_cursor = self.cursor
        eng = self.engine
        user: list[dict] = []
        closed: list[tuple[str, int, float]] = []
        try:
            with self.store.transaction():
                for s, ser in self.market.series.items():
                    for ft, rate in ser.fundings_between(self.funding_done[s], t):
                        mark = eng.last_price.get(s)
                        if mark is not None:
                            user += eng.settle_funding(s, ft, rate, mark)
                    self.funding_done[s] = t
                    self.store.set_meta(f"funding_done:{s}", t)
                    i = ser.index_at_or_after(t)
                    if i < len(ser.open_time) and int(ser.open_time[i]) == t:
                        _, o, h, lo, c, _v = ser.bar(i)
                        eng.now_ms = t + iv - 1
                        user += eng.walk_bar(s, o, h, lo, c, t + iv - 1)
                        eng.last_price[s] = c
                        closed.append((s, i, c))
                self.cursor = t + iv
                self.bars_replayed += 1
                self.store.set_meta("cursor_ms", self.cursor)
                self.store.set_meta("bars_replayed", self.bars_replayed)
        except BaseException:
            eng._load()
            self.__init__(self.market, self.store, eng, self.cursor)  # back to the stored cursor
            raise
        eng.now_ms = self.cursor
        market: list[tuple[str, dict]] = []
        for s, i, c in closed:
            market.append(
                (
                    f"{s.lower()}@kline_{self.market.interval}",
                    self.market.kline_event(s, i, self.cursor),
                )
            )
            for kiv in sorted(self.kline_intervals, key=interval_ms):
                for j, _close in self.market.closed_klines(s, kiv, prev_cursor, self.cursor):
                    market.append(
                        (
                            f"{s.lower()}@kline_{kiv}",
                            self.market.kline_event(s, j, self.cursor, kiv),
                        )
                    )
            market.append(
                (f"{s.lower()}@markprice@1s", self.market.mark_price_event(s, c, self.cursor))
            )
        return user, market

    def state(self) -> dict[str, Any]:
        return {
            "cursor_ms": self.cursor,
            "bars_replayed": self.bars_replayed,
            "finished": self.finished,
            "funding_done_ms": dict(self.funding_done),
            "last_price": dict(self.engine.last_price),
        }


class Clock:
    """Drives :class:`Replay` at ``speed`` on the event loop; ``publish`` receives each step's
    events. ``pause``/``resume``/``step_now`` serve the admin API."""

    def __init__(
        self,
        replay: Replay,
        speed: float,
        publish: Callable[[list, list], Any],
        start: str = START_ON_SUBSCRIBE,
    ):
        if not speed > 0:
            raise ExchangeConfigError(f"--speed must be > 0, got {speed}")
        self.replay, self.speed, self.publish = replay, float(speed), publish
        self.paused = start != START_NOW
        self.start_mode = start
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    @property
    def period_s(self) -> float:
        return self.replay.market.interval_ms / 1000.0 / self.speed

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def on_kline_subscribed(self) -> None:
        if self.start_mode == START_ON_SUBSCRIBE and self.paused:
            self.start_mode = START_NOW
            self.resume()

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self._wake.set()

    def step_now(self, n: int = 1) -> int:
        """Close ``n`` bars immediately (also while paused); returns how many were closed."""
        done = 0
        for _ in range(n):
            if self.replay.finished:
                break
            self.publish(*self.replay.step())
            done += 1
        return done

    async def _run(self) -> None:
        deadline = time.monotonic()
        while True:
            if self.paused or self.replay.finished:
                self._wake.clear()
                await self._wake.wait()
                deadline = time.monotonic()
                continue
            deadline += self.period_s
            delay = deadline - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                deadline = time.monotonic()  # behind: do not burst to catch up
                await asyncio.sleep(0)
            if self.paused:
                continue
            self.publish(*self.replay.step())
