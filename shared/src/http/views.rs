//! Response bodies: the user, the audit log's events, factors, sessions and remembered devices.

use serde::Serialize;

use crate::clock::{rfc3339, rfc3339_millis};
use crate::domain::{Aal, Role};
use crate::store::{AuditRecord, DeviceRecord, FactorRecord, FactorSecret, LoginAccount, SessionRecord, UserRecord};

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
    /// How many passkey factors the user has.
    pub passkeys: usize,
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
            passkeys: user.passkeys().count(),
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
            passkeys: account.passkeys,
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

/// The contract's `Factor`.
#[derive(Debug, Serialize)]
pub struct FactorView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "lastUsedAt")]
    pub last_used_at: Option<String>,
    /// Passkeys only: backed up to a cloud account (else bound to one device).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synced: Option<bool>,
}

impl From<&FactorRecord> for FactorView {
    fn from(factor: &FactorRecord) -> Self {
        FactorView {
            id: factor.id.clone(),
            kind: factor.kind().as_str(),
            name: factor.name.clone(),
            created_at: rfc3339(factor.created_at),
            last_used_at: factor.last_used_at.map(rfc3339),
            synced: match factor.secret {
                FactorSecret::Passkey { synced, .. } => Some(synced),
                FactorSecret::Totp { .. } => None,
            },
        }
    }
}

/// The contract's `Session`.
#[derive(Debug, Serialize)]
pub struct SessionView {
    pub id: String,
    pub current: bool,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "lastUsedAt")]
    pub last_used_at: String,
    pub aal: Aal,
    pub amr: Vec<String>,
    pub ip: Option<String>,
    pub device: String,
}

impl SessionView {
    pub fn of(session: &SessionRecord, current_id: &str) -> Self {
        SessionView {
            id: session.session_id.clone(),
            current: session.session_id == current_id,
            created_at: rfc3339(session.started_at),
            last_used_at: rfc3339(session.last_used_at()),
            aal: session.aal,
            amr: session.amr.clone(),
            ip: session.ip.clone(),
            device: session.device.clone(),
        }
    }
}

/// A remembered browser as `GET /auth/devices` shows it.
#[derive(Debug, Serialize)]
pub struct DeviceView {
    pub id: String,
    pub device: String,
    pub ip: Option<String>,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "lastUsedAt")]
    pub last_used_at: String,
    pub current: bool,
}

impl DeviceView {
    pub fn of(device: &DeviceRecord, current_id: Option<&str>) -> Self {
        DeviceView {
            id: device.id.clone(),
            device: device.device.clone(),
            ip: device.ip.clone(),
            created_at: rfc3339(device.created_at),
            last_used_at: rfc3339(device.last_used_at),
            current: current_id == Some(device.id.as_str()),
        }
    }
}
