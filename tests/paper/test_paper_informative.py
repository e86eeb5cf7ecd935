"""Informative series in paper trading: an ETHUSDT strategy that reads BTCUSDT as data (its 5m
bars, a 15m series aggregated from them, an RSI and an SMA on them) runs as a paper run on the
local exchange serving both symbols (real 1m bars of 2025-01/02, 5m klines aggregated from
them) and makes exactly the fills of a backtest of the same span: the child subscribes BTC's
klines too, warms them up with ETH's, and hands each BTC bar to the strategy as the backtest
does (visible from the ETH bar with the same close on, never earlier)."""

from __future__ import annotations

import pytest

from tests.conftest import REAL_NOW_MS, ingest_from_mirror
from vibe_quant.core.paths import DataDir

from .test_paper_new_keys import KeysRig, backtest

N_BARS = 120

INFORMATIVE = """
name: paper_informative
timeframe: 5m
informative:
  btc: {symbol: BTCUSDT}
  btc15: {symbol: BTCUSDT, timeframe: 15m}
indicators:
  ema_fast: {type: ema, params: {period: 3}}
  btc_sma: {type: sma, params: {period: 3}, informative: btc15}
  btc_rsi: {type: rsi, params: {period: 5}, informative: btc}
entry:
  long: [close > ema_fast, "btc.close > btc.close[1]", "btc15.close >= btc_sma"]
  short: [close < ema_fast, "btc.close < btc.close[1]", "btc15.close < btc_sma"]
exit:
  long: [btc_rsi < 45]
  short: [btc_rsi > 55]
stop_loss: {type: fixed_pct, pct: 0.5}
sizing: {method: fixed_notional, notional: 2000}
"""


@pytest.fixture(scope="session")
def dd_eth_btc(tmp_path_factory, mirror) -> DataDir:
    """ETHUSDT and BTCUSDT 1m + 5m bars and funding of 2025-01 → 2025-02 (real, from the
    loopback mirror), with the catalog for the backtest oracle."""
    dd = DataDir(tmp_path_factory.mktemp("paper_eth_btc")).ensure()
    rep = ingest_from_mirror(dd, mirror.url, symbols=["ETHUSDT", "BTCUSDT"], start=(2025, 1),
                             end=(2025, 2), intervals=("1m", "5m"), use_rest=False,
                             now_ms=REAL_NOW_MS)
    assert rep.ok, rep.failed
    return dd


@pytest.mark.slow
def test_eth_strategy_reading_btc_trades_in_paper_like_the_backtest(dd_eth_btc, tmp_path):
    path = tmp_path / "informative.yaml"
    path.write_text(INFORMATIVE)
    rig = KeysRig(dd_eth_btc, tmp_path, "inf", path, symbol="ETHUSDT",
                  symbols="ETHUSDT,BTCUSDT")
    try:
        rig.start()
        start = rig.row()["trade_start_ns"]
        for _ in range(N_BARS):
            last = rig.step()
        got = rig.journal_fills()
        subs = rig.ex.admin("GET", "/admin/state")["subscriptions"]
        assert rig.row()["last_bar_ns"] == last
    finally:
        rig.close()
    # the child subscribed both symbols' 5m klines (the 15m series is built from BTC's 5m)
    assert {"ethusdt@kline_5m", "btcusdt@kline_5m"} <= set(subs)
    bt, want = backtest(dd_eth_btc, path, "ETHUSDT", start, last)
    assert len(want) >= 20, "span too quiet to compare"
    assert got == want


def test_start_refuses_an_informative_symbol_the_venue_does_not_list(dd_eth_btc, tmp_path):
    """The venue must list every symbol the strategy reads: a local exchange serving ETHUSDT
    only refuses InformativeSample (ETH with BTC as its informative pair) with one line
    naming BTCUSDT, before a run is stored or launched."""
    import shutil

    from vibe_quant.paper import control
    from vibe_quant.store import paper_sql as Q
    from vibe_quant.store.state import StateStore
    from vibe_quant.testing.exchange import TEST_API_KEY, TEST_API_SECRET, LocalExchange

    dd = DataDir(tmp_path / "dd").ensure()
    shutil.copy(dd_eth_btc.archive_db, dd.archive_db)
    keys = tmp_path / "keys"
    keys.write_text(f"{TEST_API_KEY}\n{TEST_API_SECRET}\n")
    keys.chmod(0o600)
    with LocalExchange(dd, symbols="ETHUSDT", interval="5m", state_db=tmp_path / "ex.db") as ex:
        with pytest.raises(control.PaperError, match=r"does not list BTCUSDT") as e:
            control.start(dd, "strategies/ports/InformativeSample.yaml", "ETHUSDT",
                          exchange=ex.rest, key_file=str(keys))
    assert "\n" not in str(e.value)
    with StateStore.open(dd) as st:
        assert Q.runs(st.conn) == []
