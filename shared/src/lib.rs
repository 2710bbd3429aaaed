//! Everything two functions need: domain values, TOTP, tokens, keys, the
//! DynamoDB repository, request parsing, cookies, errors and audit events.

pub mod app;
pub mod aws;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod factors;
pub mod flows;
pub mod http;
pub mod mail;
pub mod store;
pub mod tokens;

pub use app::{App, serve};
pub use error::ApiError;

// Temporary: the old paths, until every import names the new ones.
pub use crypto::signing_keys;
pub mod keyring {
    pub use crate::app::keyring::{Keyring, initialise};
    pub use crate::crypto::{DataKey, KeySet};
}
pub use domain::audit;
pub use factors::{backup_codes, password, totp};
pub use flows::{accounts, operator, second_factor, session};
pub use http::{auth, bodies, cookies, views};
pub use store as repo;
