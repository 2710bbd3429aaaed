#!/usr/bin/env bash
# `make grant-admin|revoke-admin|reset-2fa EMAIL=... [TABLE=...]`,
# `make rotate-signing-key [LEAD=seconds] [TABLE=...]`,
# `make retire-signing-key KID=... [TABLE=...]`, `make migrate-factors [TABLE=...]`,
# and `init` (run by `make deploy`).
# Without TABLE: the local stack of `make dev` (moto on 127.0.0.1:5050).
# With TABLE: that DynamoDB table, with your ordinary AWS credentials
# (AWS_PROFILE / AWS_REGION or the usual environment variables); the key
# commands also need KMS_KEY_ID (the stack's KeyArn output).
set -euo pipefail
cd "$(dirname "$0")/.."
command=$1 email=${2:-} table=${3:-}
if [ -z "$email" ] && [[ ! "$command" =~ ^(rotate-signing-key|retire-signing-key|init|migrate-factors)$ ]]; then
  echo "usage: make $command EMAIL=user@example.com [TABLE=<deployed table name>]" >&2
  exit 2
fi
if [ -z "$table" ]; then
  source scripts/local-env.sh
  export AWS_ENDPOINT_URL="http://127.0.0.1:${MOTO_PORT:-5050}"
  table=$TABLE_NAME
fi
# AUTHCTL_BIN: an already built authctl (the end-to-end tests run this
# target while cargo holds the build directory). Otherwise build it with the
# same package selection as `make dev` and `make test`, so nothing rebuilds.
if [ -z "${AUTHCTL_BIN:-}" ]; then
  cargo build --quiet --workspace --exclude bench --bins
  AUTHCTL_BIN=$BIN/authctl
fi
if [ "$command" = rotate-signing-key ]; then
  "$AUTHCTL_BIN" --table "$table" rotate-signing-key ${LEAD:+--lead "$LEAD"}
elif [ "$command" = retire-signing-key ]; then
  [ -n "${KID:-}" ] || { echo "usage: make retire-signing-key KID=<kid> [TABLE=...]" >&2; exit 2; }
  "$AUTHCTL_BIN" --table "$table" retire-signing-key "$KID"
elif [ "$command" = init ] || [ "$command" = migrate-factors ]; then
  "$AUTHCTL_BIN" --table "$table" "$command"
else
  "$AUTHCTL_BIN" --table "$table" "$command" "$email"
fi
