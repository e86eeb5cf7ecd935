"""Run-time half of the DSL: what a compiled strategy executes on every bar.

* :mod:`.indicators` — one streaming object per DSL indicator (constant work per bar).
* :mod:`.conditions` — the condition AST turned into closures over live values (no eval).
* :mod:`.filters` — UTC sessions, blocked weekdays, funding-time blackout.
* :mod:`.risk` — stop-loss / take-profit prices, trailing state, position sizing (incl. Kelly).

The compiler (:mod:`vibe_quant.strategy.compiler`) wires them into a
:class:`~vibe_quant.strategy.base.VQStrategy`.
"""
