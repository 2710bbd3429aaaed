#!/usr/bin/env bash
# Every way the tools build the workspace must give each dependency the same
# features, or each rebuilds hyper and the AWS SDK (see
# workspace-hack/Cargo.toml): `cargo lambda watch` runs `cargo run --bin <f>`
# (the whole workspace is the selection, without dev-dependencies), `make
# test` builds the workspace without the benchmark harness, with its tests,
# and one function may be built alone (`-p <f>`). Prints the differences and
# fails on any.
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(rustc -vV | sed -n 's/^host: //p')
features() { # cargo tree selection -> "crate version features" per dependency
  cargo tree "$@" --target "$target" -f '{p} {f}' --prefix none 2>/dev/null | sed 's/ (\*)$//' | grep -v '(/' | sort -u
}
union=$(mktemp) && features --workspace -e normal,build,dev >"$union"
status=0
selections=("--workspace -e no-dev" "--workspace --exclude bench -e no-dev" "--workspace --exclude bench -e normal,build,dev")
for name in $(ls functions) authctl; do selections+=("-p $name -e no-dev"); done
for selection in "${selections[@]}"; do
  # shellcheck disable=SC2086
  differ=$(python3 - "$union" <(features $selection) <<'PY'
import sys
def load(path):
    return {" ".join(line.split(" ")[:2]): line.split(" ", 2)[2:] for line in open(path) if line.strip()}
union, selected = load(sys.argv[1]), load(sys.argv[2])
for crate, features in sorted(selected.items()):
    if union.get(crate) != features:
        print(f"{crate}: {''.join(features).strip() or 'no features'} here, {''.join(union.get(crate, [])).strip() or 'no features'} in the union")
PY
)
  if [ -n "$differ" ]; then
    echo "features differ for cargo tree $selection:"; echo "$differ" | sed 's/^/  /'; status=1
  fi
done
rm -f "$union"
[ $status = 0 ] && echo "every build selection gives the dependencies the same features"
exit $status
