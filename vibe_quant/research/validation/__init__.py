"""Validation stage: re-run screening candidates with realistic execution and compare.

Modules (one job each):

* :mod:`.fill` — square-root market-impact fill model inside the Nautilus simulation, and the
  bar-feed actor that gives it the recent bars;
* :mod:`.latency` — latency presets (co-located 1 ms … retail 200 ms) and what they mean on bars;
* :mod:`.fees` — Binance USDⓈ-M VIP-tier fee table and fee model;
* :mod:`.presets` — the ``validation`` fidelity preset (registered on import);
* :mod:`.consistency` — screening vs validation degradation and the ``execution_sensitive`` flag;
* :mod:`.validate` — ``validate_sweep``: re-run a sweep's top candidates and store the results.
"""
