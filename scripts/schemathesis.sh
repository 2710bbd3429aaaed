#!/usr/bin/env bash
# Property-based tests of the running API against openapi.yaml: every response
# must match the schema (status, content type, headers, body) and none may be
# a 5xx. Authenticated routes get the access token of a fresh user.
# Usage: scripts/schemathesis.sh BASE_URL
set -euo pipefail
base=$1
email="fuzz-$(date +%s%N)@example.com"
password="schemathesis password"
curl -sf -o /dev/null -X POST "$base/auth/register" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}"
token=$(curl -sf -D - -o /dev/null -X POST "$base/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}" | sed -n 's/^set-cookie: access_token=\([^;]*\).*/\1/ip')
[ -n "$token" ] || { echo "could not log in the fuzzing user" >&2; exit 1; }

run() {
  SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$(dirname "$0")" schemathesis run openapi.yaml \
    --url "$base" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples 100 \
    --seed 20261125 \
    --generation-database none \
    --no-color \
    "$@"
}
# logout-all ends the token's session: it runs last, on its own.
run --exclude-path /auth/logout-all
run --include-path /auth/logout-all
