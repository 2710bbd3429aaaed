#!/usr/bin/env bash
# `make dev`: moto on loopback, the table and key in it, and every function
# served by `cargo lambda watch` at http://127.0.0.1:9000. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/local-env.sh

MOTO_PORT=${MOTO_PORT:-5050}
PORT=${PORT:-9000}
mkdir -p .local
start_moto "$MOTO_PORT" .local/moto-dev.log
trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
echo "moto (DynamoDB, KMS, SES) on $AWS_ENDPOINT_URL; \`make mail\` shows the mail it sent"

cargo build --workspace --exclude bench --bins
"$BIN/local-stack" "$TABLE_NAME" "$KMS_KEY_ID"

echo "serving the API on http://127.0.0.1:$PORT (Ctrl-C stops everything)"
# No CORS from the router: the web front end is same-origin through its proxy
# (and the router's default answers any origin, with credentials).
cargo lambda watch --disable-cors --invoke-address 127.0.0.1 --invoke-port "$PORT"
