"""Shared CLI plumbing: ``--data-dir``, ``--json`` and one-JSON-document output."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vibe_quant.paths import DATA_DIR_ENV, DataDir


def add_common(p: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    """Add ``--data-dir`` (and ``--json`` when the command prints results) to a subparser."""
    p.add_argument(
        "--data-dir",
        default=None,
        help=f"runtime data directory (default ./data, env {DATA_DIR_ENV})",
    )
    if json_flag:
        p.add_argument(
            "--json", action="store_true", help="print exactly one JSON document on stdout"
        )


def data_dir(args: argparse.Namespace) -> DataDir:
    """The resolved, created data directory of a parsed command line."""
    return DataDir.resolve(getattr(args, "data_dir", None)).ensure()


def _default(o: Any) -> Any:
    if isinstance(o, datetime):
        return o.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    if hasattr(o, "model_dump"):
        return o.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def emit_json(doc: Any) -> None:
    """Print exactly one JSON document on stdout (NaN/inf become null)."""
    text = json.dumps(_sanitize(doc), default=_default, allow_nan=False)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _sanitize(o: Any) -> Any:
    if isinstance(o, float) and (o != o or o in (float("inf"), float("-inf"))):
        return None
    if isinstance(o, dict):
        return {str(k): _sanitize(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_sanitize(v) for v in o]
    return o


def eprint(*a: Any) -> None:
    """Human-readable messages go to stderr, so ``--json`` stdout stays one document."""
    print(*a, file=sys.stderr)
