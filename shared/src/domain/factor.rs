//! The second factors a user proves: which one a session used (`amr`), and
//! what the user typed.

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

/// What the user typed as a second factor.
#[derive(Debug, Clone)]
pub enum TypedCode {
    Totp(String),
    Backup(String),
}
