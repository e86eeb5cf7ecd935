"""Alerts reach the fake Bot API: every type, with units in the text; the caller never blocks."""

from __future__ import annotations

import socket
import time
from datetime import UTC, date, datetime

from tests.alerts.conftest import CHAT_ID
from vibe_quant.alerts import (
    AlertNotifier,
    BreakerTripAlert,
    DailyPnlAlert,
    ErrorAlert,
    FillAlert,
    KillSwitchAlert,
    RestartAlert,
    TelegramConfig,
)

TS = int(datetime(2025, 1, 27, 12, 1, 5, tzinfo=UTC).timestamp()) * 1_000_000_000


def test_every_alert_type_arrives_with_units(fake_tg, tg_config):
    events = [
        FillAlert(
            symbol="BTCUSDT",
            side="BUY",
            qty=0.01,
            price=95000.0,
            commission=0.38,
            ts_ns=TS,
            position=0.01,
            run_id="7",
        ),
        BreakerTripAlert(
            rule="max_drawdown",
            action="halt",
            value=0.1034,
            threshold=0.10,
            equity=8966.0,
            ts_ns=TS,
            symbol="BTCUSDT",
            run_id="7",
        ),
        ErrorAlert(component="child", message="venue rejected order", ts_ns=TS, run_id="7"),
        RestartAlert(attempt=2, reason="exit code -9", backoff_s=4.0, ts_ns=TS, run_id="7"),
        KillSwitchAlert(
            reason="paper kill 7",
            orders_cancelled=3,
            flattened_qty=-0.01,
            flatten_price=94950.5,
            ts_ns=TS,
            symbol="BTCUSDT",
            run_id="7",
        ),
        DailyPnlAlert(
            day=date(2025, 1, 26),
            start_equity=10000.0,
            end_equity=10123.45,
            realized_pnl=150.0,
            commissions=20.55,
            funding=-6.0,
            trades=3,
            run_id="7",
        ),
    ]
    with AlertNotifier(tg_config) as n:
        t0 = time.monotonic()
        assert all(n.notify(e) for e in events)
        assert time.monotonic() - t0 < 0.5  # queued, not sent in the caller's thread
        assert n.flush(10)
        assert n.stats.sent == 6 and n.stats.failed == 0
    msgs = fake_tg.messages
    assert [c.method for c in fake_tg.calls] == ["sendMessage"] * 6
    assert {m.chat_id for m in msgs} == {CHAT_ID}
    fill, trip, err, restart, kill, daily = (m.text for m in msgs)
    # 0.01 BTC × 95 000 USDT = 950.00 USDT notional; 2025-01-27 12:01:05 UTC
    assert "BUY 0.01 BTCUSDT @ 95000 USDT" in fill and "notional 950.00 USDT" in fill
    assert "commission 0.3800 USDT" in fill and "2025-01-27 12:01:05 UTC" in fill
    assert "paper run 7" in fill
    # drawdown fraction 0.1034 → 10.34 %, limit 0.10 → 10.00 %
    assert "max_drawdown" in trip and "10.34 %" in trip and "10.00 %" in trip
    assert "trading halted" in trip and "8,966.00 USDT" in trip
    assert "child" in err and "venue rejected order" in err
    assert "attempt 2" in restart and "exit code -9" in restart and "4.0 s" in restart
    assert "KILL SWITCH" in kill and "3 order(s) cancelled" in kill and "94950.5 USDT" in kill
    # 10 123.45 − 10 000 = +123.45 USDT = +1.2345 % → "+1.23 %"
    assert "2025-01-26" in daily and "+123.45 USDT (+1.23 %)" in daily
    assert "commissions 20.55 USDT" in daily and "funding -6.00 USDT" in daily
    assert "3 trade(s)" in daily


def test_caller_never_blocks_and_full_queue_drops_are_counted(caplog):
    # A server that accepts TCP connections and never answers: every send hangs until the
    # read timeout. The caller must not wait for it, and beyond max_queue messages are dropped.
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    port = lsock.getsockname()[1]
    cfg = TelegramConfig(
        token="5555:silent-token-xyz", chat_id=CHAT_ID, base_url=f"http://127.0.0.1:{port}"
    )
    try:
        n = AlertNotifier(
            cfg,
            interval_s=0.0,
            max_queue=2,
            bot_options={"read_timeout_s": 0.3, "connect_timeout_s": 0.3},
        ).start()
        t0 = time.monotonic()
        results = [n.notify(ErrorAlert(component="x", message=f"e{i}", ts_ns=TS)) for i in range(5)]
        assert time.monotonic() - t0 < 0.2
        assert results == [True, True, False, False, False]
        assert n.flush(5)
        n.close(5)
        assert n.stats.dropped == 3 and n.stats.failed == 2 and n.stats.sent == 0
    finally:
        lsock.close()
    assert "queue full (2 messages waiting)" in caplog.text


def test_notify_never_raises_on_a_bad_event(tg_config):
    with AlertNotifier(tg_config) as n:
        assert n.notify("not an event") is False  # type: ignore[arg-type]
        assert n.stats.dropped == 1
