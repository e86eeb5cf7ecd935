"""Funding applies to the position held AT the funding instant (SPEC.md §3 Funding): a fill on
the bar closing at 00:00/08:00/16:00 UTC happens after the instant. Expected numbers come from
the raw data.binance.vision CSVs in ../shared/data (funding rates and 5m kline closes)."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from vibe_quant.backtest import run_backtest
from vibe_quant.backtest.run import to_ns
from vibe_quant.strategy.base import VQStrategy

from .strategies import HoldLong

QTY = 0.5
TAKER = 0.0005


class FundingSnapshot(VQStrategy):
    """Short ``qty`` on every bar closing at a funding time (00:00/08:00/16:00 UTC) and cover
    on the next bar (5 minutes later): it never holds a position AT a funding instant."""

    name = "funding_snapshot"

    def handle_bar(self, bar):
        if not self.can_trade:
            return
        if bar.ts_event % (8 * 3600 * 10**9) == 0 and self.position_qty == 0:
            self.sell(float(self.params["qty"]))
        elif self.position_qty != 0:
            self.flatten()


def _raw(shared_data, kind: str, month: str) -> list[dict[str, str]]:
    um = shared_data / "binance-vision" / "data" / "futures" / "um" / "monthly"
    if kind == "funding":
        path = um / "fundingRate" / "BTCUSDT" / f"BTCUSDT-fundingRate-{month}.zip"
    else:
        path = um / "klines" / "BTCUSDT" / "5m" / f"BTCUSDT-5m-{month}.zip"
    with zipfile.ZipFile(path) as z:
        text = z.read(z.namelist()[0]).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def raw(shared_data):
    """Funding (time ns floored to the minute → rate) and bar closes (close time ns → close)
    of BTCUSDT, 2024-03 and 2024-04, straight from the zipped CSVs."""
    rates, closes = {}, {}
    for month in ("2024-03", "2024-04"):
        for row in _raw(shared_data, "funding", month):
            t = int(row["calc_time"]) // 60_000 * 60_000 * 1_000_000
            rates[t] = float(row["last_funding_rate"])
        for row in _raw(shared_data, "klines", month):
            closes[(int(row["open_time"]) + 300_000) * 1_000_000] = float(row["close"])
    return rates, closes


def test_snapshot_strategy_earns_no_funding(btc_2024, raw):
    """Shorting on each funding-time close and covering 5 minutes later is never short AT a
    funding instant: no funding at all (the old rule credited it every time)."""
    rates, closes = raw
    r = run_backtest(
        FundingSnapshot,
        "BTCUSDT",
        "2024-03-01",
        "2024-03-31",
        data=btc_2024,
        leverage=1,
        starting_balance=100_000,
        params={"qty": QTY},
    )
    entries = [f for f in r.fills if f.side == -1]
    assert len(entries) == 3 * 31 - 1  # every funding close of March but the reserved last bar
    assert all(f.ts in rates for f in entries)
    assert r.funding_payments == [] and r.total_funding == 0
    assert all(t.funding == 0 for t in r.trades)
    # what the engine settled: balance change − price PnL + fees
    engine_funding = (
        r.engine_balance - 100_000 - sum(t.realized_pnl for t in r.trades) + r.total_fees
    )
    assert abs(engine_funding) < 1e-6
    assert abs(r.reconciliation_error) < 1e-6
    # the old rule (position after the fills stamped at the funding time) would have paid this
    old = sum(QTY * closes[f.ts] * rates[f.ts] for f in entries)
    assert abs(old) > 10


def test_held_position_pays_at_each_instant(btc_2024, raw):
    """A long opened ON the 00:00 close of 2024-03-01 (after that instant) and closed on the
    00:00 close of 2024-04-01 (held at that instant) pays Σ −q × close(t) × rate(t) over the
    funding times t with entry < t ≤ exit."""
    rates, closes = raw
    r = run_backtest(
        HoldLong,
        "BTCUSDT",
        "2024-02-29T23:55",
        "2024-03-31",
        data=btc_2024,
        leverage=1,
        starting_balance=100_000,
        params={"qty": QTY},
    )
    entry, exit_ = r.fills[0], r.fills[-1]
    assert entry.ts == to_ns("2024-03-01") and exit_.ts == to_ns("2024-04-01")
    exp = [-QTY * closes[t] * rate for t, rate in rates.items() if entry.ts < t <= exit_.ts]
    assert len(exp) == 3 * 31  # 08:00 on 03-01 … 00:00 on 04-01
    total = sum(exp)
    assert r.total_funding == pytest.approx(total, abs=0.01)
    assert r.trades[0].funding == pytest.approx(total, abs=0.01)
    engine_funding = r.engine_balance - 100_000 - r.trades[0].realized_pnl + r.total_fees
    assert engine_funding == pytest.approx(total, abs=0.01)
    assert abs(r.reconciliation_error) < 1e-6
    assert [p.ts for p in r.funding_payments][-1] == exit_.ts  # the exit instant is paid
