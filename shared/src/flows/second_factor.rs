//! Checking a presented second factor against a user's factors: a TOTP code
//! (for a named app, or whichever app it matches), a backup code, or a
//! passkey's assertion for a ceremony. Every check counts one attempt first.

use crate::app::App;
use crate::crypto::KeySet;
use crate::domain::{ClientInfo, EventKind, SecondFactor, TypedCode};
use crate::error::ApiError;
use crate::factors::{backup_codes, passkey, totp};
use crate::store::writes::Proof;
use crate::store::{CODE_LIMIT, CeremonyRecord, FactorSecret, UserRecord, writes};

/// The ceremony purposes of an assertion, by where it is presented.
pub mod purpose {
    /// At a sign-in's second step (`2fa/challenge` with the pre-2FA token).
    pub const VERIFY_LOGIN: &str = "verify-login";
    /// By a signed-in user: turning 2FA off, new backup codes, re-authentication.
    pub const ACCOUNT: &str = "account";
    /// At a password reset (`2fa/challenge` with the reset token).
    pub const RESET: &str = "reset";
    /// A new passkey's registration.
    pub const REGISTRATION: &str = "registration";
}

/// What a correct proof gives: how to make it single use, and what the session's `amr` says.
#[derive(Debug, Clone)]
pub struct Proven {
    pub proof: Proof,
    pub factor: SecondFactor,
}

/// The proof a correct code or assertion gives, or `None` for a wrong,
/// malformed or already used one (no step at or before an app's last
/// accepted one passes; a passkey's counter must grow, unless it is 0 as
/// synced passkeys report it). `ceremony` is the state the attempt used up.
pub fn check(
    app: &App,
    keys: &KeySet,
    user: &UserRecord,
    presented: &TypedCode,
    ceremony: Option<&CeremonyRecord>,
    unix_now: u64,
) -> Result<Option<Proven>, ApiError> {
    if !user.twofa_enabled() {
        return Ok(None);
    }
    match presented {
        TypedCode::Totp { code, factor_id } => {
            for factor in &user.factors {
                let FactorSecret::Totp { sealed_secret, last_step } = &factor.secret else { continue };
                if factor_id.as_ref().is_some_and(|id| *id != factor.id) {
                    continue;
                }
                let secret = keys.open_totp_secret(&user.id, sealed_secret)?;
                if let Some(step) = totp::verify(&secret, code, unix_now, *last_step) {
                    let proof = Proof::Step { factor_id: factor.id.clone(), step };
                    return Ok(Some(Proven { proof, factor: SecondFactor::Totp }));
                }
            }
            Ok(None)
        }
        TypedCode::Backup(code) => Ok(backup_codes::find_match(keys, &user.id, code, &user.backup_hashes)
            .map(|hash| Proven { proof: Proof::BackupHash(hash), factor: SecondFactor::BackupCode })),
        TypedCode::Passkey { credential, .. } => {
            let Some(ceremony) = ceremony else { return Ok(None) };
            let assertion = match app.passkeys.finish_assertion(credential, &ceremony.state) {
                Ok(assertion) => assertion,
                Err(ApiError::InvalidCredential) => return Ok(None),
                Err(other) => return Err(other),
            };
            let found = user.factors.iter().find_map(|factor| match &factor.secret {
                FactorSecret::Passkey { credential_id, counter, synced, .. }
                    if *credential_id == assertion.credential_id =>
                {
                    Some((factor, *counter, *synced))
                }
                _ => None,
            });
            let Some((factor, stored, synced)) = found else { return Ok(None) };
            if !passkey::counter_grows(stored, assertion.counter) {
                tracing::info!(factor = factor.id, "a passkey's counter did not grow: a clone?");
                return Ok(None);
            }
            let proof = Proof::Passkey { factor_id: factor.id.clone(), counter: assertion.counter };
            Ok(Some(Proven { proof, factor: SecondFactor::Passkey { synced } }))
        }
    }
}

/// The error a wrong proof answers: `invalid_credential` for a passkey, else `invalid_code`.
pub fn refusal(presented: &TypedCode) -> ApiError {
    match presented {
        TypedCode::Passkey { .. } => ApiError::InvalidCredential,
        _ => ApiError::InvalidCode,
    }
}

/// Records a wrong proof: `twofa_failed`, and `lockout` (with its notice)
/// when it used up the limit. `user` is the profile as the attempt
/// reservation returned it. Answers `invalid_code` or `invalid_credential`.
pub async fn record_wrong_code(app: &App, user: &UserRecord, refusal: ApiError, client: &ClientInfo) -> ApiError {
    let mut events = vec![EventKind::TwofaFailed];
    if user.code_attempts >= CODE_LIMIT.max {
        events.push(EventKind::Lockout);
    }
    let now_millis = app.now().timestamp_millis();
    let mut record = writes::audit(&user.id, &events, now_millis, client);
    record.push(writes::account_exists(&user.id));
    if let Err(err) = app.repo.commit(record).await {
        return err;
    }
    app.mailer.notify(&user.email, &events, now_millis, client, None).await;
    refusal
}

/// The ceremony a passkey proof names, for the attempt to use up.
pub fn ceremony_of<'a>(presented: &'a TypedCode, purpose: &'a str) -> Option<(&'a str, &'a str)> {
    match presented {
        TypedCode::Passkey { ceremony_id, .. } => Some((ceremony_id.as_str(), purpose)),
        _ => None,
    }
}

/// Counts an attempt for `user` (on the condition that its token version is
/// unchanged, and using up a passkey's ceremony of `purpose`), then checks
/// the proof on the profile as counted. A wrong one is recorded and refused;
/// a right one gives the counted profile and the proof.
pub async fn prove(
    app: &App,
    keys: &KeySet,
    user: &UserRecord,
    presented: &TypedCode,
    purpose: &str,
    client: &ClientInfo,
) -> Result<(UserRecord, Proven), ApiError> {
    let now = app.now();
    let (counted, ceremony) =
        app.repo.reserve_code_attempt(&user.id, user.version, ceremony_of(presented, purpose), now.timestamp()).await?;
    match check(app, keys, &counted, presented, ceremony.as_ref(), now.timestamp() as u64)? {
        Some(proven) => Ok((counted, proven)),
        None => Err(record_wrong_code(app, &counted, refusal(presented), client).await),
    }
}

/// Counts an attempt for `user` (on the condition that its token version is
/// unchanged), then runs `check` on the profile as counted, at the same time.
/// A wrong code (`None`) is recorded and answered `InvalidCode`; a right one
/// gives the counted profile and what `check` found.
pub async fn attempt<T>(
    app: &App,
    user: &UserRecord,
    client: &ClientInfo,
    check: impl FnOnce(&UserRecord, u64) -> Result<Option<T>, ApiError>,
) -> Result<(UserRecord, T), ApiError> {
    let now = app.now();
    let (counted, _) = app.repo.reserve_code_attempt(&user.id, user.version, None, now.timestamp()).await?;
    match check(&counted, now.timestamp() as u64)? {
        Some(found) => Ok((counted, found)),
        None => Err(record_wrong_code(app, &counted, ApiError::InvalidCode, client).await),
    }
}
