//! Who an account is: its email address, its password as typed, its role.
//! Values validated once, at the edge.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// A trimmed, lower-cased, syntactically valid email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    const MAX_CHARS: usize = 254;
    const MAX_LOCAL_CHARS: usize = 64;

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
    const MIN_CHARS: usize = 8;
    const MAX_CHARS: usize = 128;

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
