//! Values and rules every layer may name: accounts, second factors, sessions
//! and token lifetimes, the audit log's vocabulary, who sent a request. No
//! AWS, no HTTP, no I/O.

mod account;
mod audit;
mod client;
mod factor;
mod session;

pub use account::{Email, Password, Role};
pub use audit::{EventKind, MAX_LISTED, RETENTION_SECS};
pub use client::{ClientInfo, describe_agent};
pub use factor::{FactorKind, FactorName, MAX_FACTORS, SecondFactor, SignIn, TypedCode};
pub use session::{
    ACCESS_TTL_SECS, Aal, CEREMONY_TTL_SECS, CLOCK_SKEW_SECS, DEVICE_TTL_SECS, MAX_DEVICES, MAX_SESSIONS_LISTED,
    PRE2FA_TTL_SECS, RECENT_AUTH_SECS, REFRESH_TTL_SECS, SESSION_MAX_SECS, TokenKind,
};
