"""The one-pass ledger/trades replay (``trades.ledger_pass``) on hand-worked fill logs, its
exact ``round`` and the lazily built result lists.

Case A (pyramid add-on, partial close, a one-order flip, funding at a fill's instant) takes the
fill-by-fill walk; case B (open/close pairs, a liquidation clearance fee and an insurance
absorption, funding at an opening and at a closing instant) the numpy pairs path. Every
number below is worked out by hand from the rules of the module docstrings.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from vibe_quant.backtest.equity import EquityCurve, equity_curve, replay
from vibe_quant.backtest.ledger import FundingList, FundingPayment, round8
from vibe_quant.backtest.trades import Trade, build_trades, ledger_pass
from vibe_quant.strategy.base import Fill

START = 1_000.0


def _fill(ts, side, qty, price, fee, tag="signal", adj=0.0):
    return Fill(ts, side, qty, price, fee, tag, "TAKER", f"O-{ts}", adj)


def _pay(ts, amount):
    return FundingPayment(ts, 0.0, 0.0, 0.0, amount)


# long 2 @ 100, add 1 @ 130 (avg 110), sell 1 @ 140 (partial), sell 4 @ 120 (closes 2, opens a
# 2 short @ 120; its fee split 1:1), buy 2 @ 110 (take profit)
FILLS_A = [_fill(100, 1, 2.0, 100.0, 0.2), _fill(200, 1, 1.0, 130.0, 0.13),
           _fill(300, -1, 1.0, 140.0, 0.14), _fill(400, -1, 4.0, 120.0, 0.48, "flip"),
           _fill(600, 1, 2.0, 110.0, 0.22, "take_profit")]
# given out of time order: the pass sorts them; the 400 one precedes the fill at 400
PAYS_A = [_pay(500, 0.8), _pay(150, -1.5), _pay(400, 0.5)]


def test_walk_pyramid_partial_flip_funding():
    led = ledger_pass(FILLS_A, PAYS_A, START)
    # events: F100 P150 F200 F300 P400 F400 P500 F600
    np.testing.assert_array_equal(led.ts, [100, 150, 200, 300, 400, 400, 500, 600])
    np.testing.assert_allclose(led.balance, [999.8, 998.3, 998.17, 1028.03, 1028.53, 1048.05,
                                             1048.85, 1068.63], rtol=0, atol=1e-9)
    np.testing.assert_allclose(led.position, [2, 2, 3, 2, 2, -2, -2, 0], atol=1e-12)
    np.testing.assert_allclose(led.avg_price, [100, 100, 110, 110, 110, 120, 120, 0],
                               atol=1e-9)
    t1, t2 = led.trades
    assert (t1.entry_ts, t1.exit_ts, t1.side, t1.n_fills, t1.exit_reason) == (
        100, 400, "long", 4, "flip")
    assert t1.qty == 3.0 and t1.entry_price == 110.0
    assert t1.exit_price == 126.66666667  # (140 + 2 × 120) / 3, rounded to 1e-8
    assert t1.notional == pytest.approx(330.0)
    assert t1.realized_pnl == pytest.approx(50.0)  # 30 + 2 × 10
    assert t1.fees == pytest.approx(0.71)  # 0.2 + 0.13 + 0.14 + 0.48 / 2
    assert t1.funding == pytest.approx(-1.0)  # −1.5 + 0.5 (paid at the flip's instant)
    assert t1.net_pnl == pytest.approx(48.29)
    assert (t2.entry_ts, t2.exit_ts, t2.side, t2.n_fills, t2.exit_reason) == (
        400, 600, "short", 2, "take_profit")
    assert t2.qty == 2.0 and t2.entry_price == 120.0 and t2.exit_price == 110.0
    assert t2.realized_pnl == pytest.approx(20.0)
    assert t2.fees == pytest.approx(0.46)  # 0.24 + 0.22
    assert t2.funding == pytest.approx(0.8)
    assert t2.net_pnl == pytest.approx(20.34)
    assert led.open_trade is None
    assert led.fees == pytest.approx(1.17)
    # the cash identity: start + realized − fees + funding = last balance
    assert led.balance[-1] == pytest.approx(START + 70.0 - 1.17 - 0.2)


# long 1 @ 200 then liquidated at 190 (clearance fee 2.0 kept); short 0.5 @ 180, stopped at
# 185 (insurance fund absorbed 1.0). Funding at 100 (the opening instant: before the fill, no
# trade open), at 200 and at 300 (the closing instant: before the close, in the trade).
FILLS_B = [_fill(100, 1, 1.0, 200.0, 0.1), _fill(300, -1, 1.0, 190.0, 0.095, "liquidation",
                                                 -2.0),
           _fill(400, -1, 0.5, 180.0, 0.09), _fill(500, 1, 0.5, 185.0, 0.0925, "stop_loss", 1.0)]
PAYS_B = [_pay(100, -9.0), _pay(200, -0.3), _pay(300, -0.2)]


def test_pairs_liquidation_and_funding_instants():
    led = ledger_pass(FILLS_B, PAYS_B, START)
    np.testing.assert_array_equal(led.ts, [100, 100, 200, 300, 300, 400, 500])
    # P −9 | F −0.1 | P −0.3 | P −0.2 | F −(0.095 + 2.0) − 10 | F −0.09 | F −(0.0925 − 1) − 2.5
    np.testing.assert_allclose(led.balance, [991.0, 990.9, 990.6, 990.4, 978.305, 978.215,
                                             976.6225], rtol=0, atol=1e-9)
    np.testing.assert_allclose(led.position, [0, 1, 1, 1, 0, -0.5, 0], atol=1e-12)
    np.testing.assert_allclose(led.avg_price, [0, 200, 200, 200, 0, 180, 0], atol=1e-9)
    t1, t2 = led.trades
    assert (t1.side, t1.exit_reason, t1.n_fills, t1.entry_price, t1.exit_price) == (
        "long", "liquidation", 2, 200.0, 190.0)
    assert t1.realized_pnl == pytest.approx(-10.0)
    assert t1.fees == pytest.approx(0.195)
    assert t1.liquidation_fee == pytest.approx(2.0) and t1.insurance_fund_absorbed == 0.0
    assert t1.funding == pytest.approx(-0.5)
    assert t1.net_pnl == pytest.approx(-10.0 - 0.195 - 2.0 - 0.5)
    assert (t2.side, t2.exit_reason, t2.entry_price, t2.exit_price) == (
        "short", "stop_loss", 180.0, 185.0)
    assert t2.realized_pnl == pytest.approx(-2.5)
    assert t2.insurance_fund_absorbed == pytest.approx(1.0) and t2.liquidation_fee == 0.0
    assert t2.funding == 0.0
    assert t2.net_pnl == pytest.approx(-2.5 - 0.1825 + 1.0)
    # replay() is the same pass; build_trades() its trades
    assert [t.to_dict() for t in build_trades(FILLS_B, PAYS_B)[0]] == [t1.to_dict(),
                                                                     t2.to_dict()]
    ts, bal, _, _ = replay(FILLS_B, PAYS_B, START)
    np.testing.assert_array_equal(bal, led.balance)


def test_equity_curve_marks_each_close():
    # closes at 50..550; equity = balance + position × (close − average) of the last event at
    # or before each close
    px = {50: 200, 100: 201, 150: 202, 200: 203, 250: 204, 300: 195, 350: 190, 400: 182,
          450: 181, 500: 186, 550: 185}
    close_ts = np.array(list(px), dtype=np.int64)
    c = equity_curve(close_ts, np.array(list(px.values()), dtype=float), FILLS_B, PAYS_B,
                     START, 75)
    by_ts = dict(zip(c.ts.tolist(), c.equity.tolist()))
    assert c.ts[0] == 75 and c.equity[0] == START and 50 not in by_ts
    assert by_ts[100] == pytest.approx(990.9 + 1 * (201 - 200))
    assert by_ts[250] == pytest.approx(990.6 + 1 * (204 - 200))  # after the funding at 200
    assert by_ts[300] == pytest.approx(978.305)  # the liquidation at 300: flat
    assert by_ts[450] == pytest.approx(978.215 - 0.5 * (181 - 180))
    assert by_ts[550] == pytest.approx(976.6225)
    np.testing.assert_allclose(c.position, [0, 1, 1, 1, 1, 0, 0, -0.5, -0.5, 0, 0],
                               atol=1e-12)


def test_daily_skips_days_without_bars():
    day = 86_400 * 10**9
    t0 = 19_700 * day + 3600 * 10**9  # 01:00 of a day
    # bars of day 0 (one closing at the next midnight), none on day 1, two on day 2
    ts = np.array([t0, t0 + 3600 * 10**9, 19_701 * day, 19_702 * day + 60, 19_703 * day])
    eq = np.array([100.0, 101, 102, 103, 104])
    d = EquityCurve(ts, eq, eq, np.zeros(5), False).daily()
    days = (d.index.asi8 // day).tolist()
    assert days == [19_699, 19_700, 19_702]
    assert d.to_numpy().tolist() == [100.0, 102.0, 104.0]


def test_round8_is_pythons_round():
    rng = np.random.default_rng(7)
    x = np.r_[rng.uniform(1e4, 1e5, 2000), rng.standard_normal(2000) * 10,
              (np.arange(2000) + 0.5) / 1e8,  # decimal ties
              [0.0, -0.0, -1e-12, 2.5e-8, -2.5e-8, 42849.49999999999, 1e300, np.nan, np.inf]]
    got = round8(x)
    want = [round(v, 8) for v in x.tolist()]
    for g, w in zip(got, want):
        assert (g == w and math.copysign(1, g) == math.copysign(1, w)) or (g != g and w != w)


def test_lazy_lists_behave_as_lists():
    pays = FundingList(columns=dict(ts=np.array([5, 9]), qty=np.array([0.5, -0.5]),
                                    price=np.array([100.0, 101.0]),
                                    rate=np.array([1e-4, 2e-4]), amount=[-0.005, 0.0101]))
    want = [FundingPayment(5, 0.5, 100.0, 1e-4, -0.005),
            FundingPayment(9, -0.5, 101.0, 2e-4, 0.0101)]
    assert len(pays) == 2 and pays.column("amount") == [-0.005, 0.0101]
    assert pays == want and want == pays and pays[-1] == want[-1]
    assert pays != want[::-1] and pays != want[:1]
    assert pickle.loads(pickle.dumps(pays)) == want
    assert FundingList([]) == [] and not FundingList([])
    trades = ledger_pass(FILLS_B, PAYS_B, START).trades
    assert len(trades) == 2 and trades.column("exit_reason") == ["liquidation", "stop_loss"]
    assert all(isinstance(t, Trade) for t in trades) and trades != []
