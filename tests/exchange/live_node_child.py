"""Child process of ``test_live_node.py``: a real ``nautilus_pyo3.live.LiveNode`` with the Binance
USD_M data + execution clients pointed at the local exchange, and a tiny strategy that buys at
market on its first closed bar, places a reduce-only STOP_MARKET (an algo order), and shuts the
node down once the stop has filled and a few more bars arrived (or after ``max_bars``).

Usage: ``python live_node_child.py CONFIG.json`` with keys ``rest``, ``ws``, ``api_key``,
``api_secret``, ``qty``, ``stop_price``, ``max_bars``, ``out`` (JSON file the strategy rewrites
after every event: bars, order events, fills).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nautilus_trader.core import nautilus_pyo3 as n3
from nautilus_trader.core.nautilus_pyo3 import binance, live
from nautilus_trader.core.nautilus_pyo3.trading import Strategy, StrategyConfig

IID = "BTCUSDT-PERP.BINANCE"
BAR_TYPE = f"{IID}-1-MINUTE-LAST-EXTERNAL"


class Probe(Strategy):
    def __new__(cls, cfg: dict):
        return super().__new__(cls, StrategyConfig(strategy_id=n3.StrategyId("PROBE-001")))

    def __init__(self, cfg: dict):
        super().__init__(StrategyConfig(strategy_id=n3.StrategyId("PROBE-001")))
        self.cfg = cfg
        self.rec = {"bars": [], "accepted": [], "fills": [], "rejected": [], "events": []}
        self.entry_id = None
        self.stop_id = None
        self.stop_filled_at_bar = None

    def _dump(self) -> None:
        p = Path(self.cfg["out"])
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.rec))
        tmp.replace(p)

    def on_start(self) -> None:
        self.iid = n3.InstrumentId.from_str(IID)
        self.subscribe_bars(n3.BarType.from_str(BAR_TYPE))

    def on_bar(self, bar) -> None:
        self.rec["bars"].append(
            [
                int(bar.ts_event),
                bar.open.as_double(),
                bar.high.as_double(),
                bar.low.as_double(),
                bar.close.as_double(),
            ]
        )
        n = len(self.rec["bars"])
        if n == 1:
            o = self.order_factory.market(
                self.iid, n3.OrderSide.BUY, n3.Quantity.from_str(self.cfg["qty"])
            )
            self.entry_id = str(o.client_order_id)
            self.submit_order(o)
            s = self.order_factory.stop_market(
                self.iid,
                n3.OrderSide.SELL,
                n3.Quantity.from_str(self.cfg["qty"]),
                n3.Price.from_str(self.cfg["stop_price"]),
                reduce_only=True,
            )
            self.stop_id = str(s.client_order_id)
            self.submit_order(s)
        if self.stop_filled_at_bar is not None and n >= self.stop_filled_at_bar + 2:
            self._dump()
            self.shutdown_system("probe done")
        elif n >= int(self.cfg["max_bars"]):
            self._dump()
            self.shutdown_system("max bars")
        self._dump()

    def on_order_accepted(self, event) -> None:
        self.rec["accepted"].append(str(event.client_order_id))
        self._dump()

    def on_order_rejected(self, event) -> None:
        self.rec["rejected"].append([str(event.client_order_id), str(event.reason)])
        self._dump()

    def on_order_filled(self, event) -> None:
        cid = str(event.client_order_id)
        self.rec["fills"].append(
            {
                "client_order_id": cid,
                "trade_id": str(event.trade_id),
                "side": str(event.order_side).split(".")[-1].upper(),
                "qty": event.last_qty.as_double(),
                "price": event.last_px.as_double(),
                "commission": event.commission.as_double(),
                "ts_event": int(event.ts_event),
                "venue_order_id": str(event.venue_order_id),
            }
        )
        if cid == self.stop_id:
            self.stop_filled_at_bar = len(self.rec["bars"])
        self._dump()

    def on_order_event(self, event) -> None:
        self.rec["events"].append(type(event).__name__ + ":" + str(event.client_order_id))


def main() -> None:
    cfg = json.loads(Path(sys.argv[1]).read_text())
    tid = n3.TraderId("PAPER-001")
    b = live.LiveNode.builder("probe", tid, n3.Environment.LIVE)
    level = getattr(n3.LogLevel, cfg.get("log_level", "WARNING"))
    b = b.with_logging(n3.LoggerConfig(stdout_level=level))
    b = b.add_data_client(
        None,
        binance.BinanceDataClientFactory(),
        binance.BinanceDataClientConfig(
            product_type=binance.BinanceProductType.USD_M,
            environment=binance.BinanceEnvironment.TESTNET,
            base_url_http=cfg["rest"],
            base_url_ws=cfg["ws"],
            api_key=cfg["api_key"],
            api_secret=cfg["api_secret"],
        ),
    )
    b = b.add_exec_client(
        None,
        binance.BinanceExecutionClientFactory(),
        binance.BinanceExecClientConfig(
            trader_id=tid,
            account_id=n3.AccountId("BINANCE-001"),
            product_type=binance.BinanceProductType.USD_M,
            environment=binance.BinanceEnvironment.TESTNET,
            base_url_http=cfg["rest"],
            base_url_ws=cfg["ws"],
            use_ws_trading=False,
            futures_leverages={"BTCUSDT": 10},
            futures_margin_types={"BTCUSDT": binance.BinanceMarginType.ISOLATED},
            api_key=cfg["api_key"],
            api_secret=cfg["api_secret"],
        ),
    )
    node = (
        b.with_reconciliation(True).with_timeout_connection(20).with_delay_post_stop_secs(1).build()
    )
    node.add_strategy(Probe(cfg))
    node.run()


if __name__ == "__main__":
    main()
