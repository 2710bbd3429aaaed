#!/usr/bin/env bash
# `make test`: formatting, lints, unit tests, handler tests against moto, and
# end-to-end tests over HTTP against `cargo lambda watch` behind the local
# gateway, schemathesis, the browser tests, the templates. Starts and stops
# its own moto, watch and gateway on their own ports, so `make dev` may keep
# running. Prints the seconds each step took at the end, pass or fail.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/local-env.sh

MOTO_PORT=${TEST_MOTO_PORT:-5150}
PORT=${TEST_PORT:-9100}
WATCH_PORT=$((PORT + 1))
WEB_PORT=${TEST_WEB_PORT:-4300}
export ISSUER_URL="http://127.0.0.1:$PORT"
# The front ends allowed to call the API across origins, as the deployed
# template's CORS and the functions' Origin rule both read them.
export ALLOWED_ORIGINS="http://localhost:$WEB_PORT,http://127.0.0.1:$WEB_PORT"
mkdir -p .local
WATCH_PID= GATEWAY_PID= WEB_BUILD_PID= WHY=

STEP= STEP_STARTED=$SECONDS STARTED=$SECONDS
TIMES=()
step() {
  end_step
  STEP=$1 STEP_STARTED=$SECONDS
  printf '\n==> %s\n' "$*"
}
end_step() {
  [ -n "$STEP" ] && TIMES+=("$(printf '%5d s  %s' $((SECONDS - STEP_STARTED)) "$STEP")")
  STEP=
}
cleanup() {
  local status=$?
  end_step
  [ -n "$WEB_BUILD_PID" ] && kill "$WEB_BUILD_PID" 2>/dev/null || true
  [ -n "$GATEWAY_PID" ] && kill "$GATEWAY_PID" 2>/dev/null || true
  [ -n "$WATCH_PID" ] && kill -- "-$WATCH_PID" 2>/dev/null || true
  [ -n "${MOTO_PID:-}" ] && kill "$MOTO_PID" 2>/dev/null || true
  printf '\n==> seconds per step (%s)\n' "$([ $status = 0 ] && echo passed || echo FAILED)"
  printf '%s\n' "${TIMES[@]}"
  printf '%5d s  in all\n' $((SECONDS - STARTED))
  printf 'disk: %s free at the end\n' "$(df -h --output=avail . | tail -n 1 | tr -d ' ')"
  [ -z "$WHY" ] || printf 'why it failed:\n%s\n' "$WHY"
}
trap cleanup EXIT

# Tests run with nextest when the machine has it (each test in its own
# process, all binaries at once), else with cargo test.
if cargo nextest --version >/dev/null 2>&1; then
  run_tests() { cargo nextest run --no-fail-fast --status-level fail --final-status-level slow "$@"; }
  run_e2e_tests() { run_tests -p e2e -E 'not binary(timing)' && run_tests -p e2e -E 'binary(timing)' --no-capture; }
else
  run_tests() { cargo test --no-fail-fast "$@"; }
  run_e2e_tests() {
    local suites
    suites=$(ls e2e/tests | sed -n 's/\.rs$//p' | grep -vx timing | sed 's/^/--test /')
    # shellcheck disable=SC2086
    run_tests -p e2e $suites && run_tests -p e2e --test timing -- --nocapture
  }
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "every build selection has the same dependency features"
scripts/check_features.sh

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "SAM templates: sam validate --lint, cfn-lint, no circular reference, routes against the router and openapi.yaml"
sam validate --lint
cfn-lint infra/template.yaml infra/cloudfront-waf.yaml
python scripts/check_template_cycles.py infra/template.yaml
python scripts/check_routes.py
sam validate --lint -t examples/protected-api/template.yaml
cfn-lint examples/protected-api/template.yaml

step "the cost model (scripts/test_cost.py: a hand-computed bill)"
python -m unittest -q scripts/test_cost.py

step "build (every binary and test), moto on 127.0.0.1:$MOTO_PORT, the local stack"
# One package selection for every build (the workspace without the bench
# harness), and one set of features (workspace-hack), so that the tests,
# `cargo lambda watch` and `sam build` share one compile.
cargo build --workspace --exclude bench --bins --tests
start_moto "$MOTO_PORT" .local/moto-test.log
"$BIN/local-stack" "$TABLE_NAME" "$KMS_KEY_ID"

