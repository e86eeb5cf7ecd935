"""Any USDⓈ-M perpetual: specs from a served exchangeInfo, brackets from a signed
leverageBracket or a --brackets file, refusals that say why (issue 9, "Any symbol").

FILUSDT is not in the shared exchangeInfo payload, so the fake serves it as an extra symbol with
the values stated below.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from vibe_quant.core.paths import DataDir
from vibe_quant.data.catalog import load_instrument, load_terms, resolve_terms
from vibe_quant.data.ingest import ingest
from vibe_quant.store.archive import Archive
from vibe_quant.testing.servers import FakeBinanceRest, MirrorServer
from vibe_quant.venues.binance import instruments as ins

ROOT = Path(__file__).resolve().parents[2]
NOW = "2023-06-15T00:00:00Z"  # April and May 2023 are published; June is "current"
NOW_MS = 1686787200000
KEY, SECRET = "vq-test-key-7f3a", "vq-test-secret-91c2e5"

# FILUSDT exchangeInfo entry (Binance's shape). NOT from ../shared/data (its payload has only
# BTCUSDT and ETHUSDT): tickSize 0.001, stepSize 0.1, minQty 0.1, MIN_NOTIONAL 5 and
# liquidationFee 0.0125 are the values Binance USDⓈ-M published for FILUSDT around 2023 as
# stated in the project's issue brief, not checked against a stored payload; maxQty, minPrice and
# maxPrice are bounds chosen for this fixture (wide enough for FIL's 2023 prices of 3–7 USDT).
FIL_INFO = {
    "symbol": "FILUSDT",
    "pair": "FILUSDT",
    "contractType": "PERPETUAL",
    "status": "TRADING",
    "baseAsset": "FIL",
    "quoteAsset": "USDT",
    "marginAsset": "USDT",
    "pricePrecision": 3,
    "quantityPrecision": 1,
    "liquidationFee": "0.012500",
    "filters": [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": "0.001",
            "maxPrice": "2000",
            "tickSize": "0.001",
        },
        {"filterType": "LOT_SIZE", "stepSize": "0.1", "maxQty": "1000000", "minQty": "0.1"},
        {"filterType": "MARKET_LOT_SIZE", "stepSize": "0.1", "maxQty": "100000", "minQty": "0.1"},
        {"filterType": "MIN_NOTIONAL", "notional": "5"},
    ],
}
# FILUSDT leverage brackets in Binance's leverageBracket shape: the "FIL/USDT:USDT" tiers' info
# of freqtrade/freqtrade freqtrade/exchange/binance_leverage_tiers.json at commit c9ae5e1e
# (2024-10-24; the commit ../shared/data/binance-api/leverage_brackets_BTC_ETH_SOL.json is from).
FIL_BRACKETS = {
    "symbol": "FILUSDT",
    "brackets": [
        {
            "bracket": i + 1,
            "initialLeverage": lev,
            "notionalCap": cap,
            "notionalFloor": floor,
            "maintMarginRatio": mmr,
            "cum": cum,
        }
        for i, (lev, floor, cap, mmr, cum) in enumerate(
            [
                (75, 0, 50_000, 0.006, 0.0),
                (50, 50_000, 250_000, 0.01, 200.0),
                (40, 250_000, 350_000, 0.015, 1450.0),
                (25, 350_000, 600_000, 0.02, 3200.0),
                (20, 600_000, 800_000, 0.025, 6200.0),
                (10, 800_000, 3_000_000, 0.05, 26200.0),
                (5, 3_000_000, 6_000_000, 0.1, 176200.0),
                (4, 6_000_000, 10_000_000, 0.125, 326200.0),
                (2, 10_000_000, 20_000_000, 0.25, 1576200.0),
                (1, 20_000_000, 30_000_000, 0.5, 6576200.0),
            ]
        )
    ],
}
FIL_TIERS = [
    (
        float(b["notionalFloor"]),
        float(b["notionalCap"]),
        b["maintMarginRatio"],
        float(b["initialLeverage"]),
        b["cum"],
    )
    for b in FIL_BRACKETS["brackets"]
]


def _tiers(brs) -> list[tuple]:
    return [
        (b.notional_floor, b.notional_cap, b.maint_margin_rate, b.max_leverage, b.cum) for b in brs
    ]


def _cli(args: list[str], env_extra: dict[str, str] | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBE_QUANT_BINANCE_API")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "vibe_quant", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )


def _ingest_args(
    dd: Path, mirror: str, rest: str, symbol: str = "FILUSDT", start: str = "2023-04"
) -> list[str]:
    return [
        "data",
        "ingest",
        "--symbols",
        symbol,
        "--interval",
        "1m",
        "--start",
        start,
        "--end",
        "2023-05",
        "--no-funding",
        "--base-url",
        mirror,
        "--rest-url",
        rest,
        "--now",
        NOW,
        "--data-dir",
        str(dd),
        "--json",
    ]


def _zip_rows(shared: Path, period: str) -> list[list[str]]:
    p = (
        shared
        / "binance-vision/data/futures/um/monthly/klines/FILUSDT/1m"
        / f"FILUSDT-1m-{period}.zip"
    )
    with zipfile.ZipFile(p) as z:
        text = z.read(z.namelist()[0]).decode()
    return [ln.split(",") for ln in text.splitlines() if ln and ln[0].isdigit()]


@pytest.fixture(scope="module")
def fil(tmp_path_factory, shared_data):
    """FILUSDT ingested through the CLI from the mirror + fake REST with a valid API key."""
    dd = tmp_path_factory.mktemp("fil")
    with (
        MirrorServer(shared_data / "binance-vision") as m,
        FakeBinanceRest(
            shared_data,
            now_ms=NOW_MS,
            extra_symbols=[FIL_INFO],
            extra_brackets=[FIL_BRACKETS],
            api_keys={KEY: SECRET},
        ) as r,
    ):
        out = _cli(
            _ingest_args(dd, m.url, r.url),
            {"VIBE_QUANT_BINANCE_API_KEY": KEY, "VIBE_QUANT_BINANCE_API_SECRET": SECRET},
        )
        signed_ok = r.signed_ok
        lb = [q for p, q in r.requests if p == "/fapi/v1/leverageBracket"]
    return dd, out, signed_ok, lb


def test_filusdt_ingested_and_catalogued_from_served_terms(fil, shared_data):
    dd, out, signed_ok, lb = fil
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["ok"] is True and doc["not_catalogued"] == {}
    # The signed request carried timestamp + recvWindow and passed the fake's HMAC check.
    assert signed_ok == 1 and set(lb[0]) == {"timestamp", "recvWindow", "signature"}
    t = doc["contract_terms"]["FILUSDT"]
    assert t["spec_source"] == "archived exchangeInfo"
    assert t["brackets_source"] == "archived signed leverageBracket"
    assert t["liquidation_fee"] == 0.0125
    # Every 1m row of the two real files is catalogued (counted from the zips).
    n_rows = len(_zip_rows(shared_data, "2023-04")) + len(_zip_rows(shared_data, "2023-05"))
    assert doc["catalog"]["symbols"]["FILUSDT"]["bars"]["1m"]["rows"] == n_rows == 43200 + 44640
    ddir = DataDir(dd)
    inst = load_instrument(ddir, "FILUSDT")
    assert (str(inst.price_increment), str(inst.size_increment)) == ("0.001", "0.1")
    assert str(inst.min_quantity) == "0.1" and float(inst.min_notional.as_decimal()) == 5.0
    assert (inst.price_precision, inst.size_precision) == (3, 1)
    terms = load_terms(ddir, "FILUSDT")
    assert _tiers(terms.brackets) == FIL_TIERS
    # The terms in force for the backtest are FIL's, through the one bracket lookup.
    from vibe_quant.backtest.venue import bracket_for

    assert _tiers([bracket_for("FILUSDT", 30_000)]) == [FIL_TIERS[0]]
    assert _tiers([bracket_for("FILUSDT", 250_000)]) == [FIL_TIERS[2]]  # floor inclusive
    assert ins.liquidation_fee_rate("FILUSDT") == 0.0125


def test_secrets_never_reach_archive_or_output(fil):
    dd, out, _, _ = fil
    text = out.stdout + out.stderr
    assert KEY not in text and SECRET not in text
    con = sqlite3.connect(Path(dd) / "archive" / "raw_data.db")
    rows = con.execute("SELECT source, origin, payload FROM raw_leverage_brackets").fetchall()
    assert [(s, o.endswith("/fapi/v1/leverageBracket")) for s, o, _ in rows] == [("signed", True)]
    assert "signature" not in rows[0][1] and "timestamp" not in rows[0][1]
    assert json.loads(rows[0][2])[-1] == FIL_BRACKETS
    raw = b"".join(p.read_bytes() for p in Path(dd).rglob("*") if p.is_file())
    assert KEY.encode() not in raw and SECRET.encode() not in raw


def test_filusdt_backtested_end_to_end(fil, shared_data):
    dd, _, _, _ = fil
    out = _cli(
        [
            "backtest",
            str(ROOT / "strategies/ema_cross.yaml"),
            "--symbol",
            "FILUSDT",
            "--start",
            "2023-05-01",
            "--end",
            "2023-05-31",
            "--data-dir",
            str(dd),
            "--json",
        ]
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["metrics"]["trades"] > 0
    con = sqlite3.connect(Path(dd) / "state" / "vibe_quant.db")
    trades = con.execute(
        "SELECT qty, entry_price, entry_ns, exit_reason FROM trades WHERE run_id=?",
        (doc["run_id"],),
    ).fetchall()
    assert len(trades) == doc["metrics"]["trades"]
    # ema_cross runs on 5m bars, aggregated from the real 1m files. Market entries fill at a
    # bar close = the close of the window's last 1m row (from the zip), on FIL's 0.001 tick, in
    # multiples of FIL's 0.1 step.
    closes = {int(r[0]) + 60_000: float(r[4]) for r in _zip_rows(shared_data, "2023-05")}
    for qty, price, entry_ns, _ in trades:
        assert round(qty * 10) == pytest.approx(qty * 10, abs=1e-6) and qty >= 0.1
        assert round(price * 1000) == pytest.approx(price * 1000, abs=1e-6)
        assert price == closes[entry_ns // 1_000_000]


def test_backtest_leverage_capped_by_the_symbols_own_bracket(fil):
    from vibe_quant.backtest.venue import VenueSettings

    load_instrument(DataDir(fil[0]), "FILUSDT")
    # 10 000 USDT × 75 = 750 000 notional: FIL's 5th tier (max 20x) → refused; 3x is fine.
    with pytest.raises(ValueError, match="max 20x"):
        VenueSettings.for_run("FILUSDT", 10_000, 75)
    s = VenueSettings.for_run("FILUSDT", 10_000, 3)
    assert (s.mmr, s.cum) == (0.006, 0.0)


def test_wrong_secret_is_rejected_with_binance_error_and_symbol_refused(tmp_path, shared_data):
    dd = DataDir(tmp_path / "dd").ensure()
    with (
        MirrorServer(shared_data / "binance-vision") as m,
        FakeBinanceRest(
            shared_data,
            now_ms=NOW_MS,
            extra_symbols=[FIL_INFO],
            extra_brackets=[FIL_BRACKETS],
            api_keys={KEY: SECRET},
        ) as r,
    ):
        rep = ingest(
            dd,
            symbols=["FILUSDT"],
            intervals=["1m"],
            start=(2023, 4),
            end=(2023, 5),
            funding=False,
            base_url=m.url,
            rest_url=r.url,
            now_ms=NOW_MS,
            progress=None,
            api_credentials=(KEY, "not-the-secret"),
        )
        assert r.signed_ok == 0
        klines = [p for p, _ in r.requests if p == "/fapi/v1/klines"]
    assert not rep.ok
    (fail,) = rep.failed
    assert "-1022" in fail["error"] and "Signature for this request is not valid." in fail["error"]
    text = json.dumps(rep.to_dict())
    assert "not-the-secret" not in text and "signature=" not in text
    # No brackets from any source: refused before anything of FIL was downloaded.
    assert list(rep.not_catalogued) == ["FILUSDT"] and rep.files_archived == 0 and not klines
    with Archive(dd.archive_db) as a:
        assert list(a.leverage_bracket_payloads("signed")) == []


def test_fake_signed_endpoint_answers_binance_errors(shared_data):
    with FakeBinanceRest(shared_data, now_ms=NOW_MS, api_keys={KEY: SECRET}) as r:
        url = r.url + "/fapi/v1/leverageBracket"
        no_key = httpx.get(url, params={"timestamp": 1})
        bad_key = httpx.get(url, params={"timestamp": 1}, headers={"X-MBX-APIKEY": "nope"})
        no_sig = httpx.get(url, params={"timestamp": 1}, headers={"X-MBX-APIKEY": KEY})
    assert (no_key.status_code, no_key.json()["code"]) == (401, -2014)
    assert (bad_key.status_code, bad_key.json()["code"]) == (401, -2015)
    assert (no_sig.status_code, no_sig.json()["code"]) == (400, -1102)


def test_symbol_without_brackets_refused_with_exit_1_and_ok_false(tmp_path, shared_data):
    # exchangeInfo has FILUSDT, but no key, no --brackets, and the packaged reference lacks it.
    with (
        MirrorServer(shared_data / "binance-vision") as m,
        FakeBinanceRest(shared_data, now_ms=NOW_MS, extra_symbols=[FIL_INFO]) as r,
    ):
        out = _cli(_ingest_args(tmp_path / "dd", m.url, r.url))
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    assert doc["ok"] is False and list(doc["not_catalogued"]) == ["FILUSDT"]
    assert doc["files_archived"] == 0
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in out.stderr
    msg = errors[0]
    assert msg.startswith("error: FILUSDT not catalogued: no leverage brackets")
    for way in (
        "VIBE_QUANT_BINANCE_API_KEY",
        "VIBE_QUANT_BINANCE_API_SECRET",
        "--brackets FILE",
        "packaged reference (BTCUSDT, ETHUSDT, SOLUSDT)",
    ):
        assert way in msg
    assert "no contract specs" not in msg


def test_brackets_file_makes_the_symbol_usable(tmp_path, shared_data):
    f = tmp_path / "fil_brackets.json"
    f.write_text(json.dumps([FIL_BRACKETS]))
    with (
        MirrorServer(shared_data / "binance-vision") as m,
        FakeBinanceRest(shared_data, now_ms=NOW_MS, extra_symbols=[FIL_INFO]) as r,
    ):
        args = _ingest_args(tmp_path / "dd", m.url, r.url, start="2023-05")
        out = _cli([*args, "--brackets", str(f)])
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["ok"] is True
    assert doc["catalog"]["symbols"]["FILUSDT"]["brackets_source"] == "archived --brackets file"
    t = load_terms(DataDir(tmp_path / "dd"), "FILUSDT")
    assert _tiers(t.brackets) == FIL_TIERS
    # The file was archived: a rebuild from the archive alone catalogues FILUSDT the same way.
    out = _cli(["data", "rebuild", "--data-dir", str(tmp_path / "dd"), "--json"])
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["symbols"]["FILUSDT"]["brackets_source"] == (
        "archived --brackets file"
    )
    assert load_terms(DataDir(tmp_path / "dd"), "FILUSDT") == t


def test_uncatalogued_spec_is_refused_offline(tmp_path, shared_data):
    # SOLUSDT: packaged brackets exist, but no exchangeInfo can be fetched (--no-rest) and the
    # packaged reference has no SOL spec.
    with MirrorServer(shared_data / "binance-vision") as m:
        args = _ingest_args(tmp_path / "dd", m.url, "http://127.0.0.1:9", symbol="SOLUSDT")
        out = _cli([*args, "--no-rest"])
    assert out.returncode == 1
    assert json.loads(out.stdout)["ok"] is False
    (msg,) = [ln for ln in out.stderr.splitlines() if ln.startswith("error:")]
    assert msg.startswith("error: SOLUSDT not catalogued: no contract specs")
    assert "no leverage brackets" not in msg


def test_bracket_source_precedence(tmp_path):
    signed = dict(FIL_BRACKETS)
    other = {
        "symbol": "FILUSDT",
        "brackets": [dict(b, maintMarginRatio=0.02) for b in FIL_BRACKETS["brackets"]],
    }
    with Archive(tmp_path / "a.db") as a:
        a.add_exchange_info(url="x", sha256="1", payload=json.dumps({"symbols": [FIL_INFO]}))
        a.add_leverage_brackets(source="file", origin="f", payload=json.dumps([other]))
        assert resolve_terms(a, "FILUSDT").brackets_source == "archived --brackets file"
        a.add_leverage_brackets(source="signed", origin="s", payload=json.dumps([signed]))
        a.add_leverage_brackets(source="file", origin="g", payload=json.dumps(other))
        t = resolve_terms(a, "FILUSDT")  # signed wins over a newer file
        assert t.brackets_source == "archived signed leverageBracket"
        assert _tiers(t.brackets) == FIL_TIERS
        # BTCUSDT: in no archived bracket document → packaged; spec from the packaged reference.
        b = resolve_terms(a, "BTCUSDT")
        assert (b.spec_source, b.brackets_source) == ("packaged reference", "packaged reference")


def test_packaged_reference_carries_liquidation_fee_and_sol(shared_data):
    real = json.loads(
        (shared_data / "binance-api/fapi_v1_exchangeInfo_2022-02-19.json").read_text()
    )
    fee = {s["symbol"]: s["liquidationFee"] for s in real["symbols"]}
    assert (fee["BTCUSDT"], fee["ETHUSDT"]) == ("0.012000", "0.030000")
    assert ins.reference_spec("BTCUSDT").liquidation_fee == "0.012000"
    assert ins.reference_spec("ETHUSDT").liquidation_fee == "0.030000"
    tiers = json.loads((shared_data / "binance-api/leverage_brackets_BTC_ETH_SOL.json").read_text())
    # The shared (ccxt) shape is accepted as a --brackets file and equals the packaged SOL.
    parsed = ins.parse_leverage_brackets(json.dumps(tiers))
    assert set(parsed) == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
    sol = [
        (
            float(t["info"]["notionalFloor"]),
            float(t["info"]["notionalCap"]),
            float(t["info"]["maintMarginRatio"]),
            float(t["info"]["initialLeverage"]),
            float(t["info"]["cum"]),
        )
        for t in tiers["SOL/USDT:USDT"]
    ]
    assert _tiers(ins.reference_brackets("SOLUSDT")) == _tiers(parsed["SOLUSDT"]) == sol
