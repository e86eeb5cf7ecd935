"""Liquidation clearance on real BTCUSDT data (SPEC.md §3 Liquidation): a 20× position loses
exactly its isolated margin plus fees (Binance keeps the rest of the margin as the clearance
fee), Nautilus's backstop cannot fire before the isolated liquidation price, and a liquidation
beyond the bankruptcy price loses no more than the margin (the insurance fund absorbs the rest).
Every expected number is computed here from the raw archive klines and the raw bracket file."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from vibe_quant.backtest import run_backtest

from .conftest import archive_klines
from .raw_reference import btc_brackets
from .strategies import AllInLong

TAKER = 0.0005
TICK, STEP = 0.1, 0.001
# 2024-01-12 16:05: a 20× all-in long whose notional (< 50k) sits in BTC's first bracket
# (mmr 0.4 %, cum 0) while balance × leverage (50.4k) sits in the second (0.5 %): the old
# backstop (one run-wide rate, no cum) fired 3 bars before any close reached the isolated LP.
# Liquidated before the next funding time (00:00), so no funding moves the isolated margin.
START, END = "2024-01-12T16:00", "2024-01-14"
START_MS = 1705075200000
BAL, LEV, FRAC = 2520.0, 20, 0.99


_brackets = btc_brackets


def _liquidation_fee(shared_data):
    doc = json.loads(
        (shared_data / "binance-api" / "fapi_v1_exchangeInfo_2022-02-19.json").read_text()
    )
    return float(next(s for s in doc["symbols"] if s["symbol"] == "BTCUSDT")["liquidationFee"])


@pytest.fixture(scope="module")
def hand(archive, shared_data):
    """The position and its Binance isolated-margin prices, by hand from the raw klines."""
    k = archive_klines(archive, "BTCUSDT", "5m", START_MS, START_MS + 2 * 86_400_000)
    close_ns = (k["open_time"] + 300_000) * 1_000_000
    ep = k["close"][0]  # the market entry fills at the first bar's close
    q = math.floor(BAL * LEV * FRAC / ep / STEP + 1e-9) * STEP
    n = q * ep
    _f, _c, mmr, cum = next(b for b in _brackets(shared_data) if b[0] <= n < b[1])
    assert (mmr, cum) == (0.004, 0.0)
    wb = n / LEV
    lp = (wb + cum - q * ep) / (q * mmr - q)  # long, one-way mode
    lp_tick = math.ceil(lp / TICK - 1e-9) * TICK  # rounded towards the entry
    bp = ep - wb / q  # bankruptcy price: the whole isolated margin lost
    return dict(
        k=k,
        close_ns=close_ns,
        ep=ep,
        q=q,
        n=n,
        wb=wb,
        lp=lp,
        lp_tick=lp_tick,
        bp=bp,
        fee_rate=_liquidation_fee(shared_data),
    )


@pytest.fixture(scope="module")
def guarded(btc_2024):
    return run_backtest(
        AllInLong,
        "BTCUSDT",
        START,
        END,
        data=btc_2024,
        leverage=LEV,
        starting_balance=BAL,
        params={"frac": FRAC},
    )


def test_20x_liquidation_loses_exactly_margin_plus_fees(guarded, hand):
    r, h = guarded, hand
    assert [t.exit_reason for t in r.trades] == ["liquidation"]
    t = r.trades[0]
    assert t.qty == pytest.approx(h["q"], abs=1e-9) and t.entry_price == pytest.approx(h["ep"])
    # closed on the first bar whose low reaches the LP, at the LP (that bar did not gap)
    hit = int(np.argmax(h["k"]["low"][1:] <= h["lp_tick"])) + 1
    assert h["k"]["open"][hit] > h["lp_tick"]
    assert t.exit_ts == h["close_ns"][hit]
    assert t.exit_price == pytest.approx(h["lp_tick"], abs=1e-9)
    assert not any(f.order_id.startswith("LIQUIDATION") for f in r.fills)  # guard, not backstop
    # price loss at the LP, then Binance keeps what is left of the isolated margin
    assert t.realized_pnl == pytest.approx(h["q"] * (h["lp_tick"] - h["ep"]), abs=1e-6)
    clearance = h["wb"] + h["q"] * (h["lp_tick"] - h["ep"])
    assert 0 < clearance <= h["fee_rate"] * h["q"] * h["lp_tick"]  # not capped here
    assert t.liquidation_fee == pytest.approx(clearance, abs=1e-4)
    assert t.insurance_fund_absorbed == 0
    # fees: taker on the entry and on the liquidation fill (at the bankruptcy price)
    fees = TAKER * h["q"] * h["ep"] + TAKER * h["q"] * h["bp"]
    assert t.fees == pytest.approx(fees, abs=1e-4)
    assert t.funding == 0  # no funding time while it was open (16:05 → liquidation)
    assert t.net_pnl == pytest.approx(-(h["wb"] + fees), abs=1e-4)
    assert r.engine_balance == pytest.approx(BAL - h["wb"] - fees, abs=1e-4)
    assert abs(r.reconciliation_error) < 1e-6
    assert r.metrics["liquidation_fees"] == pytest.approx(clearance, abs=1e-4)
    assert r.metrics["insurance_fund_absorbed"] == 0 and r.warnings == []


def test_backstop_never_fires_before_isolated_liquidation_price(btc_2024, hand):
    """Guard off: Nautilus's own check is the only liquidation. It must not fire on any close
    above the isolated LP — here the old rule (run bracket 0.5 %, no cum) fired 12 bars early."""
    h = hand
    cl = h["k"]["close"]
    fee0 = TAKER * h["n"]
    old = int(np.argmax(BAL - fee0 + h["q"] * (cl[1:] - h["ep"]) <= 0.005 * h["n"])) + 1
    first_below = int(np.argmax(cl[1:] <= h["lp"])) + 1
    assert old < first_below  # the defect this data exercises
    r = run_backtest(
        AllInLong,
        "BTCUSDT",
        START,
        END,
        data=btc_2024,
        leverage=LEV,
        starting_balance=BAL,
        params={"frac": FRAC},
        liquidation_guard=False,
    )
    liq = [f for f in r.fills if f.tag == "liquidation"]
    assert len(liq) == 1 and liq[0].order_id.startswith("LIQUIDATION")
    i = int(np.searchsorted(h["close_ns"], liq[0].ts))
    assert h["close_ns"][i] == liq[0].ts and i >= first_below
    assert liq[0].price == pytest.approx(cl[i], abs=1e-9) and cl[i] <= h["lp"]
    # still an isolated liquidation: margin + fees lost, nothing more
    t = r.trades[0]
    fees = TAKER * h["q"] * h["ep"] + TAKER * h["q"] * h["bp"]
    assert t.net_pnl == pytest.approx(-(h["wb"] + fees), abs=1e-4)
    assert abs(r.reconciliation_error) < 1e-6


def test_liquidation_beyond_bankruptcy_loses_only_the_margin(btc_2024, archive):
    """100×, half the balance as margin, guard off: the account-level backstop fires on a close
    beyond the bankruptcy price (the wallet still backs it); the isolated position loses its
    margin and the insurance fund absorbs the rest, which the run reports. (The real 5m data
    has no bar opening beyond a bankruptcy price — the largest BTCUSDT 2024 open gap is
    0.12 % — so the gapped-open case of the guard takes this same rule.)"""
    lev, frac, bal = 100, 0.5, 400.0
    r = run_backtest(
        AllInLong,
        "BTCUSDT",
        "2024-01-03T11:00",
        "2024-01-04",
        data=btc_2024,
        leverage=lev,
        starting_balance=bal,
        params={"frac": frac},
        liquidation_guard=False,
    )
    k = archive_klines(archive, "BTCUSDT", "5m", 1704279600000, 1704279600000 + 86_400_000)
    ep = k["close"][0]
    q = math.floor(bal * lev * frac / ep / STEP + 1e-9) * STEP
    wb = q * ep / lev
    bp = ep - wb / q
    t = r.trades[0]
    assert t.exit_reason == "liquidation"
    i = int(np.searchsorted((k["open_time"] + 300_000) * 1_000_000, t.exit_ts))
    exit_px = k["close"][i]
    assert t.exit_price == pytest.approx(exit_px, abs=1e-9) and exit_px < bp
    absorbed = q * (bp - exit_px)
    assert t.insurance_fund_absorbed == pytest.approx(absorbed, abs=1e-4)
    assert t.liquidation_fee == 0
    fees = TAKER * q * ep + TAKER * q * bp
    assert t.net_pnl == pytest.approx(-(wb + fees), abs=1e-4)
    assert r.insurance_fund_absorbed == pytest.approx(absorbed, abs=1e-4)
    assert r.summary()["insurance_fund_absorbed"] == pytest.approx(absorbed, abs=1e-4)
    assert any("insurance fund absorbed" in w for w in r.warnings)
    assert abs(r.reconciliation_error) < 1e-6


def test_liquidation_fee_stored(guarded, tmp_path):
    from vibe_quant.store.state import StateStore

    with StateStore.open(tmp_path / "state.db") as st:
        run_id = st.record_run(guarded)
        row = st.trades(run_id)[0]
        assert row["liquidation_fee"] == pytest.approx(guarded.trades[0].liquidation_fee)
        assert row["insurance_fund_absorbed"] == 0
        got = st.conn.execute(
            "SELECT liquidation_fees FROM backtest_results WHERE run_id=?", (run_id,)
        ).fetchone()[0]
        assert got == pytest.approx(guarded.metrics["liquidation_fees"])
