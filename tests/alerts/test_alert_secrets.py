"""A wrong token fails with one clear logged line; the token never appears in logs, stdout,
stderr or the messages themselves (python-telegram-bot and httpx put it in every URL)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.alerts.conftest import CHAT_ID
from vibe_quant.alerts import AlertNotifier, FillAlert, TelegramConfig
from vibe_quant.cli import main

ROOT = Path(__file__).resolve().parents[2]
# not shaped like a BotFather token, so only the explicit redaction can hide it
WRONG_TOKEN = "wrong-token-Zq81xK"


def test_wrong_token_fails_with_one_clear_line_without_the_token(fake_tg, caplog):
    cfg = TelegramConfig(token=WRONG_TOKEN, chat_id=CHAT_ID, base_url=fake_tg.url)
    caplog.set_level("DEBUG")  # every library log line, URLs included
    with AlertNotifier(cfg) as n:
        assert n.notify(
            FillAlert(symbol="BTCUSDT", side="BUY", qty=0.01, price=1.0, commission=0.0, ts_ns=0)
        )
        assert n.flush(5)
        assert n.stats.failed == 1 and n.stats.sent == 0
    assert [(c.method, c.status, c.token_ok) for c in fake_tg.calls] == [
        ("sendMessage", 401, False)
    ]
    assert fake_tg.messages == []
    ours = [r for r in caplog.records if r.name == "vibe_quant.alerts"]
    assert [(r.levelname, r.getMessage()) for r in ours] == [
        (
            "WARNING",
            f"telegram alert 'fill' not delivered: the bot token was rejected by "
            f"{fake_tg.url} (Unauthorized); check VIBE_QUANT_TELEGRAM_TOKEN",
        )
    ]
    assert "HTTP Request: POST" in caplog.text  # httpx did log the request URL …
    assert WRONG_TOKEN not in caplog.text  # … without the token
    assert n.stats.last_error and WRONG_TOKEN not in n.stats.last_error


def test_cli_alerts_test(fake_tg, monkeypatch, capsys):
    monkeypatch.setenv("VIBE_QUANT_TELEGRAM_TOKEN", fake_tg.token)
    monkeypatch.setenv("VIBE_QUANT_TELEGRAM_CHAT_ID", CHAT_ID)
    monkeypatch.setenv("VIBE_QUANT_TELEGRAM_BASE_URL", fake_tg.url)
    assert main(["alerts", "test", "--message", "hello from the test"]) == 0
    out = capsys.readouterr()
    assert out.out == (
        f"sent test message 1 to chat {CHAT_ID} as @vibe_quant_test_bot via {fake_tg.url}\n"
    )
    assert [c.method for c in fake_tg.calls] == ["getMe", "sendMessage"]
    assert fake_tg.messages[0].text == "hello from the test"

    monkeypatch.setenv("VIBE_QUANT_TELEGRAM_TOKEN", WRONG_TOKEN)
    assert main(["alerts", "test", "--json"]) == 1
    out = capsys.readouterr()
    line = (
        f"Telegram test alert not sent: the bot token was rejected by {fake_tg.url} "
        "(Unauthorized); check VIBE_QUANT_TELEGRAM_TOKEN"
    )
    assert out.err == f"error: {line}\n"
    assert out.out == '{"ok": false, "error": "' + line + '"}\n'

    monkeypatch.delenv("VIBE_QUANT_TELEGRAM_TOKEN")
    assert main(["alerts", "test"]) == 2
    assert "set VIBE_QUANT_TELEGRAM_TOKEN" in capsys.readouterr().err


_SCRIPT = textwrap.dedent(
    """
    import logging, os, sys, time
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    from vibe_quant.alerts import AlertNotifier, ErrorAlert, TelegramConfig, notifier_from_env
    from vibe_quant.alerts.config import from_env
    token = os.environ["VIBE_QUANT_TELEGRAM_TOKEN"]
    cfg = from_env()
    print("config:", cfg, repr(cfg))
    n = notifier_from_env(secrets=[os.environ["BINANCE_SECRET"]])
    # an error whose text carries the token and an exchange secret, as an httpx URL would
    n.notify(ErrorAlert(component="venue", ts_ns=0, message=(
        f"POST {cfg.base_url}/bot{token}/sendMessage failed; key={os.environ['BINANCE_SECRET']}")))
    n.flush(10)
    print("stats:", n.stats)
    n.close()
    bad = AlertNotifier(TelegramConfig(token=token + "x", chat_id="1", base_url=cfg.base_url))
    bad.start().notify(ErrorAlert(component="venue", message="m", ts_ns=0))
    bad.flush(10)
    print("stats:", bad.stats)
    bad.close()
    """
)


def test_token_never_appears_in_output(fake_tg):
    secret = "binance-api-secret-Hh7Qm2"
    env = dict(
        os.environ,
        VIBE_QUANT_TELEGRAM_TOKEN=fake_tg.token,
        VIBE_QUANT_TELEGRAM_CHAT_ID=CHAT_ID,
        VIBE_QUANT_TELEGRAM_BASE_URL=fake_tg.url,
        BINANCE_SECRET=secret,
        PYTHONPATH=str(ROOT),
    )
    fake_tg.fail_next(1, retry_after=1)  # a 429 path too
    r = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    cli = subprocess.run(
        [sys.executable, "-m", "vibe_quant", "alerts", "test", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert cli.returncode == 0, cli.stderr
    everything = r.stdout + r.stderr + cli.stdout + cli.stderr
    # the run did exercise the logging paths that carry URLs: 429, 200 and 401 answers
    assert "Retrying after" in everything and '401 Unauthorized"' in everything
    assert r.stderr.count("HTTP Request: POST") == 3  # 429, 200, 401
    assert "sent=1" in r.stdout and "failed=1" in r.stdout
    assert fake_tg.token not in everything and fake_tg.token.split(":")[1] not in everything
    assert secret not in everything
    delivered = [m.text for m in fake_tg.messages]
    assert len(delivered) == 2 and "bot***/sendMessage failed; key=***" in delivered[0]
    assert not any(fake_tg.token in t or secret in t for t in delivered)
