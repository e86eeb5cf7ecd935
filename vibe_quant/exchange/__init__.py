"""A local Binance USDⓈ-M futures exchange (``vibe-quant exchange serve``, SPEC.md section 13).

It speaks the REST and WebSocket protocol that NautilusTrader 1.231's Rust Binance adapter uses
(``nautilus_pyo3.binance``), replays archived real bars as closed klines, mark price and funding
at a chosen speed, matches MARKET / LIMIT and conditional (algo) orders on each bar's
O→H→L→C path, keeps isolated-margin positions with fees, funding and liquidation, and stores its
whole state in SQLite so it survives a restart.

Modules (one job each):

* :mod:`.store`    — every SQL statement (state database ``<data-dir>/exchange/exchange.db``).
* :mod:`.market`   — archived bars, funding and exchangeInfo; kline/markPrice message shapes.
* :mod:`.margin`   — isolated-margin position arithmetic and the liquidation price.
* :mod:`.engine`   — the matching engine and account (orders, fills, funding, liquidation).
* :mod:`.protocol` — Binance error documents, HMAC-SHA256 signature checks, JSON shapes.
* :mod:`.rest`     — the ``/fapi`` REST handlers; :mod:`.admin` — the ``/admin`` test API.
* :mod:`.ws`       — market and user-data WebSocket streams.
* :mod:`.clock`    — the replay clock (speed, pause, step).
* :mod:`.server`   — assembling and running the application (uvicorn).
"""
