//! What an operator does with AWS credentials, never through the public API:
//! grant or revoke the admin role (granted only to an account whose email is
//! verified), reset 2FA for a user who lost every factor (every factor goes,
//! passkeys included), and rotate the key that signs access tokens. Each ends all of the user's sessions and leaves an audit event
//! (with no IP or user agent); a 2FA reset also mails the user a notice.

use crate::app::keyring::Keyring;
use crate::clock::Clock;
use crate::crypto::{KEY_SET_MAX_AGE_SECS, StoredSigningKey};
use crate::domain::{ClientInfo, Email, EventKind, Role};
use crate::error::ApiError;
use crate::factors::passkey::credential_key;
use crate::mail::Mailer;
use crate::store::{Repo, Write, writes};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    GrantAdmin,
    RevokeAdmin,
    ResetTwofa,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Done {
        user_id: String,
    },
    AlreadySo {
        user_id: String,
    },
    NoSuchUser,
    /// The admin role goes only to an account whose owner proved the address:
    /// whoever registered it first may not be its owner.
    EmailUnverified {
        user_id: String,
    },
}

pub async fn run(
    repo: &Repo,
    mailer: &Mailer,
    clock: &dyn Clock,
    command: Command,
    email: &Email,
) -> Result<Outcome, ApiError> {
    let Some(user) = repo.user_by_email(email).await? else { return Ok(Outcome::NoSuchUser) };
    let (mut change, event): (Vec<Write>, EventKind) = match command {
        Command::GrantAdmin if user.role == Role::Admin => return Ok(Outcome::AlreadySo { user_id: user.id }),
        Command::RevokeAdmin if user.role == Role::User => return Ok(Outcome::AlreadySo { user_id: user.id }),
        Command::GrantAdmin if !user.email_verified => return Ok(Outcome::EmailUnverified { user_id: user.id }),
        Command::GrantAdmin => (writes::set_role(&user, Role::Admin).into(), EventKind::RoleGranted),
        Command::RevokeAdmin => (writes::set_role(&user, Role::User).into(), EventKind::RoleRevoked),
        // Also for a user with 2FA off: it clears a pending setup and a code lockout.
        Command::ResetTwofa => (writes::turn_off(&user, None, credential_key), EventKind::TwofaReset),
    };
    let now_millis = clock.now().timestamp_millis();
    change.extend(writes::audit(&user.id, &[event], now_millis, &ClientInfo::default()));
    repo.commit(change).await?;
    mailer.notify(&user.email, &[event], now_millis, &ClientInfo::default(), None).await;
    Ok(Outcome::Done { user_id: user.id })
}

/// What a signing-key rotation did.
#[derive(Debug, PartialEq, Eq)]
pub struct KeyRotation {
    /// The new key, published now.
    pub published: String,
    /// When it starts to sign (unix seconds).
    pub signs_from: i64,
    /// The key that signs until then.
    pub signing_now: String,
    /// Keys no verifier needs any more, removed from the table.
    pub removed: Vec<String>,
}

/// Publishes the next signing key. It signs only once every container has
/// read it (their key sets are at most five minutes old) and `lead_secs`
/// more have passed (API Gateway caches a key set for up to two hours), so
/// that no verifier meets a token whose key it has not seen. The key it
/// replaces stays published until its last token has expired; keys past that
/// are removed. One rotation at a time.
pub async fn rotate_signing_key(
    keyring: &Keyring,
    repo: &Repo,
    clock: &dyn Clock,
    lead_secs: i64,
) -> Result<KeyRotation, ApiError> {
    if lead_secs < MIN_LEAD_SECS {
        return Err(ApiError::invalid_request(format!(
            "a lead under {MIN_LEAD_SECS} s lets the new key sign before gateways can have fetched it \
             (after a key leaked, use retire-signing-key)"
        )));
    }
    let keys = keyring.keys().await?;
    let mac = keyring.signing_key_mac().await?;
    keyring.signing_keys_to_sign().await?;
    let now = clock.now().timestamp();
    let signing = keyring.signing_keys(Some(now)).await?;
    let current = signing.signer(now).map(|key| key.kid().to_string()).unwrap_or_default();
    if let Some(pending) = signing.pending(now) {
        return Err(ApiError::invalid_request(format!(
            "a rotation is under way: {} signs from {}",
            pending.kid(),
            crate::clock::rfc3339(pending.stored.active_from)
        )));
    }
    let signs_from = now + KEY_SET_MAX_AGE_SECS + lead_secs;
    let next = StoredSigningKey::generate(keys, mac, &signing.next_kid(), now, signs_from)?;
    if !repo.add_signing_key(&next).await? {
        return Err(ApiError::invalid_request("another rotation stored a key at the same moment"));
    }
    let removed = signing.unpublished(now);
    for kid in &removed {
        repo.delete_signing_key(kid).await?;
    }
    Ok(KeyRotation { published: next.kid, signs_from, signing_now: current, removed })
}

/// The shortest lead a rotation accepts: gateways must be able to fetch the
/// new key before anything is signed with it.
const MIN_LEAD_SECS: i64 = 5 * 60;

/// What an emergency retirement did.
#[derive(Debug, PartialEq, Eq)]
pub struct KeyRetirement {
    pub retired: String,
    /// The key made to sign at once, when the retired one was signing.
    pub successor: Option<String>,
}

/// After a private key leaked: the key leaves the table now (containers drop
/// it within five minutes, gateways when their cache expires), and when it
/// was the one signing, a successor is published and signs at once. Tokens
/// it signed are refused from then on (their users refresh); a gateway with
/// a stale cache refuses the successor's tokens until it refetches, the price
/// of ending a leaked key's life early.
pub async fn retire_signing_key(
    keyring: &Keyring,
    repo: &Repo,
    clock: &dyn Clock,
    kid: &str,
) -> Result<KeyRetirement, ApiError> {
    let keys = keyring.keys().await?;
    let mac = keyring.signing_key_mac().await?;
    let now = clock.now().timestamp();
    let signing = keyring.signing_keys(Some(now)).await?;
    if !signing.contains(kid) {
        return Err(ApiError::invalid_request(format!("no signing key {kid} is stored")));
    }
    let successor = if signing.signer(now).is_some_and(|key| key.kid() == kid) {
        let next = StoredSigningKey::generate(keys, mac, &signing.next_kid(), now, now)?;
        if !repo.add_signing_key(&next).await? {
            return Err(ApiError::invalid_request("another command stored a key at the same moment"));
        }
        Some(next.kid)
    } else {
        None
    };
    repo.delete_signing_key(kid).await?;
    Ok(KeyRetirement { retired: kid.to_string(), successor })
}
