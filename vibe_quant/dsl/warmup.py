"""Warm-up length of a strategy in base bars."""

from __future__ import annotations

from vibe_quant.core.intervals import bar_ratio
from vibe_quant.dsl import expr as E
from vibe_quant.dsl.models import StrategySpec
from vibe_quant.dsl.registry import lookup


def warmup_bars(spec: StrategySpec) -> int:
    """Base-timeframe bars needed before every indicator used by the spec is valid.

    For each used indicator: (registry warm-up + largest ``[n]`` look-back used, + 1 for a
    ``crosses_*`` which needs the previous value) bars of the indicator's timeframe, times the
    ratio to the base timeframe, plus one extra higher-timeframe bar for alignment.  Price-field
    look-backs count too.  Returns the maximum (0 when nothing needs warming up).
    """
    lookback: dict[str, int] = {}
    price_lookback = 0
    for sides in spec._rules.values():
        for node in sides.values():
            if node is None:
                continue
            for n in E.walk(node):
                crossing = isinstance(n, E.Cross)
                if crossing or isinstance(n, (E.Compare, E.Between)):
                    for sub in E.walk(n):
                        if isinstance(sub, E.IndicatorRef):
                            extra = sub.offset + (1 if crossing else 0)
                            lookback[sub.name] = max(lookback.get(sub.name, 0), extra)
                        elif isinstance(sub, E.PriceRef):
                            extra = sub.offset + (1 if crossing else 0)
                            price_lookback = max(price_lookback, extra)
    from vibe_quant.dsl.sweep import live_names

    used, _ = live_names(spec)
    best = price_lookback + 1 if price_lookback else 0
    for name in used:
        ind = spec.indicators[name]
        defn = lookup(ind.type)
        if defn is None:
            continue
        inf = spec.informative.get(ind.informative) if ind.informative else None
        tf = ind.timeframe or (inf.timeframe if inf is not None else None) or spec.timeframe
        ratio = bar_ratio(tf, spec.timeframe)
        bars = defn.warmup_bars(spec.indicator_params(name)) + lookback.get(name, 0)
        best = max(best, bars * ratio + (ratio if ratio > 1 else 0))
    for name, extra in lookback.items():  # bar series: close@1h, informative btc.close
        if name in spec.indicators:
            continue
        if name.startswith("@"):
            tf = name[1:]
        else:
            inf = spec.informative.get(name)
            tf = (inf.timeframe if inf is not None else None) or spec.timeframe
        ratio = bar_ratio(tf, spec.timeframe)
        best = max(best, (1 + extra) * ratio + (ratio if ratio > 1 else 0))
    return best
