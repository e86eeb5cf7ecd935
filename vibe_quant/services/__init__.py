"""The services layer: the one API every transport calls (CLI, dashboard, background jobs,
later the REST API and notifications).

Each module is a set of typed use cases over the stages below it. A use case takes plain
values and frozen configs (:class:`vibe_quant.core.config.FrozenConfig`), opens and closes what
it needs (the state database, the catalog), takes an optional progress callback
(:mod:`vibe_quant.core.progress`) and returns a typed, frozen result. It raises only errors of
the tree in :mod:`vibe_quant.core.errors`, which each transport maps once (CLI exit codes, HTTP
statuses, job states). It never prints, never draws a progress bar, never calls ``sys.exit``.

Transports import ``vibe_quant.services`` and ``vibe_quant.core`` only (enforced by the
import-linter contracts in ``pyproject.toml``). Modelled on freqtrade's RPC facade
(``freqtrade/rpc/rpc.py``): one business facade shared by every transport, thin handlers.
"""
