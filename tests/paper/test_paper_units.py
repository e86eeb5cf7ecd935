"""Fast checks of the paper-trading plumbing: key-file permissions, client-order-id roles,
venue URLs, ``--param`` parsing, the journal's write-ahead semantics, and CLI user errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vibe_quant.core.paths import DataDir
from vibe_quant.paper import control, credentials
from vibe_quant.paper.node import venue_urls
from vibe_quant.paper.strategy import role_of
from vibe_quant.store import paper_sql as Q
from vibe_quant.store.state import StateStore


def test_key_file_must_be_owner_only(tmp_path):
    f = tmp_path / "keys"
    f.write_text("AKEY123\nSECRET456\n")
    os.chmod(f, 0o644)
    with pytest.raises(credentials.CredentialError, match="chmod 600"):
        credentials.load(f)
    os.chmod(f, 0o600)
    c = credentials.load(f)
    assert (c.key, c.secret) == ("AKEY123", "SECRET456")
    assert "AKEY" not in repr(c) and "SECRET" not in repr(c)
    f.write_text("key=K2\nsecret = S2\n")
    assert credentials.load(f).secrets == ("K2", "S2")
    with pytest.raises(credentials.CredentialError, match="VIBE_QUANT_BINANCE_API_KEY"):
        credentials.load(None, env={})


def test_roles_and_urls():
    assert role_of("signal", "MARKET", False) == "entry"
    assert role_of("signal", "MARKET", True) == "exit"
    assert role_of("stop_loss", "STOP_MARKET", True) == "stop"
    assert role_of("stop_loss", "MARKET", True) == "exit"
    assert role_of("take_profit", "LIMIT", True) == "take_profit"
    assert role_of("liquidation", "STOP_MARKET", True) == "guard"
    assert venue_urls("http://127.0.0.1:8090/") == (
        "http://127.0.0.1:8090",
        "ws://127.0.0.1:8090/ws",
    )
    with pytest.raises(ValueError, match="neither"):
        venue_urls("ftp://x")
    assert control.parse_params(["ema_fast.period=5", "x=0.5", "s=a"]) == {
        "ema_fast.period": 5,
        "x": 0.5,
        "s": "a",
    }


def test_intent_is_written_once_and_fills_merge(tmp_path):
    dd = DataDir(tmp_path).ensure()
    with StateStore.open(dd) as st:
        rid = Q.create_run(
            st.conn,
            strategy_name="s",
            strategy_yaml="y",
            symbol="BTCUSDT",
            interval="5m",
            params={"a": 1},
            leverage=3,
            exchange="testnet",
            rest_url="r",
            ws_url="w",
            trader_id="T",
            strategy_id="VQ-001",
            log_path="l",
        )
        kw = dict(
            role="entry",
            tag="signal",
            bar_ns=1,
            side=1,
            qty=0.01,
            order_type="MARKET",
            price=None,
            reduce_only=False,
        )
        assert Q.write_intent(st.conn, rid, client_order_id="VQP1-1-E0", **kw)
        assert not Q.write_intent(st.conn, rid, client_order_id="VQP1-1-E0", **kw)
        # the venue sync journals a trade first; the child's report then adds tag and bar
        assert Q.record_fill(
            st.conn,
            rid,
            trade_id=7,
            ts_ns=5,
            side=1,
            qty=0.01,
            price=100.0,
            commission=0.0005,
            source="venue",
            realized_pnl=0.0,
        )
        assert not Q.record_fill(
            st.conn,
            rid,
            trade_id=7,
            ts_ns=5,
            side=1,
            qty=0.01,
            price=100.0,
            commission=0.0005,
            source="child",
            tag="signal",
            bar_ns=300,
        )
        (f,) = Q.fills(st.conn, rid)
        assert (f["source"], f["tag"], f["bar_ns"]) == ("venue", "signal", 300)
        assert Q.run(st.conn, rid)["params"] == {"a": 1}


def test_cli_user_errors_are_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBE_QUANT_BINANCE")}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "vibe_quant",
            "paper",
            "start",
            "strategies/ema_cross.yaml",
            "--symbol",
            "BTCUSDT",
            "--exchange",
            "http://127.0.0.1:9",
            "--data-dir",
            str(tmp_path),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("error: no Binance API key")
    r = subprocess.run(
        [sys.executable, "-m", "vibe_quant", "paper", "status", "42", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert (
        r.returncode == 1
        and r.stderr.strip() == "error: no paper run 42: see `vibe-quant paper list`"
    )
