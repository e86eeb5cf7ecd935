#!/usr/bin/env bash
# Create .venv with a Python >= 3.12 and install vibe-quant with its dev extras (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
  PY=$(bash scripts/find_python.sh)
  echo "using $PY ($("$PY" --version))" >&2
  rm -rf .venv
  "$PY" -m venv .venv
fi
stamp=.venv/.vibe-quant-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi
