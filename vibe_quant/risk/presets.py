"""Sizing and risk presets: named, stored in SQLite, applied by name.

A preset file (YAML, read with the DSL's guarded safe loader — no tags, no code)::

    name: conservative            # optional; the CLI NAME wins
    description: half-percent ATR risk, 10 % drawdown halt
    sizing:                       # the DSL's `sizing` section: same fields, units (dsl.md §10)
      method: atr                 # fixed_fractional | kelly | atr | fixed_notional
      risk_pct: 0.5               # PERCENT of equity (DSL rule: *_pct fields are percents)
      multiple: 2.0               # ATR multiple
      leverage: 2                 # exchange leverage
      max_notional_multiple: 2    # cap on notional / equity (≤ leverage)
    breakers:                     # vibe_quant.risk.breakers.BreakerConfig (FRACTIONS, not percents)
      max_drawdown: 0.10
      daily_loss: 0.03
      consecutive_losses: 4
      cooldown_bars: 288
      max_exposure: 2.0
      max_positions: 1
      portfolio_max_drawdown: 0.20

At least one of ``sizing`` / ``breakers`` must be present. :func:`apply_preset` returns the
``BreakerConfig`` (or None) and the sizing override dict (or None) — the complete DSL ``sizing``
mapping with defaults filled in, to replace a strategy's own ``sizing`` section.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field, TypeAdapter, field_validator, model_validator

from vibe_quant.core.config import FrozenConfig
from vibe_quant.core.errors import StrategyDefinitionError
from vibe_quant.core.jsonpolicy import loads
from vibe_quant.risk.breakers import BreakerConfig

if TYPE_CHECKING:
    from vibe_quant.store.state import StateStore

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"


class PresetError(StrategyDefinitionError, ValueError):
    """A preset file or stored preset is invalid, or no preset has that name (message is
    user-facing); still a ``ValueError``."""


def _sizing_adapter() -> TypeAdapter:
    from vibe_quant.dsl.models import Sizing

    return TypeAdapter(Sizing)


class RiskPreset(FrozenConfig):
    """A named sizing and/or breaker preset (a frozen config; see module docstring for units).

    Raises (construction):
        pydantic ``ValidationError`` (a ``ValueError``): a bad name, sizing or breaker value,
            or neither ``sizing`` nor ``breakers`` (:func:`parse_preset` turns it into one
            :class:`PresetError`).
    """

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    sizing: dict[str, Any] | None = None
    breakers: BreakerConfig | None = None

    @field_validator("sizing")
    @classmethod
    def _check_sizing(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is None:
            return None
        for key, val in v.items():
            if isinstance(val, str) and val.startswith("$"):
                raise ValueError(f"sizing.{key}: parameter references are not allowed in presets")
        model = _sizing_adapter().validate_python(v)
        out = model.model_dump(mode="json", exclude_none=True)
        lev = float(out.get("leverage", 1))
        mnm = out.get("max_notional_multiple")
        if mnm is not None and float(mnm) > lev:
            raise ValueError(f"sizing.max_notional_multiple ({mnm}) must be ≤ leverage ({lev})")
        if out.get("method") == "kelly" and float(out["floor_pct"]) > float(out["cap_pct"]):
            raise ValueError(f"sizing.floor_pct ({out['floor_pct']}) must be ≤ cap_pct "
                             f"({out['cap_pct']})")
        return out

    @model_validator(mode="after")
    def _not_empty(self) -> RiskPreset:
        if self.sizing is None and self.breakers is None:
            raise ValueError("a preset needs `sizing`, `breakers` or both")
        return self

    def body(self) -> dict[str, Any]:
        """JSON-able content stored in SQLite (without the name)."""
        return {
            "description": self.description,
            "sizing": self.sizing,
            "breakers": (self.breakers.model_dump(exclude_none=True)
                         if self.breakers is not None else None),
        }


def parse_preset(text: str | bytes, name: str | None = None, file: str = "<preset>") -> RiskPreset:
    """Parse and validate preset YAML; ``name`` overrides the file's ``name``.

    Raises :class:`PresetError` with every problem in the message."""
    from pydantic import ValidationError

    from vibe_quant.dsl.loader import load_yaml

    loaded = load_yaml(text, file=file)
    if loaded.data is None:
        raise PresetError("; ".join(str(d) for d in loaded.diagnostics) or "empty preset file")
    if not isinstance(loaded.data, dict):
        raise PresetError(f"{file}: a preset file must be a mapping")
    data = dict(loaded.data)
    if name is not None:
        data["name"] = name
    try:
        return RiskPreset.model_validate(data)
    except ValidationError as exc:
        msgs = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e["loc"]) or "<root>"
            msgs.append(f"{file}: {loc}: {e['msg']}")
        raise PresetError("\n".join(msgs)) from None


def preset_from_row(name: str, body_json: str) -> RiskPreset:
    """The preset stored under ``name`` with body ``body_json`` (the JSON of
    :meth:`RiskPreset.body`)."""
    body = loads(body_json)
    return RiskPreset.model_validate({"name": name, **{k: v for k, v in body.items()
                                                       if v is not None}})


@dataclass(frozen=True)
class AppliedPreset:
    """What :func:`apply_preset` returns: ``breakers`` (None = no breakers in the preset) and
    ``sizing`` (None = keep the strategy's own sizing; else the DSL ``sizing`` mapping)."""

    name: str
    version: int
    breakers: BreakerConfig | None
    sizing: dict[str, Any] | None


def apply_preset(store: StateStore, name: str) -> AppliedPreset:
    """Look up preset ``name`` (latest version) in the state DB of ``store`` and return its
    breaker config and sizing override.

    Raises:
        PresetError (a ``ValueError``): no preset named ``name``.
    """
    from vibe_quant.store import events_sql

    row = events_sql.get_preset(store, name)
    if row is None:
        raise PresetError(f"no risk preset named {name!r}")
    p = preset_from_row(row["name"], row["body"])
    return AppliedPreset(p.name, int(row["version"]), p.breakers,
                         dict(p.sizing) if p.sizing is not None else None)


def apply_sizing(spec_dict: dict[str, Any], sizing: dict[str, Any] | None) -> dict[str, Any]:
    """Return a copy of a strategy document (the DSL mapping) with its ``sizing`` section
    replaced by ``sizing`` (unchanged when ``sizing`` is None)."""
    out = dict(spec_dict)
    if sizing is not None:
        out["sizing"] = dict(sizing)
    return out


def apply_sizing_to_yaml(text: str, sizing: dict[str, Any] | None) -> str:
    """Strategy YAML text with its ``sizing`` section replaced by ``sizing`` (returned unchanged
    when ``sizing`` is None). The text is read with the DSL's guarded loader and re-emitted with
    ``yaml.safe_dump`` (comments are not kept); compile the result as usual."""
    if sizing is None:
        return text
    import yaml

    from vibe_quant.dsl.loader import load_yaml

    loaded = load_yaml(text)
    if not isinstance(loaded.data, dict):
        raise PresetError("; ".join(str(d) for d in loaded.diagnostics) or
                          "strategy text is not a mapping")
    return yaml.safe_dump(apply_sizing(loaded.data, sizing), sort_keys=False,
                          allow_unicode=True)
