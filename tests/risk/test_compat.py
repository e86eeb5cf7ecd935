"""Breakers off by default and inert when they never trip; identical re-runs after reset()."""

from __future__ import annotations

from vibe_quant.backtest.run import BacktestSession, run_backtest, to_ns

from .strategies import CrossFlip, StubbornLong


def test_off_by_default_and_inert_when_not_tripping(btc_2024h1):
    kw = dict(data=btc_2024h1, leverage=1, params={"qty": 0.05})
    base = run_backtest(CrossFlip, "BTCUSDT", "2024-04-01", "2024-04-20", **kw)
    empty = run_backtest(CrossFlip, "BTCUSDT", "2024-04-01", "2024-04-20", risk={}, **kw)
    loose = run_backtest(CrossFlip, "BTCUSDT", "2024-04-01", "2024-04-20",
                         risk={"max_drawdown": 0.9, "daily_loss": 0.9, "max_exposure": 100,
                               "max_positions": 10, "portfolio_max_drawdown": 0.9,
                               "consecutive_losses": 10_000, "cooldown_minutes": 5}, **kw)
    assert base.risk_events == [] and empty.risk_events == [] and loose.risk_events == []
    assert base.fills == empty.fills == loose.fills
    assert base.engine_balance == loose.engine_balance
    assert len(base.orders) == len(loose.orders) > 0


def test_session_rerun_is_identical(btc_2024h1):
    md = btc_2024h1.slice(to_ns("2024-03-13"), to_ns("2024-05-01"))
    s = BacktestSession(md, trade_start_ns=to_ns("2024-03-14"), leverage=2,
                        risk={"max_drawdown": 0.1})
    try:
        a = s.run(StubbornLong, {"frac": 1.8})
        b = s.run(StubbornLong, {"frac": 1.8})  # engine.reset(): the monitor is rebuilt
    finally:
        s.dispose()
    def strip(fills):  # client order ids keep counting after reset()
        return [(f.ts, f.side, f.qty, f.price, f.commission, f.tag) for f in fills]

    assert a.risk_events and a.risk_events == b.risk_events
    assert strip(a.fills) == strip(b.fills) and a.engine_balance == b.engine_balance
    assert a.risk_blocked_entries == b.risk_blocked_entries
