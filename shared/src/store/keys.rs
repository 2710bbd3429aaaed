//! The key (`pk`, `sk`) of every kind of item; the table in `store/mod.rs` says what each holds.

use std::collections::HashMap;

use super::items::{Item, s};

pub(super) const KEYRING_PK: &str = "KEYRING";
pub(super) const MAIL_BUDGET_PK: &str = "MAILBUDGET";

/// The anonymous mail budget of one minute (unix seconds / 60).
pub(super) fn mail_budget(minute: i64) -> Item {
    key(MAIL_BUDGET_PK.into(), minute.to_string())
}

pub(super) fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

fn key(pk: String, sk: String) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

pub(super) fn user(user_id: &str) -> Item {
    key(user_pk(user_id), "PROFILE".into())
}

pub(super) fn login(email: &str) -> Item {
    key(format!("EMAIL#{email}"), "LOGIN".into())
}

pub(super) fn session(user_id: &str, session_id: &str) -> Item {
    key(user_pk(user_id), format!("{SESSION_PREFIX}{session_id}"))
}

/// Sorts between the profile and the sessions: one Query from `PROFILE` on
/// reads the profile, the remembered devices and the sessions, and no event.
pub(super) const DEVICE_PREFIX: &str = "REMEMBERED#";
pub(super) const SESSION_PREFIX: &str = "SESSION#";

pub(super) fn device(user_id: &str, device_id: &str) -> Item {
    key(user_pk(user_id), format!("{DEVICE_PREFIX}{device_id}"))
}

pub(super) fn event(user_id: &str, at_millis: i64, unique: &str) -> Item {
    key(user_pk(user_id), format!("EVT#{at_millis:013}#{unique}"))
}

pub(super) fn keyring(kid: &str) -> Item {
    key(KEYRING_PK.into(), format!("KEY#{kid}"))
}

pub(super) const SIGNING_KEY_PREFIX: &str = "SIGNKEY#";
pub(super) const MAC_KEY_PREFIX: &str = "MACKEY#";

pub(super) fn mac_key(kid: &str) -> Item {
    key(KEYRING_PK.into(), format!("{MAC_KEY_PREFIX}{kid}"))
}

/// The item that holds a passkey's credential id for one account (keyed by the id's hash).
pub(super) fn credential(credential_key: &str) -> Item {
    key(format!("CRED#{credential_key}"), "CREDENTIAL".into())
}

/// The item that marks a sealed ceremony used (keyed by the hash of its id).
pub(super) fn used_ceremony(ceremony_key: &str) -> Item {
    key(format!("CEREMONY#{ceremony_key}"), "USED".into())
}

pub(super) fn signing_key(kid: &str) -> Item {
    key(KEYRING_PK.into(), format!("{SIGNING_KEY_PREFIX}{kid}"))
}
