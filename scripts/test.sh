#!/usr/bin/env bash
# The README's test command: install (if needed) and run the test suite.
# By default the slow tier (pytest marker `slow`: multi-minute end-to-end runs such as paper
# trading with ten SIGKILLs, the browser and load tests, calibration checks) is left out; pass
# `-m slow` to run only that tier, or `-m "slow or not slow"` for everything. CI runs both tiers.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh || exit 1
.venv/bin/python -m pytest -m "not slow" "$@"
rc=$?
if [ "$rc" -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi
exit "$rc"
