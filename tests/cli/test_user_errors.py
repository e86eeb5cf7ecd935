"""Every ``vibe-quant`` command answers a user error with one clear line, never a traceback.

Each command runs through ``vibe_quant.cli.main`` (the function behind the ``vibe-quant``
script; in-process, so an unmapped exception fails the test) on an empty data dir and on a data
dir that holds only BTCUSDT 5m for January 2024 (ingested from the loopback mirror of the real
files), so any period outside January 2024 is missing; one case runs as a subprocess exactly as
a user types it. Expected: a non-zero exit, no ``Traceback``, and
one ``error: …`` line naming the problem (symbol, interval, period, id or file) — for missing
bars also the ``vibe-quant data ingest`` command that fetches them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ENV.pop("VIBE_QUANT_DEBUG", None)
EMA = "strategies/ema_cross.yaml"
DEAD_URL = "http://127.0.0.1:9"  # nothing listens on the discard port: no REST calls


def _run(*args: str, root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vibe_quant", *args, "--data-dir", str(root)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        timeout=300,
    )


@pytest.fixture
def cli(capsys, monkeypatch):
    """``cli(*args, root=…)`` → CompletedProcess-like result of ``vibe_quant.cli.main``."""
    from vibe_quant.cli import main

    monkeypatch.delenv("VIBE_QUANT_DEBUG", raising=False)
    monkeypatch.chdir(ROOT)

    def run(*args: str, root: Path) -> subprocess.CompletedProcess:
        capsys.readouterr()
        rc = main([*args, "--data-dir", str(root)])
        cap = capsys.readouterr()
        return subprocess.CompletedProcess(args, rc, cap.out, cap.err)

    return run


def _assert_one_line_error(out: subprocess.CompletedProcess, *needles: str) -> str:
    text = out.stdout + out.stderr
    assert out.returncode != 0, text[-2000:]
    assert "Traceback" not in text, text[-3000:]
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, out.stderr[-2000:]
    for n in needles:
        assert n in errors[0], (n, errors[0])
    return errors[0]


# (command, substrings the one error line must contain) — on an EMPTY data dir
EMPTY_CASES = [
    (["data", "verify"], ["no archive", "vibe-quant data ingest"]),
    (["data", "rebuild"], ["no archive", "vibe-quant data ingest"]),
    (
        ["backtest", EMA, "--symbol", "BTCUSDT", "--start", "2024-01-01", "--end", "2024-01-31"],
        [
            "BTCUSDT 5m",
            "2024-01-01 → 2024-01-31",
            "vibe-quant data ingest --symbols BTCUSDT --interval 5m --start 2024-01 --end 2024-01",
        ],
    ),
    (
        [
            "sweep",
            EMA,
            "--symbol",
            "BTCUSDT",
            "--start",
            "2024-01-01",
            "--end",
            "2024-01-31",
            "--max-combos",
            "2",
            "--workers",
            "1",
        ],
        ["BTCUSDT 5m", "2024-01-01 → 2024-01-31", "vibe-quant data ingest --symbols BTCUSDT"],
    ),
    (["filter", "7"], ["no sweep 7", "vibe-quant sweep"]),
    (["validate", "7"], ["no sweep 7", "vibe-quant sweep"]),
    (["risk", "preset", "show", "nope"], ["no preset named 'nope'"]),
    (
        ["risk", "preset", "add", "x", "--file", "/nonexistent/preset.yaml"],
        ["/nonexistent/preset.yaml"],
    ),
    (
        [
            "backtest",
            "/nonexistent/s.yaml",
            "--symbol",
            "BTCUSDT",
            "--start",
            "2024-01-01",
            "--end",
            "2024-01-31",
        ],
        ["/nonexistent/s.yaml", "No such file"],
    ),
    (
        ["backtest", EMA, "--symbol", "BTCUSDT", "--start", "2024-13-01", "--end", "2024-01-31"],
        ["--start '2024-13-01'"],
    ),
    (
        ["sweep", EMA, "--symbol", "BTCUSDT", "--start", "2024-02-01", "--end", "2024-01-31"],
        ["--end 2024-01-31 must be after --start 2024-02-01"],
    ),
]


@pytest.mark.parametrize(
    "args,needles",
    EMPTY_CASES,
    ids=[" ".join(c[0][:2]) + f"#{i}" for i, c in enumerate(EMPTY_CASES)],
)
def test_user_errors_on_an_empty_data_dir(cli, tmp_path, args, needles):
    _assert_one_line_error(cli(*args, root=tmp_path / "empty"), *needles)


def test_pipeline_on_an_empty_data_dir_for_a_period_the_mirror_lacks(cli, tmp_path, mirror):
    """The data stage finds no file for 2021 (the mirror's BTCUSDT 5m starts in 2023): one line
    with the symbol, interval, period and the months that could not be fetched."""
    _assert_one_line_error(
        cli(
            "pipeline",
            EMA,
            "--symbol",
            "BTCUSDT",
            "--start",
            "2021-03-01",
            "--end",
            "2021-03-31",
            "--base-url",
            mirror.url,
            "--no-rest",
            root=tmp_path / "empty",
        ),
        "no BTCUSDT 5m bars are catalogued",
        "2021-03-01 → 2021-03-31",
        "the data stage found no file for",
    )


def test_status_query_and_strategy_validate(cli, capsys, tmp_path, jan_2024_dir):
    """Nothing archived is a status, not an error: it says so and what to run. A bad query and
    a strategy file that cannot be read are errors naming the table / the file."""
    from vibe_quant.cli import main

    out = cli("data", "status", root=tmp_path)
    assert out.returncode == 0 and "Traceback" not in out.stdout + out.stderr
    assert "nothing archived yet: run `vibe-quant data ingest`" in out.stdout
    out = cli("data", "query", "SELECT * FROM no_such_table", root=jan_2024_dir.root)
    assert out.returncode != 0 and "Traceback" not in out.stdout + out.stderr
    assert "no_such_table" in out.stderr
    capsys.readouterr()
    assert main(["strategy", "validate", "/nonexistent/s.yaml"]) == 1
    err = capsys.readouterr().err
    assert "/nonexistent/s.yaml" in err and "cannot read file" in err


# on a data dir holding BTCUSDT 5m for January 2024 only
PERIOD_CASES = [
    (
        ["backtest", EMA, "--symbol", "BTCUSDT", "--start", "2023-03-01", "--end", "2023-03-31"],
        [
            "0 BTCUSDT 5m bars in 2023-03-01 → 2023-03-31",
            "it holds 2024-01-01 00:05 → 2024-02-01 00:00",
            "vibe-quant data ingest --symbols BTCUSDT --interval 5m --start 2023-03 --end 2023-03",
        ],
    ),
    (
        ["backtest", EMA, "--symbol", "ETHUSDT", "--start", "2024-01-01", "--end", "2024-01-31"],
        ["no ETHUSDT 5m bars are catalogued", "vibe-quant data ingest --symbols ETHUSDT"],
    ),
    (
        [
            "sweep",
            EMA,
            "--symbol",
            "BTCUSDT",
            "--start",
            "2023-03-01",
            "--end",
            "2023-03-31",
            "--max-combos",
            "2",
            "--workers",
            "1",
            "--json",
        ],
        ["0 BTCUSDT 5m bars in 2023-03-01 → 2023-03-31", "--start 2023-03 --end 2023-03"],
    ),
    (["filter", "1"], ["no sweep 1"]),
    (["validate", "1"], ["no sweep 1"]),
]


@pytest.mark.parametrize(
    "args,needles",
    PERIOD_CASES,
    ids=[" ".join(c[0][:2]) + f"#{i}" for i, c in enumerate(PERIOD_CASES)],
)
def test_user_errors_on_a_data_dir_missing_the_period(cli, jan_2024_dir, args, needles):
    _assert_one_line_error(cli(*args, root=jan_2024_dir.root), *needles)


def test_sweep_on_an_uncatalogued_symbol_exits_at_once_with_the_cause(jan_2024_dir):
    """As a user types it: non-zero exit within seconds, the real cause on one line, and with
    ``--json`` one ``{"ok": false}`` document; no sweep row is created."""
    import sqlite3
    import time

    t0 = time.perf_counter()
    out = _run(
        "sweep",
        EMA,
        "--symbol",
        "ETHUSDT",
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-31",
        "--workers",
        "2",
        "--json",
        root=jan_2024_dir.root,
    )
    secs = time.perf_counter() - t0
    line = _assert_one_line_error(
        out,
        "no ETHUSDT 5m bars are catalogued",
        "vibe-quant data ingest --symbols ETHUSDT --interval 5m --start 2024-01 --end 2024-01",
    )
    assert json.loads(out.stdout) == {"ok": False, "error": line.removeprefix("error: ")}
    assert secs < 60, secs
    con = sqlite3.connect(jan_2024_dir.state_db)
    assert con.execute("SELECT COUNT(*) FROM sweeps WHERE symbol='ETHUSDT'").fetchone()[0] == 0


def test_an_internal_bug_keeps_its_traceback(monkeypatch):
    """A bare KeyError (a bug, like the old resume crash) is not dressed up as a user error,
    while a LookupError subclass raised by vibe-quant is."""
    import vibe_quant.cli.risk as risk
    from vibe_quant.cli import main
    from vibe_quant.data.coverage import MissingDataError

    def bug(args):
        return {}["params"]

    monkeypatch.setattr(risk, "_list", bug)  # register() binds it when main builds the parser
    with pytest.raises(KeyError):
        main(["risk", "preset", "list"])

    def missing(args):
        raise MissingDataError("no BTCUSDT 5m bars")

    monkeypatch.setattr(risk, "_list", missing)
    assert main(["risk", "preset", "list"]) == 1
