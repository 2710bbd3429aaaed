//! What a container builds once: the configuration, the AWS clients, the
//! keyring's cache of unwrapped keys, the clock.

mod container;
pub mod keyring;

pub use container::{App, Clients, Issuer};
