#!/usr/bin/env bash
# The README's first command: install everything, then run the main job end to end on the
# default embedded stores (SQLite archive/state and the Parquet catalog under ./data).
# Extra arguments go to `vibe-quant pipeline` (e.g. --workers 4, --max-combos 20).
#
# Data source: $VIBE_QUANT_BINANCE_VISION_URL if set; else, when ../shared/data/binance-vision
# exists (these offline machines), a loopback mirror of it; else https://data.binance.vision.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
mirror_pid=""
cleanup() { [ -n "$mirror_pid" ] && kill "$mirror_pid" 2>/dev/null || true; }
trap cleanup EXIT
if [ -z "${VIBE_QUANT_BINANCE_VISION_URL:-}" ] && [ -d ../shared/data/binance-vision ]; then
  port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  .venv/bin/python -m http.server "$port" --bind 127.0.0.1 --directory ../shared/data/binance-vision >/dev/null 2>&1 &
  mirror_pid=$!
  export VIBE_QUANT_BINANCE_VISION_URL="http://127.0.0.1:$port"
  for _ in $(seq 50); do
    .venv/bin/python -c "import httpx,sys; httpx.get('$VIBE_QUANT_BINANCE_VISION_URL/', timeout=1)" 2>/dev/null && break
    sleep 0.1
  done
  echo "data source: local mirror of ../shared/data/binance-vision at $VIBE_QUANT_BINANCE_VISION_URL" >&2
  # an offline mirror has no REST API beside it: report unpublished months instead
  if [ -z "${VIBE_QUANT_BINANCE_REST_URL:-}" ]; then set -- --no-rest "$@"; fi
fi
# The main job: the whole research pipeline on a shipped example strategy — ingest what is
# missing, screening sweep, overfitting filters, validation of the survivors, short list and an
# HTML report. Re-running resumes from the stored stages.
.venv/bin/vibe-quant pipeline strategies/ema_cross.yaml --symbol BTCUSDT \
  --start 2023-01-01 --end 2024-12-31 --report reports/ema_cross_pipeline.html "$@"
