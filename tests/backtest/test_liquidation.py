"""A 50× long entered just before the real BTCUSDT crash of 2024-01-03 (≈ −9 % within an hour,
ETF-rejection rumour) is liquidated at Binance's isolated-margin liquidation price."""

from __future__ import annotations

import numpy as np
import pytest

from vibe_quant.backtest import run_backtest

from .conftest import archive_klines
from .raw_reference import btc_brackets
from .strategies import AllInLong

START, END = "2024-01-03T11:00", "2024-01-04"
START_MS = 1704279600000  # 2024-01-03 11:00 UTC
TICK = 0.1
LEV = 50
BAL = 1_000.0
TAKER = 0.0005  # Binance USDⓈ-M VIP 0 taker fee rate


_brackets = btc_brackets


@pytest.fixture(scope="module")
def liq(btc_2024):
    return run_backtest(
        AllInLong,
        "BTCUSDT",
        START,
        END,
        data=btc_2024,
        leverage=LEV,
        starting_balance=BAL,
        params={"frac": 0.95},
    )


def test_liquidated_at_binance_isolated_price(liq, archive, shared_data):
    assert len(liq.trades) == 1
    t = liq.trades[0]
    assert t.exit_reason == "liquidation"
    assert liq.metrics["liquidations"] == 1
    # Binance isolated margin, one-way mode: LP = (WB + cum − Q·EP) / (Q·MMR − Q), long
    q, ep = t.qty, t.entry_price
    notional = q * ep
    _floor, _cap, mmr, cum = next(b for b in _brackets(shared_data) if b[0] <= notional < b[1])
    wb = notional / LEV
    lp = (wb + cum - q * ep) / (q * mmr - q)
    assert abs(t.exit_price - lp) <= TICK
    # it happened on the first bar whose low reached LP, during that bar
    k = archive_klines(archive, "BTCUSDT", "5m", START_MS, START_MS + 86_400_000)
    close_ms = k["open_time"] + 300_000
    hit = int(np.argmax(k["low"] <= lp))
    assert k["low"][hit] <= lp and (k["low"][1:hit] > lp).all()
    assert t.exit_ts == close_ms[hit] * 1_000_000
    assert k["open"][hit] > lp  # no gap: the fill is at LP, not at a worse open


def test_loss_capped_at_margin(liq):
    t = liq.trades[0]
    margin = t.notional / LEV
    assert -t.realized_pnl < margin  # price loss stops at LP, before the margin is gone
    # Binance keeps what is left of the isolated margin (clearance fee): the trade loses
    # exactly its isolated margin plus both taker fees, less any funding received
    assert t.liquidation_fee > 0
    assert -t.net_pnl == pytest.approx(margin + t.fees - t.funding, abs=1e-4)
    assert liq.engine_balance > 0
    assert liq.metrics["end_equity"] == pytest.approx(liq.engine_balance, abs=1e-6)
    assert abs(liq.reconciliation_error) < 1e-6


def test_engine_liquidation_backstop_fires_at_binance_price(btc_2024, archive, shared_data):
    """Without the LP stop, Nautilus's own liquidation (checked on close quotes, bid = ask =
    close) is the only one left. It must close the whole position on a bar whose close is at or
    beyond the isolated LP worked out by hand (never before it) and still short of the
    bankruptcy price (before the isolated margin is gone), against that close; the loss must
    lie between the price loss + the taker fees and the isolated margin + the taker fees
    (whatever a clearance fee takes, never more than the margin; no wallet floor needed)."""
    r = run_backtest(
        AllInLong,
        "BTCUSDT",
        START,
        END,
        data=btc_2024,
        leverage=LEV,
        starting_balance=BAL,
        params={"frac": 0.95},
        liquidation_guard=False,
    )
    assert [t.exit_reason for t in r.trades] == ["liquidation"]
    entry, liq = r.fills[0], r.fills[1:]
    assert liq and all(f.order_id.startswith("LIQUIDATION") and f.side == -1 for f in liq)
    assert len({f.ts for f in liq}) == 1 and sum(f.qty for f in liq) == pytest.approx(entry.qty)
    k = archive_klines(archive, "BTCUSDT", "5m", START_MS, START_MS + 86_400_000)
    close_ns = (k["open_time"] + 300_000) * 1_000_000
    i0, i1 = int(np.searchsorted(close_ns, entry.ts)), int(np.searchsorted(close_ns, liq[0].ts))
    assert (close_ns[i0], close_ns[i1]) == (entry.ts, liq[0].ts)
    q, ep = entry.qty, k["close"][i0]
    assert entry.price == pytest.approx(ep, abs=1e-6)  # market entry at its bar's close
    notional = q * ep
    _floor, _cap, mmr, cum = next(b for b in _brackets(shared_data) if b[0] <= notional < b[1])
    margin = notional / LEV
    lp = (margin + cum - q * ep) / (q * mmr - q)  # Binance isolated LP, long, one-way mode
    bankruptcy = ep - margin / q  # the price at which the isolated margin is used up
    assert bankruptcy < k["close"][i1] <= lp  # after LP, before the margin is gone
    assert (k["low"][i0 + 1 : i1] > bankruptcy).all()
    market = [f.ref_price if getattr(f, "ref_price", None) is not None else f.price for f in liq]
    assert market == pytest.approx([k["close"][i1]] * len(liq), abs=1e-6)  # at that close
    assert entry.commission == pytest.approx(q * ep * TAKER, abs=1e-6)  # taker fee, USDT
    for f in liq:  # taker rate on the liquidated notional, valued between BP and the market
        assert f.qty * bankruptcy * TAKER - 1e-6 <= f.commission <= f.qty * f.price * TAKER + 1e-6
    fees = sum(f.commission for f in r.fills)
    loss = BAL - r.metrics["end_equity"]  # no funding settles in this window
    assert q * (ep - k["close"][i1]) + fees - 1e-6 <= loss <= margin + fees + 1e-6
    assert not r.equity.bankrupt and r.equity.equity.min() > 0  # the zero floor never engaged
    assert abs(r.reconciliation_error) < 1e-6


def test_short_liquidated_at_binance_price(btc_2024, archive, shared_data):
    """50× short before the 2024-08-05 rebound (+8 % within an hour after the crash low)."""
    from .strategies import AllInShort

    r = run_backtest(
        AllInShort,
        "BTCUSDT",
        "2024-08-05T13:25",
        "2024-08-06",
        data=btc_2024,
        leverage=LEV,
        starting_balance=BAL,
        params={"frac": 0.95},
    )
    t = r.trades[0]
    assert t.side == "short" and t.exit_reason == "liquidation"
    q, ep = t.qty, t.entry_price
    _f, _c, mmr, cum = next(b for b in _brackets(shared_data) if b[0] <= q * ep < b[1])
    lp = (q * ep / LEV + cum + q * ep) / (q * mmr + q)  # side = −1
    assert abs(t.exit_price - lp) <= TICK
    assert t.liquidation_fee > 0 and r.engine_balance > 0
    assert -t.net_pnl == pytest.approx(q * ep / LEV + t.fees - t.funding, abs=1e-4)
    k = archive_klines(archive, "BTCUSDT", "5m", 1722864300000, 1722864300000 + 86_400_000)
    hit = int(np.argmax(k["high"] >= lp))
    assert t.exit_ts == (k["open_time"][hit] + 300_000) * 1_000_000
