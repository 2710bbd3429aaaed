//! Second factors: a pending app, the first factor (2FA on), further ones,
//! renaming, removing (never the last), turning 2FA off, new backup codes,
//! passkey ceremonies (kept on the profile, or sealed in their id and marked
//! used) and the credential ids that belong to one account.

use aws_sdk_dynamodb::types::AttributeValue;

use super::profile::{
    CLEAR_CODE_ATTEMPTS, FORGET_RESET_LINK, Mirror, ProfileUpdate, Proof, code_conflict, login_mirror, profile_conflict,
};
use super::transaction::{Op, Write};
use crate::domain::MAX_FACTORS;
use crate::error::ApiError;
use crate::store::items::{Item, ItemExt, b, bool, n, s, ss};
use crate::store::keys;
use crate::store::records::{CeremonyRecord, FactorRecord, UserRecord};

/// What the profile's `factors` map and count mean for a refused write.
fn factor_conflict(old: &Item) -> ApiError {
    let count = old.opt_num("factorCount").ok().flatten().unwrap_or(0);
    if count >= MAX_FACTORS as i64 { ApiError::TooManyFactors } else { ApiError::SetupExpired }
}

/// Keeps a new pending app secret for ten minutes (with the name given),
/// replacing any earlier one.
pub fn start_setup(user: &UserRecord, sealed_secret: Vec<u8>, expires_at: i64, name: Option<&str>) -> Write {
    let change = ProfileUpdate::new(user)
        .set("pendingSecret = :secret")
        .set("pendingExpiresAt = :exp")
        .value(":secret", b(sealed_secret))
        .value(":exp", n(expires_at));
    let change = match name {
        Some(name) => change.set("pendingName = :pname").value(":pname", s(name)),
        None => change.remove("pendingName"),
    };
    change.into_write(&user.id, profile_conflict(user.version, |_| ApiError::StaleVersion))
}

/// The pending app secret becomes a factor: it must still be the one set up
/// and live; the setup goes.
fn with_pending_app(change: ProfileUpdate, pending_sealed: &[u8], now: i64) -> ProfileUpdate {
    change
        .when("pendingSecret = :secret AND pendingExpiresAt > :now")
        .remove_all(&["pendingSecret", "pendingExpiresAt", "pendingName"])
        .value(":secret", b(pending_sealed.to_vec()))
        .value(":now", n(now))
}

/// The first factor turns 2FA on: the backup codes are stored, the code
/// attempts and a pending reset link cleared, and every other session ends.
fn turn_on(change: ProfileUpdate, user: &UserRecord, backup_hashes: &[String], now: i64) -> ProfileUpdate {
    change
        .bump_version(user)
        .set("twofaEnabled = :true")
        .set("enabledAt = :enabledAt")
        .set("backupCodes = :codes")
        .when("twofaEnabled = :false")
        .remove_all(&CLEAR_CODE_ATTEMPTS)
        .remove_all(&FORGET_RESET_LINK)
        .value(":true", bool(true))
        .value(":false", bool(false))
        .value(":enabledAt", n(now))
        .value(":codes", ss(backup_hashes))
}

/// Turns 2FA on with the pending app (its first accepted step recorded on it).
pub fn enable_twofa(
    user: &UserRecord,
    app: &FactorRecord,
    pending_sealed: &[u8],
    backup_hashes: &[String],
    now: i64,
) -> [Write; 2] {
    let change = ProfileUpdate::new(user).add_factor(user, app, true);
    let change = turn_on(with_pending_app(change, pending_sealed, now), user, backup_hashes, now);
    let profile = change.into_write(
        &user.id,
        profile_conflict(user.version, |old| {
            if old.flag("twofaEnabled").unwrap_or(false) {
                ApiError::TwofaAlreadyEnabled
            } else {
                ApiError::SetupExpired
            }
        }),
    );
    [profile, login_mirror(Mirror { version: user.version + 1, twofa_enabled: true, ..Mirror::of(user) })]
}

