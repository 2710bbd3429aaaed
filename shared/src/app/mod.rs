//! What a container builds once: the configuration, the AWS clients, the
//! keyring's cache of unwrapped keys, the clock.

mod container;
pub mod keyring;

pub use container::{App, Clients, Issuer};

// Temporary: the old paths, until every import names the new ones.
pub use crate::http::{process, serve};
