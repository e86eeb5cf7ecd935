"""Matching engine and account of the local exchange, without the server.

Expected numbers are worked out by hand in each test (Binance's fee, funding and isolated
liquidation formulas; brackets read from the shared real leverage-bracket file), and the real
replay test's expectation comes straight from the raw archive (sqlite3).
"""

from __future__ import annotations

import json

import pytest

from vibe_quant.exchange.clock import Replay
from vibe_quant.exchange.engine import Engine
from vibe_quant.exchange.market import MarketData
from vibe_quant.exchange.protocol import BinanceError
from vibe_quant.exchange.store import ExchangeStore
from vibe_quant.testing import shared_data_dir

from .oracle import START_MS, raw_bars, raw_funding

SYM = "BTCUSDT"
T = 1_738_022_459_999  # a bar close time used as fill stamp


@pytest.fixture(scope="module")
def market(dd_1m):
    return MarketData(dd_1m, [SYM], "1m")


@pytest.fixture
def eng(market, tmp_path):
    store = ExchangeStore(tmp_path / "x.db")
    e = Engine(store, market, starting_balance=10_000.0, default_leverage=20)
    e.last_price[SYM] = 100_000.0
    e.now_ms = T
    yield e
    store.close()


def bar(e: Engine, o, h, lo, c):
    with e.store.transaction():
        return e.walk_bar(SYM, o, h, lo, c, T)


def order(e: Engine, **p):
    return e.new_order({"symbol": SYM, **{k: str(v) for k, v in p.items()}})


def algo(e: Engine, **p):
    return e.new_algo_order(
        {"symbol": SYM, "algoType": "CONDITIONAL", **{k: str(v) for k, v in p.items()}}
    )


def trades(e: Engine):
    return e.store.trades(SYM)


def test_market_order_fills_at_last_price_with_taker_fee(eng):
    doc, ev = order(eng, side="BUY", type="MARKET", quantity="0.010", newClientOrderId="a1")
    assert doc["status"] == "NEW" and doc["clientOrderId"] == "a1"
    (t,) = trades(eng)
    assert (t.price, t.qty, t.maker) == (100_000.0, 0.010, False)
    assert t.commission == pytest.approx(0.010 * 100_000 * 0.0005)  # 0.5 USDT
    assert eng.wallet == pytest.approx(10_000 - 0.5)
    pos = eng.positions[SYM]
    assert pos.amt == 0.010 and pos.entry == 100_000.0
    assert pos.isolated_margin == pytest.approx(1000.0 / 20)  # notional / leverage
    kinds = [(x["e"], x.get("o", {}).get("x")) for x in ev]
    assert kinds == [
        ("ORDER_TRADE_UPDATE", "NEW"),
        ("ORDER_TRADE_UPDATE", "TRADE"),
        ("ACCOUNT_UPDATE", None),
    ]
    assert ev[1]["o"]["X"] == "FILLED" and ev[1]["o"]["L"] == "100000.00"


