"""All SQL of the local exchange: its state database ``<data-dir>/exchange/exchange.db``.

Tables: ``meta`` (configuration, replay cursor, id sequence, funding cursor per symbol),
``balances``, ``symbol_config`` (leverage, margin type), ``positions``, ``orders``,
``algo_orders``, ``trades``, ``income`` (funding, commission, realized PnL ledger) and
``listen_keys``. No API key or secret is ever written here.

Every state change of one request or one replayed bar is written in ONE transaction
(:meth:`ExchangeStore.transaction`), and the exchange publishes the resulting stream events only
after that transaction committed, so a crash never shows a client a state it will not find after
the restart.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple, fields
from pathlib import Path
from typing import Any

from vibe_quant.exchange.models import AlgoOrder, Income, Order, Position, Trade
from vibe_quant.store.sqlite import connect

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS balances (asset TEXT PRIMARY KEY, wallet REAL NOT NULL);
CREATE TABLE IF NOT EXISTS symbol_config (
    symbol TEXT PRIMARY KEY, leverage INTEGER NOT NULL, margin_type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    symbol TEXT PRIMARY KEY, amt REAL NOT NULL, entry REAL NOT NULL,
    isolated_margin REAL NOT NULL, realized REAL NOT NULL, update_time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    order_id INTEGER PRIMARY KEY, symbol TEXT NOT NULL, client_order_id TEXT NOT NULL,
    side TEXT NOT NULL, type TEXT NOT NULL, orig_type TEXT NOT NULL, time_in_force TEXT NOT NULL,
    price REAL NOT NULL, stop_price REAL NOT NULL, qty REAL NOT NULL, executed_qty REAL NOT NULL,
    cum_quote REAL NOT NULL, status TEXT NOT NULL, reduce_only INTEGER NOT NULL,
    close_position INTEGER NOT NULL, working_type TEXT NOT NULL, time INTEGER NOT NULL,
    update_time INTEGER NOT NULL, algo_id INTEGER);
CREATE INDEX IF NOT EXISTS orders_client ON orders (symbol, client_order_id);
CREATE INDEX IF NOT EXISTS orders_status ON orders (status);
CREATE TABLE IF NOT EXISTS algo_orders (
    algo_id INTEGER PRIMARY KEY, client_algo_id TEXT NOT NULL, symbol TEXT NOT NULL,
    side TEXT NOT NULL, order_type TEXT NOT NULL, qty REAL NOT NULL, trigger_price REAL NOT NULL,
    price REAL NOT NULL, working_type TEXT NOT NULL, time_in_force TEXT NOT NULL,
    reduce_only INTEGER NOT NULL, close_position INTEGER NOT NULL, status TEXT NOT NULL,
    executed_qty REAL NOT NULL, avg_price REAL NOT NULL, create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL, trigger_time INTEGER NOT NULL, actual_order_id INTEGER);
CREATE INDEX IF NOT EXISTS algo_client ON algo_orders (client_algo_id);
CREATE TABLE IF NOT EXISTS trades (
    id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, symbol TEXT NOT NULL,
    client_order_id TEXT NOT NULL, side TEXT NOT NULL, price REAL NOT NULL, qty REAL NOT NULL,
    quote_qty REAL NOT NULL, realized_pnl REAL NOT NULL, commission REAL NOT NULL,
    maker INTEGER NOT NULL, time INTEGER NOT NULL, liquidation INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS trades_symbol ON trades (symbol, id);
CREATE TABLE IF NOT EXISTS income (
    id INTEGER PRIMARY KEY, symbol TEXT NOT NULL, income_type TEXT NOT NULL,
    income REAL NOT NULL, time INTEGER NOT NULL, info TEXT NOT NULL, trade_id INTEGER);
CREATE TABLE IF NOT EXISTS listen_keys (
    listen_key TEXT PRIMARY KEY, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);
"""


