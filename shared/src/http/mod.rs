pub mod auth;
pub mod bodies;
pub mod cookies;
mod request;
pub mod views;

pub use request::*;
