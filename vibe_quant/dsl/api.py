"""Public entry points: load and validate strategy files or text."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vibe_quant.dsl.errors import Diagnostic, StrategyError, has_errors
from vibe_quant.dsl.loader import MAX_BYTES, load_yaml
from vibe_quant.dsl.models import StrategySpec
from vibe_quant.dsl.validate import check, check_data

Source = str | bytes | os.PathLike[str]


def _read(source: Source, file: str | None) -> tuple[str | bytes | None, str, list[Diagnostic]]:
    """(content, display name, diagnostics).  A ``Path``/``PathLike`` is a file; a ``str`` is a
    file path when it has no newline and ends in ``.yaml``/``.yml`` or names an existing file,
    otherwise it is YAML text; ``bytes`` are file content."""
    if isinstance(source, bytes):
        return source, file or "<bytes>", []
    if isinstance(source, str) and ("\n" in source or not (
            source.endswith((".yaml", ".yml")) or (len(source) < 4096 and os.path.isfile(source)))):
        return source, file or "<string>", []
    path = Path(os.fspath(source))
    name = file or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return None, name, [Diagnostic(
                f"file is {size} bytes; strategy files are limited to {MAX_BYTES} bytes (1 MB)",
                code="too-large", file=name)]
        with path.open("rb") as fh:
            return fh.read(MAX_BYTES + 1), name, []
    except OSError as exc:
        return None, name, [Diagnostic(f"cannot read file: {exc.strerror or exc}",
                                       code="io", file=name)]


def validate_strategy(source: Source, *, file: str | None = None) -> list[Diagnostic]:
    """Every diagnostic (errors and warnings) for a strategy file or text, sorted by position.

    Never raises on bad input.  ``file`` overrides the name shown in diagnostics.
    """
    content, name, diags = _read(source, file)
    if content is None:
        return diags
    return check(load_yaml(content, name))[0]


def load_strategy(source: Source, *, file: str | None = None) -> StrategySpec:
    """Load, validate and return a strategy.

    Args:
        source: a path (``Path`` or ``str`` ending in .yaml/.yml), YAML text, or bytes.
        file: name to show in diagnostics (default: the path, or ``"<string>"``).

    Returns:
        A :class:`StrategySpec` whose conditions are parsed (see :meth:`StrategySpec.rule`).

    Raises:
        StrategyError: if there is any error; ``.diagnostics`` lists all of them (and warnings).
    """
    content, name, diags = _read(source, file)
    if content is None:
        raise StrategyError(diags)
    diags, spec = check(load_yaml(content, name))
    if spec is None or has_errors(diags):
        raise StrategyError(diags)
    return spec


def validate_data(data: dict[str, Any], *, file: str = "<data>") -> StrategySpec:
    """Like :func:`load_strategy` for already-parsed data (e.g. a ``model_dump()`` round trip).

    Positions are unknown (line/column 0).  Raises :class:`StrategyError` on any error.
    """
    diags, spec = check_data(data, file)
    if spec is None or has_errors(diags):
        raise StrategyError(diags)
    return spec


def dump_strategy(spec: StrategySpec) -> str:
    """YAML text of ``spec`` (e.g. after :func:`~vibe_quant.dsl.overrides.apply_params`) that
    :func:`load_strategy` turns back into an equal spec — what a sweep can ship to a worker."""
    import yaml

    data = spec.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