/// Adds the pending app as a further factor: sessions and backup codes stay.
pub fn add_app(user: &UserRecord, app: &FactorRecord, pending_sealed: &[u8], now: i64) -> Write {
    let change = ProfileUpdate::new(user).add_factor(user, app, false).when("twofaEnabled = :true");
    with_pending_app(change, pending_sealed, now)
        .value(":true", bool(true))
        .into_write(&user.id, profile_conflict(user.version, factor_conflict))
}

/// Adds a passkey, using up its registration ceremony, and claims its
/// credential id for this account (an item keyed by its hash, put only if
/// none exists). The first factor turns 2FA on with `backup_hashes`.
pub fn add_passkey(
    user: &UserRecord,
    passkey: &FactorRecord,
    credential_key: &str,
    ceremony_id: &str,
    first: Option<&[String]>,
    now: i64,
) -> Vec<Write> {
    let mut change = ProfileUpdate::new(user).add_factor(user, passkey, first.is_some()).consume_ceremony(
        ceremony_id,
        "registration",
        now,
    );
    change = match first {
        Some(backup_hashes) => turn_on(change, user, backup_hashes, now),
        None => change.when("twofaEnabled = :true").value(":true", bool(true)),
    };
    let ceremony = ceremony_id.to_string();
    let profile = change.into_write(
        &user.id,
        profile_conflict(user.version, move |old| {
            let live = old.get("ceremonies").and_then(|c| c.as_m().ok()).is_some_and(|c| c.contains_key(&ceremony));
            if !live { ApiError::CeremonyExpired } else { factor_conflict(old) }
        }),
    );
    let mut item = keys::credential(credential_key);
    item.extend([("userId".to_string(), s(&user.id)), ("factorId".to_string(), s(&passkey.id))]);
    let claim =
        Write::new(Op::Put { item, condition: Some("attribute_not_exists(pk)") }, |_| ApiError::CredentialInUse);
    let passkeys = user.passkeys().count() + 1;
    let version = if first.is_some() { user.version + 1 } else { user.version };
    let mirror = Mirror { version, twofa_enabled: true, passkeys, ..Mirror::of(user) };
    vec![profile, claim, login_mirror(mirror)]
}

/// A factor's new name: it must still be there, at the version read.
pub fn rename_factor(user: &UserRecord, factor_id: &str, name: &str) -> Write {
    ProfileUpdate::new(user)
        .set("factors.#nf.#name = :name")
        .when("attribute_exists(factors.#nf)")
        .name("#nf", factor_id)
        .name("#name", "name")
        .value(":name", s(name))
        .into_write(&user.id, profile_conflict(user.version, |_| ApiError::FactorNotFound))
}

/// Removes one factor, never the last (`factorCount > 1` by condition, so two
/// removals racing for the last two leave one); a passkey's credential id
/// becomes free; every other session ends.
pub fn remove_factor(user: &UserRecord, factor: &FactorRecord, credential_key: Option<&str>) -> Vec<Write> {
    let factor_id = factor.id.clone();
    let profile = ProfileUpdate::new(user)
        .bump_version(user)
        .remove("factors.#rf")
        .set("factorCount = factorCount - :one")
        .when("attribute_exists(factors.#rf) AND factorCount > :one")
        .remove_all(&FORGET_RESET_LINK)
        .name("#rf", &factor.id)
        .value(":one", n(1))
        .into_write(
            &user.id,
            profile_conflict(user.version, move |old| {
                let there = old.get("factors").and_then(|f| f.as_m().ok()).is_some_and(|f| f.contains_key(&factor_id));
                if there { ApiError::LastFactor } else { ApiError::FactorNotFound }
            }),
        );
    let passkeys = user.passkeys().count() - usize::from(credential_key.is_some());
    let mirror = Mirror { version: user.version + 1, passkeys, ..Mirror::of(user) };
    let mut writes = vec![profile, login_mirror(mirror)];
    writes.extend(credential_key.map(free_credential));
    writes
}

/// A passkey's credential id is no longer this account's.
fn free_credential(credential_key: &str) -> Write {
    Write::new(Op::Delete { key: keys::credential(credential_key), condition: None }, |_| {
        ApiError::internal("unconditional delete")
    })
}

