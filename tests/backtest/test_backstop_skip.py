"""Screening runs leave Nautilus's backstop liquidation check off where the isolated-LP guard
provably fills first (issue 15: the check costs ≈ 3/4 of a run that is always in the market);
fills must equal a run with the backstop on, and a run whose balance falls below the isolated
margin is re-run with it on."""

from __future__ import annotations

import pytest

from vibe_quant.backtest.ledger import FundingPayment
from vibe_quant.backtest.marketdata import load_market_data
from vibe_quant.backtest.run import BacktestSession, backstop_could_fire, to_ns
from vibe_quant.strategy.base import Fill

START, END = "2024-01-01", "2024-03-31"


def _fill(ts, side, qty, price, fee=0.0, tag="signal"):
    return Fill(
        ts=ts,
        side=side,
        qty=qty,
        price=price,
        commission=fee,
        tag=tag,
        liquidity="TAKER",
        order_id=f"O-{ts}",
    )


def test_precondition_replays_the_balance_against_the_isolated_margin():
    # long 1 BTC at 30,000 with leverage 3: isolated margin 10,000 USDT.
    fills = [_fill(1, 1, 1.0, 30_000.0, fee=15.0), _fill(5, -1, 1.0, 31_000.0, fee=15.5)]
    # balance 10,100 - 15 fee = 10,085 >= 10,000: the guard is first
    assert not backstop_could_fire(fills, [], 10_100.0, 3.0)
    # balance 10,010 - 15 = 9,995 < 10,000 right after the entry
    assert backstop_could_fire(fills, [], 10_010.0, 3.0)
    # funding of -90 USDT while open takes 10,085 to 9,995 < 10,000
    pay = FundingPayment(ts=3, qty=1.0, price=30_000.0, rate=0.003, amount=-90.0)
    assert backstop_could_fire(fills, [pay], 10_100.0, 3.0)
    # the same payment after the close (ts 6) does not matter
    late = FundingPayment(ts=6, qty=0.0, price=31_000.0, rate=0.003, amount=-90.0)
    assert not backstop_could_fire(fills, [late], 10_100.0, 3.0)
    # a losing flip to short 1 BTC at 29,000: -1,000 realized, margin 29,000/3 = 9,666.67
    flip = [_fill(1, 1, 1.0, 30_000.0), _fill(5, -1, 2.0, 29_000.0)]
    assert not backstop_could_fire(flip, [], 10_700.0, 3.0)  # 9,700 >= 9,666.67
    assert backstop_could_fire(flip, [], 10_600.0, 3.0)  # 9,600 < 9,666.67 (entry was fine)


@pytest.mark.parametrize("yaml_name", ["ema_cross", "bollinger_breakout"])
def test_fills_equal_a_backstop_on_run(real_data_dir, yaml_name):
    from vibe_quant.strategy.compiler import compile_strategy

    cs = compile_strategy(f"strategies/{yaml_name}.yaml")
    md = load_market_data(
        real_data_dir,
        "BTCUSDT",
        "5m",
        to_ns(START) - cs.warmup_bars * 300 * 10**9,
        to_ns(END, end=True),
    )
    fast = BacktestSession(md, trade_start_ns=to_ns(START), leverage=cs.leverage())
    assert fast.backstop is False
    on = BacktestSession(md, trade_start_ns=to_ns(START), leverage=cs.leverage())
    on.backstop = True  # Nautilus's liquidation check on, as before issue 15
    try:
        a = fast.run(cs, {})
    finally:
        fast.dispose()
    try:
        b = on.run(cs, {})
    finally:
        on.dispose()
    assert fast.backstop_reruns == 0 and len(a.fills) > 100
    assert a.fills == b.fills
    assert a.engine_balance == b.engine_balance


def test_a_run_that_breaks_the_precondition_is_rerun_with_the_backstop(real_data_dir, monkeypatch):
    import vibe_quant.backtest.run as R
    from vibe_quant.strategy.compiler import compile_strategy

    cs = compile_strategy("strategies/ema_cross.yaml")
    md = load_market_data(
        real_data_dir,
        "BTCUSDT",
        "5m",
        to_ns(START) - cs.warmup_bars * 300 * 10**9,
        to_ns("2024-01-31"),
    )
    monkeypatch.setattr(R, "backstop_could_fire", lambda *a: True)
    s = BacktestSession(md, trade_start_ns=to_ns(START), leverage=cs.leverage())
    try:
        r = s.run(cs, {})
        assert s.backstop_reruns == 1 and s.backstop is False and len(r.fills) > 10
    finally:
        s.dispose()
