//! The second factors a user proves: the kinds a user keeps (at most five,
//! named), which one a session used (`amr`), and what the user presented.

use serde_json::Value;

use super::session::Aal;
use crate::error::ApiError;

/// A user keeps at most this many second factors.
pub const MAX_FACTORS: usize = 5;

/// The kinds of second factor a user keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorKind {
    /// An authenticator app (TOTP).
    Totp,
    /// A WebAuthn credential.
    Passkey,
}

impl FactorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FactorKind::Totp => "totp",
            FactorKind::Passkey => "passkey",
        }
    }

    /// The name a factor gets when the user gives none.
    pub fn default_name(self) -> &'static str {
        match self {
            FactorKind::Totp => "Authenticator app",
            FactorKind::Passkey => "Passkey",
        }
    }
}

/// A factor's name: 1 to 64 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorName(String);

impl FactorName {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let name = raw.trim();
        let length = name.chars().count();
        if !(1..=64).contains(&length) || name.chars().any(char::is_control) {
            return Err(ApiError::invalid_request("a name is 1 to 64 characters, none of them a control character"));
        }
        Ok(FactorName(name.to_string()))
    }

    /// The given name, or the kind's default.
    pub fn or_default(raw: Option<&str>, kind: FactorKind) -> Result<Self, ApiError> {
        match raw {
            Some(raw) => Self::parse(raw),
            None => Ok(FactorName(kind.default_name().to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How the session's holder authenticated (`amr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    Totp,
    BackupCode,
    /// A passkey: `synced` when the authenticator said it may be backed up
    /// (backup eligible), so it is not bound to one device.
    Passkey {
        synced: bool,
    },
}

impl SecondFactor {
    const ALL: [SecondFactor; 4] = [
        SecondFactor::Totp,
        SecondFactor::BackupCode,
        SecondFactor::Passkey { synced: false },
        SecondFactor::Passkey { synced: true },
    ];

    fn method(self) -> &'static str {
        match self {
            SecondFactor::Totp => "otp",
            SecondFactor::BackupCode => "backup",
            SecondFactor::Passkey { synced: false } => "hwk",
            SecondFactor::Passkey { synced: true } => "swk",
        }
    }
}

/// How a session was opened: its `amr` claim and its assurance level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    /// The password alone (aal 1).
    Password,
    /// The password and a second factor.
    TwoFactor(SecondFactor),
    /// The password on a browser remembered at an earlier second factor.
    RememberedDevice,
    /// A passkey alone: something the user has, unlocked by something they are or know.
    Passkey { synced: bool },
}

impl SignIn {
    pub fn amr(self) -> Vec<String> {
        let methods: &[&str] = match self {
            SignIn::Password => &["pwd"],
            SignIn::TwoFactor(second) => &["pwd", second.method()],
            SignIn::RememberedDevice => &["pwd", "device"],
            SignIn::Passkey { synced } => &[SecondFactor::Passkey { synced }.method()],
        };
        methods.iter().map(|method| method.to_string()).collect()
    }

    pub fn aal(self) -> Aal {
        if self == SignIn::Password { Aal::One } else { Aal::Two }
    }

    /// The sign-in an `amr` claim describes (a session re-issued keeps its methods).
    pub fn of_amr(amr: &[String]) -> Option<SignIn> {
        let candidates = [SignIn::Password, SignIn::RememberedDevice]
            .into_iter()
            .chain([false, true].map(|synced| SignIn::Passkey { synced }))
            .chain(SecondFactor::ALL.map(SignIn::TwoFactor));
        candidates.into_iter().find(|sign_in| sign_in.amr() == amr)
    }
}

impl From<Option<SecondFactor>> for SignIn {
    fn from(second: Option<SecondFactor>) -> Self {
        second.map_or(SignIn::Password, SignIn::TwoFactor)
    }
}

/// What the user presented as a second factor.
#[derive(Debug, Clone)]
pub enum TypedCode {
    /// A TOTP code, for the named app or for whichever app it matches.
    Totp {
        code: String,
        factor_id: Option<String>,
    },
    Backup(String),
    /// A WebAuthn assertion (`AuthenticationResponseJSON`) for a ceremony.
    Passkey {
        ceremony_id: String,
        credential: Value,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(FactorName::parse("  Work phone ").unwrap().as_str(), "Work phone");
        assert_eq!(FactorName::parse(&"é".repeat(64)).unwrap().as_str().chars().count(), 64);
        for bad in ["", "   ", "a\nb", "tab\there", &"x".repeat(65)] {
            assert!(FactorName::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(FactorName::or_default(None, FactorKind::Passkey).unwrap().as_str(), "Passkey");
    }

    #[test]
    fn every_sign_in_has_its_amr_and_reads_back() {
        let all = [
            SignIn::Password,
            SignIn::RememberedDevice,
            SignIn::Passkey { synced: false },
            SignIn::Passkey { synced: true },
        ]
        .into_iter()
        .chain(SecondFactor::ALL.map(SignIn::TwoFactor));
        for sign_in in all {
            assert_eq!(SignIn::of_amr(&sign_in.amr()), Some(sign_in));
        }
        assert_eq!(SignIn::TwoFactor(SecondFactor::Passkey { synced: true }).amr(), ["pwd", "swk"]);
        assert_eq!(SignIn::Passkey { synced: false }.amr(), ["hwk"]);
        assert_eq!(SignIn::RememberedDevice.amr(), ["pwd", "device"]);
        assert_eq!((SignIn::Password.aal(), SignIn::RememberedDevice.aal()), (Aal::One, Aal::Two));
        assert_eq!(SignIn::of_amr(&["pwd".into(), "sms".into()]), None);
    }
}
