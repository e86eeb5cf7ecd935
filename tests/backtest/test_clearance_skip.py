"""Screening runs start with the engine's own fill model and keep the Python clearance model
(``LiquidationFillModel``, which prices liquidation orders only) for runs in which a liquidation
filled (issue 15: the engine calls a Python fill model on every fill). Fills must equal a run
with the clearance model installed from the start: a run without a liquidation is not re-run,
one with a liquidation is re-run with it (``clearance_reruns``) and charges the clearance fee
worked out by hand in ``test_liquidation_clearance.py``."""

from __future__ import annotations

from vibe_quant.backtest.run import BacktestSession, to_ns

from .strategies import AllInLong


def _both(md, spec, params, *, leverage, balance=10_000.0, start):
    """(result, clearance_reruns) of a default session and the result of one whose clearance
    model is installed from the start."""
    out = []
    for forced in (False, True):
        s = BacktestSession(md, trade_start_ns=to_ns(start), leverage=leverage,
                            starting_balance=balance)
        assert s.clearance is False  # screening: no preset fill model to wrap
        s.clearance = forced
        try:
            out.append((s.run(spec, params), s.clearance_reruns))
        finally:
            s.dispose()
    return out


def test_a_run_without_liquidation_keeps_the_engine_model(btc_2024):
    from vibe_quant.strategy.compiler import compile_strategy

    cs = compile_strategy("strategies/ema_cross.yaml")
    (a, reruns), (b, _) = _both(btc_2024.slice(None, to_ns("2024-03-31")), cs, {},
                                leverage=cs.leverage(), start="2024-01-01")
    assert reruns == 0 and len(a.fills) > 100
    assert "liquidation" not in {f.tag for f in a.fills}
    assert a.fills == b.fills
    assert a.engine_balance == b.engine_balance


def test_a_liquidated_run_is_rerun_with_the_clearance_model(btc_2024):
    # the 20× all-in long of test_liquidation_clearance.py: liquidated 2024-01-12/13
    md = btc_2024.slice(None, to_ns("2024-01-14"))
    (a, reruns), (b, forced_reruns) = _both(md, AllInLong, {"frac": 0.99}, leverage=20,
                                            balance=2520.0, start="2024-01-12T16:00")
    assert reruns == 1 and forced_reruns == 0
    assert [t.exit_reason for t in a.trades] == ["liquidation"]
    # the clearance fee is charged (the engine's own model would fill at the LP and keep it)
    assert a.trades[0].liquidation_fee > 0
    assert a.fills == b.fills
    assert a.engine_balance == b.engine_balance
    assert abs(a.reconciliation_error) < 1e-6


def test_validation_presets_always_install_the_clearance_model(btc_2024):
    from vibe_quant.backtest.models.presets import resolve_preset

    s = BacktestSession(btc_2024.slice(None, to_ns("2024-01-02")),
                        trade_start_ns=to_ns("2024-01-01"), mode=resolve_preset("validation"))
    assert s.clearance is True
