"""One configuration style: frozen, nested pydantic models that hash themselves.

Every configuration object (a sweep, a filter run, a validation run, a pipeline, the venue, a
fidelity preset, the circuit breakers, the local exchange) is a :class:`FrozenConfig`:

* ``frozen=True, extra="forbid"``: a typo in a key is an error, a config never changes after it
  is built (use :meth:`FrozenConfig.replace` for a changed copy);
* :meth:`FrozenConfig.canonical_json` is its JSON under :mod:`vibe_quant.core.jsonpolicy`
  (sorted keys, NaN → null, ±inf → ``"inf"``/``"-inf"``), and :attr:`FrozenConfig.identity` is
  the sha256 of that text (64 hex characters). Fields that do not change a result (a worker
  count, a progress flag, a URL of the same data) are listed in ``identity_exclude`` and left
  out of the identity, so re-running with another worker count resumes the same stored work;
* the same object is stored (``canonical_json``), shipped to workers (pickle / JSON) and used to
  resume (``identity``).

Modelled on nautilus_trader's ``NautilusConfig`` (``nautilus_trader/common/config.py``).
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from vibe_quant.core.jsonpolicy import canonical_dumps


class FrozenConfig(BaseModel):
    """Base of every vibe-quant configuration (frozen, no unknown keys, self-hashing)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=False)

    #: Field names left out of :attr:`identity` (they do not change what is computed).
    identity_exclude: ClassVar[frozenset[str]] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field (nested configs as dicts)."""
        return self.model_dump(mode="json")

    def canonical_json(self) -> str:
        """Canonical JSON text of every field (sorted keys, one NaN/inf policy)."""
        return canonical_dumps(self.to_dict())

    def identity_dict(self) -> dict[str, Any]:
        """The fields that define what is computed (every field but ``identity_exclude``)."""
        d = self.to_dict()
        for k in self.identity_exclude:
            d.pop(k, None)
        return d

    @property
    def identity(self) -> str:
        """sha256 hex digest of the canonical JSON of :meth:`identity_dict`."""
        return hashlib.sha256(canonical_dumps(self.identity_dict()).encode()).hexdigest()

    def replace(self, **changes: Any) -> FrozenConfig:
        """A validated copy with ``changes`` applied (the original is unchanged)."""
        return type(self).model_validate({**self.model_dump(), **changes})

    @classmethod
    def from_json(cls, text: str) -> FrozenConfig:
        """Parse the text :meth:`canonical_json` wrote."""
        return cls.model_validate_json(text)
