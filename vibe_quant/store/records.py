"""Frozen records: one per kind of row the state database returns.

Every record is a frozen dataclass whose field names are the table's column names, so it reads
both as an object (``run.status``) and, through :class:`Record`, as a read-only mapping
(``run["status"]``, ``run.get("error")``, ``dict(run)``, ``run.keys()``), the shape callers used
when rows were plain dicts. A record compares equal to a dict with the same items, is strict
JSON-serialisable (it *is* a read-only :class:`dict`), pickles (it is shipped to worker
processes) and refuses every mutation (``FrozenInstanceError`` for attributes, ``TypeError`` for
items). :meth:`Record.to_dict` gives a plain, mutable deep copy.

Decoded JSON columns (``params``, ``metrics``, ``config``, ``combos`` …) are frozen too: objects
become :class:`ReadOnlyDict` and arrays :class:`ReadOnlyList` (equal to the dict / list they
were decoded from). Values follow :mod:`vibe_quant.core.jsonpolicy`: a non-finite metric comes
back as ``None`` (was NaN) or ``±inf``.

Units are the stored ones (:mod:`vibe_quant.store.state`): ``*_ns`` UTC epoch nanoseconds,
prices/PnL/fees/funding USDT, returns and drawdowns fractions, ``*_at`` ISO-8601 UTC text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from typing import Any, NamedTuple, NoReturn, Self


def _read_only(self: object, *args: Any, **kwargs: Any) -> NoReturn:
    raise TypeError(f"{type(self).__name__} is read-only (copy it with dict(...) / list(...))")


class ReadOnlyDict(dict):  # type: ignore[type-arg]
    """A decoded JSON object that cannot be changed (a ``dict`` for readers and JSON)."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[Any, ...]:
        return (ReadOnlyDict, (dict(self),))


class ReadOnlyList(list):  # type: ignore[type-arg]
    """A decoded JSON array that cannot be changed (a ``list`` for readers and JSON)."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only
    append = extend = insert = pop = remove = clear = sort = reverse = _read_only

    def __reduce__(self) -> tuple[Any, ...]:
        return (ReadOnlyList, (list(self),))


def freeze(v: Any) -> Any:
    """``v`` with every dict / list (recursively) replaced by a read-only copy."""
    if isinstance(v, dict) and not isinstance(v, (ReadOnlyDict, Record)):
        return ReadOnlyDict({k: freeze(x) for k, x in v.items()})
    if isinstance(v, list) and not isinstance(v, ReadOnlyList):
        return ReadOnlyList(freeze(x) for x in v)
    return v


def thaw(v: Any) -> Any:
    """A plain, mutable deep copy of a frozen value (dicts and lists, recursively)."""
    if isinstance(v, dict):
        return {k: thaw(x) for k, x in v.items()}
    if isinstance(v, list):
        return [thaw(x) for x in v]
    return v


class Record(dict):  # type: ignore[type-arg]
    """Base of every record: a frozen dataclass that is also a read-only mapping of its fields.

    Subclasses are declared ``@dataclass(frozen=True, eq=False)`` (equality is the mapping's:
    a record equals any dict with the same items).
    """

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __post_init__(self) -> None:
        for name in self.field_names():
            v = freeze(getattr(self, name))
            object.__setattr__(self, name, v)
            dict.__setitem__(self, name, v)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), tuple(getattr(self, n) for n in self.field_names()))

    def to_dict(self) -> dict[str, Any]:
        """Plain, mutable deep copy (JSON columns as plain dicts / lists)."""
        return {k: thaw(v) for k, v in self.items()}

    @classmethod
    @cache
    def field_names(cls) -> tuple[str, ...]:
        """The record's fields = the columns it is read from, in table order."""
        return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    def columns(cls, alias: str = "") -> str:
        """``SELECT`` list of the record's columns (``alias.`` prefixed when given)."""
        pre = f"{alias}." if alias else ""
        return ", ".join(pre + n for n in cls.field_names())

    @classmethod
    def from_row(cls, row: sqlite3.Row | Mapping[str, Any] | None, **decoded: Any
                 ) -> Self | None:
        """The record of a row read with :meth:`columns` (``None`` stays ``None``); keyword
        arguments replace columns (decoded JSON, booleans)."""
        if row is None:
            return None
        values = {k: row[k] for k in cls.field_names() if k not in decoded}
        return cls(**values, **decoded)


# ---------------------------------------------------------------------- backtests
@dataclass(frozen=True, eq=False)
class StrategyRow(Record):
    """A stored strategy definition (``strategies``): ``hash`` is the sha256 of ``yaml``."""

    id: int
    name: str
    version: int
    yaml: str
    hash: str


