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

from dataclasses import asdict, dataclass

from vibe_quant.backtest.ledger import FundingPayment
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
    __slots__ = (
        "avg",
        "entry_ts",
        "exit_qty",
        "exit_val",
        "fees",
        "funding",
        "gross",
        "insurance",
        "liq_fee",
        "max_qty",
        "n",
        "pos",
        "sign",
    )

    def __init__(self, ts: int, sign: int, qty: float, px: float, fee: float) -> None:
        self.entry_ts, self.sign, self.pos, self.avg = ts, sign, qty, px
        self.max_qty, self.fees, self.funding, self.gross = qty, fee, 0.0, 0.0
        self.exit_qty = self.exit_val = 0.0
        self.liq_fee = self.insurance = 0.0
        self.n = 1

    def close(self, ts: int, reason: str) -> Trade:
        # weighted averages rounded to 1e-8 USDT (removes float noise such as 42849.49999999999)
        exit_px = round(self.exit_val / self.exit_qty, 8) if self.exit_qty else None
        return Trade(self.entry_ts, ts, "long" if self.sign > 0 else "short", self.max_qty,
                     round(self.avg, 8), exit_px, self.max_qty * self.avg, self.fees, self.funding,
                     self.gross,
                     self.gross - self.fees - self.liq_fee + self.insurance + self.funding,
                     reason, self.n, self.liq_fee, self.insurance)


def build_trades(
    fills: list[Fill], funding: list[FundingPayment], eps: float = 1e-9
) -> tuple[list[Trade], Trade | None]:
    """Return ``(closed_trades, still_open_trade_or_None)``.

    Fills and funding are replayed in time order; a funding payment at the same timestamp as a
    fill is applied BEFORE it (the funding instant precedes any fill of the bar closing then;
    :mod:`vibe_quant.backtest.ledger`).
    """
    # (ts, kind, index) tuples sort without a Python key function, in time order, funding
    # first at equal times, then input order (a stable sort on (ts, kind) gives the same)
    events = [(f.ts, 1, i) for i, f in enumerate(fills)]
    events += [(p.ts, 0, i) for i, p in enumerate(funding)]
    events.sort()
    trades: list[Trade] = []
    cur: _Open | None = None
    for ts, kind, i in events:
        if kind == 0:
            if cur is not None:
                cur.funding += funding[i].amount
            continue
        f: Fill = fills[i]
        if cur is None:
            cur = _Open(ts, f.side, f.qty, f.price, f.commission)
            continue
        cur.n += 1
        if f.side == cur.sign:
            new = cur.pos + f.qty
            cur.avg = (cur.pos * cur.avg + f.qty * f.price) / new
            cur.pos = new
            cur.max_qty = max(cur.max_qty, new)
            cur.fees += f.commission
            continue
        close_q = min(f.qty, cur.pos)
        frac = close_q / f.qty
        cur.gross += (f.price - cur.avg) * close_q * cur.sign
        adj = f.liquidation_adjustment  # reduce-only: never split by a flip
        if adj < 0:
            cur.liq_fee -= adj
        elif adj > 0:
            cur.insurance += adj
        cur.fees += f.commission * frac
        cur.exit_qty += close_q
        cur.exit_val += close_q * f.price
        cur.pos -= close_q
        if cur.pos <= eps:
            trades.append(cur.close(ts, f.tag))
            rest = f.qty - close_q
            cur = None
            if rest > eps:
                cur = _Open(ts, f.side, rest, f.price, f.commission * (1 - frac))
    return trades, cur
