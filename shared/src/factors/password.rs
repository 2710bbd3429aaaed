//! Argon2id password hashing, run off the async executor.
//!
//! The 19 MiB that argon2 works in is allocated once per container and reused
//! (a Lambda container serves one request at a time): allocating it per hash
//! costs page faults on every login, and glibc keeps each blocking thread's
//! freed copy, which grew a login function past 200 MiB of RSS in the
//! benchmark.

use std::sync::{Mutex, PoisonError};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};

use crate::crypto::random_bytes;
use crate::domain::Password;
use crate::error::ApiError;

/// OWASP / ASVS minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const LANES: u32 = 1;
const SALT_BYTES: usize = 16;
const OUTPUT_BYTES: usize = 32;

/// A well-formed hash with the same parameters (its output bytes are made up),
/// verified when the email is unknown so that an unknown email costs what a
/// wrong password costs. It never counts as a match.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$bm90LWEtcmVhbC1zYWx0$ZqrRMpmrWzbGXZYDdbsjAxDo9ZmUCNPRBakcqyNTOS8";

/// argon2's working memory, reused by every hash of this process.
static WORKSPACE: Mutex<Vec<Block>> = Mutex::new(Vec::new());

fn params() -> Params {
    Params::new(MEMORY_KIB, PASSES, LANES, Some(OUTPUT_BYTES)).expect("valid argon2 parameters")
}

/// Argon2id v19 of `password` and `salt` into `out`, in the shared workspace.
fn derive(params: &Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), ApiError> {
    let mut workspace = WORKSPACE.lock().unwrap_or_else(PoisonError::into_inner);
    let blocks = params.block_count();
    if workspace.len() < blocks {
        workspace.resize(blocks, Block::default());
    }
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, salt, out, &mut workspace[..blocks])
        .map_err(ApiError::internal)
}

fn hash_blocking(password: &[u8]) -> Result<String, ApiError> {
    let params = params();
    let salt: [u8; SALT_BYTES] = random_bytes();
    let mut out = [0u8; OUTPUT_BYTES];
    derive(&params, password, &salt, &mut out)?;
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(ApiError::internal)?,
        salt: Some(Salt::new(&salt).map_err(ApiError::internal)?),
        hash: Some(Output::new(&out).map_err(ApiError::internal)?),
    };
    Ok(phc.to_string())
}

fn verify_blocking(password: &[u8], stored: &str) -> Result<bool, ApiError> {
    let phc = PasswordHash::new(stored).map_err(ApiError::internal)?;
    if phc.algorithm != ARGON2ID_IDENT || phc.version != Some(Version::V0x13.into()) {
        return Err(ApiError::internal("stored password hash is not argon2id v19"));
    }
    let params = Params::try_from(&phc).map_err(ApiError::internal)?;
    let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else {
        return Err(ApiError::internal("stored password hash lacks salt or output"));
    };
    let mut out = vec![0u8; expected.len()];
    derive(&params, password, salt.as_ref(), &mut out)?;
    // `Output` equality is constant-time.
    Ok(Output::new(&out).map_err(ApiError::internal)? == expected)
}

/// Hashes a password into a PHC string with a fresh random salt.
pub async fn hash(password: &Password) -> Result<String, ApiError> {
    let password = password.expose().as_bytes().to_vec();
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await.map_err(ApiError::internal)?
}

/// Checks a password against a stored PHC string, or against the dummy hash
/// when there is no account, so both failures take the same time.
pub async fn verify(password: &Password, stored: Option<&str>) -> Result<bool, ApiError> {
    let password = password.expose().as_bytes().to_vec();
    let (phc, is_real) = match stored {
        Some(phc) => (phc.to_string(), true),
        None => (DUMMY_HASH.to_string(), false),
    };
    tokio::task::spawn_blocking(move || Ok(verify_blocking(&password, &phc)? && is_real))
        .await
        .map_err(ApiError::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier;
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
    async fn the_hashes_are_standard_argon2id_both_ways() {
        // What the argon2 crate's own verifier accepts, and what it makes, agree with ours.
        let ours = hash(&password("interoperable")).await.unwrap();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        assert!(argon2.verify_password(b"interoperable", ours.as_str()).is_ok());
        let theirs = argon2::PasswordHasher::hash_password(&argon2, b"interoperable").unwrap().to_string();
        assert!(verify(&password("interoperable"), Some(&theirs)).await.unwrap());
    }

    #[tokio::test]
    async fn the_dummy_hash_never_matches_and_uses_the_same_parameters() {
        assert!(DUMMY_HASH.starts_with(&format!("$argon2id$v=19$m={MEMORY_KIB},t={PASSES},p={LANES}$")));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify(&password("anything at all"), None).await.unwrap());
    }
}
