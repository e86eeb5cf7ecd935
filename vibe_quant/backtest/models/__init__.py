"""Execution models of the simulated venue, and the fidelity presets built from them.

* :mod:`.params` — constants (latency presets, VIP fee table, impact defaults), importable
  without NautilusTrader;
* :mod:`.fill` — square-root market-impact fill model and the bar feed that serves it;
* :mod:`.latency` — latency presets as Nautilus latency models;
* :mod:`.fees` — Binance USDⓈ-M VIP-tier fee model;
* :mod:`.presets` — ``screening`` / ``validation`` presets as values
  (:func:`~.presets.resolve_preset`, :func:`~.presets.validation_preset`).
"""
