#!/usr/bin/env bash
# Property-based tests of the running API against openapi.yaml: every response
# must match the schema (status, content type, headers, body) and none may be
# a 5xx. Authenticated routes get the access token of a fresh user, whose
# address is verified (from the mail in moto's SES at MOTO_URL) so that the
# factor routes get past `email_unverified`.
# Usage: scripts/schemathesis.sh BASE_URL MOTO_URL
set -euo pipefail
base=$1 moto=$2
password="schemathesis password"
# A fresh user, its address verified and signed in: the access token in $token.
sign_up() {
  local email="fuzz-$(date +%s%N)@example.com" link
  curl -sf -o /dev/null -X POST "$base/auth/register" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}"
  link=$(python "$(dirname "$0")/mail.py" 20 "$moto" | grep -A2 "^To: *$email" | grep -o 'verify-email#token=.*' | head -n1)
  [ -n "$link" ] || { echo "no verification mail for the fuzzing user" >&2; exit 1; }
  curl -sf -o /dev/null -X POST "$base/auth/email/verify" -H 'content-type: application/json' \
    -d "{\"token\":\"${link#*=}\"}"
  token=$(curl -sf -D - -o /dev/null -X POST "$base/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" | sed -n 's/^set-cookie: access_token=\([^;]*\).*/\1/ip')
  [ -n "$token" ] || { echo "could not log in the fuzzing user" >&2; exit 1; }
}

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
# logout, logout-all, revoking a session and deleting the account end the
# token's session (schemathesis reuses values from earlier answers: the own
# session id of GET /auth/sessions, the address of GET /auth/me): each runs
# last, on its own, for a user of its own.
ending=(/auth/logout /auth/logout-all /auth/sessions/revoke /auth/account/delete)
sign_up
run "${ending[@]/#/--exclude-path=}"
for path in "${ending[@]}"; do
  sign_up
  run --include-path "$path"
done
