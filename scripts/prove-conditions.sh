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
restore() {
  while IFS= read -r f; do mv "$f" "${f%.orig}" && touch "${f%.orig}"; done < <(find shared/src -name '*.rs.orig')
  return 0
}
trap 'kill $MOTO_PID 2>/dev/null || true; restore' EXIT

# guard^file(s)^condition(s) as written^weakened^package^race test. Several
# replacements (and their files, one each or one for all) are separated by " ;; ".
mutations=(
  "one account per email^shared/src/store/writes/accounts.rs^condition: Some(\"attribute_not_exists(userId)\")^condition: None^register^twenty_concurrent_registrations"
  "attempt limit (codes)^shared/src/store/attempts.rs^(#w > :cutoff AND #f < :max)^(#w > :cutoff OR #f < :max)^twofa-verify-login^twenty_concurrent_wrong_codes"
  "attempt limit (passwords)^shared/src/store/attempts.rs^(#w > :cutoff AND #f < :max)^(#w > :cutoff OR #f < :max)^login^twelve_concurrent_wrong_passwords"
  "pre-2FA token succeeds once^shared/src/store/writes/profile.rs^.when(\"attribute_not_exists(spentPre2fa.#spent)\")^.when(\"(attribute_not_exists(spentPre2fa.#spent) OR attribute_exists(spentPre2fa.#spent))\")^twofa-verify-login^one_token_with_ten_different_backup_codes"
  "TOTP step accepted once^shared/src/store/writes/profile.rs^lastStep < :step)\"^lastStep <= :step)\"^twofa-verify-login^ten_logins_racing_with_the_same_code"
  "backup code used once^shared/src/store/writes/profile.rs^\"contains(backupCodes, :hash)\"^\"(contains(backupCodes, :hash) OR attribute_exists(backupCodes))\"^twofa-verify-login^ten_concurrent_uses_of_one_backup_code"
  "refresh rotation^shared/src/store/repo.rs^\"refreshId = :presented AND expiresAt > :now^\"(refreshId = :presented OR attribute_exists(refreshId)) AND expiresAt > :now^refresh^ten_tabs_refreshing_at_once"
  "enable commits once (version, 2FA off, no factor, pending secret)^shared/src/store/writes/profile.rs ;; shared/src/store/writes/factors.rs ;; shared/src/store/writes/profile.rs ;; shared/src/store/writes/factors.rs^conditions: vec![\"ver = :ver\".into()] ;; .when(\"twofaEnabled = :false\") ;; OR factorCount = :zero) ;; .when(\"pendingSecret = :secret AND pendingExpiresAt > :now\")^conditions: vec![\"(ver = :ver OR ver <> :ver)\".into()] ;; .when(\"(twofaEnabled = :false OR twofaEnabled = :true)\") ;; OR factorCount >= :zero) ;; .when(\"(pendingSecret = :secret OR attribute_not_exists(pendingSecret)) AND (pendingExpiresAt > :now OR attribute_not_exists(pendingExpiresAt))\")^twofa-enable^five_concurrent_enables"
  "reset link used once (its token and the version it bumps)^shared/src/store/writes/profile.rs ;; shared/src/store/writes/accounts.rs^conditions: vec![\"ver = :ver\".into()] ;; .when(\"resetHash = :rhash AND resetExpiresAt > :now\")^conditions: vec![\"(ver = :ver OR ver <> :ver)\".into()] ;; .when(\"(resetHash = :rhash OR attribute_exists(pk)) AND (resetExpiresAt > :now OR attribute_not_exists(resetExpiresAt))\")^password-reset^ten_resets_with_one_token_at_once"
  "a credential id belongs to one account^shared/src/store/writes/factors.rs^condition: Some(\"attribute_not_exists(pk)\") }, |_| ApiError::CredentialInUse^condition: None }, |_| ApiError::CredentialInUse^passkey-register^one_credential_registered_by_two_accounts_at_once"
  "the last factor stays (version, count)^shared/src/store/writes/profile.rs ;; shared/src/store/writes/factors.rs^conditions: vec![\"ver = :ver\".into()] ;; AND factorCount > :one\")^conditions: vec![\"(ver = :ver OR ver <> :ver)\".into()] ;; AND factorCount >= :one\")^factors-remove^the_last_two_factors_removed_at_once"
  "a registration ceremony works once^shared/src/store/writes/profile.rs^.when(\"ceremonies.#cer.purpose = :cpurpose AND ceremonies.#cer.expiresAt > :cnow\")^.when(\"(attribute_exists(pk) OR (ceremonies.#cer.purpose = :cpurpose AND ceremonies.#cer.expiresAt > :cnow))\")^passkey-register^one_ceremony_finished_twice_at_once"
  "an assertion's ceremony works once (used up by the attempt)^shared/src/store/attempts.rs^\"ceremonies.#cer.purpose = :cpurpose AND ceremonies.#cer.expiresAt > :now AND \" ;; \" REMOVE ceremonies.#cer\"^\"(attribute_exists(pk) OR ceremonies.#cer.purpose = :cpurpose) AND \" ;; \"\"^twofa-verify-login^one_passkey_assertion_raced_through_verify_login"
  "a sign-in ceremony works once (its used-marker)^shared/src/store/writes/factors.rs^condition: Some(\"attribute_not_exists(pk)\") }, |_| ApiError::CeremonyExpired^condition: None }, |_| ApiError::CeremonyExpired^passkey-login^one_passkey_assertion_raced_through_passkey_login"
  "a passkey's counter only grows^shared/src/store/writes/profile.rs^\"factors.#pf.signCount < :ctr\"^\"factors.#pf.signCount <= :ctr\"^passkey-login^ten_clones_of_one_passkey_signing_in_at_once"
  "at most five factors^shared/src/store/writes/profile.rs^.when(\"factorCount < :max\")^.when(\"factorCount <= :max\")^passkey-register^a_sixth_factor_raced_against_the_fifth"
  "a version bump forgets remembered browsers^shared/src/store/writes/devices.rs^attribute_exists(pk) AND ver = :ver AND^attribute_exists(pk) AND (ver = :ver OR ver <> :ver) AND^login^device_logins_raced_against_logout_all"
  "an address goes to one account (email change)^shared/src/store/writes/accounts.rs^next), condition: Some(\"attribute_not_exists(userId)\")^next), condition: None^email-verify^five_accounts_confirming_a_change_to_one_address_at_once_one_wins"
  "a deletion keeps no credential id of a passkey added meanwhile^shared/src/store/writes/accounts.rs^\"ver = :ver AND size(factors) = :nfactors\"^\"ver = :ver AND size(factors) >= :nfactors\"^account-delete^a_passkey_added_while_the_account_is_deleted_keeps_no_credential_id"
  "a sign-in commits only while its account exists (login item, profile)^shared/src/store/writes/accounts.rs^\"REMOVE #f, #w\", \"attribute_exists(userId)\" ;; condition: \"ver = :ver\".into()^\"REMOVE #f, #w\", \"attribute_exists(pk) OR attribute_not_exists(pk)\" ;; condition: \"attribute_not_exists(pk) OR ver = :ver\".into()^login^a_sign_in_raced_against_the_deletion_of_its_account_opens_nothing_and_leaves_nothing"
  "a rotation never recreates a session^shared/src/store/repo.rs^\"refreshId = :presented AND expiresAt > :now^\"attribute_not_exists(pk) OR refreshId = :presented AND expiresAt > :now^refresh^a_rotation_raced_against_the_deletion_of_its_account_recreates_no_session"
  "a replayed refresh token logs only while its account exists^shared/src/store/writes/accounts.rs^condition: \"ver = :ver\".into()^condition: \"attribute_not_exists(pk) OR ver = :ver\".into()^refresh^a_replayed_token_raced_against_the_deletion_of_its_account_logs_nothing"
  "a logout logs only while its account exists^shared/src/store/writes/accounts.rs^condition: \"attribute_exists(pk)\".into()^condition: \"attribute_exists(pk) OR attribute_not_exists(pk)\".into()^logout^logging_out_of_a_deleted_account_clears_cookies_and_writes_nothing"
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
  IFS='^' read -r guard files written weakened package test <<<"$m"
  python3 - "$files" "$written" "$weakened" <<'PY'
import os, shutil, sys
files, olds, news = (arg.split(" ;; ") for arg in sys.argv[1:])
files = files * len(olds) if len(files) == 1 else files
for path, old, new in zip(files, olds, news):
    if not os.path.exists(path + ".orig"):
        shutil.copy(path, path + ".orig")
    text = open(path).read()
    if old not in text:
        sys.exit(f"{path}: condition not found: {old}")
    open(path, "w").write(text.replace(old, new))
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
