#!/usr/bin/env bash
# `make bench`: the Rust figures beside the Node tutorial's, from one run on
# this machine. Prints one table; the raw figures go to .local/bench/.
#
# Options (environment):
#   NODE_SEED_DIR    the Node tutorial's harness (default ../shared/bench/node-seed)
#   BENCH_MOTO_PORT  moto's port for this run (default 5250)
#   BENCH_RUNS       cold starts per function, and Node cold starts (default 15)
#   BENCH_LOAD       warm requests per function before its peak memory is read (default 200)
#   BENCH_FUNCTIONS  comma-separated functions to build and run (default: every one)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/local-env.sh

NODE_SEED_DIR=${NODE_SEED_DIR:-../shared/bench/node-seed}
MOTO_PORT=${BENCH_MOTO_PORT:-5250}
RUNS=${BENCH_RUNS:-15}
LOAD=${BENCH_LOAD:-200}
target=${CARGO_TARGET_DIR:-target}
out=.local/bench
rm -rf "$out" && mkdir -p "$out/functions"
trap '[ -n "${MOTO_PID:-}" ] && kill "$MOTO_PID" 2>/dev/null || true' EXIT
step() { printf '\n==> %s\n' "$*" >&2; }

functions=$(echo ${BENCH_FUNCTIONS:-$(ls functions)} | tr ',' ' ')

[ -f "$NODE_SEED_DIR/run.sh" ] || { echo "no Node harness at $NODE_SEED_DIR (set NODE_SEED_DIR)" >&2; exit 1; }
{
  echo "{\"bench\":\"machine\",\"cpu\":\"$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)\",\"cores\":$(nproc),\"date\":\"$(date -u +%FT%TZ)\",\"rustc\":\"$(rustc --version)\",\"node\":\"$(node --version)\"}"
} > "$out/machine.jsonl"

step "Node 20 tutorial baseline ($NODE_SEED_DIR/run.sh)"
bash "$NODE_SEED_DIR/run.sh" > "$out/node.jsonl"

# The same libraries as the tutorial's harness (bench/node/package-lock.json
# keeps its versions), for the cold start with AWS calls.
step "Node cold start with AWS calls: bench/node (npm ci when its lockfile changed)"
if [ ! -f bench/node/node_modules/.package-lock.json ] || [ bench/node/package-lock.json -nt bench/node/node_modules/.package-lock.json ]; then
  (cd bench/node && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

# The CPU the release bootstraps are built for (`cargo lambda build` passes
# target-cpu=haswell for x86_64), so the microbenchmarks measure that code.
export RUSTFLAGS="-C target-cpu=haswell"

step "criterion: CPU paths (release, target-cpu=haswell as deployed; 1 s warm-up, 2 s measurement each)"
cargo bench -p bench --bench cpu -- --noplot >&2

step "release zips (cargo lambda build --release --output-format zip, x86_64): $(wc -w <<<"$functions") functions"
# shellcheck disable=SC2046
env -u RUSTFLAGS cargo lambda build --release --output-format zip $(printf -- '--bin %s ' $functions) >&2
for f in $functions; do
  zip="$target/lambda/$f/bootstrap.zip"
  mkdir -p "$out/functions/$f"
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("bootstrap", sys.argv[2])' "$zip" "$out/functions/$f"
  chmod +x "$out/functions/$f/bootstrap"
  echo "{\"bench\":\"zip\",\"function\":\"$f\",\"zip_bytes\":$(stat -c %s "$zip"),\"binary_bytes\":$(stat -c %s "$out/functions/$f/bootstrap")}"
done > "$out/zips.jsonl"

step "cold start (ours and Node's, like for like), AWS calls, memory: release bootstraps behind a runtime API stand-in, moto on :$MOTO_PORT"
start_moto "$MOTO_PORT" "$out/moto.log"
cargo build --release -p bench --bin lambda-bench >&2
"$target/$CARGO_BUILD_TARGET/release/lambda-bench" "$out/functions" --runs "$RUNS" --load "$LOAD" \
  --functions "$(tr ' ' ',' <<<"$functions")" \
  --node bench/node/coldstart-aws.js --logs "$out/logs" > "$out/lambda.jsonl"

python3 scripts/bench_report.py "$out"
