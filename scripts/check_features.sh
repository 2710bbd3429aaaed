#!/usr/bin/env bash
# Every way the tools build the workspace (one function at a time for `cargo
# lambda watch` and `sam build`, the whole workspace for the tests) must give
# the dependencies the same features, or each rebuilds hyper and the AWS SDK
# (see workspace-hack/Cargo.toml). Prints the differences and fails on any.
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(rustc -vV | sed -n 's/^host: //p')
features() { # cargo tree arguments -> "crate version features" per dependency, one line each
  cargo tree "$@" --target "$target" -f '{p} {f}' --prefix none 2>/dev/null |
    sed 's/ (\*)$//' | grep -v '(/' | sort -u
}
full=$(features --workspace --exclude bench -e normal,build,dev)
status=0
for selection in "--workspace --exclude bench -e normal,build" $(ls functions | sed 's/^/-p=/') "-p=authctl"; do
  diff=$(comm -23 <(features ${selection//=/ } -e normal,build) <(echo "$full") || true)
  if [ -n "$diff" ]; then
    echo "features differ for ${selection//=/ }:"; echo "$diff" | sed 's/^/  /'; status=1
  fi
done
[ $status = 0 ] && echo "every build selection has the same dependency features"
exit $status
