"""Value encoding shared by every state-database module."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    """Current time as ISO-8601 UTC text with a ``Z`` (second precision)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def num(x: Any) -> float | None:
    """SQLite-friendly float (NaN/inf → NULL)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def to_json(o: Any) -> str:
    """Strict JSON (sorted keys; NaN/inf → null; numpy scalars → Python numbers)."""

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if hasattr(v, "item"):
            return clean(v.item())
        return v

    return json.dumps(clean(o), sort_keys=True, allow_nan=False)
