#!/usr/bin/env bash
# The README's first command: install everything, then run the main job end to end on the
# default embedded stores (SQLite archive/state and the Parquet catalog under ./data).
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
  [ -z "${VIBE_QUANT_BINANCE_REST_URL:-}" ] && set -- --no-rest "$@"
fi
# The main job (grows into `vibe-quant pipeline` in later issues): the default ingest —
# BTCUSDT 5m and funding, the last 24 full months — then verify what we have.
.venv/bin/vibe-quant data ingest "$@" || echo "ingest reported failures (see above)" >&2
.venv/bin/vibe-quant data verify
.venv/bin/vibe-quant data status
