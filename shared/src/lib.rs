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

pub use app::App;
pub use error::ApiError;
pub use http::serve;

// Temporary: the old paths, until every import names the new ones.
pub use crypto::signing_keys;
pub mod keyring {
    pub use crate::app::keyring::{Keyring, initialise};
    pub use crate::crypto::{DataKey, KeySet};
}
pub use domain::audit;
pub use factors::{backup_codes, password, totp};
pub use flows::{accounts, operator, second_factor, session};
pub mod auth {
    pub use crate::http::{AdminRule, Caller, access_claims, authenticate};
}
pub mod bodies {
    pub use crate::domain::TypedCode;
    pub use crate::http::{Credentials, SecondFactorBody};
}
pub mod cookies {
    pub use crate::http::{ACCESS_COOKIE, REFRESH_COOKIE, TWOFA_COOKIE};
}
pub mod views {
    pub use crate::http::UserView;
}
pub use store as repo;
