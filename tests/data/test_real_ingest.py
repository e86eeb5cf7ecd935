"""Issue 2 'Done when', on the real data: counts, reference prices, verify, aggregation."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from vibe_quant.data.catalog import load_bars, load_funding, load_instrument
from vibe_quant.data.query import query
from vibe_quant.data.verify import verify

NS = 1_000_000_000


def _ts(s: str) -> int:
    return int(datetime.fromisoformat(s).replace(tzinfo=UTC).timestamp())


def test_btc_5m_has_every_bar_and_the_reference_opens(real_data_dir):
    bars = load_bars(real_data_dir, "BTCUSDT", "5m")
    assert len(bars) == 329_964
    # README reference prices: the bar OPENING at 00:00 UTC closes (ts_event) at 00:05.
    by_close = {b.ts_event: b for b in bars}
    for day, price in (("2023-01-01", 16537.5), ("2024-01-01", 42314.0), ("2025-01-01", 93548.8)):
        b = by_close[(_ts(day) + 300) * NS]
        assert float(b.open) == price, day
    cols, rows = query(
        real_data_dir,
        "SELECT open FROM bars WHERE symbol='BTCUSDT' AND "
        "interval='5m' AND open_time = TIMESTAMPTZ '2024-01-01 00:00:00+00'",
    )
    assert rows == [(42314.0,)]


def test_verify_reports_the_eth_gap_and_nothing_else(real_data_dir):
    rep = verify(real_data_dir)
    assert rep["ok"] is True
    series = {(s["symbol"], s["interval"]): s for s in rep["series"]}
    assert set(series) == {("BTCUSDT", "5m"), ("ETHUSDT", "5m")}
    btc, eth = series[("BTCUSDT", "5m")], series[("ETHUSDT", "5m")]
    assert btc["gaps"] == [] and btc["duplicates"] == 0 and btc["ohlc_violations"] == 0
    assert eth["bars"] == 289_833
    # README: one gap 2024-05-14 15:40 → 2024-10-01, 15:40 being the open of the last bar
    # present, so the first missing bar opens at 15:45. Missing bars worked out by hand:
    # 15:45 → 24:00 on 05-14 is 8 h 15 min = 99 bars; 05-15 .. 09-30 is 139 days × 288 bars.
    assert eth["gaps"] == [
        {
            "start": "2024-05-14T15:45:00Z",
            "end": "2024-10-01T00:00:00Z",
            "missing_bars": 99 + 139 * 288,
        }
    ]
    assert eth["duplicates"] == 0 and eth["ohlc_violations"] == 0
    assert [f["gaps"] for f in rep["funding"]] == [[], []]
    assert {f["symbol"]: f["records"] for f in rep["funding"]}["BTCUSDT"] == 3 * (365 * 3 + 1) + (
        31 + 28
    ) * 3  # 2023-01-01 .. 2026-02-28 16:00, three fundings a day (2024 is leap)


def _read_zip_5m(shared, symbol: str) -> pd.DataFrame:
    """The 5m klines read straight from the mirror's zips with pandas (independent of ingest)."""
    folder = shared / "binance-vision/data/futures/um/monthly/klines" / symbol / "5m"
    frames = []
    for z in sorted(folder.glob("*.zip")):
        with zipfile.ZipFile(z) as zf:
            frames.append(pd.read_csv(io.BytesIO(zf.read(zf.namelist()[0]))))
    df = pd.concat(frames)
    df.index = pd.to_datetime(df["open_time"], unit="ms", utc=True)
    return df[["open", "high", "low", "close", "volume"]]


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT"])
@pytest.mark.parametrize(
    "interval,rule,n", [("15m", "15min", 3), ("1h", "1h", 12), ("4h", "4h", 48)]
)
def test_higher_intervals_equal_a_pandas_resample(
    real_data_dir, shared_data, symbol, interval, rule, n
):
    df = _read_zip_5m(shared_data, symbol)
    r = df.resample(rule, label="left", closed="left")
    exp = pd.DataFrame(
        {
            "open": r["open"].first(),
            "high": r["high"].max(),
            "low": r["low"].min(),
            "close": r["close"].last(),
            "volume": r["volume"].sum(),
            "count": r["open"].count(),
        }
    )
    exp = exp[exp["count"] == n]  # complete windows only (the ETH gap cuts some)
    bars = load_bars(real_data_dir, symbol, interval)
    step_s = {"15m": 900, "1h": 3600, "4h": 14400}[interval]
    got = pd.DataFrame(
        {
            "open": [float(b.open) for b in bars],
            "high": [float(b.high) for b in bars],
            "low": [float(b.low) for b in bars],
            "close": [float(b.close) for b in bars],
            "volume": [float(b.volume) for b in bars],
        },
        index=pd.to_datetime([b.ts_event // NS - step_s for b in bars], unit="s", utc=True),
    )
    assert len(got) == len(exp)
    assert (got.index == exp.index).all()
    for c in ("open", "high", "low", "close"):  # fixed-point → float noise ≤ 1e-10 ≪ one tick
        np.testing.assert_allclose(got[c].to_numpy(), exp[c].to_numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["volume"].to_numpy(), exp["volume"].to_numpy(), atol=0.0011)


def test_no_bar_is_visible_before_it_closes(real_data_dir):
    """Bar ts_event/ts_init (what the engine orders and delivers by) is the bar's close time,
    so a consumer whose clock reads T sees only bars that closed at or before T — for every
    interval, including aggregated ones, whose timestamp equals their last constituent's."""
    for interval, step in (("5m", 300), ("15m", 900), ("1h", 3600), ("4h", 14400)):
        bars = load_bars(real_data_dir, "BTCUSDT", interval)
        te = np.array([b.ts_event for b in bars], dtype=np.int64)
        ti = np.array([b.ts_init for b in bars], dtype=np.int64)
        assert (te == ti).all()
        assert (te % (step * NS) == 0).all()  # on the close grid, not the open grid
    # The 1h bar covering [10:00, 11:00) on 2024-03-05 is stamped 11:00, the close of its last
    # 5m constituent [10:55, 11:00): it cannot be seen before its last 5m bar has closed.
    t11 = _ts("2024-03-05T11:00:00") * NS
    h = load_bars(real_data_dir, "BTCUSDT", "1h", t11, t11)
    fives = load_bars(real_data_dir, "BTCUSDT", "5m", t11 - 3600 * NS + 1, t11)
    assert len(h) == 1 and len(fives) == 12
    assert h[0].ts_event == fives[-1].ts_event
    assert float(h[0].close) == float(fives[-1].close)
    assert float(h[0].open) == float(fives[0].open)
    # A query bounded at T returns no bar with ts_event > T.
    t = t11 + 7 * 60 * NS  # 11:07: the 11:05 bar is visible, the 11:10 one is not
    assert load_bars(real_data_dir, "BTCUSDT", "5m", None, t)[-1].ts_event == t11 + 300 * NS


def test_funding_in_catalog_matches_the_archive(real_data_dir):
    f = load_funding(real_data_dir, "BTCUSDT", _ts("2024-01-01") * NS, _ts("2024-01-02") * NS)
    # BTCUSDT-fundingRate-2024-01.csv, first rows: 0.00037409, 0.00027213, 0.00033601
    assert [str(x.rate) for x in f[:3]] == ["0.00037409", "0.00027213", "0.00033601"]
    assert [x.ts_event for x in f[:4]] == [
        (_ts("2024-01-01") + h * 3600) * NS for h in (0, 8, 16, 24)
    ]
    assert all(x.interval == 480 for x in f)
    assert f[0].next_funding_ns == f[1].ts_event
    inst = load_instrument(real_data_dir, "BTCUSDT")
    assert str(inst.id) == "BTCUSDT-PERP.BINANCE"
    assert str(inst.price_increment) == "0.1" and str(inst.size_increment) == "0.001"
