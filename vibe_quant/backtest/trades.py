"""Round-trip trades from the fill log (flips split into a close and an open).

A trade starts when the position leaves zero and ends when it returns to zero. A fill that
crosses zero (a flip: long → short with one order) closes the old trade with the part of its
quantity that flattens the position and opens the new trade with the rest; its commission is
split pro rata by quantity.

Per trade (USDT unless noted):

* ``qty``: largest absolute position during the trade (base units); ``notional`` = qty × entry.
* ``entry_price``: quantity-weighted average of the opening fills (Nautilus ``avg_px_open``).
* ``exit_price``: quantity-weighted average of the reducing fills.
* ``realized_pnl``: Σ over reducing fills of (fill price − avg entry) × qty × side — gross price
  PnL, before fees and funding. A liquidation fill's price is the market price it executed
  against (the liquidation price, or the open of a bar that gapped through it).
* ``fees``: Σ commissions of the trade's fills (pro rata on a flip fill).
* ``liquidation_fee``: Binance's liquidation clearance fee kept from the isolated margin
  (USDT, ≥ 0) = −``Fill.liquidation_adjustment`` of its liquidation fill when < 0.
* ``insurance_fund_absorbed``: loss beyond the isolated margin taken over by the insurance fund
  (USDT, ≥ 0; the market was beyond the bankruptcy price) = the adjustment when > 0.
* ``funding``: Σ funding payments settled while the trade was open (+ received).
* ``net_pnl`` = realized_pnl − fees − liquidation_fee + insurance_fund_absorbed + funding. For a
  liquidated trade this is −(isolated margin Q × EP / leverage) − fees + funding whenever the
  clearance fee is not capped (``vibe_quant.backtest.venue.liquidation_close``).
* ``exit_reason``: tag of the fill that flattened the position — signal | stop_loss |
  take_profit | liquidation | end_of_data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from vibe_quant.backtest.ledger import FundingPayment, Records, round8
from vibe_quant.strategy.base import Fill


@dataclass(slots=True)
class Trade:
    entry_ts: int
    exit_ts: int | None
    side: str  # "long" | "short"
    qty: float
    entry_price: float
    exit_price: float | None
    notional: float
    fees: float
    funding: float
    realized_pnl: float
    net_pnl: float
    exit_reason: str | None
    n_fills: int
    liquidation_fee: float = 0.0
    insurance_fund_absorbed: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


class _Open:
    """The trade still open after the last fill (``gross`` realized by partial exits,
    ``liq_fee`` / ``insurance`` of its fills, USDT; ``pos`` / ``max_qty`` base units)."""

    __slots__ = ("avg", "entry_ts", "exit_qty", "exit_val", "fees", "funding", "gross",
                 "insurance", "liq_fee", "max_qty", "n", "pos", "sign")

    def __init__(self, *state: float) -> None:
        (self.entry_ts, self.sign, self.pos, self.avg, self.max_qty, self.fees, self.funding,
         self.gross, self.exit_qty, self.exit_val, self.liq_fee, self.insurance,
         self.n) = state


@dataclass
class Ledger:
    """One time-ordered pass over a run's fills and funding (:func:`ledger_pass`).

    Per ledger event (funding payments and fills merged; ``m`` events): ``ts`` (ns, int64),
    ``balance`` (USDT), ``position`` (signed base units) and ``avg_price`` (USDT, Nautilus's
    NETTING average entry) after it; iterating gives these four arrays (the tuple of
    :func:`vibe_quant.backtest.equity.replay`). ``trades``: closed round trips;
    ``open_trade``: the trade still open after the last fill, or None. ``fees``: Σ commission
    of the fills (USDT, in their input order); ``fill_tags``: the fills' tags (time order).
    """

    ts: np.ndarray
    balance: np.ndarray
    position: np.ndarray
    avg_price: np.ndarray
    trades: TradeList
    open_trade: _Open | None
    fees: float = 0.0
    fill_tags: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.ts, self.balance, self.position, self.avg_price))


def _time_order(ts: np.ndarray) -> np.ndarray | None:
    """Stable time order of ``ts`` when it is not already ascending (else None)."""
    if len(ts) > 1 and not bool(np.all(ts[1:] >= ts[:-1])):
        return np.argsort(ts, kind="stable")
    return None


def ledger_pass(
    fills: list[Fill], funding: list[FundingPayment], starting_balance: float,
    eps: float = 1e-9,
) -> Ledger:
    """Replay ``fills`` and ``funding`` once, in time order (funding before the fills stamped
    with its instant, then input order), into the cash ledger AND the round-trip trades.

    Ledger (Nautilus NETTING, USDT): a fill pays its commission minus its
    ``liquidation_adjustment``, then, when it reduces the position, books
    ``(price − avg) × closed qty × ±1``; a funding payment adds its amount; a position within
    1e-12 of zero is flat. Trades: as the module docstring (``eps``: the trade's remaining
    quantity at or below which it is closed). The balance is the running sum of exactly those
    increments in that order (``np.cumsum`` adds sequentially: the same floats as a loop).
    When every trade is one opening fill and one closing fill of the same quantity (what a
    strategy without pyramiding, partial exits or one-order flips makes) the pass runs in
    numpy with the loop's operations in its order, element by element; otherwise fill by fill.
    """
    cols = _FillColumns(fills)
    if isinstance(funding, Records):  # a FundingList: its columns, no objects built
        p_ts = np.array(funding.column("ts"), dtype=np.int64)
        amount = funding.column("amount")
    else:
        p_ts = np.array([p.ts for p in funding], dtype=np.int64)
        amount = [p.amount for p in funding]
    p_order = _time_order(p_ts)
    if p_order is not None:
        p_ts = p_ts[p_order]
        amount = [amount[k] for k in p_order.tolist()]
    # funding payments before each fill (at its instant or earlier)
    fund_upto = np.searchsorted(p_ts, cols.ts, side="right")
    done = _pairs(cols, amount, fund_upto, eps)
    if done is None:
        done = _walk(cols.rows(), amount, fund_upto.tolist(), eps)
    trades, open_trade, qs, avgs, red_at, red_pnl = done
    return Ledger(*_ledger_arrays(cols, p_ts, amount, fund_upto, qs, avgs, red_at, red_pnl,
                                  starting_balance), trades, open_trade, cols.fees, cols.tag)


class _FillColumns:
    """Fills in time order (stable: input order at equal ``ts``): ``ts`` (ns, int64), ``side``
    (int64), ``qty``, ``price``, ``commission``, ``adj`` (liquidation adjustment; float64),
    ``tag`` (list of str); :meth:`rows` gives per-fill tuples of these in that order.
    ``fees``: Σ commission in input order (USDT, Python's ``sum``)."""

    __slots__ = ("adj", "commission", "fees", "price", "qty", "side", "tag", "ts")

    def __init__(self, fills: list[Fill]) -> None:
        n = len(fills)
        comm = [f.commission for f in fills]
        self.fees = sum(comm)
        self.ts = np.fromiter([f.ts for f in fills], dtype=np.int64, count=n)
        self.side = np.fromiter([f.side for f in fills], dtype=np.int64, count=n)
        self.qty = np.fromiter([f.qty for f in fills], dtype=np.float64, count=n)
        self.price = np.fromiter([f.price for f in fills], dtype=np.float64, count=n)
        self.commission = np.fromiter(comm, dtype=np.float64, count=n)
        self.adj = np.fromiter([f.liquidation_adjustment for f in fills], dtype=np.float64,
                               count=n)
        self.tag = [f.tag for f in fills]
        order = _time_order(self.ts)
        if order is not None:
            for k in ("ts", "side", "qty", "price", "commission", "adj"):
                setattr(self, k, getattr(self, k)[order])
            self.tag = [self.tag[k] for k in order.tolist()]

    def rows(self) -> list[tuple]:
        """``(ts, side, qty, price, commission, adj, tag)`` per fill, as Python values."""
        return list(zip(self.ts.tolist(), self.side.tolist(), self.qty.tolist(),
                        self.price.tolist(), self.commission.tolist(), self.adj.tolist(),
                        self.tag))


def _pairs(cols: _FillColumns, amount: list[float], fund_upto: np.ndarray, eps: float
           ) -> tuple | None:
    """:func:`_walk`'s results in numpy when the fills pair up as (open from flat, close of
    the same quantity); else None. Each value is the loop's own expression for that case,
    with the loop's state there as constants (flat ledger q = a = 0.0, sums from 0.0)."""
    n = len(cols.qty)
    side, qty = cols.side, cols.qty
    if n == 0 or n % 2 or not eps >= 0.0:
        return None
    o, c = slice(0, None, 2), slice(1, None, 2)
    qo, qc, po, pc = qty[o], qty[c], cols.price[o], cols.price[c]
    if not (np.all((side == 1) | (side == -1)) and np.all(side[c] == -side[o])
            and np.all((qo > 0) & (qo < np.inf)) and np.all(qc == qo)):
        return None
    # ledger: the opening fill from flat, the closing one back to exactly flat (q + s = 0.0)
    q_open = 0.0 + side[o] * qo
    a_open = (0.0 * 0.0 + qo * po) / (0.0 + qo)
    d = (pc - a_open) * np.minimum(qc, np.abs(q_open))
    qs = np.zeros(n)
    qs[o] = q_open
    avgs = np.zeros(n)
    avgs[o] = a_open
    # trades
    close_q = np.minimum(qc, qo)
    fees = cols.commission[o] + cols.commission[c] * (close_q / qc)
    gross = 0.0 + (pc - po) * close_q * side[o].astype(np.float64)
    adj = cols.adj[c]
    liq = np.where(adj < 0, 0.0 - adj, 0.0)
    ins = np.where(adj > 0, 0.0 + adj, 0.0)
    x_qty = 0.0 + close_q
    x_val = 0.0 + close_q * pc
    lo, hi = fund_upto[o].tolist(), fund_upto[c].tolist()
    fund = [0.0] * len(lo)
    for i in np.flatnonzero(fund_upto[c] > fund_upto[o]).tolist():
        f = 0.0
        for amt in amount[lo[i]:hi[i]]:
            f += amt
        fund[i] = f
    net = gross - fees - liq + ins + np.array(fund)
    with np.errstate(invalid="ignore", divide="ignore"):
        exit_px = x_val / x_qty
    trades = TradeList(columns=dict(
        entry_ts=cols.ts[o], exit_ts=cols.ts[c], side=side[o], qty=qo, entry_price=po,
        exit_price=exit_px, notional=qo * po, fees=fees, funding=fund, realized_pnl=gross,
        net_pnl=net, exit_reason=cols.tag[1::2], liquidation_fee=liq,
        insurance_fund_absorbed=ins))
    return trades, None, qs, avgs, np.arange(1, n, 2), np.where(q_open > 0, d, -d)


class TradeList(Records):
    """The closed :class:`Trade` list of a run, built on first read (:class:`Records`).
    Columns: per :class:`Trade` field but ``n_fills`` (2 where made from columns), the
    values in trade order; ``side`` as ±1, ``entry_price`` / ``exit_price`` before rounding
    to 1e-8 USDT."""

    record = Trade
    fields = ("entry_ts", "exit_ts", "side", "qty", "entry_price", "exit_price", "notional",
              "fees", "funding", "realized_pnl", "net_pnl", "exit_reason", "n_fills",
              "liquidation_fee", "insurance_fund_absorbed")

    def _column(self, name: str) -> list:
        if name == "n_fills":
            return [2] * len(self)
        if name == "side":
            return [_SIDE[s] for s in self._columns["side"].tolist()]
        if name in ("entry_price", "exit_price"):
            # weighted averages rounded to 1e-8 USDT (removes float noise such as
            # 42849.49999999999)
            return round8(self._columns[name])
        return super()._column(name)


_SIDE = {1: "long", -1: "short"}


def _walk(rows: list[tuple], amount: list[float], fund_upto: list[int], eps: float) -> tuple:
    """The fill-by-fill pass: ``(trades, open_trade, position after each fill, average after
    each fill, indices of the fills that reduced the ledger position, what each booked)``."""
    n = len(rows)
    qs = [0.0] * n
    avgs = [0.0] * n
    red_at: list[int] = []
    red_pnl: list[float] = []
    trades: list[Trade] = []
    q = a = 0.0  # ledger position / average entry
    is_open = False  # trade state (own quantities: the trade's |position| and average)
    t_ts = t_sign = t_n = 0
    t_pos = t_avg = t_max = t_fees = t_fund = t_gross = t_xq = t_xv = t_liq = t_ins = 0.0
    j = 0
    for k, (ts, side, qty, price, comm, adj, tag), upto in zip(range(n), rows, fund_upto):
        if j < upto:
            if is_open:
                for amt in amount[j:upto]:
                    t_fund += amt
            j = upto
        # ledger
        s = side * qty
        if q == 0.0 or (q > 0) == (s > 0):
            aq = abs(q)
            a = (aq * a + qty * price) / (aq + qty)
            q = q + s
        else:
            d = (price - a) * min(qty, abs(q))
            red_at.append(k)
            red_pnl.append(d if q > 0 else -d)
            newq = q + s
            if abs(newq) < 1e-12:
                a = 0.0
                q = 0.0
            else:
                if (newq > 0) != (q > 0):
                    a = price
                q = newq
        qs[k] = q
        avgs[k] = a
        # trade
        if not is_open:
            is_open = True
            t_ts, t_sign, t_pos, t_avg, t_max, t_fees = ts, side, qty, price, qty, comm
            t_fund = t_gross = t_xq = t_xv = t_liq = t_ins = 0.0
            t_n = 1
            continue
        t_n += 1
        if side == t_sign:
            new = t_pos + qty
            t_avg = (t_pos * t_avg + qty * price) / new
            t_pos = new
            t_max = max(t_max, new)
            t_fees += comm
            continue
        close_q = min(qty, t_pos)
        frac = close_q / qty
        t_gross += (price - t_avg) * close_q * t_sign
        if adj < 0:  # reduce-only: never split by a flip
            t_liq -= adj
        elif adj > 0:
            t_ins += adj
        t_fees += comm * frac
        t_xq += close_q
        t_xv += close_q * price
        t_pos -= close_q
        if t_pos <= eps:
            # weighted averages rounded to 1e-8 USDT (removes float noise such as
            # 42849.49999999999)
            trades.append(Trade(
                t_ts, ts, "long" if t_sign > 0 else "short", t_max, round(t_avg, 8),
                round(t_xv / t_xq, 8) if t_xq else None, t_max * t_avg, t_fees, t_fund,
                t_gross, t_gross - t_fees - t_liq + t_ins + t_fund, tag, t_n, t_liq, t_ins))
            rest = qty - close_q
            is_open = rest > eps
            if is_open:
                t_ts, t_pos, t_avg, t_max, t_sign = ts, rest, price, rest, side
                t_fees = comm * (1 - frac)
                t_fund = t_gross = t_xq = t_xv = t_liq = t_ins = 0.0
                t_n = 1
    if is_open:
        for amt in amount[j:]:
            t_fund += amt
    open_trade = (_Open(t_ts, t_sign, t_pos, t_avg, t_max, t_fees, t_fund, t_gross, t_xq,
                        t_xv, t_liq, t_ins, t_n) if is_open else None)
    return TradeList(trades), open_trade, qs, avgs, red_at, red_pnl


def _ledger_arrays(
    cols: _FillColumns, p_ts: np.ndarray, amount: list[float], fund_upto: np.ndarray,
    qs: Any, avgs: Any, red_at: Any, red_pnl: Any, starting_balance: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(ts, balance, position, avg_price)`` per ledger event from the fill pass's states."""
    f_ts = cols.ts
    n, m = len(f_ts), len(p_ts)
    if n + m == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), np.zeros(0)
    fill_at = np.arange(n) + fund_upto  # merged event index of each fill
    fills_before = np.searchsorted(f_ts, p_ts, side="left")
    pay_at = np.arange(m) + fills_before
    ev_ts = np.empty(n + m, dtype=np.int64)
    ev_ts[fill_at] = f_ts
    ev_ts[pay_at] = p_ts
    # the increments in ledger order: the start, then per event its amount, or its −fee (and
    # its PnL when it reduced the position); an event's balance is the running sum at its
    # last increment
    n_inc = np.ones(n + m, dtype=np.int64)
    red = np.asarray(red_at, dtype=np.int64)
    n_inc[fill_at[red]] = 2
    last = np.cumsum(n_inc)
    inc = np.empty(int(last[-1]) + 1)
    inc[0] = starting_balance
    inc[last[pay_at]] = amount
    fee_at = last[fill_at] - n_inc[fill_at] + 1
    inc[fee_at] = -(cols.commission - cols.adj)
    inc[fee_at[red] + 1] = red_pnl
    bal = np.cumsum(inc)[last]
    # position / average after each event: a payment keeps the state of the fills before it
    state = np.empty(n + m, dtype=np.int64)
    state[fill_at] = np.arange(1, n + 1)
    state[pay_at] = fills_before
    st_q = np.zeros(n + 1)
    st_q[1:] = qs
    st_a = np.zeros(n + 1)
    st_a[1:] = avgs
    return ev_ts, bal, st_q[state], st_a[state]


def build_trades(
    fills: list[Fill], funding: list[FundingPayment], eps: float = 1e-9
) -> tuple[TradeList, _Open | None]:
    """Return ``(closed_trades, still_open_trade_or_None)`` (:func:`ledger_pass`; the trades
    are a :class:`TradeList`, built on first read).

    Fills and funding are replayed in time order; a funding payment at the same timestamp as a
    fill is applied BEFORE it (the funding instant precedes any fill of the bar closing then;
    :mod:`vibe_quant.backtest.ledger`).
    """
    led = ledger_pass(fills, funding, 0.0, eps)
    return led.trades, led.open_trade
