//! Accounts: a new one, the password's counter and hash, roles, the token
//! version, the mailed links (verification and reset), a change of address
//! and the account's deletion.

use super::factors::free_every_credential;
use super::profile::{
    FORGET_RESET_LINK, Mirror, ProfileUpdate, Proof, code_conflict, login_mirror, login_update, profile_conflict,
};
use super::transaction::{Op, Write, update};
use crate::domain::{Email, Role};
use crate::error::ApiError;
use crate::store::attempts::{MAIL_LIMIT, PASSWORD_LIMIT};
use crate::store::items::{Item, ItemExt, bool, n, s};
use crate::store::keys;
use crate::store::records::{EmailChange, LoginRecord, PendingToken, StoredLogin, UserRecord};

/// A new account: the email's login item (unique by condition) and the
/// profile, with the hash of its verification link's token.
pub fn create_account(
    user_id: &str,
    email: &Email,
    password_hash: &str,
    now: i64,
    verify: &PendingToken,
) -> [Write; 2] {
    [
        Write::new(
            Op::Put {
                item: LoginRecord::new_item(user_id, email, password_hash),
                condition: Some("attribute_not_exists(userId)"),
            },
            |_| ApiError::EmailTaken,
        ),
        Write::new(
            Op::Put {
                item: UserRecord::new_item(user_id, email, now, verify),
                condition: Some("attribute_not_exists(pk)"),
            },
            |_| ApiError::internal("user id collision"),
        ),
    ]
}

/// A correct password (or a completed sign-in) clears the email's password attempts.
pub fn reset_password_attempts(email: &Email) -> Write {
    Write::new(update(keys::login(email.as_str()), "REMOVE #f, #w", "attribute_exists(userId)"), |_| {
        ApiError::StaleVersion
    })
    .name("#f", PASSWORD_LIMIT.failures_attr)
    .name("#w", PASSWORD_LIMIT.window_attr)
}

/// The account still exists under token version `version`: a sign-in that
/// writes nothing to the profile commits with it, so an account deleted or a
/// version bumped meanwhile opens no session.
pub fn account_unchanged(user_id: &str, version: i64) -> Write {
    Write::new(Op::Check { key: keys::user(user_id), condition: "ver = :ver".into() }, |_| ApiError::Unauthorized)
        .value(":ver", n(version))
}

/// Ends every session: the token version goes up by one.
pub fn bump_version(user: &UserRecord) -> [Write; 2] {
    let next = user.version + 1;
    [
        Write::new(
            update(
                keys::user(&user.id),
                format!("SET ver = :next REMOVE {}", FORGET_RESET_LINK.join(", ")),
                "ver = :ver",
            ),
            profile_conflict(user.version, |_| ApiError::StaleVersion),
        )
        .value(":next", n(next))
        .value(":ver", n(user.version)),
        login_mirror(Mirror { version: next, ..Mirror::of(user) }),
    ]
}

/// Grants or revokes a role; every session ends.
pub fn set_role(user: &UserRecord, role: Role) -> [Write; 2] {
    let next = user.version + 1;
    let op = update(
        keys::user(&user.id),
        format!("SET ver = :next, #role = :role REMOVE {}", FORGET_RESET_LINK.join(", ")),
        "ver = :ver",
    );
    [
        Write::new(op, profile_conflict(user.version, |_| ApiError::StaleVersion))
            .name("#role", "role")
            .value(":next", n(next))
            .value(":role", s(role.as_str()))
            .value(":ver", n(user.version)),
        login_mirror(Mirror { version: next, role, ..Mirror::of(user) }),
    ]
}

/// Marks the email verified with the newest verification link's token, which
/// must still be stored (unused) and live; the login item's copy follows.
pub fn verify_email(user: &UserRecord, token_hash: &str, now: i64) -> [Write; 2] {
    let profile = Write::new(
        update(
            keys::user(&user.id),
            "SET emailVerified = :true REMOVE verifyHash, verifyExpiresAt",
            "verifyHash = :vhash AND verifyExpiresAt > :now",
        ),
        |_| ApiError::InvalidToken,
    )
    .value(":true", bool(true))
    .value(":vhash", s(token_hash))
    .value(":now", n(now));
    let login = Write::new(
        update(keys::login(user.email.as_str()), "SET emailVerified = :true", "attribute_exists(userId)"),
        |_| ApiError::InvalidToken,
    )
    .value(":true", bool(true));
    [profile, login]
}

/// A new verification link: its token's hash replaces the older one's, so the
/// older link stops working (only while the email is not verified).
pub fn new_verification(user: &UserRecord, token: &PendingToken) -> Write {
    ProfileUpdate::new(user)
        .set("verifyHash = :vhash")
        .set("verifyExpiresAt = :vexp")
        .when("emailVerified <> :true")
        .value(":vhash", s(&token.hash))
        .value(":vexp", n(token.expires_at))
        .value(":true", bool(true))
        .into_write(&user.id, profile_conflict(user.version, |_| ApiError::EmailAlreadyVerified))
}

