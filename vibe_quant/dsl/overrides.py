"""Parameter overrides: a validated strategy with sweep-key values substituted.

Sits above both the sweep grid (:mod:`vibe_quant.dsl.sweep`: which keys exist and what they
reach) and validation (:mod:`vibe_quant.dsl.api`: the substituted document is validated again),
so neither of those imports the other through it.
"""

from __future__ import annotations

from collections.abc import Mapping

from vibe_quant.dsl.api import validate_data
from vibe_quant.dsl.errors import Diagnostic, StrategyError
from vibe_quant.dsl.models import StrategySpec
from vibe_quant.dsl.registry import _show, lookup
from vibe_quant.dsl.sweep import Parts, SweepKeyError, Value, param_uses, resolve_key

__all__ = ["apply_params"]


def apply_params(spec: StrategySpec, params: Mapping[str, Value]) -> StrategySpec:
    """Copy of ``spec`` with sweep-key values substituted (e.g. one :func:`sweep_grid` row).

    ``$p`` sets ``parameters.p.default`` (so every use of ``$p`` sees the value);
    ``ind.param`` sets ``indicators.ind.params.param``; ``stop_loss.x`` etc. set the field.
    The result is fully re-validated (ranges, cross-parameter checks, ASTs attached).

    Raises:
        StrategyError: a key reaches nothing or a value is out of range.
    """
    parts = Parts.from_spec(spec)
    uses = param_uses(spec)
    data = spec.model_dump(mode="python", exclude_none=True)
    diags: list[Diagnostic] = []
    for key, value in params.items():
        shown = f"{str(key).strip()}={_show(value)}"
        try:
            target = resolve_key(parts, key, label=f"override '{shown}'", verb="override")
        except SweepKeyError as exc:
            diags.append(Diagnostic(exc.message, path=key, expected=exc.expected,
                                    code="sweep-key"))
            continue
        if target.kind == "parameter":
            places = uses.get(target.owner or "", [])
        elif target.kind == "indicator":
            ind_type = lookup(spec.indicators[target.owner or ""].type)
            places = [(f"{ind_type.type if ind_type else target.owner}.{target.field}", s)
                      for s in target.specs]
        else:
            places = [(f"{target.kind}.{target.field}", s) for s in target.specs]
        bad = next(((where, s) for where, s in places if s.check(value)), None)
        if bad is not None:
            where, s = bad
            diags.append(Diagnostic(
                f"override '{shown}': bad value {_show(value)} for {where}", path=key,
                expected=s.expected(), code="bad-value"))
            continue
        if target.kind == "parameter":
            data["parameters"][target.owner]["default"] = value
        elif target.kind == "indicator":
            data["indicators"][target.owner].setdefault("params", {})[target.field] = value
        elif target.kind == "max_bars":
            data["max_bars"] = value
        else:
            data[target.kind][target.field] = value
    if diags:
        raise StrategyError(diags)
    return validate_data(data, file=f"<{spec.name} with params>")
