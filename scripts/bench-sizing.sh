#!/usr/bin/env bash
# `make bench-sizing`: each kind of function's latency and cost per request
# at several memory sizes, with Lambda's CPU share (size / 1,769 MB of one
# vCPU) emulated by a cgroup CPU quota and the size as its memory limit
# (scripts/bench_sizing.py). Needs root (it creates the cgroups); without root
# it stops before building, saying so. `make bench-sizing ARGS=--no-limit`
# runs the same requests at the host's full CPU (a check of the harness, no
# sizing curve). More: ARGS="--requests 60 --functions login,me".
# Figures to .local/bench-sizing/sizing.jsonl, the table to stdout.
# PREBUILT=DIR: no build; DIR holds <function>/bootstrap for every function
# below and testkit's `local-stack` and `passkey` (e.g. copies made earlier).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ] && [[ " $* " != *" --no-limit "* ]]; then
  echo "bench-sizing needs root: it emulates Lambda's CPU share with a cgroup CPU quota." >&2
  echo "Run it as root, or with ARGS=--no-limit to check the harness at full CPU (no sizing curve)." >&2
  exit 2
fi
source scripts/local-env.sh

MOTO_PORT=${BENCH_MOTO_PORT:-5260}
out=.local/bench-sizing
target=${CARGO_TARGET_DIR:-target}
measured="login refresh me twofa-verify-login passkey-login"
# The functions that make each request's preconditions, outside the cgroup.
helpers="register email-verify passkey-options passkey-register twofa-challenge passkey-signin-options"
rm -rf "$out" && mkdir -p "$out/functions"
trap '[ -n "${MOTO_PID:-}" ] && kill "$MOTO_PID" 2>/dev/null || true' EXIT

if [ -n "${PREBUILT:-}" ]; then
  tools=$PREBUILT
  for f in $measured $helpers; do
    mkdir -p "$out/functions/$f" && cp "$PREBUILT/$f/bootstrap" "$out/functions/$f/bootstrap"
  done
else
  echo "==> release bootstraps (cargo lambda build --release, x86_64)" >&2
  cargo lambda build --release $(printf -- '--bin %s ' $measured $helpers) >&2
  # Copied, so that another build into the same target directory cannot swap
  # a binary during the run.
  for f in $measured $helpers; do
    mkdir -p "$out/functions/$f" && cp "$target/lambda/$f/bootstrap" "$out/functions/$f/bootstrap"
  done
  cargo build -p testkit --bin local-stack --bin passkey >&2
  tools=$target/$CARGO_BUILD_TARGET/debug
fi
echo "==> moto on :$MOTO_PORT, the local stack in it" >&2
start_moto "$MOTO_PORT" "$out/moto.log"
"$tools/local-stack" "$TABLE_NAME" "$KMS_KEY_ID" >&2

python3 scripts/bench_sizing.py "$out/functions" "$AWS_ENDPOINT_URL" "$out" \
  --passkey-tool "$tools/passkey" "$@"
