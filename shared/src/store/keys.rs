//! The key (`pk`, `sk`) of every kind of item; the table in `store/mod.rs` says what each holds.

use std::collections::HashMap;

use super::items::{Item, s};

pub const KEYRING_PK: &str = "KEYRING";
pub const MAIL_BUDGET_PK: &str = "MAILBUDGET";

/// The anonymous mail budget of one minute (unix seconds / 60).
pub fn mail_budget(minute: i64) -> Item {
    key(MAIL_BUDGET_PK.into(), minute.to_string())
}

pub fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

fn key(pk: String, sk: String) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

pub fn user(user_id: &str) -> Item {
    key(user_pk(user_id), "PROFILE".into())
}

pub fn login(email: &str) -> Item {
    key(format!("EMAIL#{email}"), "LOGIN".into())
}

pub fn session(user_id: &str, session_id: &str) -> Item {
    key(user_pk(user_id), format!("SESSION#{session_id}"))
}

pub fn event(user_id: &str, at_millis: i64, unique: &str) -> Item {
    key(user_pk(user_id), format!("EVT#{at_millis:013}#{unique}"))
}

pub fn keyring(kid: &str) -> Item {
    key(KEYRING_PK.into(), format!("KEY#{kid}"))
}

pub const SIGNING_KEY_PREFIX: &str = "SIGNKEY#";
pub const MAC_KEY_PREFIX: &str = "MACKEY#";

pub fn mac_key(kid: &str) -> Item {
    key(KEYRING_PK.into(), format!("{MAC_KEY_PREFIX}{kid}"))
}

pub fn signing_key(kid: &str) -> Item {
    key(KEYRING_PK.into(), format!("{SIGNING_KEY_PREFIX}{kid}"))
}
