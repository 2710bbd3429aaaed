pub mod auth;
pub mod bodies;
pub mod cookies;
mod request;
pub mod views;

pub use request::*;

// Temporary: the old paths, until every import names the new ones.
pub use crate::domain::ClientInfo;
