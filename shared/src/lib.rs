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
