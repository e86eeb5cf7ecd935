"""Synchronous alert facade for a non-async process (the paper supervisor).

:class:`AlertNotifier` runs one background daemon thread with its own asyncio event loop and
one PTB ``ExtBot``. :meth:`AlertNotifier.notify` applies the per-kind limit
(:mod:`vibe_quant.alerts.throttle`) in the caller's thread and hands the message to the worker
through a bounded queue: it never blocks on the network and never raises. The worker sends
messages one at a time (a 429 pause holds the queue, not the caller); a message that still fails
after PTB's retries is dropped, counted in :attr:`AlertNotifier.stats` and logged as one
``WARNING`` line on the ``vibe_quant.alerts`` logger with the token removed. While idle the
worker wakes every ``summary_check_s`` seconds to send the summaries whose minute has elapsed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from vibe_quant.alerts.bot import close_bot, describe_error, make_bot, send_text
from vibe_quant.alerts.config import TelegramConfig, configured, from_env
from vibe_quant.alerts.events import AlertEvent
from vibe_quant.alerts.redact import install_log_redaction, redact
from vibe_quant.alerts.throttle import Outgoing, Throttle

log = logging.getLogger("vibe_quant.alerts")


@dataclass
class AlertStats:
    """Counters since start: ``sent`` messages delivered, ``suppressed`` events held back by
    the per-kind limit, ``summarised`` of those reported (in a later message), ``failed``
    messages not delivered after retries, ``dropped`` messages refused because the queue was
    full or the notifier closed; ``last_error`` one redacted line."""

    sent: int = 0
    suppressed: int = 0
    summarised: int = 0
    failed: int = 0
    dropped: int = 0
    last_error: str | None = None


class _Barrier:
    def __init__(self, flush_due: bool, drain: bool):
        self.flush_due, self.drain = flush_due, drain
        self.done = threading.Event()


_STOP = object()


class AlertNotifier:
    """Thread-safe, non-blocking Telegram alerts.

    ``interval_s``: per-kind minimum spacing (60 s); ``clock``: UTC epoch seconds, injectable
    for tests; ``max_queue``: messages waiting at most (further ones are dropped and counted);
    ``max_retries``: PTB ``AIORateLimiter`` retries after a 429; ``secrets``: further strings
    (e.g. exchange API keys) removed from every message and log line.
    """

    def __init__(
        self,
        config: TelegramConfig,
        *,
        interval_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        max_queue: int = 100,
        max_retries: int = 3,
        summary_check_s: float = 1.0,
        secrets: Iterable[str] = (),
        bot_options: dict[str, Any] | None = None,
    ):
        self.config = config
        self.throttle = Throttle(interval_s, clock)
        self.max_queue = max_queue
        self.max_retries = max_retries
        self.summary_check_s = summary_check_s
        self._secrets = (config.token, *[s for s in secrets if s])
        self._bot_options = bot_options or {}
        self.stats = AlertStats()
        self._lock = threading.Lock()
        self._queued = 0
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._aq: asyncio.Queue | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        install_log_redaction(*self._secrets)

    @classmethod
    def from_env(cls, **kwargs: Any) -> AlertNotifier:
        """Started notifier configured from ``VIBE_QUANT_TELEGRAM_*``; raises
        :class:`~vibe_quant.alerts.config.AlertConfigError` when not configured."""
        return cls(from_env(), **kwargs).start()

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> AlertNotifier:
        """Start the worker thread (idempotent). Returns self."""
        with self._lock:
            if self._thread is not None:
                return self
            self._thread = threading.Thread(target=self._run, name="vibe-quant-alerts", daemon=True)
            self._thread.start()
        self._ready.wait(10)
        return self

    def close(self, timeout: float = 10.0) -> None:
        """Send every pending summary (the per-kind limit does not hold back this last
        message), wait up to ``timeout`` s for the queue to empty, stop the worker."""
        if self._closed:
            return
        self._control(_Barrier(flush_due=False, drain=True), timeout)
        with self._lock:
            self._closed = True
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._aq.put_nowait, _STOP)  # type: ignore[union-attr]
            except RuntimeError:
                pass
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> AlertNotifier:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- API --------------------------------------------------------------------------------

    def notify(self, event: AlertEvent) -> bool:
        """Queue an alert for ``event``. True when it was queued or counted as suppressed by
        the per-kind limit; False when it was dropped (queue full, notifier closed, bad event).
        Never raises and never waits for the network."""
        try:
            out = self.throttle.offer(event)
            if out is None:
                with self._lock:
                    self.stats.suppressed += 1
                return True
            return self._enqueue(out)
        except Exception as e:  # a caller must never crash because of an alert
            self._fail(f"alert {type(event).__name__} dropped: {type(e).__name__}: {e}", True)
            return False

    def flush(self, timeout: float = 10.0) -> bool:
        """Send the summaries whose interval has elapsed and wait until every message queued
        before this call has been handled (sent or failed). True when done within ``timeout``."""
        return self._control(_Barrier(flush_due=True, drain=False), timeout)

    def pending(self) -> dict[str, int]:
        """Suppressed events per kind not yet reported."""
        return self.throttle.pending()

    # ---- internals ----------------------------------------------------------------------

    def _fail(self, line: str, dropped: bool) -> None:
        line = redact(line, self._secrets)
        with self._lock:
            if dropped:
                self.stats.dropped += 1
            else:
                self.stats.failed += 1
            self.stats.last_error = line
        log.warning("%s", line)

    def _enqueue(self, out: Outgoing) -> bool:
        with self._lock:
            if self._closed or self._loop is None:
                reason = "notifier closed" if self._closed else "notifier not started"
            elif self._queued >= self.max_queue:
                reason = f"queue full ({self.max_queue} messages waiting)"
            else:
                reason = None
                self._queued += 1
        if reason is not None:
            self._fail(f"telegram alert '{out.kind}' dropped: {reason}", True)
            return False
        try:
            self._loop.call_soon_threadsafe(self._aq.put_nowait, out)  # type: ignore[union-attr]
        except RuntimeError:  # loop already closed
            with self._lock:
                self._queued -= 1
            self._fail(f"telegram alert '{out.kind}' dropped: notifier stopped", True)
            return False
        return True

    def _control(self, barrier: _Barrier, timeout: float) -> bool:
        loop = self._loop
        if loop is None or self._closed:
            return False
        try:
            loop.call_soon_threadsafe(self._aq.put_nowait, barrier)  # type: ignore[union-attr]
        except RuntimeError:
            return False
        return barrier.done.wait(timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as e:  # pragma: no cover - defensive: the worker itself broke
            self._fail(f"telegram alert worker stopped: {type(e).__name__}: {e}", False)
        finally:
            self._ready.set()

    async def _main(self) -> None:
        opts = {"max_retries": self.max_retries, **self._bot_options}
        bot = make_bot(self.config, **opts)
        self._aq = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        try:
            while True:
                try:
                    item = await asyncio.wait_for(self._aq.get(), timeout=self.summary_check_s)
                except TimeoutError:
                    item = None
                if item is _STOP:
                    break
                if isinstance(item, Outgoing):
                    await self._deliver(bot, item)
                    with self._lock:
                        self._queued -= 1
                elif isinstance(item, _Barrier):
                    outs = self.throttle.drain() if item.drain else self.throttle.due()
                    for out in outs:
                        await self._deliver(bot, out)
                    item.done.set()
                if item is None or not isinstance(item, _Barrier):
                    for out in self.throttle.due():
                        await self._deliver(bot, out)
        finally:
            try:
                await close_bot(bot)
            except Exception:  # pragma: no cover
                pass

    async def _deliver(self, bot: Any, out: Outgoing) -> None:
        text = redact(out.text, self._secrets)
        try:
            await send_text(bot, self.config.chat_id, text)
        except Exception as e:
            why = describe_error(e, self.config, self._secrets)
            self._fail(f"telegram alert '{out.kind}' not delivered: {why}", False)
            return
        with self._lock:
            self.stats.sent += 1
            self.stats.summarised += out.suppressed


class NullNotifier:
    """Same interface as :class:`AlertNotifier`, sends nothing (alerts not configured)."""

    def __init__(self) -> None:
        self.stats = AlertStats()

    def start(self) -> NullNotifier:
        return self

    def notify(self, event: AlertEvent) -> bool:
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        return True

    def pending(self) -> dict[str, int]:
        return {}

    def close(self, timeout: float = 10.0) -> None:
        pass

    def __enter__(self) -> NullNotifier:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def notifier_from_env(**kwargs: Any) -> AlertNotifier | NullNotifier:
    """A started :class:`AlertNotifier` when ``VIBE_QUANT_TELEGRAM_TOKEN`` and ``…_CHAT_ID``
    are set, else a :class:`NullNotifier` (one INFO line says alerts are off). Invalid settings
    raise :class:`~vibe_quant.alerts.config.AlertConfigError`."""
    if not configured():
        log.info("Telegram alerts off (VIBE_QUANT_TELEGRAM_TOKEN/CHAT_ID not set)")
        return NullNotifier()
    return AlertNotifier.from_env(**kwargs)
