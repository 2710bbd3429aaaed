//! The user's security log: the kinds of event it records, and how long it keeps them.

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
    FactorAdded => "factor_added",
    FactorRemoved => "factor_removed",
    FactorRenamed => "factor_renamed",
    PasskeyLogin => "passkey_login",
    Reauthenticated => "reauthenticated",
    SessionRevoked => "session_revoked",
    DeviceRemembered => "device_remembered",
    DeviceLogin => "device_login",
    DeviceForgotten => "device_forgotten",
    EmailChangeRequested => "email_change_requested",
    EmailChanged => "email_changed",
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
}
