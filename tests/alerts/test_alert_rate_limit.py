"""At most one alert per kind per minute (injectable clock); the rest are counted and
summarised in the next alert of that kind, by the worker once the minute has passed, or on
close; a 429 with retry_after is survived."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from vibe_quant.alerts import AlertNotifier, BreakerTripAlert, ErrorAlert, FillAlert

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:telegram")

TS = int(datetime(2025, 1, 27, 12, 1, 0, tzinfo=UTC).timestamp()) * 1_000_000_000


def fill(price: float) -> FillAlert:
    return FillAlert(
        symbol="BTCUSDT", side="SELL", qty=0.002, price=price, commission=0.1, ts_ns=TS
    )


def test_one_message_per_kind_per_minute_and_counted_rest(fake_tg, tg_config, clock):
    # clock starts 2025-01-27 12:01:00 UTC; summary_check_s large: only flush() summarises
    with AlertNotifier(tg_config, clock=clock, summary_check_s=60) as n:
        assert n.notify(fill(100.0))  # 12:01:00 → sent
        for i, dt in enumerate((10, 10, 10, 10)):  # 12:01:10 … 12:01:40 → suppressed
            clock.advance(dt)
            assert n.notify(fill(101.0 + i))
        trip = BreakerTripAlert(
            rule="daily_loss", action="pause", value=0.031, threshold=0.03, equity=9690.0, ts_ns=TS
        )
        assert n.notify(trip)  # another kind: its own minute → sent
        assert n.flush(5)
        assert len(fake_tg.messages) == 2  # 12:01:40 < 12:02:00: no summary yet
        assert n.pending() == {"fill": 4}

        clock.advance(19.9)  # 12:01:59.9: still inside the minute
        assert n.notify(fill(105.0))
        assert n.flush(5) and len(fake_tg.messages) == 2
        assert n.pending() == {"fill": 5}

        clock.advance(0.2)  # 12:02:00.1: the minute has passed
        assert n.notify(fill(106.0))  # sent, carrying the count
        assert n.flush(5)
        assert len(fake_tg.messages) == 3
        third = fake_tg.messages[2].text
        assert "@ 106 USDT" in third and "(+5 more fills since 12:01 UTC)" in third
        assert n.pending() == {}

        clock.advance(30)  # 12:02:30 → suppressed
        assert n.notify(fill(107.0))
        clock.advance(31)  # 12:03:01: the minute after 12:02:00.1 has passed
        assert n.flush(5)  # flush sends the due summary
        assert len(fake_tg.messages) == 4
        summary = fake_tg.messages[3].text
        assert summary.startswith("+1 more fills since 12:02 UTC; latest:")
        assert "@ 107 USDT" in summary
        assert n.stats.suppressed == 6 and n.stats.summarised == 6 and n.stats.sent == 4
    texts = [m.text for m in fake_tg.messages]
    assert sum("Fill" in t for t in texts) == 3 and sum("Circuit breaker" in t for t in texts) == 1


def test_worker_sends_due_summary_by_itself_and_close_drains(fake_tg, tg_config, clock):
    n = AlertNotifier(tg_config, clock=clock, summary_check_s=0.05).start()
    try:
        err = ErrorAlert(component="supervisor", message="heartbeat stale", ts_ns=TS)
        n.notify(err)
        clock.advance(5)
        n.notify(err)
        n.notify(err)
        assert len(fake_tg.wait_for_messages(1, 5)) == 1
        clock.advance(56)  # 12:02:01: the worker's idle wake-up sends the summary, no flush()
        msgs = fake_tg.wait_for_messages(2, 5)
        assert len(msgs) == 2 and msgs[1].text.startswith("+2 more errors since 12:01 UTC")
        clock.advance(1)
        n.notify(err)  # suppressed (the summary at 12:02:01 was the minute's message)
        time.sleep(0.2)
        assert len(fake_tg.messages) == 2
    finally:
        n.close(5)  # shutdown reports what is still counted
    assert len(fake_tg.messages) == 3
    assert fake_tg.messages[2].text.startswith("+1 more errors since 12:02 UTC")


def test_429_retry_after_is_survived(fake_tg, tg_config):
    fake_tg.fail_next(1, retry_after=1)
    with AlertNotifier(tg_config) as n:
        t0 = time.monotonic()
        assert n.notify(fill(100.0))
        assert time.monotonic() - t0 < 0.1  # the caller does not wait out the 429
        msgs = fake_tg.wait_for_messages(1, 10)
        assert n.flush(5)
    assert len(msgs) == 1 and "@ 100 USDT" in msgs[0].text
    calls = fake_tg.calls
    assert [(c.method, c.status) for c in calls] == [("sendMessage", 429), ("sendMessage", 200)]
    waited = calls[1].at - calls[0].at
    # PTB AIORateLimiter pauses retry_after + 0.1 s = 1.1 s before the retry: the retry never
    # comes before retry_after (no upper bound: how late it comes is the machine's load)
    assert waited >= 1.0, waited
    assert n.stats.sent == 1 and n.stats.failed == 0


def test_429_beyond_retries_is_counted_and_logged(fake_tg, tg_config, caplog):
    fake_tg.fail_next(2, retry_after=1)
    with AlertNotifier(tg_config, max_retries=1) as n:
        n.notify(fill(100.0))
        assert n.flush(10)
        assert n.stats.failed == 1 and n.stats.sent == 0
        n.notify(ErrorAlert(component="x", message="next one", ts_ns=TS))
        assert n.flush(10)
        assert n.stats.sent == 1  # the worker goes on after a failure
    lines = [r.getMessage() for r in caplog.records if r.name == "vibe_quant.alerts"]
    assert lines == [
        f"telegram alert 'fill' not delivered: {tg_config.base_url} kept answering "
        "429 Too Many Requests (retry after 1 s)"
    ]