def test_limit_rests_then_fills_at_its_price_as_maker(eng):
    order(eng, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010", price="99000.0")
    assert trades(eng) == [] and len(eng.orders) == 1
    bar(eng, 100_000, 100_500, 99_500, 99_800)  # low above the limit: nothing
    assert trades(eng) == []
    bar(eng, 99_800, 100_100, 98_500, 99_500)  # path O→H→L crosses 99 000
    (t,) = trades(eng)
    assert (t.price, t.maker) == (99_000.0, True)
    assert t.commission == pytest.approx(0.010 * 99_000 * 0.0002)  # 0.198 USDT
    assert eng.orders == {}


def test_marketable_limit_fills_now_as_taker_and_gtx_is_refused(eng):
    with pytest.raises(BinanceError) as e:
        order(eng, side="BUY", type="LIMIT", timeInForce="GTX", quantity="0.010", price="100100.0")
    assert e.value.code == -5022
    order(eng, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010", price="100100.0")
    (t,) = trades(eng)
    assert (t.price, t.maker) == (100_000.0, False)


def test_bar_path_order_take_profit_on_the_way_up_then_stop_expires(eng):
    order(eng, side="BUY", type="MARKET", quantity="0.010")
    algo(
        eng,
        side="SELL",
        type="STOP_MARKET",
        quantity="0.010",
        triggerPrice="99500.0",
        reduceOnly="true",
        clientAlgoId="sl",
    )
    algo(
        eng,
        side="SELL",
        type="TAKE_PROFIT_MARKET",
        quantity="0.010",
        triggerPrice="100600.0",
        reduceOnly="true",
        clientAlgoId="tp",
    )
    ev = bar(eng, 100_000, 100_800, 99_000, 99_900)  # O→H hits the TP first, H→L the SL level
    ts = trades(eng)
    assert [(t.client_order_id, t.side, t.price) for t in ts[1:]] == [("tp", "SELL", 100_600.0)]
    assert ts[1].realized_pnl == pytest.approx(0.010 * (100_600 - 100_000))
    assert eng.positions[SYM].amt == 0
    algo_status = {x["o"]["caid"]: x["o"]["X"] for x in ev if x["e"] == "ALGO_UPDATE"}
    assert algo_status == {"tp": "FINISHED", "sl": "EXPIRED"}  # reduce-only, nothing left


def test_stop_fills_at_trigger_inside_the_bar_and_at_the_open_on_a_gap(eng):
    order(eng, side="BUY", type="MARKET", quantity="0.020")
    algo(
        eng,
        side="SELL",
        type="STOP_MARKET",
        quantity="0.010",
        triggerPrice="99500.0",
        reduceOnly="true",
        clientAlgoId="s1",
    )
    bar(eng, 100_000, 100_200, 99_400, 99_600)
    assert trades(eng)[-1].price == 99_500.0
    algo(
        eng,
        side="SELL",
        type="STOP_MARKET",
        quantity="0.010",
        triggerPrice="99000.0",
        reduceOnly="true",
        clientAlgoId="s2",
    )
    bar(eng, 98_700, 98_900, 98_500, 98_800)  # opens below the trigger: gap
    t = trades(eng)[-1]
    assert (t.client_order_id, t.price) == ("s2", 98_700.0)
    assert t.commission == pytest.approx(0.010 * 98_700 * 0.0005)


def test_stop_that_would_trigger_immediately_is_refused(eng):
    order(eng, side="BUY", type="MARKET", quantity="0.010")
    with pytest.raises(BinanceError) as e:
        algo(
            eng,
            side="SELL",
            type="STOP_MARKET",
            quantity="0.010",
            triggerPrice="100000.0",
            reduceOnly="true",
        )
    assert e.value.code == -2021


def test_reduce_only_refused_without_position_and_capped_at_execution(eng):
    with pytest.raises(BinanceError) as e:
        order(eng, side="SELL", type="MARKET", quantity="0.010", reduceOnly="true")
    assert e.value.code == -2022
    order(eng, side="BUY", type="MARKET", quantity="0.010")
    order(
        eng,
        side="SELL",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.030",
        price="100500.0",
        reduceOnly="true",
        newClientOrderId="ro",
    )
    ev = bar(eng, 100_000, 100_600, 99_900, 100_100)
    t = trades(eng)[-1]
    assert (t.client_order_id, t.qty, t.price) == ("ro", 0.010, 100_500.0)
    assert eng.positions[SYM].amt == 0
    assert [x["o"]["X"] for x in ev if x["e"] == "ORDER_TRADE_UPDATE"] == [
        "PARTIALLY_FILLED",
        "EXPIRED",
    ]


def test_margin_and_duplicate_client_id_and_algo_on_order_endpoint(eng):
    with pytest.raises(BinanceError) as e:  # 3 BTC × 100 000 / 20 = 15 000 > 10 000
        order(eng, side="BUY", type="MARKET", quantity="3.000")
    assert e.value.code == -2019
    order(
        eng,
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.010",
        price="90000.0",
        newClientOrderId="dup",
    )
    with pytest.raises(BinanceError) as e:
        order(
            eng,
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.010",
            price="90000.0",
            newClientOrderId="dup",
        )
    assert e.value.code == -4116
    with pytest.raises(BinanceError) as e:
        order(eng, side="SELL", type="STOP_MARKET", quantity="0.010", stopPrice="90000.0")
    assert e.value.code == -4120
    assert len(eng.store.all_orders()) == 1  # nothing of the refused requests was stored


def test_funding_payment_long_pays_short_receives(eng):
    order(eng, side="BUY", type="MARKET", quantity="0.010")
    w0 = eng.wallet
    with eng.store.transaction():
        ev = eng.settle_funding(SYM, 1_738_051_200_000, 0.0001, 101_000.0)
    pay = -0.010 * 101_000 * 0.0001  # −positionAmt × mark × rate = −0.101 USDT
    assert eng.wallet == pytest.approx(w0 + pay)
    assert ev[0]["a"]["m"] == "FUNDING_FEE" and ev[0]["E"] == 1_738_051_200_000
    (inc,) = eng.store.income(SYM, "FUNDING_FEE")
    assert inc.income == pytest.approx(pay)
    order(eng, side="SELL", type="MARKET", quantity="0.030")  # now short 0.020
    w1 = eng.wallet
    with eng.store.transaction():
        eng.settle_funding(SYM, 1_738_080_000_000, 0.0001, 101_000.0)
    assert eng.wallet - w1 == pytest.approx(0.020 * 101_000 * 0.0001)


def _btc_first_bracket():
    doc = json.loads(
        (shared_data_dir() / "binance-api" / "leverage_brackets_BTC_ETH_SOL.json").read_text()
    )
    info = doc["BTC/USDT:USDT"][0]["info"]
    return float(info["maintMarginRatio"]), float(info["cum"]), float(info["notionalCap"])


def test_isolated_liquidation_price_and_liquidation_fill(eng):
    mmr, cum, cap = _btc_first_bracket()
    order(eng, side="BUY", type="MARKET", quantity="0.100")
    q, ep, lev = 0.100, 100_000.0, 20
    assert q * ep < cap  # first bracket
    wb = q * ep / lev  # isolated margin 500 USDT
    lp = (wb + cum - q * ep) / (q * mmr - q)  # Binance one-way isolated formula, side +1
    (risk,) = eng.position_risk({"symbol": SYM})
    assert float(risk["liquidationPrice"]) == pytest.approx(lp, abs=0.1)
    assert float(risk["liquidationPrice"]) >= lp  # rounded towards the entry
    w0 = eng.wallet
    bar(eng, 99_000, 99_100, lp + 1.0, 99_000)  # low just above LP: nothing
    assert eng.positions[SYM].amt == q
    bar(eng, 99_000, 99_100, 94_000, 95_500)  # path reaches LP
    t = trades(eng)[-1]
    assert t.liquidation and t.client_order_id.startswith("autoclose-") and t.commission == 0
    # margin left at LP = maintenance margin (q·LP·mmr − cum) < liquidationFee × notional,
    # so Binance keeps all of it: the fill books exactly the bankruptcy price EP − WB/Q
    assert q * lp * mmr - cum < 0.012 * q * lp
    assert t.price == pytest.approx(ep - wb / q, abs=0.01)
    assert eng.wallet == pytest.approx(w0 - wb, abs=0.01)  # loss capped at the margin
    assert eng.positions[SYM].amt == 0


def test_replay_real_bars_stop_and_funding_match_the_archive(dd_1m, market, tmp_path):
    store = ExchangeStore(tmp_path / "r.db")
    eng = Engine(store, market)
    rp = Replay(market, store, eng, START_MS)
    bars = raw_bars(dd_1m, START_MS, 600)
    u, m = rp.step()  # first bar closes: the market order fills at its close
    assert m[0][1]["k"]["c"] == f"{bars[0][4]:.2f}" and m[0][1]["k"]["T"] == bars[0][0] + 59_999
    eng.new_order({"symbol": SYM, "side": "BUY", "type": "MARKET", "quantity": "0.010"})
    lo = min(b[3] for b in bars[1:300])
    trig = round(lo + 50.0, 1)  # crossed for the first time by some bar of the next 300
    eng.new_algo_order(
        {
            "symbol": SYM,
            "side": "SELL",
            "type": "STOP_MARKET",
            "algoType": "CONDITIONAL",
            "quantity": "0.010",
            "triggerPrice": f"{trig:.1f}",
            "reduceOnly": "true",
        }
    )
    k = next(i for i, b in enumerate(bars[1:], 1) if b[3] <= trig)
    exp_px = bars[k][1] if bars[k][1] <= trig else trig  # gap → open, else the trigger
    for _ in range(k):
        rp.step()
    t = store.trades(SYM)[-1]
    assert (t.side, t.time, t.price) == ("SELL", bars[k][0] + 59_999, exp_px)
    assert store.trades(SYM)[0].price == bars[0][4]
    store.close()


def test_replay_real_funding_settles_at_the_funding_time(dd_1m, market, tmp_path):
    store = ExchangeStore(tmp_path / "f.db")
    eng = Engine(store, market)
    rp = Replay(market, store, eng, START_MS)
    bars = raw_bars(dd_1m, START_MS, 500)
    rp.step()
    eng.new_order({"symbol": SYM, "side": "SELL", "type": "MARKET", "quantity": "0.010"})
    for _ in range(499):
        rp.step()
    fund = [f for f in raw_funding(dd_1m) if START_MS < f[0] < bars[-1][0]]
    assert len(fund) == 1 and fund[0][0] == START_MS + 8 * 3_600_000  # 08:00 UTC
    ft, rate = fund[0]
    mark = next(b[4] for b in reversed(bars) if b[0] + 60_000 <= ft)  # last close ≤ 08:00
    (inc,) = store.income(SYM, "FUNDING_FEE")
    assert inc.time == ft and inc.income == pytest.approx(0.010 * mark * rate)  # short
    fees = sum(t.commission for t in store.trades(SYM))
    assert eng.wallet == pytest.approx(10_000 - fees + inc.income)
    store.close()
