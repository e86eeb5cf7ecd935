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
# Debian's chromium for the dashboard's real-browser tests (Playwright drives /usr/bin/chromium;
# its own browser download needs the internet). Only as root on apt-based systems.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver \
    || echo "could not install chromium; the browser tests will be skipped" >&2
fi
