//! Response bodies shared by several routes: the user, and the audit log's events.

use serde::Serialize;

use crate::clock::rfc3339_millis;
use crate::domain::{Aal, Role};
use crate::store::{AuditRecord, LoginAccount, UserRecord};

/// The contract's `User`.
#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    #[serde(rename = "emailVerified")]
    pub email_verified: bool,
    pub role: Role,
    #[serde(rename = "twoFactorEnabled")]
    pub two_factor_enabled: bool,
    pub aal: Aal,
}

impl UserView {
    /// The user as the profile holds it, in a session of assurance `aal`.
    pub fn of(user: &UserRecord, aal: Aal) -> Self {
        UserView {
            id: user.id.clone(),
            email: user.email.as_str().to_string(),
            email_verified: user.email_verified,
            role: user.role,
            two_factor_enabled: user.twofa_enabled(),
            aal,
        }
    }

    /// The user as the login item's copy holds it.
    pub fn of_login(account: &LoginAccount, aal: Aal) -> Self {
        UserView {
            id: account.user_id.clone(),
            email: account.email.as_str().to_string(),
            email_verified: account.email_verified,
            role: account.role,
            two_factor_enabled: account.twofa_enabled,
            aal,
        }
    }
}

/// One event as `GET /auth/audit` shows it.
#[derive(Debug, Serialize)]
pub struct EventView {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub at: String,
    pub ip: Option<String>,
    #[serde(rename = "userAgent")]
    pub user_agent: Option<String>,
}

impl From<&AuditRecord> for EventView {
    fn from(record: &AuditRecord) -> Self {
        EventView {
            kind: record.kind.as_str(),
            at: rfc3339_millis(record.at_millis),
            ip: record.ip.clone(),
            user_agent: record.user_agent.clone(),
        }
    }
}