/// A new password-reset link: its token's hash replaces the older one's.
pub fn start_reset(user_id: &str, token: &PendingToken) -> Write {
    Write::new(
        update(keys::user(user_id), "SET resetHash = :rhash, resetExpiresAt = :rexp", "attribute_exists(pk)"),
        |_| ApiError::InvalidToken,
    )
    .value(":rhash", s(&token.hash))
    .value(":rexp", n(token.expires_at))
}

/// A password reset: the link's token is consumed (it must be the newest and
/// live), every session ends, the new hash replaces the old and clears the
/// password lockout. With 2FA on, the proven code is accepted in the same
/// write, so a reset never goes around the second factor.
pub fn reset_password(
    user: &UserRecord,
    token_hash: &str,
    password_hash: &str,
    proof: Option<&Proof>,
    now: i64,
) -> [Write; 2] {
    let mut change = ProfileUpdate::new(user)
        .bump_version(user)
        .remove("resetHash")
        .remove("resetExpiresAt")
        .when("resetHash = :rhash AND resetExpiresAt > :now")
        .value(":rhash", s(token_hash))
        .value(":now", n(now));
    change = match proof {
        Some(proof) => change.accept(proof, now),
        None => change.when("twofaEnabled = :false").value(":false", bool(false)),
    };
    let token_hash = token_hash.to_string();
    let version = user.version;
    let refused_proof = match proof {
        Some(proof) => Box::new(code_conflict(proof)) as Box<dyn Fn(&Item) -> ApiError + Send + Sync>,
        None => Box::new(|_: &Item| ApiError::SecondFactorRequired),
    };
    let profile = change.into_write(&user.id, move |old: &Item| {
        let token_live = old.opt_str("resetHash").ok().flatten() == Some(token_hash.as_str())
            && old.opt_num("resetExpiresAt").ok().flatten().is_some_and(|exp| exp > now);
        match old.opt_num("ver") {
            _ if !token_live => ApiError::InvalidToken,
            Ok(Some(v)) if v == version => refused_proof(old),
            // The account changed between the read and this write: a retry reads it again.
            _ => ApiError::unavailable("the account changed during the password reset"),
        }
    });
    let login = login_update(Mirror { version: user.version + 1, ..Mirror::of(user) }, Some(password_hash));
    [profile, login]
}

/// A password change: the new hash replaces the old and clears the password
/// lockout; every session ends (the caller's new one carries the new version).
pub fn change_password(user: &UserRecord, password_hash: &str) -> [Write; 2] {
    let profile = ProfileUpdate::new(user)
        .bump_version(user)
        .remove_all(&FORGET_RESET_LINK)
        .into_write(&user.id, profile_conflict(user.version, |_| ApiError::StaleVersion));
    let login = login_update(Mirror { version: user.version + 1, ..Mirror::of(user) }, Some(password_hash));
    [profile, login]
}

/// The account still exists: a write that adds an item to the user's
/// partition without touching the profile (an audit event) commits with it,
/// so nothing appears there once the account is deleted.
pub fn account_exists(user_id: &str) -> Write {
    Write::new(Op::Check { key: keys::user(user_id), condition: "attribute_exists(pk)".into() }, |_| {
        ApiError::Unauthorized
    })
}

/// The profile's attributes of a pending email change.
const EMAIL_CHANGE: [&str; 4] = ["changeEmail", "changeHash", "changeExpiresAt", "changeVer"];

/// An email change asked for: the new address, its link token's hash and
/// expiry and the token version now replace an earlier request's (whose link
/// stops working), while no account has the new address (a counter-only
/// login item is no account); the link checks that again.
pub fn request_email_change(user: &UserRecord, to: &Email, token: &PendingToken) -> [Write; 2] {
    let profile = ProfileUpdate::new(user)
        .set("changeEmail = :cemail")
        .set("changeHash = :chash")
        .set("changeExpiresAt = :cexp")
        .set("changeVer = :ver")
        .value(":cemail", s(to.as_str()))
        .value(":chash", s(&token.hash))
        .value(":cexp", n(token.expires_at))
        .into_write(&user.id, profile_conflict(user.version, |_| ApiError::StaleVersion));
    let free = Write::new(
        Op::Check { key: keys::login(to.as_str()), condition: "attribute_not_exists(userId)".into() },
        |_| ApiError::EmailTaken,
    );
    [profile, free]
}

