"""Validation stage: re-run screening candidates with realistic execution and compare.

Modules (one job each):

* :mod:`.consistency` — screening vs validation degradation and the ``execution_sensitive`` flag;
* :mod:`.validate` — ``validate_sweep``: re-run a sweep's top candidates with the ``validation``
  fidelity preset and store the results.

The execution models themselves (square-root fill model and bar feed, latency presets, VIP-tier
fees, and the ``validation`` preset built from ``ValidationSettings``) are
:mod:`vibe_quant.backtest.models`.
"""
