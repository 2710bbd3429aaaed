//! Checking a typed second factor against a user's 2FA state.

use crate::app::App;
use crate::crypto::KeySet;
use crate::domain::{ClientInfo, EventKind, TypedCode};
use crate::error::ApiError;
use crate::factors::backup_codes;
use crate::factors::totp;
use crate::store::writes::{self, Proof};
use crate::store::{CODE_LIMIT, UserRecord};

/// The proof a correct code gives, or `None` for a wrong, malformed or
/// already used code (no step at or before the last accepted one passes).
pub fn check(keys: &KeySet, user: &UserRecord, typed: &TypedCode, unix_now: u64) -> Result<Option<Proof>, ApiError> {
    let Some(twofa) = &user.twofa else { return Ok(None) };
    Ok(match typed {
        TypedCode::Totp(code) => {
            let secret = keys.open_totp_secret(&user.id, &twofa.sealed_secret)?;
            totp::verify(&secret, code, unix_now, twofa.last_step).map(Proof::Step)
        }
        TypedCode::Backup(code) => {
            backup_codes::find_match(keys, &user.id, code, &twofa.backup_hashes).map(Proof::BackupHash)
        }
    })
}

/// Records a wrong code: `twofa_failed`, and `lockout` (with its notice) when
/// it used up the limit. `user` is the profile as the attempt reservation
/// returned it. Answers `invalid_code`.
pub async fn record_wrong_code(app: &App, user: &UserRecord, client: &ClientInfo) -> ApiError {
    let mut events = vec![EventKind::TwofaFailed];
    if user.code_attempts >= CODE_LIMIT.max {
        events.push(EventKind::Lockout);
    }
    let now_millis = app.now().timestamp_millis();
    if let Err(err) = app.repo.commit(writes::audit(&user.id, &events, now_millis, client)).await {
        return err;
    }
    app.mailer.notify(&user.email, &events, now_millis, client, None).await;
    ApiError::InvalidCode
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
    let counted = app.repo.reserve_code_attempt(&user.id, user.version, now.timestamp()).await?;
    match check(&counted, now.timestamp() as u64)? {
        Some(found) => Ok((counted, found)),
        None => Err(record_wrong_code(app, &counted, client).await),
    }
}

/// [`attempt`] with the user's own second factor: a TOTP code or a backup code.
pub async fn prove(
    app: &App,
    keys: &KeySet,
    user: &UserRecord,
    typed: &TypedCode,
    client: &ClientInfo,
) -> Result<(UserRecord, Proof), ApiError> {
    attempt(app, user, client, |counted, unix_now| check(keys, counted, typed, unix_now)).await
}
