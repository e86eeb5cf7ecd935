"""The exchange process over its real protocol: HMAC signatures, Binance error documents,
klines without look-ahead, market and user-data WebSocket messages, restart safety."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from vibe_quant.exchange.client import BinanceApiError, FuturesRestClient
from vibe_quant.exchange.protocol import sign
from vibe_quant.testing.exchange import TEST_API_KEY, TEST_API_SECRET, LocalExchange

from .oracle import MIN, START_MS, published_klines, raw_bars


@pytest.fixture(scope="module")
def ex(dd_1m, tmp_path_factory):
    db = tmp_path_factory.mktemp("srv") / "state.db"
    with LocalExchange(dd_1m, state_db=db, start="paused") as x:
        x.admin("POST", "/admin/step", n=5)
        yield x


def _raw(ex, method, path, query, key=TEST_API_KEY):
    headers = {"X-MBX-APIKEY": key} if key is not None else {}
    return httpx.request(method, f"{ex.rest}{path}?{query}", headers=headers)


def test_signature_good_and_bad(ex):
    ts = int(time.time() * 1000)
    q = f"timestamp={ts}&recvWindow=5000"
    good = _raw(ex, "GET", "/fapi/v2/account", f"{q}&signature={sign(TEST_API_SECRET, q)}")
    assert good.status_code == 200 and good.json()["assets"][0]["asset"] == "USDT"
    cases = [
        (f"{q}&signature={sign('not-the-secret', q)}", TEST_API_KEY, 400, -1022),
        (q, TEST_API_KEY, 400, -1102),  # no signature
        (
            f"recvWindow=5000&signature={sign(TEST_API_SECRET, 'recvWindow=5000')}",
            TEST_API_KEY,
            400,
            -1102,
        ),  # no timestamp
        (f"{q}&signature={sign(TEST_API_SECRET, q)}", None, 401, -2014),  # no key header
        (f"{q}&signature={sign(TEST_API_SECRET, q)}", "other-key", 401, -2015),
    ]
    stale = f"timestamp={ts - 60_000}&recvWindow=5000"
    cases.append((f"{stale}&signature={sign(TEST_API_SECRET, stale)}", TEST_API_KEY, 400, -1021))
    tampered = q.replace("5000", "6000")
    cases.append((f"{tampered}&signature={sign(TEST_API_SECRET, q)}", TEST_API_KEY, 400, -1022))
    for query, key, status, code in cases:
        r = _raw(ex, "GET", "/fapi/v2/account", query, key)
        assert (r.status_code, r.json()["code"]) == (status, code), query
        assert set(r.json()) == {"code", "msg"}


def test_error_documents(ex):
    c = ex.client()

    def code(method, path, **p):
        with pytest.raises(BinanceApiError) as e:
            c.request(method, path, p)
        return e.value.status, e.value.code, e.value.msg

    assert code("GET", "/fapi/v1/order", symbol="BTCUSDT", origClientOrderId="nope") == (
        400,
        -2013,
        "Order does not exist.",
    )
    assert code("DELETE", "/fapi/v1/order", symbol="BTCUSDT", origClientOrderId="nope")[1] == -2011
    assert (
        code(
            "POST",
            "/fapi/v1/order",
            symbol="BTCUSDT",
            side="SELL",
            type="STOP_MARKET",
            quantity="0.001",
            stopPrice="1000.0",
        )[1]
        == -4120
    )
    assert (
        code("POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="50")[
            1
        ]
        == -2019
    )
    assert (
        code("POST", "/fapi/v1/order", symbol="NOPEUSDT", side="BUY", type="MARKET", quantity="1")[
            1
        ]
        == -1121
    )
    assert code("GET", "/fapi/v1/algoOrder", clientAlgoId="nope")[1] == -2013
    assert code("POST", "/fapi/v1/marginType", symbol="BTCUSDT", marginType="ISOLATED")[1] == -4046
    c.request(
        "POST",
        "/fapi/v1/order",
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.001",
            "price": "50000.0",
            "newClientOrderId": "keep-1",
        },
    )
    assert code(
        "POST",
        "/fapi/v1/order",
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.001",
        price="50000.0",
        newClientOrderId="keep-1",
    )[:2] == (400, -4116)
    assert (
        code(
            "POST",
            "/fapi/v1/order",
            symbol="BTCUSDT",
            side="BUY",
            type="MARKET",
            quantity="0.001",
            newClientOrderId="bad id!",
        )[1]
        == -4015
    )
    c.request("DELETE", "/fapi/v1/allOpenOrders", {"symbol": "BTCUSDT"})
    r = httpx.get(f"{ex.rest}/fapi/v1/nothing")
    assert r.status_code == 404 and set(r.json()) == {"code", "msg"}


def test_klines_history_only_before_the_cursor(ex, dd_1m):
    st = ex.admin("GET", "/admin/state")["replay"]
    now = st["cursor_ms"]
    rows = httpx.get(
        f"{ex.rest}/fapi/v1/klines", params={"symbol": "BTCUSDT", "interval": "1m", "limit": 50}
    ).json()
    assert len(rows) == 50
    assert rows[-1][0] + 60_000 == now  # the newest CLOSED bar, nothing later
    want = raw_bars(dd_1m, rows[0][0], 50)
    assert [(r[0], float(r[1]), float(r[2]), float(r[3]), float(r[4])) for r in rows] == want
    assert all(r[6] == r[0] + 59_999 for r in rows) and all(len(r) == 12 for r in rows)
    later = httpx.get(
        f"{ex.rest}/fapi/v1/klines",
        params={"symbol": "BTCUSDT", "interval": "1m", "startTime": now, "limit": 10},
    ).json()
    assert later == []


def _ohlcv(row) -> tuple:
    return tuple(float(x) for x in row[1:6])


def test_longer_klines_are_aggregated_like_binance_publishes_them(dd_1m, tmp_path):
    """A 1m replay serves 5m and 1h klines (REST and stream) equal to Binance's own published
    5m / 1h klines of the same bars; a 5m kline arrives right after the step that closes its
    last 1m bar, never earlier; an interval that is not a whole multiple is -1120."""
    pub5 = published_klines("BTCUSDT", "5m", "2025-01")
    pub1h = published_klines("BTCUSDT", "1h", "2025-01")
    with LocalExchange(dd_1m, state_db=tmp_path / "agg.db", start="paused") as x:
        x.admin("POST", "/admin/step", n=7 * 60 + 3)  # 07:03 on 2025-01-28
        now = x.admin("GET", "/admin/state")["replay"]["cursor_ms"]
        assert now == START_MS + 423 * MIN
        get = lambda **p: httpx.get(f"{x.rest}/fapi/v1/klines", params={"symbol": "BTCUSDT", **p})  # noqa: E731
        r5 = get(interval="5m", limit=1500).json()
        assert r5[-1][0] == START_MS + 415 * MIN  # 07:00–07:05 is not closed yet
        assert r5[-1][6] == r5[-1][0] + 5 * MIN - 1
        # the archive's 1m bars start 2025-01-27 13:02: the 13:00 bucket holds 3 of its 5
        # bars (aggregated from what there is); every later 5m bar is there and is Binance's
        assert r5[0][0] == 1_737_982_800_000 and _ohlcv(r5[0]) != pub5[r5[0][0]]
        assert len(r5) == (r5[-1][0] - r5[0][0]) // (5 * MIN) + 1 > 200
        assert [_ohlcv(r) for r in r5[1:]] == [pub5[r[0]] for r in r5[1:]]
        r1h = get(interval="1h", limit=30).json()
        assert r1h[-1][0] == START_MS + 6 * 60 * MIN and len(r1h) == 18  # 01-27 13:00 on
        assert [_ohlcv(r) for r in r1h[1:]] == [pub1h[r[0]] for r in r1h[1:]]
        for bad in ("7m", "1w", "30s"):
            r = get(interval=bad)
            assert r.status_code == 400 and r.json()["code"] == -1120, bad
        with connect(x.ws) as mkt:
            mkt.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@kline_5m"], "id": 1}))
            assert json.loads(mkt.recv(timeout=10)) == {"result": None, "id": 1}
            x.admin("POST", "/admin/step", n=1)  # 07:04 closes: no 5m kline yet
            with pytest.raises(TimeoutError):
                mkt.recv(timeout=0.5)
            x.admin("POST", "/admin/step", n=1)  # 07:05 closes the 07:00 bucket
            k = json.loads(mkt.recv(timeout=10))["k"]
            assert (k["t"], k["T"], k["i"], k["x"]) == (
                START_MS + 420 * MIN,
                START_MS + 425 * MIN - 1,
                "5m",
                True,
            )
            assert tuple(float(k[f]) for f in "ohlcv") == pub5[k["t"]]
            x.admin("POST", "/admin/step", n=5)
            k2 = json.loads(mkt.recv(timeout=10))["k"]
            assert k2["t"] == START_MS + 425 * MIN
            assert tuple(float(k2[f]) for f in "ohlcv") == pub5[k2["t"]]


def test_market_and_user_streams(ex, dd_1m):
    c = ex.client()
    key = c.request("POST", "/fapi/v1/listenKey", signed=False)["listenKey"]
    with connect(ex.ws) as mkt, connect(f"{ex.ws}?listenKey={key}") as usr:
        mkt.send(
            json.dumps(
                {
                    "method": "SUBSCRIBE",
                    "params": ["btcusdt@kline_1m", "btcusdt@markPrice@1s"],
                    "id": 7,
                }
            )
        )
        assert json.loads(mkt.recv(timeout=10)) == {"result": None, "id": 7}
        cursor = ex.admin("POST", "/admin/step", n=1)["cursor_ms"]
        k = json.loads(mkt.recv(timeout=10))
        mp = json.loads(mkt.recv(timeout=10))
        (b,) = raw_bars(dd_1m, cursor - 60_000, 1)
        assert k["e"] == "kline" and "stream" not in k  # raw event, no wrapper
        assert k["k"]["x"] is True and k["k"]["t"] == b[0] and k["k"]["T"] == b[0] + 59_999
        assert [float(k["k"][f]) for f in "ohlc"] == list(b[1:])
        assert mp["e"] == "markPriceUpdate" and float(mp["p"]) == b[4]
        assert mp["T"] % (8 * 3_600_000) == 0 and mp["T"] > cursor - 1
        c.request(
            "POST",
            "/fapi/v1/order",
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "MARKET",
                "quantity": "0.002",
                "newClientOrderId": "u-1",
            },
        )
        got = [json.loads(usr.recv(timeout=10)) for _ in range(3)]
        assert [(g["e"], g["o"]["X"]) if "o" in g else (g["e"], g["a"]["m"]) for g in got] == [
            ("ORDER_TRADE_UPDATE", "NEW"),
            ("ORDER_TRADE_UPDATE", "FILLED"),
            ("ACCOUNT_UPDATE", "ORDER"),
        ]
        fill = got[1]["o"]
        assert fill["c"] == "u-1" and float(fill["L"]) == b[4] and fill["m"] is False
        assert float(fill["n"]) == pytest.approx(0.002 * b[4] * 0.0005, abs=1e-8)
        assert got[2]["a"]["P"][0]["pa"] == "0.002" and got[2]["a"]["P"][0]["mt"] == "isolated"
    c.request("DELETE", "/fapi/v1/listenKey", {"listenKey": key}, signed=False)
    with pytest.raises(InvalidStatus):  # the deleted key is refused at the handshake
        connect(f"{ex.ws}?listenKey={key}").close()


def test_state_survives_a_crash_and_resumes_the_cursor(dd_1m, tmp_path):
    db = tmp_path / "crash.db"
    x = LocalExchange(dd_1m, state_db=db, start="paused").start()
    try:
        c = x.client()
        x.admin("POST", "/admin/step", n=3)
        c.request(
            "POST",
            "/fapi/v1/order",
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.010"},
        )
        c.request(
            "POST",
            "/fapi/v1/algoOrder",
            {
                "symbol": "BTCUSDT",
                "side": "SELL",
                "type": "STOP_MARKET",
                "algoType": "CONDITIONAL",
                "quantity": "0.010",
                "triggerPrice": "90000.0",
                "reduceOnly": "true",
                "clientAlgoId": "sl-1",
            },
        )
        c.request(
            "POST",
            "/fapi/v1/order",
            {
                "symbol": "BTCUSDT",
                "side": "SELL",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.010",
                "price": "150000.0",
                "reduceOnly": "true",
                "newClientOrderId": "tp-1",
            },
        )
        key = c.request("POST", "/fapi/v1/listenKey", signed=False)["listenKey"]
        x.admin("POST", "/admin/step", n=7)
        before = x.admin("GET", "/admin/state")
        trades_before = c.request("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
    finally:
        x.kill()  # SIGKILL: no shutdown path runs
    y = LocalExchange(dd_1m, state_db=db, start="paused").start()
    try:
        after = y.admin("GET", "/admin/state")
        for k in (
            "replay",
            "wallet_balance",
            "positions",
            "open_orders",
            "open_algo_orders",
            "counts",
        ):
            a, b = after[k], before[k]
            if k == "replay":
                a = {kk: v for kk, v in a.items() if kk != "paused"}
                b = {kk: v for kk, v in b.items() if kk != "paused"}
            assert a == b, k
        assert after["replay"]["cursor_ms"] == START_MS + 10 * 60_000
        c2 = y.client()
        assert c2.request("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"}) == trades_before
        assert c2.request("PUT", "/fapi/v1/listenKey", {"listenKey": key}, signed=False)
        with pytest.raises(BinanceApiError) as e:  # still open after the restart: refused
            c2.request(
                "POST",
                "/fapi/v1/order",
                {
                    "symbol": "BTCUSDT",
                    "side": "SELL",
                    "type": "LIMIT",
                    "timeInForce": "GTC",
                    "quantity": "0.010",
                    "price": "150000.0",
                    "reduceOnly": "true",
                    "newClientOrderId": "tp-1",
                },
            )
        assert e.value.code == -4116
        nxt = y.admin("POST", "/admin/step", n=1)
        assert nxt["cursor_ms"] == START_MS + 11 * 60_000
    finally:
        y.stop()


def test_client_repr_hides_secret():
    c = FuturesRestClient("http://127.0.0.1:9", "k-visible", "s-hidden")
    assert "s-hidden" not in repr(c) and "s-hidden" not in str(vars(c).get("base_url"))
    c.close()
