"""Strategy files as use cases: check one (every diagnostic, never raises on bad input) and
the JSON Schema of the format."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["StrategyCheck", "check_strategy_file", "strategy_schema"]


@dataclass(frozen=True)
class StrategyCheck:
    """Every diagnostic of one strategy file.

    Attributes:
        file: the file as given.
        diagnostics: :class:`vibe_quant.dsl.errors.Diagnostic` objects (errors and warnings,
            sorted by position); ``str(d)`` is the one-line form, ``d.to_dict()`` the JSON one.
        errors, warnings: how many of each severity.
    """

    file: str
    diagnostics: tuple[Any, ...]
    errors: int
    warnings: int

    @property
    def ok(self) -> bool:
        """True when the file has no error (warnings allowed)."""
        return self.errors == 0

    def to_dict(self) -> dict[str, Any]:
        """``{"file", "ok", "errors", "warnings", "diagnostics": [...]}``."""
        return {"file": self.file, "ok": self.ok, "errors": self.errors,
                "warnings": self.warnings, "diagnostics": [d.to_dict() for d in self.diagnostics]}


def check_strategy_file(file: str) -> StrategyCheck:
    """Every diagnostic of strategy file ``file`` (always read as a path, never as YAML text;
    an unreadable file is one ``error`` diagnostic)."""
    from vibe_quant.dsl import validate_strategy

    diags = tuple(validate_strategy(Path(file), file=file))
    errors = sum(d.severity == "error" for d in diags)
    warnings = sum(d.severity == "warning" for d in diags)
    return StrategyCheck(file=file, diagnostics=diags, errors=errors, warnings=warnings)


def strategy_schema() -> dict[str, Any]:
    """The JSON Schema of strategy files (a fresh copy)."""
    from vibe_quant.dsl import strategy_json_schema

    return strategy_json_schema()
