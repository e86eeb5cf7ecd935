"""Paper trading as use cases: start, list, inspect, stop, kill and resume supervised paper
runs on Binance USDⓈ-M testnet or the local exchange (SPEC.md §17).

The CLI (``vibe-quant paper …``, ``vibe-quant pipeline --paper``) and the dashboard's Paper
trading page call these; they are the functions of :mod:`vibe_quant.paper.control`:

* ``start(data_dir, strategy, symbol, *, params, leverage, balance, exchange, ws_url, key_file,
  validation_run, risk_preset, strategy_text) -> row`` — store and launch a run (nothing is
  started when the credentials, the strategy or the venue are refused);
* ``runs(data_dir) -> [row]``, ``status(data_dir, run_id) -> dict``,
  ``logs(data_dir, run_id, tail, events) -> [line]``;
* ``stop(data_dir, run_id, flatten) -> dict``, ``kill(data_dir, run_id | None) -> dict`` (the
  kill switch: cancel, flatten, halt; ``None`` = every active run),
  ``resume(data_dir, run_id) -> dict``;
* ``parse_params(["key=value", …]) -> dict``.

Rows carry no secret. Errors: :class:`PaperError` (a ``RuntimeError``), ``CredentialError``
(a ``ValueError``), both :class:`vibe_quant.core.errors.PaperError`; an invalid strategy raises
``StrategyError``.
"""

from __future__ import annotations

from vibe_quant.paper.control import (
    PaperError,
    kill,
    logs,
    parse_params,
    resume,
    runs,
    start,
    status,
    stop,
)
from vibe_quant.paper.credentials import CredentialError

__all__ = [
    "CredentialError",
    "PaperError",
    "kill",
    "logs",
    "parse_params",
    "resume",
    "runs",
    "start",
    "status",
    "stop",
]
