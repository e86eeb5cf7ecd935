"""`vibe-quant strategy validate` / `schema` through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys

from vibe_quant.cli import main

from .conftest import MALFORMED, ROOT, STRATEGIES


def test_validate_ok_exits_0(capsys):
    assert main(["strategy", "validate", str(STRATEGIES / "ema_cross.yaml")]) == 0
    assert "ok" in capsys.readouterr().out


def test_validate_json_ok(capsys):
    assert main(["strategy", "validate", str(STRATEGIES / "rsi_mtf.yaml"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == {"file": str(STRATEGIES / "rsi_mtf.yaml"), "ok": True, "errors": 0,
                   "warnings": 0, "diagnostics": []}


def test_validate_text_lists_every_error_on_stderr(capsys):
    path = MALFORMED / "17_bad_sessions.yaml"
    assert main(["strategy", "validate", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{path}:20:15: error: time_filters.sessions[0].start:")
    assert err[-1] == f"{path}: 3 error(s), 0 warning(s)"


def test_validate_missing_file(capsys, tmp_path):
    assert main(["strategy", "validate", str(tmp_path / "none.yaml"), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["diagnostics"][0]["code"] == "io"


def test_subprocess_entry_point_bomb_is_clean():
    bomb = ROOT / "tests" / "dsl" / "malformed" / "20_python_tag.yaml"
    proc = subprocess.run([sys.executable, "-m", "vibe_quant", "strategy", "validate", str(bomb),
                           "--json"], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["diagnostics"][0]["code"] == "yaml-tag"
