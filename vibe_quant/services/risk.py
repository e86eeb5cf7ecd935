"""Sizing and risk presets (named, versioned, in the state database) as use cases: add from
a YAML file, list, show. File format and units: :mod:`vibe_quant.risk.presets` and SPEC.md §9.

Errors: :class:`PresetInputError` (exit 2: an unreadable, too large or invalid preset file;
the message of an invalid one starts ``invalid preset:`` and lists every problem),
:class:`PresetNotFoundError` (exit 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibe_quant.core.errors import ConfigError, NotFoundError
from vibe_quant.core.paths import DataDir

__all__ = ["MAX_FILE_BYTES", "PresetInputError", "PresetNotFoundError", "PresetVersion",
           "add_preset", "list_presets", "show_preset"]

MAX_FILE_BYTES = 1_000_000
"""Largest preset file read (bytes)."""


class PresetInputError(ConfigError, ValueError):
    """A preset file cannot be read, is too large, or is not a valid preset."""


class PresetNotFoundError(NotFoundError, LookupError):
    """No preset with that name (and version)."""


@dataclass(frozen=True)
class PresetVersion:
    """One stored version of a preset.

    Attributes:
        name, version: the preset and its version (1, 2, …).
        body: ``{"sizing": {...}, "breakers": {...}}`` (either may be absent).
        created: from :func:`add_preset`: True when this version was new (identical content
            returns the latest version with False); None otherwise.
        created_at: ISO-8601 UTC time it was stored, or None.
    """

    name: str
    version: int
    body: dict[str, Any]
    created: bool | None = None
    created_at: str | None = None


def _open(dd: DataDir):
    from vibe_quant.store.state import StateStore

    return StateStore.open(dd)


def add_preset(dd: DataDir, name: str, file: str) -> PresetVersion:
    """Store preset ``name`` from YAML ``file`` (a new version when its content changed).

    Raises:
        PresetInputError: the file cannot be read, is larger than :data:`MAX_FILE_BYTES`, or
            is not a valid preset.
    """
    from vibe_quant.risk.presets import PresetError, parse_preset
    from vibe_quant.store import events_sql

    path = Path(file)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise PresetError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        raw = path.read_bytes()
        preset = parse_preset(raw, name=name, file=str(path))
    except OSError as exc:
        raise PresetInputError(f"cannot read {path}: {exc.strerror or exc}", file=str(path)
                               ) from exc
    except PresetError as exc:
        raise PresetInputError(f"invalid preset:\n{exc}", file=str(path)) from exc
    with _open(dd) as store:
        ver, created = events_sql.add_preset(store, preset.name, preset.body(),
                                             source=raw.decode("utf-8"))
    return PresetVersion(name=preset.name, version=ver, body=preset.body(), created=created)


def list_presets(dd: DataDir) -> tuple[PresetVersion, ...]:
    """The latest version of every preset, by name."""
    from vibe_quant.store import events_sql

    with _open(dd) as store:
        rows = events_sql.list_presets(store)
    return tuple(PresetVersion(name=r["name"], version=r["version"], body=r["body"],
                               created_at=r["created_at"]) for r in rows)


def show_preset(dd: DataDir, name: str, version: int | None = None) -> PresetVersion:
    """Preset ``name`` (its latest version unless ``version``).

    Raises:
        PresetNotFoundError: no such preset (or version).
    """
    from vibe_quant.store import events_sql

    with _open(dd) as store:
        row = events_sql.get_preset(store, name, version)
    if row is None:
        raise PresetNotFoundError(f"no preset named {name!r}"
                                  + (f" with version {version}" if version else ""), name=name)
    body = row["body"] if isinstance(row["body"], dict) else json.loads(row["body"])
    return PresetVersion(name=row["name"], version=row["version"], body=body,
                         created_at=row["created_at"])