step "moto: transactions on a 50,000-item table"
python scripts/check_moto_transactions.py "$AWS_ENDPOINT_URL" "$TABLE_NAME"

step "cargo lambda watch on 127.0.0.1:$WATCH_PORT behind the local gateway on 127.0.0.1:$PORT"
# Structured JSON logs, as deployed: the end-to-end tests read this log and
# check that no secret of theirs appears in it.
AWS_LAMBDA_LOG_FORMAT=JSON setsid cargo lambda watch --ignore-changes --disable-cors \
  --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" >.local/watch-test.log 2>&1 &
WATCH_PID=$!
node scripts/local-gateway.mjs --port "$PORT" --upstream "http://127.0.0.1:$WATCH_PORT" >.local/gateway-test.log 2>&1 &
GATEWAY_PID=$!
if ! wait_for_http "http://127.0.0.1:$PORT/auth/me" 240; then
  cat .local/watch-test.log .local/gateway-test.log >&2
  exit 1
fi

step "unit and handler tests (against moto), each handler's AWS calls recorded"
rm -rf .local/aws-calls
AWS_CALLS_DIR="$PWD/.local/aws-calls" run_tests --workspace --exclude bench --exclude e2e

step "IAM: each function's role against the AWS calls its tests made"
python scripts/check_iam.py infra/template.yaml .local/aws-calls

step "end-to-end tests over HTTP (the timing test last, alone)"
export E2E_BASE_URL="http://127.0.0.1:$PORT" E2E_LOG_FILE="$PWD/.local/watch-test.log" \
  E2E_ALLOWED_ORIGINS="$ALLOWED_ORIGINS" AUTHCTL_BIN="$PWD/$BIN/authctl"
run_e2e_tests

step "a verifier nobody here wrote: PyJWT checks an access token from the published keys"
python scripts/check_jwks.py "http://127.0.0.1:$PORT"

step "the README's curl walk-through, as written (scripts/totp and scripts/passkey included)"
python scripts/check_walkthrough.py "http://127.0.0.1:$PORT" "$MOTO_PORT"

step "schemathesis: openapi.yaml against the running functions (the web front end builds meanwhile)"
# The front end's typecheck and build need only the CPU that schemathesis,
# waiting on the functions, leaves idle.
(cd web && npm run --silent typecheck && npm run --silent build -- --progress=false) >.local/web-build.log 2>&1 &
WEB_BUILD_PID=$!
scripts/schemathesis.sh "http://127.0.0.1:$PORT" "$AWS_ENDPOINT_URL"

step "web front end: browser tests in Chromium against the running API"
if ! wait "$WEB_BUILD_PID"; then
  WEB_BUILD_PID=
  cat .local/web-build.log >&2
  exit 1
fi
WEB_BUILD_PID=
tail -n 3 .local/web-build.log
(
  cd web
  API_URL="http://127.0.0.1:$PORT" MOTO_URL="$AWS_ENDPOINT_URL" AUTHCTL_BIN="$PWD/../$BIN/authctl" \
    WEB_PORT="$WEB_PORT" SCREENSHOT_DIR="$PWD/../.local/screenshots" npm run --silent e2e
)

step "sam build, every function (debug profile, reusing the build above)"
# `make build` is the release build for deploying (zig, for Amazon Linux's
# glibc); here SAM drives cargo-lambda the same way over the artifacts the
# tests just built, so the check costs seconds, not a second full compile.
# cargo-lambda moves each binary into target/lambda/ and SAM copies it again:
# about 3.6 GB of debug binaries, removed once SAM has built them all. CI
# shows only the last lines of a failure, so the summary repeats the cause.
rm -rf .local/sam-build target/lambda
if ! SAM_BUILD_MODE=debug CARGO_LAMBDA_COMPILER=cargo \
  sam build --build-dir .local/sam-build >.local/sam-build.log 2>&1; then
  cat .local/sam-build.log
  WHY=$(grep -iE 'error|failed|space' .local/sam-build.log | tail -n 4)
  exit 1
fi
grep -m1 "Build Succeeded" .local/sam-build.log
rm -rf .local/sam-build target/lambda
end_step
