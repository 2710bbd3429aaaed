//! A user's second factors as use cases see them: a new app or passkey
//! (named, with a fresh id), and the notices their changes mail.

use crate::crypto::{random_bytes, time_ordered_id};
use crate::domain::{FactorKind, FactorName};
use crate::error::ApiError;
use crate::factors::passkey::NewPasskey;
use crate::store::{FactorRecord, FactorSecret, UserRecord};

/// A new authenticator app, its secret sealed, with the step its first code
/// proved. Factor ids sort by when they were added, so that two added within
/// one second are still listed oldest first.
pub fn new_app(name: &FactorName, sealed_secret: Vec<u8>, first_step: u64, now_millis: i64) -> FactorRecord {
    let now = now_millis.div_euclid(1000);
    FactorRecord {
        id: time_ordered_id(now_millis),
        name: name.as_str().to_string(),
        created_at: now,
        last_used_at: Some(now),
        secret: FactorSecret::Totp { sealed_secret, last_step: Some(first_step) },
    }
}

/// A new passkey, as its registration proved it.
pub fn new_passkey(name: &FactorName, passkey: NewPasskey, now_millis: i64) -> FactorRecord {
    FactorRecord {
        id: time_ordered_id(now_millis),
        name: name.as_str().to_string(),
        created_at: now_millis.div_euclid(1000),
        last_used_at: None,
        secret: FactorSecret::Passkey {
            credential: passkey.credential,
            credential_id: passkey.credential_id,
            counter: passkey.counter,
            synced: passkey.synced,
        },
    }
}

/// The name the user asked for, else the one given at setup, else the kind's.
pub fn name_of(given: Option<&str>, at_setup: Option<&str>, kind: FactorKind) -> Result<FactorName, ApiError> {
    FactorName::or_default(given.or(at_setup), kind)
}

/// The user handle of `user`'s passkeys (16 random bytes, never the email or
/// the user id), and its stored form when it is new.
pub fn passkey_user_handle(user: &UserRecord) -> Result<([u8; 16], Option<String>), ApiError> {
    match &user.passkey_user {
        Some(stored) => data_encoding::BASE64URL_NOPAD
            .decode(stored.as_bytes())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .map(|handle| (handle, None))
            .ok_or_else(|| ApiError::internal("a stored passkey user handle is malformed")),
        None => {
            let handle = random_bytes::<16>();
            Ok((handle, Some(data_encoding::BASE64URL_NOPAD.encode(&handle))))
        }
    }
}

/// The stored credentials of `user`'s passkeys (the library's JSON).
pub fn stored_passkeys(user: &UserRecord) -> Vec<&str> {
    user.factors
        .iter()
        .filter_map(|factor| match &factor.secret {
            FactorSecret::Passkey { credential, .. } => Some(credential.as_str()),
            FactorSecret::Totp { .. } => None,
        })
        .collect()
}
