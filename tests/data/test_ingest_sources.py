"""REST fill of the current month, 1m windows as gaps, 12-column files, catalog rebuild."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.data.helpers import FUNDING, KLINES, copy_months
from vibe_quant.core.paths import DataDir
from vibe_quant.data.catalog import load_bars, load_funding, rebuild_catalog
from vibe_quant.data.ingest import ingest
from vibe_quant.data.verify import verify
from vibe_quant.testing.servers import FakeBinanceRest, MirrorServer

NO_REST = "http://127.0.0.1:9"
ROOT = Path(__file__).resolve().parents[2]


def _zip_rows(path: Path) -> list[list[str]]:
    with zipfile.ZipFile(path) as z:
        text = z.read(z.namelist()[0]).decode()
    return [line.split(",") for line in text.splitlines() if line and line[0].isdigit()]


def test_current_month_is_filled_from_rest_with_paging(tmp_path, shared_data):
    # The bulk site has December and January; February 2026 is "the current month".
    root = copy_months(shared_data, tmp_path / "mirror", "BTCUSDT", "5m", ["2025-12", "2026-01"])
    now1 = 1771416000000  # 2026-02-18T12:00:00Z
    dd = DataDir(tmp_path / "dd").ensure()
    with MirrorServer(root) as m, FakeBinanceRest(shared_data, now_ms=now1) as r:
        rep = ingest(
            dd,
            symbols=["BTCUSDT"],
            intervals=["5m"],
            start=(2025, 12),
            end=(2026, 2),
            base_url=m.url,
            rest_url=r.url,
            now_ms=now1,
            progress=None,
        )
        kl = [q for p, q in r.requests if p == "/fapi/v1/klines"]
    assert rep.ok, rep.failed
    assert rep.missing == []
    feb = _zip_rows(shared_data / "binance-vision" / KLINES / "BTCUSDT/5m/BTCUSDT-5m-2026-02.zip")
    closed = [row for row in feb if int(row[6]) < now1]  # bars closed before "now"
    assert len(closed) == 17 * 288 + 12 * 12  # 2026-02-01 .. 02-18 12:00, worked by hand
    got = {(x["kind"], x["period"]): x["rows_new"] for x in rep.rest_filled}
    assert got[("klines", "2026-02")] == len(closed)
    # 5040 bars at 1500 per page: 4 pages, each starting at the previous last openTime + 5 min.
    assert len(kl) == 4 and all(q["limit"] == "1500" for q in kl)
    assert [int(q["startTime"]) for q in kl][1:] == [
        int(closed[i * 1500 - 1][0]) + 300_000 for i in (1, 2, 3)
    ]
    con = sqlite3.connect(dd.archive_db)
    arch = con.execute(
        "SELECT open_time, open, high, low, close, volume FROM raw_klines "
        "WHERE open_time >= 1769904000000 ORDER BY open_time"
    ).fetchall()
    assert arch == [(int(x[0]), *map(float, x[1:6])) for x in closed]
    # Funding of February up to now came from /fapi/v1/fundingRate.
    fz = _zip_rows(
        shared_data / "binance-vision" / FUNDING / "BTCUSDT/BTCUSDT-fundingRate-2026-02.zip"
    )
    f_closed = [row for row in fz if int(row[0]) <= now1]
    assert got[("funding", "2026-02")] == len(f_closed) == 17 * 3 + 2
    # Later the same day: only the new bars are fetched and added.
    now2 = now1 + 4 * 3600_000 + 60_000  # 16:01: the 16:00 funding (calc_time +ms) is out
    with MirrorServer(root) as m, FakeBinanceRest(shared_data, now_ms=now2) as r:
        rep2 = ingest(
            dd,
            symbols=["BTCUSDT"],
            intervals=["5m"],
            start=(2025, 12),
            end=(2026, 2),
            base_url=m.url,
            rest_url=r.url,
            now_ms=now2,
            progress=None,
        )
    assert rep2.files_archived == 0
    assert {(x["kind"]): x["rows_new"] for x in rep2.rest_filled} == {"klines": 48, "funding": 1}
    assert verify(dd)["series"][0]["gaps"] == []


def test_btc_1m_windows_are_reported_as_gaps(tmp_path, mirror):
    dd = DataDir(tmp_path / "dd").ensure()
    rep = ingest(
        dd,
        symbols=["BTCUSDT"],
        intervals=["1m"],
        start=(2023, 7),
        end=(2025, 12),
        funding=False,
        base_url=mirror.url,
        rest_url=NO_REST,
        now_ms=1780000000000,
        progress=None,
    )
    assert rep.ok and rep.files_archived == 9
    s = verify(dd)["series"][0]
    assert s["bars"] == 220_343
    # README windows: 2023-07-18→08-17, 2025-01-27→02-26, 2025-05-04→06-24,
    # 2025-07-06→07-17, 2025-11-10→12-10: exactly four holes between five windows.
    assert [(g["start"][:10], g["end"][:10]) for g in s["gaps"]] == [
        ("2023-08-17", "2025-01-27"),
        ("2025-02-26", "2025-05-04"),
        ("2025-06-24", "2025-07-06"),
        ("2025-07-17", "2025-11-10"),
    ]
    assert s["first"][:10] == "2023-07-18" and s["last"][:10] == "2025-12-10"
    # Only whole 5m windows are aggregated, none across a hole.
    n5 = len(load_bars(dd, "BTCUSDT", "5m"))
    assert 0 < n5 <= 220_343 // 5


def test_filusdt_12_column_files_keep_every_column(tmp_path, mirror, shared_data):
    dd = DataDir(tmp_path / "dd").ensure()
    rep = ingest(
        dd,
        symbols=["FILUSDT"],
        intervals=["1m"],
        start=(2023, 4),
        end=(2023, 5),
        funding=False,
        base_url=mirror.url,
        rest_url=NO_REST,
        now_ms=1780000000000,
        progress=None,
        build_catalog=False,  # archive only: FILUSDT's contract terms are tested elsewhere
    )
    assert rep.ok and rep.files_archived == 2
    con = sqlite3.connect(dd.archive_db)
    assert con.execute("SELECT COUNT(*) FROM raw_klines").fetchone()[0] == 43_200 + 44_640
    assert con.execute("SELECT DISTINCT n_columns FROM download_log").fetchall() == [(12,)]
    src = _zip_rows(shared_data / "binance-vision" / KLINES / "FILUSDT/1m/FILUSDT-1m-2023-04.zip")
    for row in (src[0], src[12345], src[-1]):
        got = con.execute(
            "SELECT open_time, open, high, low, close, volume, close_time, quote_volume, count,"
            " taker_buy_volume, taker_buy_quote_volume, ignore FROM raw_klines"
            " WHERE symbol='FILUSDT' AND open_time=?",
            (int(row[0]),),
        ).fetchone()
        assert got == (
            int(row[0]),
            *map(float, row[1:6]),
            int(row[6]),
            float(row[7]),
            int(row[8]),
            float(row[9]),
            float(row[10]),
            float(row[11]),
        )
    nulls = con.execute(
        "SELECT COUNT(*) FROM raw_klines WHERE quote_volume IS NULL OR count "
        "IS NULL OR taker_buy_quote_volume IS NULL"
    ).fetchone()[0]
    assert nulls == 0


def _catalog_content(dd: DataDir) -> tuple:
    out = []
    for iv in ("5m", "15m", "1h", "4h"):
        out.append(
            [
                (b.ts_event, str(b.open), str(b.high), str(b.low), str(b.close), str(b.volume))
                for b in load_bars(dd, "BTCUSDT", iv)
            ]
        )
    out.append(
        [
            (f.ts_event, str(f.rate), f.interval, f.next_funding_ns)
            for f in load_funding(dd, "BTCUSDT")
        ]
    )
    return tuple(map(tuple, out))


def test_rebuild_equals_the_first_build(tmp_path, mirror):
    dd = DataDir(tmp_path / "dd").ensure()
    ingest(
        dd,
        symbols=["BTCUSDT"],
        intervals=["5m"],
        start=(2024, 1),
        end=(2024, 3),
        base_url=mirror.url,
        rest_url=NO_REST,
        now_ms=1780000000000,
        progress=None,
    )
    first = _catalog_content(dd)
    assert len(first[0]) == (31 + 29 + 31) * 288
    rebuild_catalog(dd)
    assert _catalog_content(dd) == first
    # CLI: rebuild prints one JSON document.
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "vibe_quant",
            "data",
            "rebuild",
            "--data-dir",
            str(dd.root),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    doc = json.loads(out.stdout)
    assert doc["symbols"]["BTCUSDT"]["bars"]["1h"]["rows"] == (31 + 29 + 31) * 24
    assert _catalog_content(dd) == first


@pytest.mark.parametrize(
    "cmd",
    [["data", "verify"], ["data", "status"], ["data", "query", "SELECT COUNT(*) AS n FROM bars"]],
)
def test_cli_json_prints_exactly_one_document(real_data_dir, cmd):
    out = subprocess.run(
        [sys.executable, "-m", "vibe_quant", *cmd, "--data-dir", str(real_data_dir.root), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)  # raises if there is anything but one JSON document
    if cmd[1] == "verify":
        assert doc["ok"] is True and len(doc["series"]) == 2
        assert set(doc["series"][0]) >= {
            "symbol",
            "interval",
            "bars",
            "first",
            "last",
            "gaps",
            "duplicates",
            "ohlc_violations",
        }
    elif cmd[1] == "query":
        # 5m + 15m + 1h + 4h for BTC (no gaps) and ETH (complete windows only)
        assert doc["columns"] == ["n"] and doc["rows"][0][0] > 2 * 329_964


def test_verify_exits_1_on_ohlc_violations(tmp_path, real_data_dir):
    import shutil

    dd = DataDir(tmp_path / "dd").ensure()
    shutil.copyfile(real_data_dir.archive_db, dd.archive_db)
    con = sqlite3.connect(dd.archive_db)
    con.execute("PRAGMA journal_mode=DELETE")
    # Break one bar on purpose (tests only: the archive API itself never updates).
    con.execute(
        "UPDATE raw_klines SET low = high + 1 WHERE symbol='ETHUSDT' AND open_time = 1704067200000"
    )
    con.commit()
    con.close()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "vibe_quant",
            "data",
            "verify",
            "--data-dir",
            str(dd.root),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    eth = [s for s in doc["series"] if s["symbol"] == "ETHUSDT"][0]
    assert doc["ok"] is False and eth["ohlc_violations"] == 1
