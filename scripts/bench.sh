#!/usr/bin/env bash
# `make bench`: the Rust figures beside the Node tutorial's, from one run on
# this machine. Prints one table; the raw figures go to .local/bench/.
# NODE_SEED_DIR: the Node harness (default ../shared/bench/node-seed).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/local-env.sh

NODE_SEED_DIR=${NODE_SEED_DIR:-../shared/bench/node-seed}
MOTO_PORT=${BENCH_MOTO_PORT:-5250}
out=.local/bench
rm -rf "$out" && mkdir -p "$out/functions"
trap '[ -n "${MOTO_PID:-}" ] && kill "$MOTO_PID" 2>/dev/null || true' EXIT
step() { printf '\n==> %s\n' "$*" >&2; }

[ -f "$NODE_SEED_DIR/run.sh" ] || { echo "no Node harness at $NODE_SEED_DIR (set NODE_SEED_DIR)" >&2; exit 1; }
{
  echo "{\"bench\":\"machine\",\"cpu\":\"$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)\",\"cores\":$(nproc),\"date\":\"$(date -u +%FT%TZ)\",\"rustc\":\"$(rustc --version)\",\"node\":\"$(node --version)\"}"
} > "$out/machine.jsonl"

step "Node 20 tutorial baseline ($NODE_SEED_DIR/run.sh)"
bash "$NODE_SEED_DIR/run.sh" > "$out/node.jsonl"

# The CPU the release bootstraps are built for (`cargo lambda build` passes
# target-cpu=haswell for x86_64), so the microbenchmarks measure that code.
export RUSTFLAGS="-C target-cpu=haswell"

step "criterion: CPU paths (release, target-cpu=haswell as deployed)"
cargo bench -p bench --bench cpu -- --noplot >&2

step "release zips of every function (cargo lambda build --release --output-format zip, x86_64)"
functions=$(ls functions)
env -u RUSTFLAGS cargo lambda build --release --output-format zip $(printf -- '--bin %s ' $functions) >&2
for f in $functions; do
  zip="target/lambda/$f/bootstrap.zip"
  mkdir -p "$out/functions/$f"
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("bootstrap", sys.argv[2])' "$zip" "$out/functions/$f"
  chmod +x "$out/functions/$f/bootstrap"
  echo "{\"bench\":\"zip\",\"function\":\"$f\",\"zip_bytes\":$(stat -c %s "$zip"),\"binary_bytes\":$(stat -c %s "$out/functions/$f/bootstrap")}"
done > "$out/zips.jsonl"

step "cold start, AWS calls, memory (release bootstraps behind a runtime API stand-in, moto on :$MOTO_PORT)"
start_moto "$MOTO_PORT" "$out/moto.log"
cargo build --release -p bench --bin lambda-bench >&2
"target/$CARGO_BUILD_TARGET/release/lambda-bench" "$out/functions" 15 > "$out/lambda.jsonl"

python3 scripts/bench_report.py "$out"
