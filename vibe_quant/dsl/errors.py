"""Diagnostics: one finding about a strategy file, with its position and field path.

A :class:`Diagnostic` is what every stage of the DSL (loader, structural model, semantic
checks, sweep) reports.  Stages never raise on a user mistake; they append diagnostics so that
``vibe-quant strategy validate`` can show all of them at once.  :class:`StrategyError` is raised
by the public ``load_*`` functions when at least one diagnostic has severity ``error``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from vibe_quant.core.errors import StrategyDefinitionError

Severity = Literal["error", "warning"]

#: A field path as a tuple: mapping keys are ``str``, list indices ``int``.
PathT = tuple[str | int, ...]


def format_path(path: Sequence[str | int]) -> str:
    """``("entry", "long", 1)`` -> ``"entry.long[1]"``; the empty path is ``"<root>"``.

    Keys that are not plain identifiers (e.g. sweep keys ``"ema_fast.period"``) are quoted:
    ``("sweep", "ema_fast.period")`` -> ``sweep["ema_fast.period"]``.
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.replace("_", "a").isalnum() and not part[:1].isdigit():
            out += f".{part}" if out else part
        else:
            out += f'["{part}"]'
    return out or "<root>"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a strategy file.

    Attributes:
        message: what is wrong, e.g. ``"undefined name 'ema_fat'"``.
        path: field path string such as ``"entry.long[1]"`` (``"<root>"`` for the document).
        line, column: 1-based position in the file (0 when unknown, e.g. for text built in code).
        expected: what would have been accepted, e.g. ``"an indicator, a price field ..."``.
        severity: ``"error"`` (the file is rejected) or ``"warning"`` (accepted, but suspicious).
        code: stable machine-readable kind, e.g. ``"unknown-indicator"``, ``"yaml-syntax"``.
        file: file name as given by the caller (``"<string>"`` for in-memory text).
    """

    message: str
    path: str = "<root>"
    line: int = 0
    column: int = 0
    expected: str | None = None
    severity: Severity = "error"
    code: str = "invalid"
    file: str = "<string>"

    def location(self) -> str:
        """``"file:line:column"`` (``"file"`` alone when the position is unknown)."""
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file

    def short(self) -> str:
        """``"line:column: path: message (expected ...)"`` (no file, no severity); for tests."""
        text = f"{self.line}:{self.column}: {self.path}: {self.message}"
        if self.expected:
            text += f" (expected {self.expected})"
        return text

    def __str__(self) -> str:
        text = f"{self.location()}: {self.severity}: {self.path}: {self.message}"
        if self.expected:
            text += f" (expected {self.expected})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the dataclass fields."""
        return asdict(self)


class StrategyError(StrategyDefinitionError, ValueError):
    """A strategy failed to load; ``.diagnostics`` holds every finding (errors and warnings).

    ``str(e)`` is ``"<n> error(s) in strategy"`` followed by one line per error (at most 50).
    """

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        head = f"{len(errors)} error(s) in strategy"
        body = "\n".join(str(d) for d in errors[:50])
        super().__init__(f"{head}\n{body}" if body else head)

    @property
    def errors(self) -> list[Diagnostic]:
        """Only the diagnostics with severity ``error``."""
        return [d for d in self.diagnostics if d.severity == "error"]


def has_errors(diags: Sequence[Diagnostic]) -> bool:
    """True when any diagnostic has severity ``error``."""
    return any(d.severity == "error" for d in diags)
