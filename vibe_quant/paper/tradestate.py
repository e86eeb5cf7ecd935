"""The decision state of a compiled DSL strategy (:class:`vibe_quant.strategy.compiler.
DSLStrategy`) that a restarted paper child cannot rebuild from the venue or from historical
bars, as a JSON-able dict (``paper_runs.strategy_state["dsl"]``) and back.

Indicators, crosses and the warm-up gate come back from the historical bars; the position and
the resting orders from the venue (reconciliation). What is kept here (all prices USDT,
quantities base units, times UTC epoch ns, NaN stored as null):

* the open trade: entry price (average after add-ons), entry time (the fill's bar close),
  side, entries so far and the first entry's quantity (pyramiding), the stop and target
  levels, the sizing inputs of an entry (``sig``) or add-on (``add_sig``) still in flight, the
  balance before the trade and whether one is open (Kelly);
* the trade-state operands (``trade.max_pnl_pct``, ``last_trade.*``: path-dependent) and the
  last exit time;
* the percentage trailing stop (side, entry, best price, level) and the ATR trail (side, best,
  stop);
* the resting entry / exit limit orders: client order id and the close time of the bar that
  placed them (the expiry counts base bars from there);
* Kelly sizing's closed-trade PnLs.
"""

from __future__ import annotations

import math
from typing import Any

from nautilus_trader.core import nautilus_pyo3 as n3

NAN = float("nan")
FLOATS = ("_entry_px", "_stop_level", "_tp_level", "_first_qty", "_last_abs", "_bal_before")
INTS = ("_entry_ts", "_exit_ts", "_entry_side", "_n_entries")


def _f(x: Any) -> float:
    return NAN if x is None else float(x)


def _sig(xs: Any) -> tuple:
    """A sizing tuple back from JSON: ``(side, floats…)`` (null → NaN)."""
    xs = list(xs or ())
    return (int(xs[0]), *(_f(x) for x in xs[1:])) if xs else ()


def snapshot(s: Any) -> dict[str, Any] | None:
    """The state of DSL strategy ``s`` (None for a strategy that is not a compiled DSL one)."""
    rt = getattr(s, "_rt", None)
    if rt is None:
        return None
    d: dict[str, Any] = {k: getattr(s, k) for k in FLOATS + INTS}
    d["in_trade"] = bool(s._in_trade)
    d["sig"] = list(s._sig)
    d["add_sig"] = list(s._add_sig)
    d["state"] = {k: getattr(rt.state, k) for k in rt.state.__slots__}
    if rt.pct_trail is not None:
        t = rt.pct_trail
        d["pct_trail"] = [t.side, t.entry, t.best, t.level]
    if rt.trail is not None:
        t = rt.trail
        d["trail"] = [t.side, t.best, t.stop]
    if rt.sizer.method == "kelly":
        d["kelly"] = {"trades": list(rt.sizer.trades), "closed": rt.sizer.closed}
    iv = s._bar_ns
    d["lims"] = {
        kind: [str(cid), int(s._bar_ts - (s._base_bars - placed) * iv)]
        for kind, (cid, placed) in s._lims.items()
    }
    return d


def apply(s: Any, d: dict[str, Any]) -> list[str]:
    """Put snapshot ``d`` back into ``s`` (after the historical bars up to the snapshot's bar
    were fed). A resting limit comes back only while the venue still holds it open (its
    expiry counted from its bar: the strategy's base bars are contiguous). Returns the limit
    order ids dropped (filled or gone while the child was down)."""
    rt = s._rt
    for k in FLOATS:
        setattr(s, k, _f(d.get(k)))
    for k in INTS:
        v = d.get(k)
        if v is not None:
            setattr(s, k, int(v))
    s._in_trade = bool(d.get("in_trade"))
    s._sig = _sig(d.get("sig"))
    s._add_sig = _sig(d.get("add_sig"))
    for k, v in (d.get("state") or {}).items():
        if k in rt.state.__slots__:
            setattr(rt.state, k, _f(v))
    if rt.pct_trail is not None and d.get("pct_trail"):
        side, entry, best, level = d["pct_trail"]
        t = rt.pct_trail
        t.side, t.entry, t.best, t.level = int(side), _f(entry), _f(best), _f(level)
    if rt.trail is not None and d.get("trail"):
        side, best, stop = d["trail"]
        rt.trail.side, rt.trail.best, rt.trail.stop = int(side), _f(best), _f(stop)
    if rt.sizer.method == "kelly" and d.get("kelly"):
        rt.sizer.trades.extend(_f(x) for x in d["kelly"]["trades"])
        rt.sizer.closed = int(d["kelly"]["closed"])
    dropped = []
    s._lims = {}
    for kind, (cid, placed_ns) in (d.get("lims") or {}).items():
        oid = n3.ClientOrderId(cid)
        o = s.cache.order(oid)
        if o is None or not o.is_open:
            dropped.append(cid)
            continue
        s._lims[kind] = (oid, s._base_bars - (s._bar_ts - int(placed_ns)) // s._bar_ns)
    return dropped


def finite(x: Any) -> bool:
    return x is not None and math.isfinite(x)
