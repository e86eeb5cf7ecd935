"""The exchange's records: orders, algo (conditional) orders, positions, trades, income.

Units: prices in USDT, quantities in base units (BTC), money in USDT, times UTC epoch ms of the
*replay* clock (market time). Sides and types are Binance's strings (``BUY``/``SELL``,
``MARKET``/``LIMIT``/``STOP_MARKET``/``TAKE_PROFIT_MARKET``).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Order statuses after which an order is no longer open.
CLOSED_STATUSES = frozenset({"FILLED", "CANCELED", "EXPIRED", "REJECTED"})
#: Algo statuses after which an algo order is no longer open.
ALGO_CLOSED_STATUSES = frozenset({"FINISHED", "CANCELED", "EXPIRED", "REJECTED"})


@dataclass
class Order:
    """A matching-engine order (``/fapi/v1/order``, or the order an algo order triggered)."""

    order_id: int
    symbol: str
    client_order_id: str
    side: str
    type: str
    orig_type: str
    time_in_force: str
    price: float
    stop_price: float
    qty: float
    executed_qty: float
    cum_quote: float
    status: str
    reduce_only: bool
    close_position: bool
    working_type: str
    time: int
    update_time: int
    algo_id: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    @property
    def avg_price(self) -> float:
        return self.cum_quote / self.executed_qty if self.executed_qty > 0 else 0.0

    @property
    def remaining(self) -> float:
        return max(0.0, self.qty - self.executed_qty)


@dataclass
class AlgoOrder:
    """A conditional order of Binance's Algo service (``/fapi/v1/algoOrder``)."""

    algo_id: int
    client_algo_id: str
    symbol: str
    side: str
    order_type: str
    qty: float
    trigger_price: float
    price: float
    working_type: str
    time_in_force: str
    reduce_only: bool
    close_position: bool
    status: str
    executed_qty: float
    avg_price: float
    create_time: int
    update_time: int
    trigger_time: int = 0
    actual_order_id: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in ALGO_CLOSED_STATUSES


@dataclass
class Position:
    """A one-way (``positionSide=BOTH``) isolated position.

    ``amt`` signed quantity (+ long), ``entry`` average entry price, ``isolated_margin`` the
    isolated wallet (USDT), ``realized`` accumulated realized PnL before fees (Binance ``cr``).
    """

    symbol: str
    amt: float = 0.0
    entry: float = 0.0
    isolated_margin: float = 0.0
    realized: float = 0.0
    update_time: int = 0

    @property
    def side(self) -> int:
        return 1 if self.amt > 0 else (-1 if self.amt < 0 else 0)


@dataclass
class Trade:
    """One fill (Binance ``userTrades`` row)."""

    id: int
    order_id: int
    symbol: str
    client_order_id: str
    side: str
    price: float
    qty: float
    quote_qty: float
    realized_pnl: float
    commission: float
    maker: bool
    time: int
    liquidation: bool = False


@dataclass
class Income:
    """One ledger entry (Binance ``/fapi/v1/income``): FUNDING_FEE, COMMISSION, REALIZED_PNL,
    INSURANCE_CLEAR (liquidation clearance fee, informative: it is inside the fill price)."""

    id: int
    symbol: str
    income_type: str
    income: float
    time: int
    info: str = ""
    trade_id: int | None = None