/// An email change confirmed by its link, in one transaction: the profile
/// takes the new address (verified), every session ends (version + 1), the
/// change and a reset link are forgotten, while the link's token is the
/// pending one, live and asked under this version; the old address's login
/// item goes (it must be this user's); the new address's is put with the
/// account's copy, unless an account has that address. The factors must be
/// the ones read, since the login item's copy of them moves along.
pub fn change_email(
    user: &UserRecord,
    login: &StoredLogin,
    change: &EmailChange,
    token_hash: &str,
    now: i64,
) -> [Write; 3] {
    let next = user.version + 1;
    let update = ProfileUpdate::new(user)
        .bump_version(user)
        .set("email = :nemail")
        .set("emailVerified = :true")
        .remove_all(&EMAIL_CHANGE)
        .remove_all(&FORGET_RESET_LINK)
        .remove_all(&["verifyHash", "verifyExpiresAt"])
        .when("changeHash = :chash AND changeExpiresAt > :now AND changeVer = :ver")
        .value(":nemail", s(change.to.as_str()))
        .value(":true", bool(true))
        .value(":chash", s(token_hash))
        .value(":now", n(now));
    let (version, token_hash) = (user.version, token_hash.to_string());
    let profile = same_factors(update, user).into_write(&user.id, move |old: &Item| {
        let link_works = old.opt_num("ver").ok().flatten() == Some(version)
            && old.opt_num("changeVer").ok().flatten() == Some(version)
            && old.opt_str("changeHash").ok().flatten() == Some(token_hash.as_str())
            && old.opt_num("changeExpiresAt").ok().flatten().is_some_and(|exp| exp > now);
        if link_works {
            // A factor was added between the read and this write: a retry reads it again.
            ApiError::unavailable("the account changed during the email change")
        } else {
            ApiError::InvalidToken
        }
    });
    let old_login = Write::new(
        Op::Delete { key: keys::login(user.email.as_str()), condition: Some("userId = :uid".into()) },
        |_| ApiError::internal("the old address's login item is not the account's"),
    )
    .value(":uid", s(&user.id));
    let new_login = Write::new(
        Op::Put { item: moved_login(user, login, &change.to, next), condition: Some("attribute_not_exists(userId)") },
        |_| ApiError::EmailTaken,
    );
    [profile, old_login, new_login]
}

/// The account's login item at address `to` under token version `version`,
/// verified: the copy it keeps moves along (role and 2FA flag from the
/// profile), the old address's counters and expiry stay behind.
fn moved_login(user: &UserRecord, login: &StoredLogin, to: &Email, version: i64) -> Item {
    let mut item = login.item.clone();
    let behind =
        [PASSWORD_LIMIT.failures_attr, PASSWORD_LIMIT.window_attr, MAIL_LIMIT.failures_attr, MAIL_LIMIT.window_attr];
    for attr in behind.into_iter().chain(["ttl"]) {
        item.remove(attr);
    }
    item.extend(keys::login(to.as_str()));
    item.extend([
        ("email".to_string(), s(to.as_str())),
        ("ver".to_string(), n(version)),
        ("role".to_string(), s(user.role.as_str())),
        ("twofaEnabled".to_string(), bool(user.twofa_enabled())),
        ("emailVerified".to_string(), bool(true)),
    ]);
    item
}

/// The profile still has the factors read. With the version unchanged (a
/// removal bumps it), the same number is the same set.
fn same_factors(update: ProfileUpdate, user: &UserRecord) -> ProfileUpdate {
    if user.has_factor_map {
        update.when("size(factors) = :nfactors").value(":nfactors", n(user.factors.len() as i64))
    } else {
        update.when("attribute_not_exists(factors)")
    }
}

/// Deletes the account in one transaction: the profile (at the version and
/// the factors read, so that a passkey added meanwhile cannot keep its
/// credential id), its login item (this user's: the address becomes free)
/// and each passkey's credential id. The rest of its partition goes after.
pub fn delete_account(user: &UserRecord, credential_key: impl Fn(&str) -> String) -> Vec<Write> {
    let (condition, factors) = if user.has_factor_map {
        ("ver = :ver AND size(factors) = :nfactors", Some(n(user.factors.len() as i64)))
    } else {
        ("ver = :ver AND attribute_not_exists(factors)", None)
    };
    let mut profile = Write::new(
        Op::Delete { key: keys::user(&user.id), condition: Some(condition.into()) },
        profile_conflict(user.version, |_| ApiError::unavailable("the account changed during its deletion")),
    )
    .value(":ver", n(user.version));
    if let Some(count) = factors {
        profile = profile.value(":nfactors", count);
    }
    let login = Write::new(
        Op::Delete { key: keys::login(user.email.as_str()), condition: Some("userId = :uid".into()) },
        |_| ApiError::internal("the account's login item is not the account's"),
    )
    .value(":uid", s(&user.id));
    let mut writes = vec![profile, login];
    writes.extend(free_every_credential(user, credential_key));
    writes
}
