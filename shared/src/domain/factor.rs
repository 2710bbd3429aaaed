//! The second factors a user proves: the kinds a user keeps (at most five,
//! named), which one a session used (`amr`), and what the user presented.

use serde_json::Value;

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
    fn method(self) -> &'static str {
        match self {
            SecondFactor::Totp => "otp",
            SecondFactor::BackupCode => "backup",
            SecondFactor::Passkey { synced: false } => "hwk",
            SecondFactor::Passkey { synced: true } => "swk",
        }
    }
}

/// The `amr` claim for a password-only or a two-factor session.
pub fn amr(second: Option<SecondFactor>) -> Vec<String> {
    let mut methods = vec!["pwd".to_string()];
    if let Some(second) = second {
        methods.push(second.method().into());
    }
    methods
}

/// The second factor an `amr` claim names, if any.
pub fn second_factor_of(amr: &[String]) -> Option<SecondFactor> {
    [
        SecondFactor::Totp,
        SecondFactor::BackupCode,
        SecondFactor::Passkey { synced: false },
        SecondFactor::Passkey { synced: true },
    ]
    .into_iter()
    .find(|second| amr.iter().any(|method| method == second.method()))
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
    fn a_passkey_is_hwk_or_swk_and_reads_back() {
        for second in [
            SecondFactor::Totp,
            SecondFactor::BackupCode,
            SecondFactor::Passkey { synced: false },
            SecondFactor::Passkey { synced: true },
        ] {
            assert_eq!(second_factor_of(&amr(Some(second))), Some(second));
        }
        assert_eq!(amr(Some(SecondFactor::Passkey { synced: true })), ["pwd", "swk"]);
        assert_eq!(second_factor_of(&amr(None)), None);
    }
}
