"""The local Binance USDⓈ-M exchange as use cases: check its settings, then serve it.

Used by ``vibe-quant exchange serve`` (SPEC.md section 13). The API key and secret come from the
caller or the environment (``VIBE_QUANT_EXCHANGE_API_KEY`` / ``VIBE_QUANT_EXCHANGE_API_SECRET``)
and are never logged or stored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from vibe_quant.core.intervals import interval_ms, parse_utc
from vibe_quant.core.paths import DataDir
from vibe_quant.exchange.clock import ExchangeConfigError
from vibe_quant.exchange.server import API_KEY_ENV, API_SECRET_ENV, ExchangeConfig

__all__ = [
    "API_KEY_ENV",
    "API_SECRET_ENV",
    "EXCHANGE_SETTINGS",
    "ExchangeConfig",
    "ExchangeConfigError",
    "exchange_config",
    "serve_exchange",
]

EXCHANGE_SETTINGS = frozenset(ExchangeConfig.model_fields) - {
    "data_dir", "symbols", "interval", "replay_from_ms", "api_key", "api_secret"
}
"""Keyword arguments :func:`exchange_config` passes on to :class:`ExchangeConfig`."""


def exchange_config(
    data_dir: DataDir,
    symbols: str,
    interval: str,
    replay_from: str,
    *,
    api_key: str | None = None,
    api_secret: str | None = None,
    env: Mapping[str, str] | None = None,
    **settings: Any,
) -> ExchangeConfig:
    """The checked settings of one exchange process.

    Args:
        symbols: comma-separated symbols, e.g. ``"BTCUSDT,ETHUSDT"`` (upper-cased).
        interval: bar interval replayed, e.g. ``"1m"``.
        replay_from: UTC date or datetime of the first bar of a new state.
        api_key, api_secret: default ``$VIBE_QUANT_EXCHANGE_API_KEY`` / ``…_SECRET`` of ``env``
            (default the process environment).
        **settings: other fields of :class:`ExchangeConfig` (``speed`` in market seconds per
            wall second, > 0; ``host``, ``port``, ``starting_balance``, ``leverage``, ``start``,
            ``exchange_info_file``, ``state_db``); ``None`` values take the defaults.

    Raises:
        ExchangeConfigError: (a ``ValueError``, exit 2) no key/secret, no symbol, an unknown
            interval or date, or ``speed <= 0``.
    """
    env = os.environ if env is None else env
    key = api_key or env.get(API_KEY_ENV, "")
    secret = api_secret or env.get(API_SECRET_ENV, "")
    if not key or not secret:
        raise ExchangeConfigError(
            f"no API key/secret for the local exchange: set {API_KEY_ENV} and "
            f"{API_SECRET_ENV} (or pass --api-key/--api-secret)"
        )
    names = [x.strip().upper() for x in symbols.split(",") if x.strip()]
    if not names:
        raise ExchangeConfigError("--symbols is empty: e.g. --symbols BTCUSDT")
    try:
        interval_ms(interval)
        start_ms = parse_utc(replay_from)
    except ValueError as e:
        raise ExchangeConfigError(f"{e} (e.g. --interval 1m --replay-from 2025-01-27)") from e
    settings = {k: v for k, v in settings.items() if v is not None}
    speed = settings.get("speed", 600.0)
    if not speed > 0:
        raise ExchangeConfigError(f"--speed must be > 0, got {speed}")
    return ExchangeConfig(
        data_dir=data_dir,
        symbols=names,
        interval=interval,
        replay_from_ms=start_ms,
        api_key=key,
        api_secret=secret,
        **settings,
    )


def serve_exchange(cfg: ExchangeConfig) -> int:
    """Serve the exchange until SIGINT/SIGTERM (prints one ready JSON line on stdout); returns
    the exit code (0).

    Raises:
        ExchangeStateError: (a ``StoreError`` and ``ValueError``) the state database belongs
            to other symbols or another interval.
        MarketDataError: (a ``DataError``) the archive lacks the bars or the exchangeInfo.
    """
    from vibe_quant.exchange.server import serve

    return serve(cfg)
