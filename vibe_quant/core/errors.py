"""vibe-quant's one exception tree.

Every error vibe-quant raises on purpose derives from :class:`VibeQuantError`; anything else
that escapes (a bare ``KeyError``, an error inside a library) is a bug and keeps its traceback.
Each class carries the one-line message a user reads, optional ``context`` (which input, which
id) and, once, how a transport reports it: a CLI exit code, an HTTP status, a job state.
The classes that existed before the tree keep their built-in base as a second parent (e.g.
``StrategyError`` is still a ``ValueError``), so ``except ValueError`` callers keep working::

    VibeQuantError                      exit 1   HTTP 500   job "failed"
    ├── ConfigError                     exit 2   HTTP 422   bad option, parameter or config value
    ├── NotFoundError                   exit 1   HTTP 404   no such run / sweep / job / paper run
    ├── DataError                       exit 1   HTTP 409   market data missing, corrupt or
    unfetchable
    │   ├── MissingDataError                               (data.coverage) bars not in the catalog
    │   ├── CsvFormatError                                 (venues.binance.csvparse)
    │   └── FetchError → ChecksumError                     (venues.binance.http / bulk)
    ├── VenueError                      exit 1   HTTP 502   a venue refused or could not be reached
    │   ├── UnknownSymbolError → MissingContractTermsError (venues.binance.instruments)
    │   ├── BinanceApiError                                (exchange.client; Binance error JSON)
    │   └── BinanceError                                   (exchange.protocol; local exchange)
    ├── StrategyDefinitionError         exit 2   HTTP 422   the strategy YAML / DSL is invalid
    │   ├── StrategyError                                  (dsl.errors; one line per diagnostic)
    │   ├── ConditionSyntaxError                           (dsl.grammar)
    │   ├── SweepKeyError                                  (dsl.sweep)
    │   └── PresetError                                    (risk.presets)
    ├── StatisticsInputError            exit 1   HTTP 422   a statistic's input is unusable (too few
    │                                                      observations, bad shape or parameter;
    │                                                      research.overfitting; also a ValueError)
    ├── StrategyRunError                exit 1   HTTP 500   the engine run of a strategy failed
    │   └── SweepStartupError                              (research.screening.sweep)
    ├── StoreError                      exit 1   HTTP 503   the state database is missing or
    unusable
    ├── JobError                        exit 1   HTTP 409   a background job cannot do what was
    asked
    │   └── JobNotFoundError (also NotFoundError)          (jobs.control)
    ├── PaperError                      exit 1   HTTP 409   paper trading (paper.control)
    │   └── CredentialError                                (paper.credentials)
    └── AlertError                      exit 1   HTTP 502   Telegram alerts (alerts.config)

Modelled on httpx's ``_exceptions.py``: one base, the whole hierarchy in one docstring.
"""

from __future__ import annotations

from typing import Any, ClassVar


class VibeQuantError(Exception):
    """Base of every deliberate vibe-quant error.

    Args:
        message: one line: what is wrong, which input, what to run instead.
        **context: machine-readable details (ids, paths, values); never secrets.
    """

    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500
    job_state: ClassVar[str] = "failed"

    def __init__(self, message: str = "", /, *args: Any, **context: Any) -> None:
        super().__init__(message, *args)
        self.context: dict[str, Any] = dict(context)

    @property
    def message(self) -> str:
        """The one-line message (the first argument)."""
        return str(self.args[0]) if self.args else ""


class ConfigError(VibeQuantError):
    """A configuration, option or parameter value is invalid."""

    exit_code = 2
    http_status = 422


class NotFoundError(VibeQuantError):
    """An id (run, sweep, job, paper run, preset) names nothing stored."""

    http_status = 404


class DataError(VibeQuantError):
    """Market data is missing, corrupt or could not be fetched."""

    http_status = 409


class VenueError(VibeQuantError):
    """A venue (Binance REST/WS, the local exchange) refused a request or was unreachable."""

    http_status = 502


class StrategyDefinitionError(VibeQuantError):
    """A strategy definition (YAML, DSL expression, sweep key, risk preset) is invalid."""

    exit_code = 2
    http_status = 422


class StatisticsInputError(VibeQuantError, ValueError):
    """The input of a statistic is unusable: too few observations, mismatched shapes, a
    parameter out of its domain (the overfitting statistics; still a ``ValueError``)."""

    http_status = 422


class StrategyRunError(VibeQuantError):
    """The engine run of a strategy failed (an exception inside the strategy or the engine)."""


class StoreError(VibeQuantError):
    """The state database is missing, locked or not what this version expects."""

    http_status = 503


class JobError(VibeQuantError):
    """A background job cannot do what was asked."""

    http_status = 409


class PaperError(VibeQuantError):
    """Paper trading cannot do what was asked (no such run, not running, venue refused)."""

    http_status = 409


class AlertError(VibeQuantError):
    """Telegram alerts are misconfigured or the Bot API refused."""

    http_status = 502


def exit_code_of(exc: BaseException) -> int:
    """The CLI exit code of ``exc`` (1 for anything outside the tree)."""
    return exc.exit_code if isinstance(exc, VibeQuantError) else 1
