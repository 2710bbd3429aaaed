#!/usr/bin/env bash
# `make dev`: moto on loopback, the table, key and mail identity in it, every
# function served by `cargo lambda watch` behind the local gateway (CORS, as
# API Gateway) at http://127.0.0.1:9000, and the web front end by `ng serve`
# at http://localhost:4200 (its /auth and /.well-known proxied to the API, so
# the browser sees one origin). Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/local-env.sh

MOTO_PORT=${MOTO_PORT:-5050}
PORT=${PORT:-9000}
mkdir -p .local
WEB_PORT=${WEB_PORT:-4200}
export ISSUER_URL="http://127.0.0.1:$PORT"
start_moto "$MOTO_PORT" .local/moto-dev.log
WEB_PID= GATEWAY_PID=
trap 'kill $MOTO_PID 2>/dev/null || true; [ -n "$WEB_PID" ] && kill -- "-$WEB_PID" 2>/dev/null || true;
      [ -n "$GATEWAY_PID" ] && kill "$GATEWAY_PID" 2>/dev/null || true' EXIT
echo "moto (DynamoDB, KMS, SES) on $AWS_ENDPOINT_URL; \`make mail\` shows the mail it sent"

cargo build --workspace --exclude bench --bins
"$BIN/local-stack" "$TABLE_NAME" "$KMS_KEY_ID"

API_URL="http://127.0.0.1:$PORT" setsid bash -c "cd web && exec npx ng serve --host localhost --port $WEB_PORT" \
  >.local/web-dev.log 2>&1 &
WEB_PID=$!
node scripts/local-gateway.mjs --port "$PORT" --upstream "http://127.0.0.1:$((PORT + 1))" &
GATEWAY_PID=$!
echo "serving the web front end on http://localhost:$WEB_PORT (log: .local/web-dev.log)"
echo "serving the API on http://127.0.0.1:$PORT (Ctrl-C stops everything)"
# The router's own CORS is off (it answers any origin, with credentials): the
# gateway in front answers for ALLOWED_ORIGINS only, as API Gateway does.
cargo lambda watch --disable-cors --invoke-address 127.0.0.1 --invoke-port "$((PORT + 1))"
