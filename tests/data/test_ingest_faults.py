"""Bad input loses nothing: corrupt zips, flaky servers, missing months, re-runs, kills."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REAL_END, REAL_NOW_MS, REAL_START, REAL_SYMBOLS
from tests.data.helpers import KLINES, copy_months
from vibe_quant.core.paths import DataDir
from vibe_quant.data.ingest import ingest
from vibe_quant.store.archive import Archive
from vibe_quant.testing.servers import MirrorServer
from vibe_quant.venues.binance.http import Fetcher, RetryPolicy

NOW = REAL_NOW_MS
NO_REST = "http://127.0.0.1:9"
JAN, FEB, MAR = "2023-01", "2023-02", "2023-03"
FEB_START_MS, MAR_START_MS = 1675209600000, 1677628800000


def _kline_months(dd: DataDir) -> dict[str, int]:
    con = sqlite3.connect(dd.archive_db)
    rows = con.execute(
        "SELECT strftime('%Y-%m', open_time/1000, 'unixepoch'), COUNT(*) FROM raw_klines GROUP BY 1"
    ).fetchall()
    con.close()
    return dict(rows)


def test_corrupt_zip_fails_its_checksum_and_nothing_of_it_is_archived(tmp_path, shared_data):
    root = copy_months(shared_data, tmp_path / "mirror", "BTCUSDT", "5m", [JAN, FEB, MAR])
    bad = root / KLINES / "BTCUSDT/5m/BTCUSDT-5m-2023-02.zip"
    good_bytes = bad.read_bytes()
    corrupted = bytearray(good_bytes)
    corrupted[len(corrupted) // 2] ^= 0xFF
    bad.write_bytes(bytes(corrupted))
    dd = DataDir(tmp_path / "dd").ensure()
    with MirrorServer(root) as srv:
        rep = ingest(
            dd,
            symbols=["BTCUSDT"],
            intervals=["5m"],
            start=(2023, 1),
            end=(2023, 3),
            base_url=srv.url,
            rest_url=NO_REST,
            now_ms=NOW,
            progress=None,
            fetcher=Fetcher(policy=RetryPolicy(backoff_s=0.0)),
        )
        # The corrupt file was downloaded 3 times (re-download on mismatch), then rejected.
        assert srv.requests.count(f"{KLINES}/BTCUSDT/5m/BTCUSDT-5m-2023-02.zip") == 3
    assert not rep.ok
    assert len(rep.failed) == 1
    msg = rep.failed[0]["error"]
    assert "BTCUSDT-5m-2023-02.zip" in msg and "checksum mismatch" in msg
    assert "nothing of this file was archived" in msg
    months = _kline_months(dd)
    assert months == {JAN: 31 * 288, MAR: 31 * 288}  # February: nothing at all
    assert rep.files_archived == 5  # 2 kline files + 3 funding files
    # Repair the file: the re-run archives exactly the missing month and nothing else.
    bad.write_bytes(good_bytes)
    with MirrorServer(root) as srv:
        rep2 = ingest(
            dd,
            symbols=["BTCUSDT"],
            intervals=["5m"],
            start=(2023, 1),
            end=(2023, 3),
            base_url=srv.url,
            rest_url=NO_REST,
            now_ms=NOW,
            progress=None,
        )
    assert rep2.ok and rep2.files_archived == 1 and rep2.files_skipped == 5
    assert _kline_months(dd) == {JAN: 31 * 288, FEB: 28 * 288, MAR: 31 * 288}


def test_retries_5xx_and_honours_retry_after(tmp_path, shared_data):
    root = copy_months(shared_data, tmp_path / "mirror", "BTCUSDT", "5m", [JAN], funding=False)
    z = f"{KLINES}/BTCUSDT/5m/BTCUSDT-5m-2023-01.zip"
    faults = {
        z: [(503, {}), (502, {})],
        z + ".CHECKSUM": [(429, {"Retry-After": "7"}), (418, {"Retry-After": "3"})],
    }
    slept: list[float] = []
    dd = DataDir(tmp_path / "dd").ensure()
    with MirrorServer(root, faults=faults) as srv:
        f = Fetcher(policy=RetryPolicy(backoff_s=0.25), sleep=slept.append)
        rep = ingest(
            dd,
            symbols=["BTCUSDT"],
            intervals=["5m"],
            start=(2023, 1),
            end=(2023, 1),
            funding=False,
            base_url=srv.url,
            rest_url=NO_REST,
            now_ms=NOW,
            progress=None,
            fetcher=f,
            build_catalog=False,
        )
    assert rep.ok and rep.files_archived == 1
    assert f.retries == 4
    # Retry-After is honoured exactly; 5xx back off exponentially (0.25 s, then 0.5 s).
    assert slept == [7.0, 3.0, 0.25, 0.5]
    assert _kline_months(dd) == {JAN: 31 * 288}


def test_missing_month_is_reported_not_fatal(tmp_path, shared_data, mirror):
    dd = DataDir(tmp_path / "dd").ensure()
    rep = ingest(
        dd,
        symbols=["BTCUSDT"],
        intervals=["5m"],
        start=(2026, 2),
        end=(2026, 3),
        base_url=mirror.url,
        rest_url=NO_REST,
        now_ms=NOW,
        progress=None,
    )
    assert rep.ok
    # 5m klines end 2026-02-19 on the site; funding goes on to 2026-05.
    assert [m.rsplit("/", 1)[1] for m in rep.missing] == ["BTCUSDT-5m-2026-03.zip"]
    assert rep.files_archived == 3


def test_rerun_adds_nothing_and_a_later_end_fetches_only_new_months(tmp_path, mirror):
    dd = DataDir(tmp_path / "dd").ensure()
    kw = dict(
        symbols=["BTCUSDT"],
        intervals=["5m"],
        base_url=mirror.url,
        rest_url=NO_REST,
        now_ms=NOW,
        progress=None,
    )
    r1 = ingest(dd, start=(2023, 1), end=(2023, 2), **kw)
    fp1 = Archive(dd.archive_db).table_fingerprint()
    r2 = ingest(dd, start=(2023, 1), end=(2023, 2), **kw)
    assert (r1.files_archived, r2.files_archived, r2.files_skipped) == (4, 0, 4)
    assert r2.kline_rows_new == 0 and r2.funding_rows_new == 0
    assert Archive(dd.archive_db).table_fingerprint() == fp1
    n_before = len(mirror.requests)
    r3 = ingest(dd, start=(2023, 1), end=(2023, 4), **kw)
    assert r3.files_archived == 4 and r3.files_skipped == 4
    new_zips = {p for p in mirror.requests[n_before:] if p.endswith(".zip")}
    assert {p.rsplit("/", 1)[1] for p in new_zips} == {
        "BTCUSDT-5m-2023-03.zip",
        "BTCUSDT-5m-2023-04.zip",
        "BTCUSDT-fundingRate-2023-03.zip",
        "BTCUSDT-fundingRate-2023-04.zip",
    }


def test_killed_ingest_resumes_to_the_same_archive(tmp_path, shared_data, real_data_dir):
    """SIGKILL an ingest mid-way; the re-run gives exactly the uninterrupted archive."""
    dd = DataDir(tmp_path / "dd").ensure()
    with MirrorServer(shared_data / "binance-vision", delay_s=0.03) as srv:
        cmd = [
            sys.executable,
            "-m",
            "vibe_quant",
            "data",
            "ingest",
            "--symbols",
            ",".join(REAL_SYMBOLS),
            "--interval",
            "5m",
            "--start",
            "%04d-%02d" % REAL_START,
            "--end",
            "%04d-%02d" % REAL_END,
            "--base-url",
            srv.url,
            "--rest-url",
            NO_REST,
            "--workers",
            "1",
            "--data-dir",
            str(dd.root),
            "--json",
            "--now",
            "2026-05-28T00:00:00Z",
        ]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.time() + 120
        logged = 0
        while time.time() < deadline:
            time.sleep(0.2)
            if dd.archive_db.exists():
                try:
                    con = sqlite3.connect(dd.archive_db, timeout=5)
                    logged = con.execute("SELECT COUNT(*) FROM download_log").fetchone()[0]
                    con.close()
                except sqlite3.OperationalError:
                    continue
            if logged >= 30:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert 30 <= logged < 148, logged  # really interrupted mid-way
        rep = ingest(
            dd,
            symbols=REAL_SYMBOLS,
            intervals=["5m"],
            start=REAL_START,
            end=REAL_END,
            base_url=srv.url,
            rest_url=NO_REST,
            now_ms=NOW,
            progress=None,
        )
    assert rep.ok and rep.files_skipped >= logged
    a, b = Archive(dd.archive_db), Archive(real_data_dir.archive_db)
    assert a.table_fingerprint() == b.table_fingerprint()
    n = a.execute("SELECT COUNT(*), COUNT(DISTINCT path) FROM download_log").fetchone()
    # 2 symbols × 38 months × (klines + funding) = 152, less ETH 5m 2024-06 … 2024-09, which
    # the site does not have (the ETH gap): 148 files, each logged once.
    assert n[0] == n[1] == 148


def test_no_rest_reports_unpublished_months_without_calling_rest(tmp_path, mirror):
    dd = DataDir(tmp_path / "dd").ensure()
    # "now" = 2026-03-10: February 2026 is the previous month, March the current one.
    rep = ingest(
        dd,
        symbols=["BTCUSDT"],
        intervals=["5m"],
        start=(2026, 2),
        end=(2026, 3),
        base_url=mirror.url,
        rest_url="http://127.0.0.1:9",
        use_rest=False,
        now_ms=1773100800000,
        progress=None,
        build_catalog=False,
    )
    assert rep.ok and rep.rest_filled == []
    assert [m.rsplit("/", 1)[1] for m in rep.missing] == ["BTCUSDT-5m-2026-03.zip"]


def test_a_version_1_archive_is_migrated_and_not_downloaded_again(tmp_path, mirror):
    dd = DataDir(tmp_path / "dd").ensure()
    kw = dict(
        symbols=["BTCUSDT"],
        intervals=["5m"],
        start=(2023, 1),
        end=(2023, 1),
        base_url=mirror.url,
        rest_url=NO_REST,
        now_ms=NOW,
        progress=None,
        build_catalog=False,
    )
    ingest(dd, **kw)
    con = sqlite3.connect(dd.archive_db)  # turn it into a version-1 archive (no path column)
    con.execute("DROP INDEX download_log_bulk")
    con.execute("ALTER TABLE download_log DROP COLUMN path")
    con.execute("DROP TABLE raw_leverage_brackets")  # added by version 3
    con.execute("PRAGMA user_version=1")
    con.commit()
    con.close()
    rep = ingest(dd, **kw)
    assert (rep.files_archived, rep.files_skipped) == (0, 2)
    a = Archive(dd.archive_db)
    assert a.execute("PRAGMA user_version").fetchone()[0] == 3
    assert a.execute("SELECT COUNT(*) FROM raw_leverage_brackets").fetchone() == (0,)
    assert sorted(a.execute("SELECT path FROM download_log").fetchall()) == [
        ("data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2023-01.zip",),
        ("data/futures/um/monthly/klines/BTCUSDT/5m/BTCUSDT-5m-2023-01.zip",),
    ]
