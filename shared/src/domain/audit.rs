//! The user's security log: what happened, when, and from where.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::http::ClientInfo;
use crate::repo::AuditRecord;

/// Events are kept this long (their expiry is stored; TTL only cleans up).
pub const RETENTION_SECS: i64 = 90 * 24 * 60 * 60;
/// `GET /auth/audit` returns at most this many.
pub const MAX_LISTED: i32 = 50;

macro_rules! event_kinds {
    ($($variant:ident => $name:literal),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum EventKind { $($variant),* }

        impl EventKind {
            pub const ALL: &[EventKind] = &[$(EventKind::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(EventKind::$variant => $name),* }
            }

            pub fn parse(name: &str) -> Option<Self> {
                match name { $($name => Some(EventKind::$variant),)* _ => None }
            }
        }
    };
}

event_kinds! {
    Register => "register",
    Login => "login",
    LoginFailed => "login_failed",
    Lockout => "lockout",
    TwofaSetup => "twofa_setup",
    TwofaEnabled => "twofa_enabled",
    TwofaDisabled => "twofa_disabled",
    TwofaVerified => "twofa_verified",
    TwofaFailed => "twofa_failed",
    BackupCodeUsed => "backup_code_used",
    BackupCodesRegenerated => "backup_codes_regenerated",
    RefreshReuse => "refresh_reuse",
    Logout => "logout",
    LogoutAll => "logout_all",
    RoleGranted => "role_granted",
    RoleRevoked => "role_revoked",
    TwofaReset => "twofa_reset",
    EmailVerified => "email_verified",
    PasswordResetRequested => "password_reset_requested",
    PasswordReset => "password_reset",
    PasswordChanged => "password_changed",
}

impl AuditRecord {
    pub fn new(kind: EventKind, at_millis: i64, client: &ClientInfo) -> Self {
        AuditRecord {
            kind,
            at_millis,
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            expires_at: at_millis / 1000 + RETENTION_SECS,
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

/// RFC 3339 in UTC, to the second.
pub fn rfc3339(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// RFC 3339 in UTC with milliseconds.
pub fn rfc3339_millis(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for kind in [EventKind::Register, EventKind::BackupCodesRegenerated, EventKind::TwofaReset] {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("nope"), None);
    }

    #[test]
    fn openapi_yaml_lists_every_event_type_of_the_log() {
        let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml")).unwrap();
        let listed =
            spec.split("/auth/audit:").nth(1).unwrap().split("enum: [").nth(1).unwrap().split(']').next().unwrap();
        let listed: Vec<&str> = listed.split(',').map(str::trim).collect();
        let kinds: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(listed, kinds);
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339_millis(1_800_000_000_123), "2027-01-15T08:00:00.123Z");
    }
}