def _cols(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def _row_to(cls: type, row: tuple) -> Any:
    vals = list(row)
    out = cls(*vals)
    for f in fields(cls):  # SQLite has no bool
        if f.type in ("bool", bool):
            setattr(out, f.name, bool(getattr(out, f.name)))
    return out


class ExchangeStore:
    """The exchange's SQLite state. Single-threaded: used from the server's event loop only."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.conn = connect(self.path)
        self.conn.executescript(_SCHEMA)
        self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._depth = 0

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic write (re-entrant: nested calls join the outer transaction)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self.conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self.conn.execute("COMMIT")

    # ---- meta ---------------------------------------------------------------------------

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key: str, value: Any) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value=excluded.value",
            (key, json.dumps(value)),
        )

    def next_id(self, name: str, start: int) -> int:
        """Next value of the named sequence (persisted; first value ``start``)."""
        cur = int(self.get_meta(f"seq:{name}", start - 1)) + 1
        self.set_meta(f"seq:{name}", cur)
        return cur

    # ---- balances and symbol configuration ---------------------------------------------

    def balances(self) -> dict[str, float]:
        return dict(self.conn.execute("SELECT asset, wallet FROM balances").fetchall())

    def set_balance(self, asset: str, wallet: float) -> None:
        self.conn.execute(
            "INSERT INTO balances (asset, wallet) VALUES (?, ?)"
            " ON CONFLICT (asset) DO UPDATE SET wallet=excluded.wallet",
            (asset, wallet),
        )

    def symbol_configs(self) -> dict[str, tuple[int, str]]:
        rows = self.conn.execute("SELECT symbol, leverage, margin_type FROM symbol_config")
        return {s: (int(lev), mt) for s, lev, mt in rows.fetchall()}

    def set_symbol_config(self, symbol: str, leverage: int, margin_type: str) -> None:
        self.conn.execute(
            "INSERT INTO symbol_config (symbol, leverage, margin_type) VALUES (?, ?, ?)"
            " ON CONFLICT (symbol) DO UPDATE SET leverage=excluded.leverage,"
            " margin_type=excluded.margin_type",
            (symbol, leverage, margin_type),
        )

    # ---- positions ----------------------------------------------------------------------

    def positions(self) -> dict[str, Position]:
        rows = self.conn.execute(f"SELECT {', '.join(_cols(Position))} FROM positions")
        return {r[0]: _row_to(Position, r) for r in rows.fetchall()}

    def save_position(self, p: Position) -> None:
        cols = _cols(Position)
        self.conn.execute(
            f"INSERT OR REPLACE INTO positions ({', '.join(cols)}) VALUES "
            f"({', '.join('?' * len(cols))})",
            astuple(p),
        )

    # ---- orders -------------------------------------------------------------------------

    def save_order(self, o: Order) -> None:
        cols = _cols(Order)
        self.conn.execute(
            f"INSERT OR REPLACE INTO orders ({', '.join(cols)}) VALUES "
            f"({', '.join('?' * len(cols))})",
            astuple(o),
        )

    def open_orders(self) -> list[Order]:
        rows = self.conn.execute(
            f"SELECT {', '.join(_cols(Order))} FROM orders WHERE status IN"
            " ('NEW', 'PARTIALLY_FILLED') ORDER BY order_id"
        )
        return [_row_to(Order, r) for r in rows.fetchall()]

    def order_by_id(self, order_id: int) -> Order | None:
        row = self.conn.execute(
            f"SELECT {', '.join(_cols(Order))} FROM orders WHERE order_id=?", (order_id,)
        ).fetchone()
        return _row_to(Order, row) if row else None

    def order_by_client_id(self, symbol: str, client_order_id: str) -> Order | None:
        """The most recent order of ``symbol`` with this client order id."""
        row = self.conn.execute(
            f"SELECT {', '.join(_cols(Order))} FROM orders WHERE symbol=? AND"
            " client_order_id=? ORDER BY order_id DESC LIMIT 1",
            (symbol, client_order_id),
        ).fetchone()
        return _row_to(Order, row) if row else None

    def all_orders(self, symbol: str | None = None) -> list[Order]:
        q = f"SELECT {', '.join(_cols(Order))} FROM orders"
        args: tuple = ()
        if symbol:
            q, args = q + " WHERE symbol=?", (symbol,)
        return [_row_to(Order, r) for r in self.conn.execute(q + " ORDER BY order_id", args)]

    # ---- algo orders --------------------------------------------------------------------

    def save_algo(self, a: AlgoOrder) -> None:
        cols = _cols(AlgoOrder)
        self.conn.execute(
            f"INSERT OR REPLACE INTO algo_orders ({', '.join(cols)}) VALUES "
            f"({', '.join('?' * len(cols))})",
            astuple(a),
        )

    def open_algos(self) -> list[AlgoOrder]:
        rows = self.conn.execute(
            f"SELECT {', '.join(_cols(AlgoOrder))} FROM algo_orders WHERE status IN"
            " ('NEW', 'TRIGGERING', 'TRIGGERED') ORDER BY algo_id"
        )
        return [_row_to(AlgoOrder, r) for r in rows.fetchall()]

    def algo_by_id(self, algo_id: int) -> AlgoOrder | None:
        row = self.conn.execute(
            f"SELECT {', '.join(_cols(AlgoOrder))} FROM algo_orders WHERE algo_id=?", (algo_id,)
        ).fetchone()
        return _row_to(AlgoOrder, row) if row else None

    def algo_by_client_id(self, client_algo_id: str) -> AlgoOrder | None:
        row = self.conn.execute(
            f"SELECT {', '.join(_cols(AlgoOrder))} FROM algo_orders WHERE client_algo_id=?"
            " ORDER BY algo_id DESC LIMIT 1",
            (client_algo_id,),
        ).fetchone()
        return _row_to(AlgoOrder, row) if row else None

    def all_algos(self) -> list[AlgoOrder]:
        rows = self.conn.execute(
            f"SELECT {', '.join(_cols(AlgoOrder))} FROM algo_orders ORDER BY algo_id"
        )
        return [_row_to(AlgoOrder, r) for r in rows.fetchall()]

    # ---- trades and income --------------------------------------------------------------

    def add_trade(self, t: Trade) -> None:
        cols = _cols(Trade)
        self.conn.execute(
            f"INSERT INTO trades ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            astuple(t),
        )

    def trades(
        self,
        symbol: str | None = None,
        *,
        from_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        order_id: int | None = None,
        limit: int = 1000,
    ) -> list[Trade]:
        """Trades ascending by id, filtered like ``GET /fapi/v1/userTrades``."""
        where, args = [], []
        for cond, val in (
            ("symbol=?", symbol),
            ("id>=?", from_id),
            ("time>=?", start_ms),
            ("time<=?", end_ms),
            ("order_id=?", order_id),
        ):
            if val is not None:
                where.append(cond)
                args.append(val)
        q = f"SELECT {', '.join(_cols(Trade))} FROM trades"
        if where:
            q += " WHERE " + " AND ".join(where)
        q += " ORDER BY id LIMIT ?"
        return [_row_to(Trade, r) for r in self.conn.execute(q, (*args, limit))]

    def add_income(self, i: Income) -> None:
        cols = _cols(Income)
        self.conn.execute(
            f"INSERT INTO income ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            astuple(i),
        )

    def income(
        self,
        symbol: str | None = None,
        income_type: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 1000,
    ) -> list[Income]:
        where, args = [], []
        for cond, val in (
            ("symbol=?", symbol),
            ("income_type=?", income_type),
            ("time>=?", start_ms),
            ("time<=?", end_ms),
        ):
            if val is not None:
                where.append(cond)
                args.append(val)
        q = f"SELECT {', '.join(_cols(Income))} FROM income"
        if where:
            q += " WHERE " + " AND ".join(where)
        q += " ORDER BY id LIMIT ?"
        return [_row_to(Income, r) for r in self.conn.execute(q, (*args, limit))]

    # ---- listen keys --------------------------------------------------------------------

    def listen_keys(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT listen_key, updated_ms FROM listen_keys"))

    def save_listen_key(self, key: str, now_ms: int) -> None:
        self.conn.execute(
            "INSERT INTO listen_keys (listen_key, created_ms, updated_ms) VALUES (?, ?, ?)"
            " ON CONFLICT (listen_key) DO UPDATE SET updated_ms=excluded.updated_ms",
            (key, now_ms, now_ms),
        )

    def delete_listen_key(self, key: str) -> bool:
        return self.conn.execute("DELETE FROM listen_keys WHERE listen_key=?", (key,)).rowcount > 0

    # ---- summary (admin) ----------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        out = {}
        for t in ("orders", "algo_orders", "trades", "income", "listen_keys"):
            out[t] = int(self.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
        return out