@dataclass(frozen=True, eq=False)
class BacktestRun(Record):
    """A backtest run (``backtest_runs``): ``symbols`` a list, ``params`` an object; ``status``
    pending | running | completed | failed."""

    id: int
    strategy_id: int | None
    strategy_name: str
    symbols: list[str]
    interval: str
    start_ns: int
    end_ns: int
    params: dict[str, Any]
    mode: str
    leverage: float
    starting_balance: float
    seed: int
    status: str
    started_at: str
    finished_at: str | None
    error: str | None


@dataclass(frozen=True, eq=False)
class Trade(Record):
    """A round-trip trade of a run (``trades``), ``seq`` 0-based; amounts USDT."""

    run_id: int
    seq: int
    entry_ns: int
    exit_ns: int | None
    side: str
    qty: float
    entry_price: float
    exit_price: float | None
    notional: float
    fees: float
    funding: float
    realized_pnl: float
    net_pnl: float
    exit_reason: str | None
    liquidation_fee: float
    insurance_fund_absorbed: float


class EquityPoint(NamedTuple):
    """Marked-to-market equity (USDT) at the last bar of a UTC day (``YYYY-MM-DD``)."""

    date: str
    equity: float


# ---------------------------------------------------------------------- sweeps and filters
@dataclass(frozen=True, eq=False)
class Sweep(Record):
    """A parameter sweep (``sweeps``): ``combos`` the list of parameter objects (index =
    ``combo_idx``); ``status`` running | completed."""

    id: int
    identity: str
    strategy_name: str
    yaml: str
    strategy_ref: str | None
    symbol: str
    interval: str
    start_ns: int
    end_ns: int
    mode: str
    sample: str
    seed: int
    leverage: float
    starting_balance: float
    combos: list[dict[str, Any]]
    n_combos: int
    status: str
    created_at: str
    finished_at: str | None


@dataclass(frozen=True, eq=False)
class SweepSummary(Record):
    """One line of the sweep list: the sweep's settings and ``done`` (stored results)."""

    id: int
    strategy_name: str
    symbol: str
    interval: str
    start_ns: int
    end_ns: int
    mode: str
    n_combos: int
    status: str
    created_at: str
    finished_at: str | None
    done: int


@dataclass(frozen=True, eq=False)
class SweepResult(Record):
    """One combination's outcome (``sweep_results``): headline columns NULL when non-finite,
    ``metrics`` every metric (NaN → None, ±inf kept), ``daily_returns`` the list of daily simple
    returns (None unless read ``with_returns``); ``passes_filters``/``is_pareto`` 0 or 1."""

    sweep_id: int
    combo_idx: int
    params: dict[str, Any]
    status: str
    error: str | None
    sharpe: float | None
    sharpe_daily: float | None
    total_return: float | None
    max_drawdown: float | None
    profit_factor: float | None
    trades: int | None
    metrics: dict[str, Any]
    daily_returns: list[float] | None
    daily_start: str | None
    engine_s: float | None
    total_s: float | None
    passes_filters: int
    is_pareto: int
    finished_at: str


@dataclass(frozen=True, eq=False)
class FilterRun(Record):
    """One ``vibe-quant filter`` run on a sweep (``filter_runs``), ``config`` its settings."""

    id: int
    sweep_id: int
    config: dict[str, Any]
    created_at: str


@dataclass(frozen=True, eq=False)
class FilterResult(Record):
    """One filter's result for one candidate (``combo_idx`` -1: sweep-level) of a filter run."""

    filter_run_id: int
    combo_idx: int
    filter: str
    value: float | None
    threshold: Any
    passed: bool
    details: dict[str, Any]


# ---------------------------------------------------------------------- validation
@dataclass(frozen=True, eq=False)
class ValidationRun(Record):
    """One ``vibe-quant validate`` run on a sweep (``validation_runs``)."""

    id: int
    sweep_id: int
    config: dict[str, Any]
    status: str
    created_at: str
    finished_at: str | None


@dataclass(frozen=True, eq=False)
class ValidationResult(Record):
    """Screening vs validation of one candidate (``validation_results``); Sharpe annualised,
    returns/drawdowns fractions, degradations percent, ``slippage_cost`` USDT."""

    validation_run_id: int
    combo_idx: int
    run_id: int | None
    params: dict[str, Any]
    status: str
    error: str | None
    screening_sharpe: float | None
    validation_sharpe: float | None
    sharpe_degradation_pct: float | None
    screening_return: float | None
    validation_return: float | None
    return_degradation_pct: float | None
    screening_max_drawdown: float | None
    validation_max_drawdown: float | None
    drawdown_degradation_pct: float | None
    screening_trades: int | None
    validation_trades: int | None
    execution_sensitive: bool | None
    slippage_cost: float | None
    details: dict[str, Any]
    finished_at: str
    execution_interval: str | None
    execution_note: str | None
    impact_sensitivity: list[dict[str, Any]] | None


