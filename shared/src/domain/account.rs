//! Values validated once, at the edge.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// A trimmed, lower-cased, syntactically valid email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;
    pub const MAX_LOCAL_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let invalid = || ApiError::invalid_request("the email address is not valid");
        let email = raw.trim().to_lowercase();
        if email.chars().count() > Self::MAX_CHARS || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let local_len = local.chars().count();
        let labels: Vec<&str> = domain.split('.').collect();
        if domain.contains('@')
            || !(1..=Self::MAX_LOCAL_CHARS).contains(&local_len)
            || labels.len() < 2
            || labels.iter().any(|label| label.is_empty())
        {
            return Err(invalid());
        }
        Ok(Email(email))
    }

    /// Rebuilds an email read back from storage (already normalised when stored).
    pub fn from_stored(email: String) -> Self {
        Email(email)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password of 8 to 128 Unicode scalar values, never trimmed, never logged.
pub struct Password(SecretString);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: SecretString) -> Result<Self, ApiError> {
        let chars = raw.expose_secret().chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) {
            return Err(ApiError::invalid_request("the password must be 8 to 128 characters long"));
        }
        Ok(Password(raw))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// Authentication assurance level of a session: 1 = password, 2 = password and second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Aal {
    One,
    Two,
}

impl From<Aal> for u8 {
    fn from(aal: Aal) -> u8 {
        match aal {
            Aal::One => 1,
            Aal::Two => 2,
        }
    }
}

impl TryFrom<u8> for Aal {
    type Error = &'static str;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            1 => Ok(Aal::One),
            2 => Ok(Aal::Two),
            _ => Err("aal is 1 or 2"),
        }
    }
}

/// How the session's holder authenticated (`amr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    Totp,
    BackupCode,
}

/// The `amr` claim for a password-only or a two-factor session.
pub fn amr(second: Option<SecondFactor>) -> Vec<String> {
    let mut methods = vec!["pwd".to_string()];
    match second {
        Some(SecondFactor::Totp) => methods.push("otp".into()),
        Some(SecondFactor::BackupCode) => methods.push("backup".into()),
        None => {}
    }
    methods
}

/// The second factor an `amr` claim names, if any.
pub fn second_factor_of(amr: &[String]) -> Option<SecondFactor> {
    if amr.iter().any(|m| m == "otp") {
        Some(SecondFactor::Totp)
    } else if amr.iter().any(|m| m == "backup") {
        Some(SecondFactor::BackupCode)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Alice@Example.COM \n").unwrap().as_str(), "alice@example.com");
    }

    #[test]
    fn invalid_emails_are_refused() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_total = format!("a@{}.com", "b".repeat(250));
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "alice@example.",
            "alice@.com",
            "a@b@example.com",
            "al ice@example.com",
            "alice@exa\u{7}mple.com",
            long_local.as_str(),
            long_total.as_str(),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let local = format!("{}@example.com", "a".repeat(64));
        assert!(Email::parse(&local).is_ok());
        let total = format!("a@{}.co", "b".repeat(254 - 5));
        assert_eq!(total.chars().count(), 254);
        assert!(Email::parse(&total).is_ok());
    }

    #[test]
    fn passwords_count_unicode_scalars_and_are_not_trimmed() {
        let secret = |s: &str| SecretString::from(s.to_string());
        assert!(Password::parse(secret("1234567")).is_err());
        assert!(Password::parse(secret(" 123456 ")).is_ok());
        assert!(Password::parse(secret(&"é".repeat(128))).is_ok());
        assert!(Password::parse(secret(&"é".repeat(129))).is_err());
        assert_eq!(format!("{:?}", Password::parse(secret("hunter2hunter2")).unwrap()), "Password([REDACTED])");
    }
}
