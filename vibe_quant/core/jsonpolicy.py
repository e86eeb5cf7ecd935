"""The one JSON policy of vibe-quant (state database, event logs, reports, ``--json`` output).

Rules:

* strict JSON only (never the ``NaN``/``Infinity`` literals Python's ``json`` writes by default);
* NaN → ``null`` (the value is undefined: a Sharpe ratio of a flat equity curve);
* +inf / −inf → the strings ``"inf"`` / ``"-inf"`` (the value is defined and unbounded: the
  profit factor of a run with no losing trade, a threshold that is switched off), and
  :func:`loads` turns those two strings back into floats;
* numpy scalars → Python numbers, numpy arrays → lists, pydantic models → their JSON dump,
  paths and datetimes → text, tuples → lists, mapping keys → text;
* :func:`canonical_dumps` also sorts keys (identities are the sha256 of that text).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from pathlib import PurePath
from typing import Any

INF_TEXT = "inf"
NEG_INF_TEXT = "-inf"


def now_iso() -> str:
    """Current time as ISO-8601 UTC text with a ``Z`` (second precision)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def num(x: Any) -> float | None:
    """SQLite REAL column value: a finite float, or ``None`` (NULL) for None/NaN/±inf."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def jsonable(v: Any) -> Any:
    """``v`` converted to plain JSON types under the policy above (recursively)."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        if math.isfinite(v):
            return v
        return None if math.isnan(v) else (INF_TEXT if v > 0 else NEG_INF_TEXT)
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [jsonable(x) for x in v]
    if hasattr(v, "model_dump"):  # pydantic
        return jsonable(v.model_dump(mode="python"))
    if hasattr(v, "tolist"):  # numpy arrays and scalars
        return jsonable(v.tolist())
    if hasattr(v, "item"):
        return jsonable(v.item())
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, PurePath):
        return str(v)
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


def dumps(o: Any, *, sort_keys: bool = False, indent: int | None = None) -> str:
    """Strict JSON text of ``o`` under the policy."""
    return json.dumps(jsonable(o), sort_keys=sort_keys, indent=indent, allow_nan=False)


def canonical_dumps(o: Any) -> str:
    """Canonical JSON text (sorted keys, compact separators) under the policy."""
    return json.dumps(jsonable(o), sort_keys=True, separators=(",", ":"), allow_nan=False)


def to_json(o: Any) -> str:
    """JSON text for a state-database column (sorted keys, the policy above)."""
    return json.dumps(jsonable(o), sort_keys=True, allow_nan=False)


def _restore(v: Any) -> Any:
    if v == INF_TEXT:
        return math.inf
    if v == NEG_INF_TEXT:
        return -math.inf
    if isinstance(v, dict):
        return {k: _restore(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_restore(x) for x in v]
    return v


def loads(text: str | bytes | None, *, restore_inf: bool = True) -> Any:
    """Parse JSON written under the policy; ``"inf"``/``"-inf"`` become floats again (unless
    ``restore_inf=False``). ``None`` or empty text gives ``None``."""
    if text is None or text == "" or text == b"":
        return None
    v = json.loads(text)
    return _restore(v) if restore_inf else v
