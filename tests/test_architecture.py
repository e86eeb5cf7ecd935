"""The layering contracts (import-linter, ``[tool.importlinter]`` in pyproject.toml) hold, and
they do catch a back-edge: the same contracts fail on a copy of the package into which one
upward import has been written."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_every_contract_is_kept():
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "BROKEN" not in r.stdout


@pytest.mark.parametrize(("module", "upward"), [
    ("core/intervals.py", "vibe_quant.store.state"),  # core imports nothing of ours
    ("store/sqlite.py", "vibe_quant.backtest.run"),  # a stage below importing one above
    ("dsl/loader.py", "vibe_quant.strategy.compiler"),  # the language importing the engine side
    ("cli/strategy.py", "vibe_quant.dsl.api"),  # a transport skipping the services layer
])
def test_a_back_edge_breaks_the_build(tmp_path, module, upward):
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "vibe_quant", tmp_path / "vibe_quant",
                    ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "vibe_quant" / module
    target.write_text(target.read_text() + f"\n\nimport {upward}  # noqa: E402,F401\n")
    r = _lint(tmp_path)
    assert r.returncode != 0
    assert "BROKEN" in r.stdout
    assert upward in r.stdout
