"""Build the NautilusTrader 1.231 Rust ``LiveNode`` of a paper run: Binance USDⓈ-M data and
execution clients (testnet by default; REST and WebSocket base URLs overridable, e.g. the local
exchange of ``vibe-quant exchange serve``), isolated margin at the run's leverage, reconciliation
on (the venue is the source of truth after a restart). Measured construction:
``../shared/notes/nautilus-live.md`` §1.2; ``use_ws_trading=False`` (orders over REST: the WS
trading API host is not overridable for a local venue)."""

from __future__ import annotations

from typing import Any

from vibe_quant.core.errors import PaperError

VENUE = "BINANCE"
TESTNET = "testnet"


class ExchangeUrlError(PaperError, ValueError):
    """``--exchange`` is neither ``testnet`` nor an http(s) URL."""


def instrument_id(symbol: str) -> str:
    """Nautilus instrument id of a USDⓈ-M perpetual, e.g. ``BTCUSDT-PERP.BINANCE``."""
    return f"{symbol.upper()}-PERP.{VENUE}"


def venue_urls(exchange: str, ws_url: str | None = None) -> tuple[str, str]:
    """``(rest, ws)`` base URLs of ``--exchange`` (``testnet`` → Binance's USDⓈ-M testnet
    defaults of the adapter; a URL ``http://host:port`` → that REST base and
    ``ws://host:port/ws``, or ``ws_url`` when given).

    Raises:
        ExchangeUrlError: (a ``ValueError``) ``exchange`` is neither ``testnet`` nor an http(s) URL.
    """
    if exchange == TESTNET:
        return "https://demo-fapi.binance.com", ws_url or "wss://fstream.binancefuture.com/ws"
    if not exchange.startswith(("http://", "https://")):
        raise ExchangeUrlError(
            f"--exchange {exchange!r} is neither 'testnet' nor an http(s) URL "
            "(e.g. --exchange http://127.0.0.1:8090 for `vibe-quant exchange serve`)"
        )
    rest = exchange.rstrip("/")
    if ws_url:
        return rest, ws_url
    return rest, "ws" + rest[4:] + "/ws"


def build_node(
    *,
    run_id: int,
    exchange: str,
    rest: str,
    ws: str,
    api_key: str,
    api_secret: str,
    symbol: str,
    leverage: int,
    log_level: str = "INFO",
    timeout_connection_s: int = 30,
) -> Any:
    """The built (not running) ``LiveNode``; add the strategy, then ``node.run()``."""
    from nautilus_trader.core import nautilus_pyo3 as n3
    from nautilus_trader.core.nautilus_pyo3 import binance, live

    tid = n3.TraderId(f"VQPAPER-{int(run_id):03d}")
    env = binance.BinanceEnvironment.TESTNET
    urls: dict[str, Any] = {} if exchange == TESTNET else {"base_url_http": rest, "base_url_ws": ws}
    b = live.LiveNode.builder(f"vq-paper-{run_id}", tid, n3.Environment.LIVE)
    b = b.with_logging(n3.LoggerConfig(stdout_level=getattr(n3.LogLevel, log_level.upper())))
    b = b.add_data_client(
        None,
        binance.BinanceDataClientFactory(),
        binance.BinanceDataClientConfig(
            product_type=binance.BinanceProductType.USD_M,
            environment=env,
            api_key=api_key,
            api_secret=api_secret,
            **urls,
        ),
    )
    b = b.add_exec_client(
        None,
        binance.BinanceExecutionClientFactory(),
        binance.BinanceExecClientConfig(
            trader_id=tid,
            account_id=n3.AccountId(f"{VENUE}-001"),
            product_type=binance.BinanceProductType.USD_M,
            environment=env,
            use_ws_trading=False,
            futures_leverages={symbol.upper(): int(leverage)},
            futures_margin_types={symbol.upper(): binance.BinanceMarginType.ISOLATED},
            api_key=api_key,
            api_secret=api_secret,
            **urls,
        ),
    )
    return (
        b.with_reconciliation(True)
        .with_timeout_connection(timeout_connection_s)
        .with_delay_post_stop_secs(1)
        .with_timeout_disconnection_secs(3)
        .build()
    )
