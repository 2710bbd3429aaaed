//! Argon2id password hashing, run off the async executor.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::Password;
use crate::error::ApiError;

/// OWASP / ASVS minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
pub const MEMORY_KIB: u32 = 19_456;
pub const PASSES: u32 = 2;
pub const LANES: u32 = 1;

/// A well-formed hash with the same parameters (its output bytes are made up),
/// verified when the email is unknown so that an unknown email costs what a
/// wrong password costs. It never counts as a match.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$bm90LWEtcmVhbC1zYWx0$ZqrRMpmrWzbGXZYDdbsjAxDo9ZmUCNPRBakcqyNTOS8";

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string with a fresh random salt.
pub async fn hash(password: &Password) -> Result<String, ApiError> {
    let password = password.expose().as_bytes().to_vec();
    tokio::task::spawn_blocking(move || {
        argon2().hash_password(&password).map(|hash| hash.to_string()).map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Checks a password against a stored PHC string, or against the dummy hash
/// when there is no account, so both failures take the same time.
pub async fn verify(password: &Password, stored: Option<&str>) -> Result<bool, ApiError> {
    let password = password.expose().as_bytes().to_vec();
    let (phc, is_real) = match stored {
        Some(phc) => (phc.to_string(), true),
        None => (DUMMY_HASH.to_string(), false),
    };
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&phc).map_err(ApiError::internal)?;
        let matches = argon2().verify_password(&password, &parsed).is_ok();
        Ok(matches && is_real)
    })
    .await
    .map_err(ApiError::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn password(s: &str) -> Password {
        Password::parse(SecretString::from(s.to_string())).unwrap()
    }

    #[tokio::test]
    async fn hashes_are_argon2id_at_the_chosen_cost_and_salted() {
        let a = hash(&password("correct horse")).await.unwrap();
        let b = hash(&password("correct horse")).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "two hashes of one password share a salt");
        assert!(verify(&password("correct horse"), Some(&a)).await.unwrap());
        assert!(!verify(&password("correct horsf"), Some(&a)).await.unwrap());
    }

    #[tokio::test]
    async fn the_dummy_hash_never_matches_and_uses_the_same_parameters() {
        assert!(DUMMY_HASH.starts_with(&format!("$argon2id$v=19$m={MEMORY_KIB},t={PASSES},p={LANES}$")));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify(&password("anything at all"), None).await.unwrap());
    }
}
