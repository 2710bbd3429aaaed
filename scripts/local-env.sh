# Environment of the local stack, sourced by scripts/dev.sh and scripts/test.sh.
# Fake credentials: moto accepts any, and nothing here can reach real AWS.
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_SESSION_TOKEN=testing
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE
export TABLE_NAME=twofa-local
export KMS_KEY_ID=alias/twofa-local
export ISSUER=TwoFA
# The issuer URL of access tokens is the API's own base URL (deployed, the
# functions read it from API Gateway's request context); the scripts that
# serve the API on another port set it to that port.
export ISSUER_URL=http://127.0.0.1:9000
# Plain http on loopback: no Secure flag, SameSite=Lax.
export COOKIE_SECURE=false
export COOKIE_SAMESITE=Lax
# The web front end's dev server, in both spellings (passkeys need the host
# name: browsers refuse WebAuthn on an IP address). Besides these, only the
# API's own pages may POST; the local gateway answers CORS for them, with
# credentials, as the deployed API Gateway does.
export ALLOWED_ORIGINS=http://localhost:4200,http://127.0.0.1:4200
# Mail goes to moto's SES (`make mail` reads it); its links lead to the web front end.
export MAIL_FROM=no-reply@twofa.example.com
export WEB_BASE_URL=http://localhost:4200

VENV_BIN="$PWD/.venv/bin"
export PATH="$VENV_BIN:$PATH"
export SAM_CLI_TELEMETRY=0

# Every cargo command here builds for the host triple, named explicitly, so
# that `cargo lambda build` (which always names its target) finds the
# artifacts that the tests and `cargo lambda watch` already built.
CARGO_BUILD_TARGET=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_BUILD_TARGET
BIN="target/$CARGO_BUILD_TARGET/debug"

# start_moto PORT LOGFILE: moto on loopback in the background; sets MOTO_PID.
start_moto() {
  local port=$1 log=$2
  if curl -s -o /dev/null "http://127.0.0.1:$port/moto-api/"; then
    echo "port $port is already in use: stop what runs there first" >&2
    return 1
  fi
  "$VENV_BIN/python" scripts/moto_server.py 127.0.0.1 "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  for _ in $(seq 100); do
    curl -s -o /dev/null "$AWS_ENDPOINT_URL/moto-api/" && return 0
    kill -0 "$MOTO_PID" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "moto did not start on port $port" >&2
  return 1
}

# wait_for_http URL TRIES: until the URL answers with any HTTP status.
wait_for_http() {
  local url=$1 tries=$2
  for _ in $(seq "$tries"); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)
    [ "$code" != "000" ] && [ "$code" != "502" ] && [ "$code" != "503" ] && return 0
    sleep 0.5
  done
  return 1
}
