#!/usr/bin/env bash
# `make prove-conditions`: shows that each race test depends on the DynamoDB
# condition it is about. For every guard: weaken the condition in the source,
# run the race test (it must FAIL), put the source back. Takes a few minutes
# (each mutation recompiles the shared crate). Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/local-env.sh
mkdir -p .local
start_moto "${PROVE_MOTO_PORT:-5250}" .local/moto-prove.log
# touch: the restored file must look newer than the weakened build to cargo.
restore() { for f in shared/src/store/*.rs.orig; do [ -e "$f" ] && mv "$f" "${f%.orig}" && touch "${f%.orig}"; done; return 0; }
trap 'kill $MOTO_PID 2>/dev/null || true; restore' EXIT

# guard ^ file ^ condition as written ^ weakened ^ package ^ race test
# (" ;; " separates several replacements that weaken one guard together)
mutations=(
  "one account per email^shared/src/store/writes.rs^condition: Some(\"attribute_not_exists(userId)\")^condition: None^register^twenty_concurrent_registrations"
  "attempt limit (codes)^shared/src/store/attempts.rs^(#w > :cutoff AND #f < :max)^(#w > :cutoff OR #f < :max)^twofa-verify-login^twenty_concurrent_wrong_codes"
  "attempt limit (passwords)^shared/src/store/attempts.rs^(#w > :cutoff AND #f < :max)^(#w > :cutoff OR #f < :max)^login^twelve_concurrent_wrong_passwords"
  "pre-2FA token succeeds once^shared/src/store/writes.rs^.when(\"attribute_not_exists(spentPre2fa.#spent)\")^.when(\"(attribute_not_exists(spentPre2fa.#spent) OR attribute_exists(spentPre2fa.#spent))\")^twofa-verify-login^one_token_with_ten_different_backup_codes"
  "TOTP step accepted once^shared/src/store/writes.rs^lastStep < :step)\"^lastStep <= :step)\"^twofa-verify-login^ten_logins_racing_with_the_same_code"
  "backup code used once^shared/src/store/writes.rs^\"contains(backupCodes, :hash)\"^\"(contains(backupCodes, :hash) OR attribute_exists(backupCodes))\"^twofa-verify-login^ten_concurrent_uses_of_one_backup_code"
  "refresh rotation^shared/src/store/repo.rs^\"refreshId = :presented AND expiresAt > :now AND authTime > :oldest\"^\"(refreshId = :presented OR attribute_exists(refreshId)) AND expiresAt > :now AND authTime > :oldest\"^refresh^ten_tabs_refreshing_at_once"
  "enable commits once (version, 2FA off, pending secret)^shared/src/store/writes.rs^\"ver = :ver AND twofaEnabled = :false AND pendingSecret = :secret AND pendingExpiresAt > :now\"^\"(ver = :ver OR ver <> :ver) AND (twofaEnabled = :false OR twofaEnabled = :true) AND (pendingSecret = :secret OR attribute_not_exists(pendingSecret)) AND (pendingExpiresAt > :now OR attribute_not_exists(pendingExpiresAt))\"^twofa-enable^five_concurrent_enables"
  "reset link used once (its token and the version it bumps)^shared/src/store/writes.rs^conditions: vec![\"ver = :ver\".into()] ;; .when(\"resetHash = :rhash AND resetExpiresAt > :now\")^conditions: vec![\"(ver = :ver OR ver <> :ver)\".into()] ;; .when(\"(resetHash = :rhash OR attribute_exists(pk)) AND (resetExpiresAt > :now OR attribute_not_exists(resetExpiresAt))\")^password-reset^ten_resets_with_one_token_at_once"
)

failed=0
for m in "${mutations[@]}"; do
  IFS='^' read -r guard _ _ _ package test <<<"$m"
  if ! cargo test -q -p "$package" "$test" >/dev/null 2>&1; then
    echo "BROKEN      $guard: $package::$test fails even with its condition"
    exit 1
  fi
done
for m in "${mutations[@]}"; do
  IFS='^' read -r guard file written weakened package test <<<"$m"
  cp "$file" "$file.orig"
  python3 - "$file" "$written" "$weakened" <<'PY'
import sys
path, olds, news = sys.argv[1:]
text = open(path).read()
for old, new in zip(olds.split(" ;; "), news.split(" ;; ")):
    if old not in text:
        sys.exit(f"{path}: condition not found: {old}")
    text = text.replace(old, new)
open(path, "w").write(text)
PY
  if ! cargo test -q -p "$package" --no-run >/dev/null 2>&1; then
    echo "NOT PROVEN  $guard: the weakened source does not compile"
    failed=1
  elif output=$(cargo test -q -p "$package" "$test" 2>&1); then
    echo "NOT PROVEN  $guard: $package::$test still passes without its condition"
    failed=1
  else
    echo "proven      $guard: $package::$test fails without its condition:"
    # The failed assertion, so a failure for another reason shows.
    grep -m1 -A1 "panicked at" <<<"$output" | tail -1 | sed 's/^/              /'
  fi
  restore
done
exit $failed
