"""Structured event log of a run: JSON lines under ``<data-dir>/logs/events/`` and SQLite.

One file per run: ``<data-dir>/logs/events/run-<run_id>.jsonl`` (``<name>.jsonl`` for a run that
is not stored). The file is written atomically (temp file + rename) after the run; the same
dicts go to the ``events`` table (:func:`vibe_quant.store.events_sql.record_events`, or
:func:`~vibe_quant.store.events_sql.record_run_with_events` for one transaction with the run).

Every line is one JSON object with these common keys::

    run_id   int | null     state-DB run id
    seq      int            0-based position in the log
    ts       int            UTC epoch ns
    time     str            the same instant, ISO-8601 UTC ("2024-03-14T18:55:00Z")
    kind     str            see below
    strategy, symbol  str

and, per ``kind`` (units: qty base units, prices/amounts USDT, side +1 buy/long −1 sell/short):

* ``order``: order_id, order_type (MARKET | STOP_MARKET | LIMIT), side, qty, price (trigger or
  limit; null for market), reduce_only, tag — orders sent through the strategy helpers
  (Nautilus's own ``LIQUIDATION-…`` orders appear only as their fill).
* ``order_denied``: reason — denied by Nautilus's risk engine or rejected by the venue.
* ``fill``: order_id, side, qty, price, commission, tag (exit reason), liquidity (MAKER|TAKER).
* ``liquidation``: one per round trip closed by a liquidation (tag ``liquidation``): side
  (of the position), qty, entry_price, exit_price, net_pnl, entry_ts.
* ``funding``: qty (signed position), price, rate (fraction), amount (+ received, − paid).
* ``risk_trip`` / ``risk_deny`` / ``risk_blocked``: the fields of
  :class:`vibe_quant.risk.breakers.RiskEvent` (rule, scope, action, equity, reference, value,
  threshold, until_ns, detail).

Order of lines: by ``ts``, then kind (risk → order/order_denied → fill → liquidation → funding),
then the order each list recorded them. Within one timestamp this is a readable order, not the
exact engine sequence.

Values follow :mod:`vibe_quant.core.jsonpolicy` (NaN → null, ±inf → ``"inf"``/``"-inf"``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vibe_quant.core import jsonpolicy
from vibe_quant.core.errors import ConfigError
from vibe_quant.core.intervals import iso_ns
from vibe_quant.core.paths import DataDir

if TYPE_CHECKING:
    from vibe_quant.store.state import StateStore

#: a data dir, or the path of its root
DataDirLike = DataDir | str | os.PathLike[str]

EVENT_KINDS = ("order", "order_denied", "fill", "liquidation", "funding", "risk_trip",
               "risk_deny", "risk_blocked")
_RANK = {"risk_trip": 0, "risk_deny": 0, "risk_blocked": 0, "order": 1, "order_denied": 1,
         "fill": 2, "liquidation": 3, "funding": 4}


class EventLogNameError(ConfigError, ValueError):
    """An event log is named by neither a run id nor a safe file name (still a ValueError)."""


def build_events(result: Any, run_id: int | None = None) -> list[dict[str, Any]]:
    """Event dicts (schema in the module docstring) from a
    :class:`~vibe_quant.backtest.result.BacktestResult`: its ``orders``, ``denied``, ``fills``,
    liquidation ``trades``, ``funding_payments`` and ``risk_events``."""
    rows: list[tuple[int, int, int, dict[str, Any]]] = []
    n = 0

    def add(ts: int, kind: str, fields: dict[str, Any]) -> None:
        nonlocal n
        rows.append((int(ts), _RANK[kind], n, {"kind": kind, **fields}))
        n += 1

    for o in getattr(result, "orders", []) or []:
        add(o.ts, "order", {"order_id": o.order_id, "order_type": o.order_type, "side": o.side,
                            "qty": o.qty, "price": o.price, "reduce_only": o.reduce_only,
                            "tag": o.tag})
    for ts, reason in result.denied:
        add(ts, "order_denied", {"reason": reason})
    for f in result.fills:
        add(f.ts, "fill", {"order_id": f.order_id, "side": f.side, "qty": f.qty,
                           "price": f.price, "commission": f.commission, "tag": f.tag,
                           "liquidity": f.liquidity})
    for t in result.trades:
        if t.exit_reason == "liquidation":
            add(t.exit_ts, "liquidation", {"side": 1 if t.side == "long" else -1, "qty": t.qty,
                                           "entry_price": t.entry_price,
                                           "exit_price": t.exit_price, "net_pnl": t.net_pnl,
                                           "entry_ts": t.entry_ts})
    for p in result.funding_payments:
        add(p.ts, "funding", {"qty": p.qty, "price": p.price, "rate": p.rate,
                              "amount": p.amount})
    for e in getattr(result, "risk_events", []) or []:
        d = e.to_dict()
        kind = d.pop("kind")
        ts = d.pop("ts")
        add(ts, kind, d)
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    out = []
    for seq, (ts, _, _, body) in enumerate(rows):
        ev = {"run_id": run_id, "seq": seq, "ts": ts, "time": iso_ns(ts),
              "strategy": result.strategy, "symbol": result.symbol}
        ev.update(body)
        out.append(jsonpolicy.jsonable(ev))
    return out


def events_dir(data_dir: DataDirLike) -> Path:
    """``<data-dir>/logs/events`` (``data_dir``: a :class:`~vibe_quant.core.paths.DataDir` or the
    path of its root)."""
    logs = data_dir.logs if hasattr(data_dir, "logs") else Path(data_dir) / "logs"
    return Path(logs) / "events"


def jsonl_path(data_dir: DataDirLike, run_id: int | None = None, name: str | None = None
               ) -> Path:
    """``run-<run_id>.jsonl`` (or ``<name>.jsonl``) in :func:`events_dir`.

    Raises:
        EventLogNameError (a ValueError): no ``run_id`` and ``name`` is not made of letters,
            digits, ``-``, ``_`` and ``.`` (or starts with ``.``).
    """
    if run_id is not None:
        fname = f"run-{int(run_id)}.jsonl"
    elif name and all(ch.isalnum() or ch in "-_." for ch in name) and not name.startswith("."):
        fname = f"{name}.jsonl"
    else:
        raise EventLogNameError(
            "pass a run_id, or a name of letters, digits, '-', '_' and '.'", name=name
        )
    return events_dir(data_dir) / fname


def write_jsonl(events: list[dict[str, Any]], data_dir: DataDirLike, run_id: int | None = None,
                name: str | None = None) -> Path:
    """Write ``events`` as JSON lines (atomically: temp file + rename); returns the path."""
    path = jsonl_path(data_dir, run_id, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".jsonl.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        for e in events:
            fh.write(jsonpolicy.dumps(e, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Events of one JSONL file, in file order (``"inf"``/``"-inf"`` back to floats)."""
    with open(path, encoding="utf-8") as fh:
        return [jsonpolicy.loads(line) for line in fh if line.strip()]


def log_run(store: StateStore, data_dir: DataDirLike, result: Any, *,
            strategy_id: int | None = None) -> tuple[int, Path]:
    """Record ``result`` with its events in ONE state-DB transaction, then write the JSONL file
    from the same event dicts. Returns ``(run_id, jsonl_path)``."""
    from vibe_quant.store.events_sql import record_run_with_events

    run_id, evs = record_run_with_events(
        store, result, lambda rid: build_events(result, run_id=rid), strategy_id=strategy_id)
    return run_id, write_jsonl(evs, data_dir, run_id=run_id)


def log_completed_run(store: StateStore, data_dir: DataDirLike, run_id: int, result: Any
                      ) -> Path:
    """For a run row created earlier (``StateStore.create_run``): write results and events in
    ONE transaction (``events_sql.complete_run_with_events``), then the JSONL file. Returns the
    file path. Drop-in for ``store.complete_run(run_id, result)``."""
    from vibe_quant.store.events_sql import complete_run_with_events

    evs = complete_run_with_events(
        store, run_id, result, lambda rid: build_events(result, run_id=rid))
    return write_jsonl(evs, data_dir, run_id=run_id)
