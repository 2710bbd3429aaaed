//! Checking a typed second factor against a user's 2FA state.

use crate::app::App;
use crate::audit::EventKind;
use crate::backup_codes;
use crate::bodies::TypedCode;
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::keyring::KeySet;
use crate::repo::writes::Proof;
use crate::repo::{CODE_LIMIT, UserRecord, Write, writes};
use crate::totp;

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

/// The audit events of a wrong code: `twofa_failed`, and `lockout` when it
/// used up the limit. `user` is the profile as the attempt reservation returned it.
pub fn wrong_code_events(user: &UserRecord, now_millis: i64, client: &ClientInfo) -> Vec<Write> {
    let mut events = vec![EventKind::TwofaFailed];
    if user.code_attempts >= CODE_LIMIT.max {
        events.push(EventKind::Lockout);
    }
    writes::audit(&user.id, &events, now_millis, client)
}

/// Counts an attempt for `user` (on the condition that its token version is
/// unchanged), then checks `typed`. A wrong code is recorded and answered
/// `InvalidCode`; a right one gives the profile as counted and the proof.
pub async fn prove(
    app: &App,
    keys: &KeySet,
    user: &UserRecord,
    typed: &TypedCode,
    client: &ClientInfo,
) -> Result<(UserRecord, Proof), ApiError> {
    let now = app.now();
    let counted = app.repo.reserve_code_attempt(&user.id, user.version, now.timestamp()).await?;
    match check(keys, &counted, typed, now.timestamp() as u64)? {
        Some(proof) => Ok((counted, proof)),
        None => {
            app.repo.commit(wrong_code_events(&counted, now.timestamp_millis(), client)).await?;
            Err(ApiError::InvalidCode)
        }
    }
}