/// The items that keep each of `user`'s passkey credential ids.
pub(super) fn free_every_credential(user: &UserRecord, credential_key: impl Fn(&str) -> String) -> Vec<Write> {
    user.passkeys().filter_map(|f| f.credential_id()).map(|id| free_credential(&credential_key(id))).collect()
}

/// 2FA off: every factor and the backup codes go (the passkeys' credential
/// ids become free), the code attempts and a pending setup are cleared,
/// every other session ends. With a proof (the user's), it must hold; an
/// operator's reset needs none.
pub fn turn_off(user: &UserRecord, proof: Option<&Proof>, credential_key: impl Fn(&str) -> String) -> Vec<Write> {
    let mut change = ProfileUpdate::new(user)
        .bump_version(user)
        .set("twofaEnabled = :false")
        .set("factors = :none")
        .set("factorCount = :zero")
        .remove_all(&["enabledAt", "backupCodes", "pendingSecret", "pendingExpiresAt", "pendingName"])
        .remove_all(&CLEAR_CODE_ATTEMPTS)
        .remove_all(&FORGET_RESET_LINK)
        .value(":false", bool(false))
        .value(":none", AttributeValue::M(Default::default()))
        .value(":zero", n(0));
    let profile = match proof {
        Some(proof) => {
            change = change.prove(proof);
            change.into_write(&user.id, profile_conflict(user.version, code_conflict(proof)))
        }
        None => change.into_write(&user.id, profile_conflict(user.version, |_| ApiError::StaleVersion)),
    };
    let mirror = Mirror { version: user.version + 1, twofa_enabled: false, passkeys: 0, ..Mirror::of(user) };
    let mut writes = vec![profile, login_mirror(mirror)];
    writes.extend(free_every_credential(user, credential_key));
    writes
}

/// Replaces the backup codes after a proof of a factor (recorded on it).
pub fn replace_backup_codes(user: &UserRecord, proof: &Proof, hashes: &[String], now: i64) -> Write {
    ProfileUpdate::new(user)
        .accept(proof, now)
        .set("backupCodes = :codes")
        .value(":codes", ss(hashes))
        .into_write(&user.id, profile_conflict(user.version, code_conflict(proof)))
}

/// Keeps the server's half of a passkey ceremony on the profile (and the
/// user's passkey handle, when it is new).
pub fn start_ceremony(
    user: &UserRecord,
    ceremony_id: &str,
    ceremony: &CeremonyRecord,
    passkey_user: Option<&str>,
    now: i64,
) -> Write {
    let mut change = ProfileUpdate::new(user).keep_ceremony(user, ceremony_id, ceremony, now);
    if let Some(handle) = passkey_user.filter(|_| user.passkey_user.is_none()) {
        change =
            change.set("passkeyUser = :handle").when("attribute_not_exists(passkeyUser)").value(":handle", s(handle));
    }
    change.into_write(&user.id, profile_conflict(user.version, |_| ApiError::unavailable("a ceremony raced another")))
}

/// Uses up a sealed ceremony (a sign-in's, which the table does not hold):
/// a marker keyed by its hash, put only if none exists, kept until the
/// ceremony expires (its id says when; TTL only cleans up).
pub fn use_sealed_ceremony(ceremony_key: &str, expires_at: i64) -> Write {
    let mut item = keys::used_ceremony(ceremony_key);
    item.extend([("expiresAt".to_string(), n(expires_at)), ("ttl".to_string(), n(expires_at))]);
    Write::new(Op::Put { item, condition: Some("attribute_not_exists(pk)") }, |_| ApiError::CeremonyExpired)
}

/// Uses up a ceremony whose response did not verify (it works once, whatever the outcome).
pub fn drop_ceremony(user: &UserRecord, ceremony_id: &str, purpose: &str, now: i64) -> Write {
    ProfileUpdate::new(user)
        .consume_ceremony(ceremony_id, purpose, now)
        .into_write(&user.id, profile_conflict(user.version, |_| ApiError::CeremonyExpired))
}
