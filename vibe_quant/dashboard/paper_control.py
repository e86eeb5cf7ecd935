"""Start, stop and kill paper trading from the dashboard.

The Paper trading page's buttons call these functions. They delegate to
:mod:`vibe_quant.services.paper` (the same use cases as ``vibe-quant paper …``)::

    start(data_dir: DataDir, strategy: str, symbol: str, **options) -> dict   # the run row
    stop(data_dir: DataDir, run_id: int) -> dict                              # graceful stop
    kill(data_dir: DataDir, run_id: int | None) -> dict    # kill switch: cancel orders,
                                                           # flatten, stop (None = every run)

In an installation without paper trading every call raises :class:`PaperUnavailableError` and
nothing is started or stopped.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from vibe_quant.core.errors import PaperError
from vibe_quant.core.paths import DataDir


class PaperUnavailableError(PaperError, RuntimeError):
    """Paper trading is not built in this installation: nothing was started or stopped."""


ERRORS: tuple[type[BaseException], ...] = (
    PaperUnavailableError,
    PaperError,
    RuntimeError,
    ValueError,
    LookupError,
    OSError,
)
"""What a paper control call raises for a request that cannot be done (shown as one line)."""


def backend() -> ModuleType:
    """:mod:`vibe_quant.services.paper`.

    Raises:
        PaperUnavailableError: paper trading (``vibe_quant.paper``) is not installed.
    """
    try:
        from vibe_quant.services import paper
    except ModuleNotFoundError as e:
        if e.name not in ("vibe_quant.paper", "vibe_quant.paper.control"):
            raise
        raise PaperUnavailableError(
            "paper trading is not built in this version (vibe_quant/paper has no control "
            "module): nothing was started or stopped"
        ) from None
    return paper


def available() -> bool:
    """True when paper trading is installed."""
    try:
        backend()
    except PaperUnavailableError:
        return False
    return True


def start(dd: DataDir, strategy: str, symbol: str, **options: Any) -> dict[str, Any]:
    """Start a paper run of ``strategy`` (a strategy file path) on ``symbol``."""
    return backend().start(dd, strategy, symbol, **options)


def stop(dd: DataDir, run_id: int) -> dict[str, Any]:
    """Stop paper run ``run_id`` gracefully."""
    return backend().stop(dd, int(run_id))


def kill(dd: DataDir, run_id: int | None = None) -> dict[str, Any]:
    """Kill switch: cancel open orders, flatten positions and stop (``None`` = every run)."""
    return backend().kill(dd, run_id)
