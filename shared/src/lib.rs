//! Everything two functions need: domain values, TOTP, tokens, keys, the
//! DynamoDB repository, request parsing, cookies, errors and audit events.

pub mod accounts;
pub mod app;
pub mod audit;
pub mod auth;
pub mod aws;
pub mod backup_codes;
pub mod bodies;
pub mod clock;
pub mod config;
pub mod cookies;
pub mod domain;
pub mod error;
pub mod http;
pub mod keyring;
pub mod mail;
pub mod operator;
pub mod password;
pub mod repo;
pub mod second_factor;
pub mod session;
pub mod signing_keys;
pub mod tokens;
pub mod totp;
pub mod views;

pub use app::{App, serve};
pub use error::ApiError;