# ---------------------------------------------------------------------- pipeline, jobs, presets
@dataclass(frozen=True, eq=False)
class PipelineRun(Record):
    """A ``vibe-quant pipeline`` identity and the last stage it finished (``pipeline_runs``);
    ``stage_seconds`` maps stage → wall seconds."""

    id: int
    identity: str
    strategy_name: str
    symbol: str
    start_ns: int
    end_ns: int
    config: dict[str, Any]
    stage: str
    sweep_id: int | None
    filter_run_id: int | None
    validation_run_id: int | None
    report_path: str | None
    stage_seconds: dict[str, float]
    created_at: str
    updated_at: str


@dataclass(frozen=True, eq=False)
class Job(Record):
    """A background job (``background_jobs``): ``args`` the masked argv list, ``result_ref``
    an object naming what it produced or None; times ISO-8601 UTC with milliseconds."""

    id: int
    command: str
    args: list[str]
    state: str
    token: str
    pid: int | None
    pgid: int | None
    proc_start: float | None
    progress_done: float | None
    progress_total: float | None
    progress_unit: str | None
    heartbeat_at: str | None
    log_path: str
    result_ref: dict[str, Any] | None
    exit_code: int | None
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None


@dataclass(frozen=True, eq=False)
class Preset(Record):
    """One version of a risk preset; ``body`` its JSON text, ``source`` the YAML it came from."""

    name: str
    version: int
    body: str
    source: str | None
    created_at: str


@dataclass(frozen=True, eq=False)
class PresetSummary(Record):
    """The latest version of a risk preset with its ``body`` decoded."""

    name: str
    version: int
    body: dict[str, Any]
    created_at: str


# ---------------------------------------------------------------------- paper trading
@dataclass(frozen=True, eq=False)
class PaperRun(Record):
    """A paper run (``paper_runs``, see :mod:`vibe_quant.store.paper_sql`); JSON columns
    (params, risk, open_orders, breaker, strategy_state) decoded when set."""

    id: int
    strategy_name: str
    strategy_yaml: str
    symbol: str
    interval: str
    params: Any
    leverage: float
    starting_balance: float | None
    risk: Any
    exchange: str
    rest_url: str
    ws_url: str
    key_file: str | None
    from_validation: int | None
    trader_id: str
    strategy_id: str
    status: str
    stop_requested: int
    kill_requested: int
    flatten_on_stop: int
    supervisor_pid: int | None
    child_pid: int | None
    restarts: int
    heartbeat_at: str | None
    heartbeat_ns: int | None
    child_state: str | None
    last_bar_ns: int | None
    trade_start_ns: int | None
    position: float | None
    avg_entry: float | None
    balance: float | None
    upnl: float | None
    open_orders: Any
    breaker: Any
    strategy_state: Any
    last_trade_id: int
    last_income_ms: int
    log_path: str
    error: str | None
    created_at: str
    started_at: str | None
    stopped_at: str | None


@dataclass(frozen=True, eq=False)
class PaperRunSummary(Record):
    """One line of the paper-run list (no strategy text)."""

    id: int
    strategy_name: str
    symbol: str
    interval: str
    status: str
    exchange: str
    leverage: float
    restarts: int
    position: float | None
    balance: float | None
    upnl: float | None
    last_bar_ns: int | None
    heartbeat_at: str | None
    child_state: str | None
    created_at: str
    stopped_at: str | None
    error: str | None


@dataclass(frozen=True, eq=False)
class PaperFlags(Record):
    """A paper run's status and control flags."""

    status: str
    stop_requested: bool
    kill_requested: bool
    flatten_on_stop: bool


@dataclass(frozen=True, eq=False)
class PaperIntent(Record):
    """A journalled order intent (written before submission); ``side`` +1 buy / −1 sell."""

    run_id: int
    client_order_id: str
    role: str
    tag: str
    bar_ns: int
    side: int
    qty: float
    order_type: str
    price: float | None
    reduce_only: int
    sig: Any
    created_at: str


@dataclass(frozen=True, eq=False)
class PaperFill(Record):
    """A venue trade of a paper run; ``source`` child | venue; price and commission USDT."""

    run_id: int
    trade_id: int
    client_order_id: str | None
    ts_ns: int
    side: int
    qty: float
    price: float
    commission: float
    realized_pnl: float | None
    tag: str | None
    bar_ns: int | None
    source: str


@dataclass(frozen=True, eq=False)
class PaperFunding(Record):
    """A venue funding payment (USDT, + received / − paid)."""

    ts_ns: int
    amount: float


@dataclass(frozen=True, eq=False)
class PaperEquity(Record):
    """An equity point (USDT) of a paper run."""

    ts_ns: int
    equity: float
    balance: float | None
    position: float | None


@dataclass(frozen=True, eq=False)
class PaperEvent(Record):
    """One event of a paper run's log, ``payload`` decoded."""

    seq: int
    ts_ns: int
    kind: str
    payload: dict[str, Any]
