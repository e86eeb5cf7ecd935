#!/usr/bin/env python
"""Spike: prove the pieces vibe-quant needs exist on NautilusTrader 1.231's Rust (PyO3) path.

Runs on real BTCUSDT 5m bars and funding read straight from ``../shared/data`` zips (no project
code), and prints one line per proved fact. Exits non-zero if any check fails.

    .venv/bin/python scripts/spike_engine.py [--shared DIR]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path

from nautilus_trader.core import nautilus_pyo3 as n3
from nautilus_trader.core.nautilus_pyo3.backtest import BacktestEngine, BacktestEngineConfig
from nautilus_trader.core.nautilus_pyo3.trading import Strategy, StrategyConfig

IID = n3.InstrumentId.from_str("BTCUSDT-PERP.BINANCE")
BT = n3.BarType.from_str("BTCUSDT-PERP.BINANCE-5-MINUTE-LAST-EXTERNAL")
USDT = n3.Currency.from_str("USDT")
VENUE = n3.Venue("BINANCE")


def ok(msg: str) -> None:
    print(f"OK   {msg}")


def check(cond: bool, msg: str) -> None:
    if not cond:
        print(f"FAIL {msg}")
        sys.exit(1)
    ok(msg)


def rows(path: Path) -> list[list[str]]:
    with zipfile.ZipFile(path) as z:
        text = z.read(z.namelist()[0]).decode()
    r = list(csv.reader(io.StringIO(text)))
    return r[1:] if not r[0][0].isdigit() else r


def instrument(leverage: float, mmr: str) -> n3.CryptoPerpetual:
    return n3.CryptoPerpetual(
        IID, n3.Symbol("BTCUSDT"), n3.Currency.from_str("BTC"), USDT, USDT, False, 1, 3,
        n3.Price.from_str("0.1"), n3.Quantity.from_str("0.001"), 0, 0,
        min_quantity=n3.Quantity.from_str("0.001"), min_notional=n3.Money(10, USDT),
        margin_init=Decimal(1) / Decimal(str(leverage)), margin_maint=Decimal(mmr),
        maker_fee=Decimal("0.0002"), taker_fee=Decimal("0.0005"))


def stream(shared: Path, month: str, n: int | None = None, quotes: bool = True) -> list:
    um = shared / "binance-vision/data/futures/um/monthly"
    out = []
    size = n3.Quantity(1_000_000.0, 3)
    for r in rows(um / f"klines/BTCUSDT/5m/BTCUSDT-5m-{month}.zip")[:n]:
        ts = (int(r[0]) + 300_000) * 1_000_000  # bar close time, ns
        P = lambda s: n3.Price(float(s), 1)
        c = P(r[4])
        # volume precision must equal the instrument's size precision, else the matching
        # engine skips the bar ("Invalid bar volume precision")
        out.append(n3.Bar(BT, P(r[1]), P(r[2]), P(r[3]), c, n3.Quantity(float(r[5]), 3), ts, ts))
        if quotes:
            out.append(n3.QuoteTick(IID, c, c, size, size, ts, ts))
    last = out[-1].ts_init
    for r in rows(um / f"fundingRate/BTCUSDT/BTCUSDT-fundingRate-{month}.zip"):
        ts = int(r[0]) // 60_000 * 60_000 * 1_000_000
        if ts <= last:
            out.append(n3.FundingRateUpdate(IID, Decimal(r[2]), ts, ts, interval=480))
    return out


def engine(balance: float, leverage: float, mmr: str, data: list) -> BacktestEngine:
    eng = BacktestEngine(BacktestEngineConfig(
        logging=n3.LoggerConfig(stdout_level=n3.LogLevel.ERROR)))
    eng.add_venue(VENUE, n3.OmsType.NETTING, n3.AccountType.MARGIN, [n3.Money(balance, USDT)],
                  base_currency=USDT, default_leverage=Decimal(str(leverage)),
                  margin_model=n3.StandardMarginModel(), fee_model=n3.MakerTakerFeeModel(),
                  liquidation_enabled=True, liquidation_trigger_ratio=Decimal(1))
    eng.add_instrument(instrument(leverage, mmr))
    eng.add_data(data, sort=True)
    return eng


class Probe(Strategy):
    """Market entry, then a reduce-only stop-market and a reduce-only limit (take profit)."""

    def __new__(cls, *args, **kwargs):
        # the PyO3 base __new__ only takes ``config``: subclasses with other constructor
        # arguments must override __new__ as well as __init__
        return super().__new__(cls)

    def __init__(self, qty: str, stop: float | None = None, tp: float | None = None) -> None:
        super().__init__(StrategyConfig(strategy_id=n3.StrategyId("PROBE-001"),
                                        log_events=False, log_commands=False))
        self.qty, self.stop, self.tp = qty, stop, tp
        self.bars = 0
        self.events: list[tuple] = []

    def on_start(self) -> None:
        self.subscribe_bars(BT)

    def on_bar(self, bar) -> None:
        self.bars += 1
        if self.bars == 2:
            self.submit_order(self.order_factory.market(
                IID, n3.OrderSide.BUY, n3.Quantity.from_str(self.qty), tags=["entry"]))
            self.entry_bar_close = bar.close.as_double()

    def on_order_filled(self, e) -> None:
        o = self.cache.order(e.client_order_id)
        self.events.append(("fill", str(e.order_type).split(".")[-1], e.last_px.as_double(),
                            e.commission.as_double(), str(e.liquidity_side).split(".")[-1],
                            o.tags if o else None, str(e.client_order_id)))

    def on_position_opened(self, e) -> None:
        self.events.append(("opened", e.avg_px_open))
        q = n3.Quantity.from_str(self.qty)
        if self.stop:
            self.submit_order(self.order_factory.stop_market(
                IID, n3.OrderSide.SELL, q, n3.Price(self.stop, 1), reduce_only=True,
                tags=["stop_loss"]))
        if self.tp:
            self.submit_order(self.order_factory.limit(
                IID, n3.OrderSide.SELL, q, n3.Price(self.tp, 1), reduce_only=True,
                tags=["take_profit"]))

    def on_position_changed(self, e) -> None:
        self.events.append(("changed", e.avg_px_open))

    def on_position_closed(self, e) -> None:
        self.events.append(("closed", e.realized_pnl.as_double()))
        self.cancel_all_orders(IID)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    shared = Path(ap.parse_args().shared)
    print(f"nautilus_trader {n3.NAUTILUS_VERSION if hasattr(n3, 'NAUTILUS_VERSION') else '?'} "
          "Rust (PyO3) BacktestEngine")

    # 1) orders + position events: take-profit (reduce-only limit) hit in Jan 2024
    data = stream(shared, "2024-01", 2000)
    s = Probe("0.100", stop=40000.0, tp=43500.0)
    eng = engine(10_000, 10, "0.004", data)
    eng.add_strategy(s)
    eng.run()
    fills = [e for e in s.events if e[0] == "fill"]
    check(s.bars == 2000, "Python subclass of nautilus_pyo3.trading.Strategy receives on_bar")
    check(fills[0][1] == "MARKET" and fills[0][2] == s.entry_bar_close,
          f"market order submitted in on_bar fills at that bar's close ({fills[0][2]})")
    check(abs(fills[0][3] - 0.1 * fills[0][2] * 0.0005) < 1e-8 and fills[0][4] == "TAKER",
          "taker fee 0.05 % of notional charged by MakerTakerFeeModel")
    check([e[0] for e in s.events][:2] == ["fill", "opened"], "on_position_opened event")
    tp = [f for f in fills if f[5] == ["take_profit"]]
    check(len(tp) == 1 and tp[0][1] == "LIMIT" and tp[0][2] == 43500.0 and tp[0][4] == "MAKER",
          "reduce-only LIMIT (take profit) fills at its price as MAKER (0.02 %)")
    check(any(e[0] == "closed" for e in s.events), "on_position_closed event")

    # 2) stop-market: a stop just below entry in the same month
    s2 = Probe("0.100", stop=42000.0)
    eng2 = engine(10_000, 10, "0.004", data)
    eng2.add_strategy(s2)
    eng2.run()
    st = [e for e in s2.events if e[0] == "fill" and e[5] == ["stop_loss"]]
    check(len(st) == 1 and st[0][1] == "STOP_MARKET" and st[0][2] <= 42000.0,
          f"reduce-only STOP_MARKET triggers on the bar path and fills ({st[0][2]})")

    # 3) funding settled natively from FundingRateUpdate(interval=480)
    s3 = Probe("0.100")
    eng3 = engine(10_000, 10, "0.004", data)
    eng3.add_strategy(s3)
    eng3.run()
    pos = eng3.cache.positions()[0]
    adj = [a for a in pos.adjustments() if "FUNDING" in str(a.adjustment_type).upper()]
    check(len(adj) > 10, f"funding settled on the open position ({len(adj)} PositionAdjusted "
                         f"FUNDING events, total {sum(a.pnl_change.as_double() for a in adj):.4f} USDT)")
    rep = eng3.generate_account_report(venue=VENUE)
    check(len(rep) > len(adj), "funding lands in the account balance (account report rows)")

    # 4) liquidation: 50x long before the 2024-01-03 crash; only with quotes in the cache
    for quotes in (False, True):
        d = [x for x in stream(shared, "2024-01", quotes=quotes)
             if x.ts_init >= 1704279600 * 10**9 and x.ts_init <= 1704326400 * 10**9]
        s4 = Probe("1.050")
        eng4 = engine(1_000, 50, "0.004", d)
        eng4.add_strategy(s4)
        eng4.run()
        liq = [f for f in s4.events if f[0] == "fill" and f[6].startswith("LIQUIDATION")]
        bal = eng4.cache.account_for_venue(VENUE).balance_total(USDT).as_double()
        if not quotes:
            check(not liq, "bars only: the liquidation engine never fires (needs QuoteTicks)")
        else:
            check(len(liq) == 1 and liq[0][5] == ["LIQUIDATION_BINANCE_CLOSE"],
                  f"with one quote per bar: liquidated by a LIQUIDATION_BINANCE_CLOSE market "
                  f"order at the bar close {liq[0][2]} (balance after: {bal:.2f} USDT — can go "
                  "negative: checked on closes only, no bankruptcy price)")

    # 5) catalog: the Rust ParquetDataCatalog round-trips instruments and bars
    with tempfile.TemporaryDirectory() as tmp:
        cat = n3.ParquetDataCatalog(tmp)
        bars = [x for x in data if isinstance(x, n3.Bar)]
        cat.write_instruments([instrument(10, "0.004")])
        cat.write_bars(bars)
        back = cat.query_bars([str(BT)], start=None, end=None)
        check(len(back) == len(bars) and back[5].close == bars[5].close,
              f"nautilus_pyo3.ParquetDataCatalog write/query_bars round trip ({len(back)} bars)")

    # 6) live node with Binance data/exec factories and a sandbox exec client (no network)
    dc = n3.BinanceDataClientConfig(product_type=n3.BinanceProductType.USD_M,
                                    environment=n3.BinanceEnvironment.TESTNET)
    ec = n3.BinanceExecClientConfig(n3.TraderId("TRADER-001"), n3.AccountId("BINANCE-001"),
                                    product_type=n3.BinanceProductType.USD_M,
                                    environment=n3.BinanceEnvironment.TESTNET,
                                    oms_type=n3.OmsType.NETTING)
    sc = n3.SandboxExecutionClientConfig(VENUE, [n3.Money(10_000, USDT)],
                                         oms_type=n3.OmsType.NETTING,
                                         account_type=n3.AccountType.MARGIN, default_leverage=10)
    node = (n3.LiveNode.builder("paper", n3.TraderId("TRADER-001"), n3.Environment.SANDBOX)
            .add_data_client(None, n3.BinanceDataClientFactory(), dc)
            .add_simulated_exec_client("BINANCE", n3.SandboxExecutionClientFactory(), sc)
            .build())
    check(not node.is_running and str(node.environment).endswith("SANDBOX"),
          "LiveNode built (SANDBOX) with BinanceDataClientFactory + SandboxExecutionClientFactory")
    n3.LiveNode.builder("live", n3.TraderId("TRADER-002"), n3.Environment.LIVE) \
        .add_data_client(None, n3.BinanceDataClientFactory(), dc) \
        .add_exec_client(None, n3.BinanceExecutionClientFactory(), ec)
    ok("LiveNode builder (LIVE) accepts BinanceDataClientFactory + BinanceExecutionClientFactory "
       "configs for USD_M (not built: that needs keys and network)")
    print("ALL CHECKS PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
