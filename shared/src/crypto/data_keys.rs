//! Keys without plaintext at rest: every working key (one per internal token
//! kind, one to seal secrets, one to hash backup codes) is derived with HKDF
//! from a 256-bit data key, and carries its `kid` so that keys can rotate.
//! Sealing (AES-256-GCM under an associated data) and the backup codes' keyed
//! hash. Where the data keys come from: `app::keyring`.

use std::collections::HashMap;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use jsonwebtoken::{DecodingKey, EncodingKey};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

use super::random::random_bytes;
use crate::domain::TokenKind;
use crate::error::ApiError;

/// Working keys derived from one data key.
pub struct DataKey {
    pub kid: String,
    token_keys: HashMap<TokenKind, (EncodingKey, DecodingKey)>,
    seal: Aes256Gcm,
    backup_mac: SecretBox<[u8; 32]>,
}

impl DataKey {
    pub fn derive(kid: &str, material: &[u8]) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(b"twofa-keyring-v1"), material);
        let expand = |info: &str| {
            let mut okm = [0u8; 32];
            hkdf.expand(info.as_bytes(), &mut okm).expect("32 bytes is a valid HKDF length");
            okm
        };
        let token_keys = TokenKind::ALL
            .into_iter()
            .map(|kind| {
                let secret = expand(&format!("jwt:{}", kind.typ()));
                (kind, (EncodingKey::from_secret(&secret), DecodingKey::from_secret(&secret)))
            })
            .collect();
        let seal = Aes256Gcm::new_from_slice(&expand("seal:totp-secret")).expect("32-byte AES key");
        DataKey {
            kid: kid.to_string(),
            token_keys,
            seal,
            backup_mac: SecretBox::new(Box::new(expand("mac:backup-code"))),
        }
    }

    pub(crate) fn token_keys(&self, kind: TokenKind) -> &(EncodingKey, DecodingKey) {
        &self.token_keys[&kind]
    }
}

/// All known keys; new material is always made with the newest.
pub struct KeySet {
    current: Arc<DataKey>,
    by_kid: HashMap<String, Arc<DataKey>>,
}

const SEALED_VERSION: u8 = 1;
const NONCE_BYTES: usize = 12;

impl KeySet {
    pub fn new(keys: Vec<DataKey>) -> Option<Self> {
        let keys: Vec<Arc<DataKey>> = keys.into_iter().map(Arc::new).collect();
        let current = keys.iter().max_by_key(|k| kid_number(&k.kid))?.clone();
        let by_kid = keys.into_iter().map(|k| (k.kid.clone(), k)).collect();
        Some(KeySet { current, by_kid })
    }

    pub fn current(&self) -> &DataKey {
        &self.current
    }

    pub fn get(&self, kid: &str) -> Option<&DataKey> {
        self.by_kid.get(kid).map(Arc::as_ref)
    }

    /// AES-256-GCM under the current key, bound to `aad` (what the secret is
    /// and whose). The output names its key:
    /// `version | kid length | kid | nonce | ciphertext and tag`.
    pub fn seal(&self, aad: &[u8], secret: &[u8]) -> Vec<u8> {
        let key = self.current();
        let nonce: [u8; NONCE_BYTES] = random_bytes();
        let ciphertext = key
            .seal
            .encrypt(&Nonce::from(nonce), Payload { msg: secret, aad })
            .expect("AES-GCM encryption of a short secret cannot fail");
        let kid = key.kid.as_bytes();
        let mut out = Vec::with_capacity(2 + kid.len() + NONCE_BYTES + ciphertext.len());
        out.push(SEALED_VERSION);
        out.push(u8::try_from(kid.len()).expect("kids are short"));
        out.extend_from_slice(kid);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Opens what [`KeySet::seal`] made with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, ApiError> {
        let corrupt = || ApiError::internal("a sealed secret does not open");
        let (&version, rest) = sealed.split_first().ok_or_else(corrupt)?;
        let (&kid_len, rest) = rest.split_first().ok_or_else(corrupt)?;
        if version != SEALED_VERSION || rest.len() < kid_len as usize + NONCE_BYTES {
            return Err(corrupt());
        }
        let (kid, rest) = rest.split_at(kid_len as usize);
        let (nonce, ciphertext) = rest.split_at(NONCE_BYTES);
        let kid = std::str::from_utf8(kid).map_err(|_| corrupt())?;
        let key = self.get(kid).ok_or_else(corrupt)?;
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| corrupt())?;
        key.seal.decrypt(&Nonce::from(nonce), Payload { msg: ciphertext, aad }).map_err(|_| corrupt())
    }

    /// The stored form of a backup code: `kid:` and a keyed HMAC-SHA256 of the
    /// user id and the normalised code. Without the key, the hashes say nothing.
    pub fn backup_code_hash(&self, user_id: &str, code: &str) -> String {
        hash_with(self.current(), user_id, code)
    }

    /// The hash `code` would have under the key named in `stored`, for lookups.
    pub fn backup_code_hash_like(&self, stored: &str, user_id: &str, code: &str) -> Option<String> {
        let (kid, _) = stored.split_once(':')?;
        self.get(kid).map(|key| hash_with(key, user_id, code))
    }
}

fn hash_with(key: &DataKey, user_id: &str, code: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.backup_mac.expose_secret()).expect("any key length");
    mac.update(user_id.as_bytes());
    mac.update(&[0]);
    mac.update(code.as_bytes());
    format!("{}:{}", key.kid, data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes()))
}

/// `k7` → 7. Unknown shapes sort first.
fn kid_number(kid: &str) -> u64 {
    kid.strip_prefix('k').and_then(|n| n.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> KeySet {
        KeySet::new(vec![DataKey::derive("k1", &[7u8; 32]), DataKey::derive("k2", &[9u8; 32])]).unwrap()
    }

    #[test]
    fn the_newest_key_is_current() {
        assert_eq!(keys().current().kid, "k2");
    }

    #[test]
    fn sealing_names_its_key_and_old_keys_still_open() {
        let old = KeySet::new(vec![DataKey::derive("k1", &[7u8; 32])]).unwrap();
        let sealed = old.seal(b"u", b"secret-bytes-here!!!");
        assert_eq!(&sealed[2..4], b"k1");
        assert!(keys().open(b"u", &sealed).is_ok());
    }

    #[test]
    fn tampered_or_truncated_blobs_are_refused() {
        let keys = keys();
        let mut sealed = keys.seal(b"u", b"secret-bytes-here!!!");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(keys.open(b"u", &sealed).is_err());
        assert!(keys.open(b"u", &sealed[..10]).is_err());
        assert!(keys.open(b"u", &[]).is_err());
    }

    #[test]
    fn backup_code_hashes_are_keyed_per_user() {
        let keys = keys();
        let a = keys.backup_code_hash("user-a", "abcdefghij");
        assert!(a.starts_with("k2:"));
        assert_ne!(a, keys.backup_code_hash("user-b", "abcdefghij"));
        assert_eq!(keys.backup_code_hash_like(&a, "user-a", "abcdefghij").as_deref(), Some(a.as_str()));
        let other_material = KeySet::new(vec![DataKey::derive("k2", &[1u8; 32])]).unwrap();
        assert_ne!(other_material.backup_code_hash("user-a", "abcdefghij"), a);
    }
}
