"""Paper trading: the compiled strategy on a live NautilusTrader node against Binance USDⓈ-M
testnet or the local exchange, supervised, crash-safe, with a kill switch (SPEC.md §17).

Modules (one job each):

* :mod:`.credentials` — API key/secret from the environment or a 0600 key file.
* :mod:`.node`        — the Rust ``LiveNode`` with the Binance data + execution clients.
* :mod:`.strategy`    — :class:`~.strategy.PaperMixin`: bar-time convention, warm-up, funding
  settlement, write-ahead intents with deterministic client order ids, restart rebuild,
  heartbeat and stop/kill flags.
* :mod:`.journal`     — the run's SQLite journal + JSON-lines event log.
* :mod:`.child`       — the trading process (``node.run()`` on its main thread).
* :mod:`.supervisor`  — restarts the child (exit ≠ 0, stale heartbeat) with back-off; journals
  venue trades and funding over REST; alerts.
* :mod:`.venue`       — signed REST calls and the REST flattener of the kill switch.
* :mod:`.control`     — start / status / stop / kill / resume (CLI and dashboard).
"""
