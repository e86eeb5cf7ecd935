"""CSV layouts, interval maths, and the packaged contract reference against real payloads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vibe_quant.data.aggregate import aggregate
from vibe_quant.venues.binance.csvparse import CsvFormatError, parse_funding_csv, parse_klines_csv
from vibe_quant.venues.binance.instruments import (
    binance_perpetual,
    leverage_brackets,
    parse_exchange_info,
    reference_spec,
)
from vibe_quant.venues.binance.margin import bracket_for

ROW7 = "1672531200000,16537.5,16538.0,16523.0,16529.2,844.251,1672531499999"
ROW12 = (
    "1680307200000,5.685,5.695,5.684,5.692,28753.6,1680307259999,163610.5208,335,"
    "22787.7,129658.0900,0"
)


def test_kline_layouts_with_and_without_header():
    a = parse_klines_csv("open_time,open,high,low,close,volume,close_time\n" + ROW7)
    b = parse_klines_csv(ROW7 + "\n")
    assert a.rows == b.rows and a.n_columns == 7
    assert a.rows[0] == (
        1672531200000,
        16537.5,
        16538.0,
        16523.0,
        16529.2,
        844.251,
        1672531499999,
        None,
        None,
        None,
        None,
        None,
    )
    c = parse_klines_csv(ROW12)
    assert c.n_columns == 12 and c.rows[0][7:] == (163610.5208, 335, 22787.7, 129658.09, 0.0)
    # Microsecond timestamps (newer Binance files) are converted to ms.
    us = parse_klines_csv("1735689600000000,1,2,0.5,1.5,10,1735689659999999")
    assert us.rows[0][0] == 1735689600000 and us.rows[0][6] == 1735689659999


@pytest.mark.parametrize(
    "text,where",
    [
        (ROW7 + "\n1,2,3", "<csv>:2: expected 7 or 12 columns, got 3"),
        (ROW7 + "\n" + ROW12, "<csv>:2: 12 columns after 7"),
        ("1672531200000,abc,1,1,1,1,1672531499999", "<csv>:1:"),
    ],
)
def test_malformed_kline_rows_name_the_line(text, where):
    with pytest.raises(CsvFormatError, match=where.replace("(", r"\(")):
        parse_klines_csv(text)


def test_funding_csv():
    rows = parse_funding_csv(
        "calc_time,funding_interval_hours,last_funding_rate\n"
        "1704067200000,8,0.00037409\n1704096000003,8,-0.0001\n"
    )
    assert rows == [(1704067200000, 8, 0.00037409), (1704096000003, 8, -0.0001)]


def test_aggregate_by_hand():
    ot = np.array([0, 60, 120, 180, 240, 300, 420], dtype=np.int64) * 1000  # 360 s missing
    cols = {
        "open_time": ot,
        "open": np.array([1, 2, 3, 4, 5, 6, 8.0]),
        "high": np.array([2, 5, 4, 4, 9, 7, 9.0]),
        "low": np.array([0.5, 1, 2, 3, 4, 5, 7.0]),
        "close": np.array([2, 3, 4, 5, 6, 7, 9.0]),
        "volume": np.array([1, 1, 1, 1, 1, 1, 1.0]),
    }
    out = aggregate(cols, 60_000, 180_000)
    # windows [0,180): 3 bars; [180,360): 3 bars; [360,540): only 1 bar → dropped
    assert out["open_time"].tolist() == [0, 180_000]
    assert out["open"].tolist() == [1, 4] and out["close"].tolist() == [4, 7]
    assert out["high"].tolist() == [5, 9] and out["low"].tolist() == [0.5, 3]
    assert out["volume"].tolist() == [3, 3]
    with pytest.raises(ValueError):
        aggregate(cols, 60_000, 90_000)


def test_packaged_reference_equals_the_real_payloads(shared_data):
    real = parse_exchange_info(
        (shared_data / "binance-api/fapi_v1_exchangeInfo_2022-02-19.json").read_text()
    )
    for sym in ("BTCUSDT", "ETHUSDT"):
        assert reference_spec(sym) == real[sym]
    raw = json.loads((shared_data / "binance-api/leverage_brackets_BTC_ETH_SOL.json").read_text())
    for sym, key in (("BTCUSDT", "BTC/USDT:USDT"), ("ETHUSDT", "ETH/USDT:USDT")):
        assert [
            (b.notional_floor, b.notional_cap, b.maint_margin_rate, b.max_leverage, b.cum)
            for b in leverage_brackets(sym)
        ] == [
            (
                float(t["info"]["notionalFloor"]),
                float(t["info"]["notionalCap"]),
                float(t["info"]["maintMarginRatio"]),
                float(t["info"]["initialLeverage"]),
                float(t["info"]["cum"]),
            )
            for t in raw[key]
        ]


def test_instrument_matches_binance_rules():
    i = binance_perpetual("BTCUSDT")
    assert str(i.id) == "BTCUSDT-PERP.BINANCE"
    assert (str(i.price_increment), str(i.size_increment)) == ("0.1", "0.001")
    assert float(i.min_notional.as_decimal()) == 10.0
    assert (float(i.maker_fee), float(i.taker_fee)) == (0.0002, 0.0005)
    assert float(i.margin_init) == 1 / 125 and float(i.margin_maint) == 0.004
    j = binance_perpetual("BTCUSDT", margin_init=0.1, margin_maint=0.005)
    assert (float(j.margin_init), float(j.margin_maint)) == (0.1, 0.005)
    b = bracket_for("BTCUSDT", 50_000)  # floor inclusive
    assert (b.maint_margin_rate, b.cum) == (0.005, 50.0)


def test_bar_type_names_round_trip():
    from vibe_quant.venues.binance.instruments import bar_type, parse_bar_type

    assert bar_type("BTCUSDT", "1h") == "BTCUSDT-PERP.BINANCE-1-HOUR-LAST-EXTERNAL"
    for sym, iv in (("BTCUSDT", "5m"), ("ETHUSDT", "15m"), ("BTCUSDT", "4h")):
        assert parse_bar_type(bar_type(sym, iv)) == (sym, iv)
    with pytest.raises(ValueError, match="not a vibe-quant bar type"):
        parse_bar_type("BTCUSDT.BINANCE-1-HOUR-LAST-EXTERNAL")
