#!/usr/bin/env bash
# `make test`: formatting, lints, unit tests, handler tests against moto, and
# end-to-end tests over HTTP against `cargo lambda watch`. Starts and stops
# its own moto and watch on their own ports, so `make dev` may keep running.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/local-env.sh

MOTO_PORT=${TEST_MOTO_PORT:-5150}
PORT=${TEST_PORT:-9100}
export ISSUER_URL="http://127.0.0.1:$PORT"
mkdir -p .local
WATCH_PID=
cleanup() {
  [ -n "$WATCH_PID" ] && kill -- "-$WATCH_PID" 2>/dev/null || true
  [ -n "${MOTO_PID:-}" ] && kill "$MOTO_PID" 2>/dev/null || true
}
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "SAM templates (the service, examples/protected-api): sam validate --lint, cfn-lint, no circular reference, routes against the router and openapi.yaml"
sam validate --lint
cfn-lint infra/template.yaml
python scripts/check_template_cycles.py infra/template.yaml
python scripts/check_routes.py
sam validate --lint -t examples/protected-api/template.yaml
cfn-lint examples/protected-api/template.yaml

step "moto on 127.0.0.1:$MOTO_PORT"
start_moto "$MOTO_PORT" .local/moto-test.log

step "build, then cargo lambda watch on 127.0.0.1:$PORT"
# One package selection for every build (the workspace without the bench
# harness, whose extra features would change the dependencies' builds), so
# that `cargo lambda watch`, the tests and `sam build` share one compile.
cargo build --workspace --exclude bench --bins
"$BIN/local-stack" "$TABLE_NAME" "$KMS_KEY_ID"

step "moto: transactions on a 50,000-item table"
python scripts/check_moto_transactions.py "$AWS_ENDPOINT_URL" "$TABLE_NAME"

# Structured JSON logs, as deployed: the end-to-end tests read this log and
# check that no secret of theirs appears in it.
AWS_LAMBDA_LOG_FORMAT=JSON \
  setsid cargo lambda watch --ignore-changes --disable-cors --invoke-address 127.0.0.1 --invoke-port "$PORT" >.local/watch-test.log 2>&1 &
WATCH_PID=$!
if ! wait_for_http "http://127.0.0.1:$PORT/auth/me" 240; then
  cat .local/watch-test.log >&2
  exit 1
fi

step "unit, handler (against moto) and end-to-end (over HTTP) tests"
E2E_BASE_URL="http://127.0.0.1:$PORT" E2E_LOG_FILE="$PWD/.local/watch-test.log" \
  AUTHCTL_BIN="$PWD/$BIN/authctl" cargo test --workspace --exclude bench --no-fail-fast

step "a verifier nobody here wrote: PyJWT checks an access token from the published keys"
python scripts/check_jwks.py "http://127.0.0.1:$PORT"

step "schemathesis: openapi.yaml against the running functions"
scripts/schemathesis.sh "http://127.0.0.1:$PORT"

step "web front end: typecheck, build, browser tests in Chromium against the running API"
(
  cd web
  npm run --silent typecheck
  npm run --silent build -- --progress=false
  API_URL="http://127.0.0.1:$PORT" MOTO_URL="$AWS_ENDPOINT_URL" AUTHCTL_BIN="$PWD/../$BIN/authctl" \
    WEB_PORT="${TEST_WEB_PORT:-4300}" SCREENSHOT_DIR="$PWD/../.local/screenshots" npm run --silent e2e
)

step "sam build, every function (debug profile, reusing the build above)"
# `make build` is the release build for deploying (zig, for Amazon Linux's
# glibc); here SAM drives cargo-lambda the same way over the artifacts the
# tests just built, so the check costs seconds, not a second full compile.
SAM_BUILD_MODE=debug CARGO_LAMBDA_COMPILER=cargo \
  sam build --build-dir .local/sam-build
