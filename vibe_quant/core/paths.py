"""Where vibe-quant keeps its runtime data.

Every command takes ``--data-dir DIR`` (default ``./data``, or env ``VIBE_QUANT_DATA_DIR``).
Inside it::

    archive/raw_data.db     raw SQLite archive of everything downloaded (insert-only)
    catalog/                NautilusTrader (Rust) Parquet data catalog, rebuilt from the archive
    state/vibe_quant.db     strategies, runs, results, trades, sweeps, jobs (SQLite, WAL)
    logs/                   log files and structured event logs
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vibe_quant.core.errors import DataError

DATA_DIR_ENV = "VIBE_QUANT_DATA_DIR"


@dataclass(frozen=True)
class DataDir:
    """Resolved layout of one data directory (paths only; nothing is created until ``ensure``)."""

    root: Path

    @classmethod
    def resolve(cls, value: str | os.PathLike[str] | None = None) -> DataDir:
        """Pick the data dir: explicit value, else ``$VIBE_QUANT_DATA_DIR``, else ``./data``."""
        raw = value if value is not None else os.environ.get(DATA_DIR_ENV, "data")
        return cls(Path(raw).expanduser().resolve())

    @property
    def archive_db(self) -> Path:
        return self.root / "archive" / "raw_data.db"

    @property
    def catalog(self) -> Path:
        return self.root / "catalog"

    @property
    def state_db(self) -> Path:
        return self.root / "state" / "vibe_quant.db"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def ensure(self) -> DataDir:
        """Create the directory tree (idempotent) and return self."""
        for p in (self.archive_db.parent, self.catalog, self.state_db.parent, self.logs):
            p.mkdir(parents=True, exist_ok=True)
        return self


SHARED_DATA_ENV = "VIBE_QUANT_SHARED_DATA"


class SharedDataMissingError(DataError, FileNotFoundError):
    """The shared market-data folder (``binance-vision/`` …) is not where it is looked for;
    still a ``FileNotFoundError``."""


def shared_data_dir() -> Path:
    """``../shared/data`` relative to the project root (or ``$VIBE_QUANT_SHARED_DATA``).

    Raises:
        SharedDataMissingError (a FileNotFoundError): no ``binance-vision/`` folder there; the
            message says where it looked and which variable to set.
    """
    env = os.environ.get(SHARED_DATA_ENV)
    p = Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"
    if not (p / "binance-vision").is_dir():
        raise SharedDataMissingError(
            f"shared market data not found at {p} (set {SHARED_DATA_ENV} to the folder holding "
            "binance-vision/ and binance-api/)"
        )
    return p
