//! Response bodies shared by several routes.

use serde::Serialize;

use crate::domain::{Aal, Role};

/// The contract's `User`.
#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub role: Role,
    #[serde(rename = "twoFactorEnabled")]
    pub two_factor_enabled: bool,
    pub aal: Aal,
}

impl UserView {
    pub fn new(id: &str, email: &str, role: Role, two_factor_enabled: bool, aal: Aal) -> Self {
        UserView { id: id.to_string(), email: email.to_string(), role, two_factor_enabled, aal }
    }
}
