//! Keys without plaintext at rest: a 256-bit data key from KMS `GenerateDataKey`
//! is stored only KMS-encrypted in the table, unwrapped once per container and
//! cached (`authctl init` creates it). Every working key (one per internal token kind, one to seal secrets,
//! one to hash backup codes) is derived from it with HKDF, and carries its
//! `kid` so that keys can rotate. The RSA keys that sign access tokens are
//! stored sealed under it (`signing_keys`), read with the data keys at a cold
//! start and reloaded every five minutes after.

use std::collections::HashMap;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use jsonwebtoken::{DecodingKey, EncodingKey};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;
use tokio::sync::{OnceCell, RwLock};

use crate::clock::Clock;
use crate::domain::TokenKind;
use crate::error::ApiError;
use crate::repo::{KeyringEntry, Repo};
use crate::signing_keys::{KEY_SET_MAX_AGE_SECS, SigningKeyMac, SigningKeys, StoredSigningKey};
use crate::totp::TotpSecret;

/// The KMS encryption context of every data key: it binds the wrapped key to
/// its purpose and id (and shows in CloudTrail, so it holds nothing secret).
const CONTEXT_PURPOSE: (&str, &str) = ("purpose", "twofa-keyring");

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

    /// AES-256-GCM under the current key, the user id as associated data, so a
    /// ciphertext copied onto another user fails to open.
    pub fn seal_totp_secret(&self, user_id: &str, secret: &[u8]) -> Vec<u8> {
        self.seal(&totp_aad(user_id), secret)
    }

    /// Opens what [`KeySet::seal_totp_secret`] made for the same user.
    pub fn open_totp_secret(&self, user_id: &str, sealed: &[u8]) -> Result<TotpSecret, ApiError> {
        self.open(&totp_aad(user_id), sealed).map(TotpSecret::from_bytes)
    }

    /// AES-256-GCM under the current key, bound to `aad` (what the secret is
    /// and whose). The output names its key:
    /// `version | kid length | kid | nonce | ciphertext and tag`.
    pub fn seal(&self, aad: &[u8], secret: &[u8]) -> Vec<u8> {
        let key = self.current();
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).expect("the OS random source works");
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

fn totp_aad(user_id: &str) -> Vec<u8> {
    format!("twofa:totp-secret:{user_id}").into_bytes()
}

/// `k7` → 7. Unknown shapes sort first.
fn kid_number(kid: &str) -> u64 {
    kid.strip_prefix('k').and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// The KMS encryption context of the signing-key MAC key.
const MAC_CONTEXT_PURPOSE: (&str, &str) = ("purpose", "twofa-signing-key-mac");

/// Loads the data keys once per container (only functions that use them
/// ask), and keeps the signing keys, reloaded when five minutes old and
/// authenticated with the MAC key (unwrapped once per container). Nothing
/// here creates keys: `authctl init` made the first ones, and the operator's
/// commands rotate them.
pub struct Keyring {
    kms: aws_sdk_kms::Client,
    repo: Repo,
    kms_key_id: String,
    clock: Arc<dyn Clock>,
    keys: OnceCell<KeySet>,
    mac: OnceCell<SigningKeyMac>,
    /// The signing keys and when they were read (unix seconds).
    signing: RwLock<Option<(i64, Arc<SigningKeys>)>>,
}

impl Keyring {
    pub fn new(kms: aws_sdk_kms::Client, repo: Repo, kms_key_id: String, clock: Arc<dyn Clock>) -> Self {
        Keyring {
            kms,
            repo,
            kms_key_id,
            clock,
            keys: OnceCell::new(),
            mac: OnceCell::new(),
            signing: RwLock::new(None),
        }
    }

    /// The unwrapped data keys. The first call per container reads the table
    /// and calls KMS; later calls cost nothing. A failure is retried next request.
    pub async fn keys(&self) -> Result<&KeySet, ApiError> {
        self.keys.get_or_try_init(|| self.load()).await
    }

    /// The published signing keys (public parts; private ones still sealed),
    /// no older than [`KEY_SET_MAX_AGE_SECS`]: a reload is one Query (and, the
    /// first time in a container, the MAC key's unwrapping). A failed reload
    /// keeps the last set. `fresher_than`: reload if the set was read before
    /// it (a verifier meeting an unknown `kid`).
    pub async fn signing_keys(&self, fresher_than: Option<i64>) -> Result<Arc<SigningKeys>, ApiError> {
        let now = self.clock.now().timestamp();
        let oldest = fresher_than.unwrap_or(now - KEY_SET_MAX_AGE_SECS);
        let cached = self.signing.read().await.clone();
        match cached {
            Some((read_at, keys)) if read_at > oldest => Ok(keys),
            cached => match self.reload_signing_keys(now).await {
                Ok(keys) => Ok(keys),
                Err(err) => match cached {
                    Some((_, keys)) if !keys.is_empty() => {
                        tracing::warn!(error = %err, "signing keys not reloaded: the last set stays in use");
                        Ok(keys)
                    }
                    _ => Err(err),
                },
            },
        }
    }

    async fn reload_signing_keys(&self, now: i64) -> Result<Arc<SigningKeys>, ApiError> {
        let items = self.repo.keyring_items().await?;
        let mac = self.mac.get_or_try_init(|| self.unwrap_mac_key(&items.mac_keys)).await?;
        Ok(self.remember(now, SigningKeys::new(items.signing_keys, mac)?).await)
    }

    /// The signing keys, with one that signs now.
    pub async fn signing_keys_to_sign(&self) -> Result<Arc<SigningKeys>, ApiError> {
        let signing = self.signing_keys(None).await?;
        if signing.signer(self.clock.now().timestamp()).is_none() {
            return Err(ApiError::internal("no signing key is active: run `authctl init`"));
        }
        Ok(signing)
    }

    /// The MAC key that tags signing keys (unwrapped once per container).
    pub async fn signing_key_mac(&self) -> Result<&SigningKeyMac, ApiError> {
        match self.mac.get() {
            Some(mac) => Ok(mac),
            None => {
                let items = self.repo.keyring_items().await?;
                self.mac.get_or_try_init(|| self.unwrap_mac_key(&items.mac_keys)).await
            }
        }
    }

    async fn remember(&self, now: i64, keys: SigningKeys) -> Arc<SigningKeys> {
        let keys = Arc::new(keys);
        *self.signing.write().await = (!keys.is_empty()).then(|| (now, keys.clone()));
        keys
    }

    /// One Query for every keyring item; the data keys and the MAC key are
    /// unwrapped at once (two KMS calls in parallel), and the signing keys of
    /// the same read are kept: no second Query at a cold start.
    async fn load(&self) -> Result<KeySet, ApiError> {
        let items = self.repo.keyring_items().await?;
        if items.data_keys.is_empty() {
            return Err(ApiError::internal("the keyring has no data key: run `authctl init`"));
        }
        let data_keys = async {
            let mut keys = Vec::with_capacity(items.data_keys.len());
            for entry in &items.data_keys {
                let material = unwrap_with(&self.kms, &self.kms_key_id, CONTEXT_PURPOSE, entry).await?;
                keys.push(DataKey::derive(&entry.kid, &material));
            }
            Ok::<_, ApiError>(keys)
        };
        let mac = self.mac.get_or_try_init(|| self.unwrap_mac_key(&items.mac_keys));
        let (data_keys, mac) = tokio::try_join!(data_keys, mac)?;
        tracing::info!(keys = data_keys.len(), signing_keys = items.signing_keys.len(), "keyring loaded");
        self.remember(self.clock.now().timestamp(), SigningKeys::new(items.signing_keys, mac)?).await;
        Ok(KeySet::new(data_keys).expect("at least one key"))
    }

    async fn unwrap_mac_key(&self, entries: &[KeyringEntry]) -> Result<SigningKeyMac, ApiError> {
        let entry = entries
            .iter()
            .max_by_key(|entry| entry.kid.trim_start_matches('m').parse::<u64>().unwrap_or(0))
            .ok_or_else(|| ApiError::internal("the keyring has no signing-key MAC key: run `authctl init`"))?;
        let material = unwrap_with(&self.kms, &self.kms_key_id, MAC_CONTEXT_PURPOSE, entry).await?;
        SigningKeyMac::new(&entry.kid, &material)
    }
}

/// KMS `Decrypt` of a wrapped keyring key, under its purpose and kid.
async fn unwrap_with(
    kms: &aws_sdk_kms::Client,
    kms_key_id: &str,
    purpose: (&str, &str),
    entry: &KeyringEntry,
) -> Result<Vec<u8>, ApiError> {
    let out = kms
        .decrypt()
        .key_id(kms_key_id)
        .ciphertext_blob(Blob::new(entry.wrapped.clone()))
        .encryption_context(purpose.0, purpose.1)
        .encryption_context("kid", &entry.kid)
        .send()
        .await
        .map_err(ApiError::aws)?;
    Ok(out.plaintext.ok_or_else(|| ApiError::internal("KMS returned no plaintext"))?.into_inner())
}

/// A new 256-bit key from KMS `GenerateDataKey`, wrapped under `purpose` and
/// `kid` (what `authctl init` stores).
async fn generate_wrapped(
    kms: &aws_sdk_kms::Client,
    kms_key_id: &str,
    purpose: (&str, &str),
    kid: &str,
) -> Result<(KeyringEntry, Vec<u8>), ApiError> {
    let generated = kms
        .generate_data_key()
        .key_id(kms_key_id)
        .key_spec(DataKeySpec::Aes256)
        .encryption_context(purpose.0, purpose.1)
        .encryption_context("kid", kid)
        .send()
        .await
        .map_err(ApiError::aws)?;
    let wrapped = generated.ciphertext_blob.ok_or_else(|| ApiError::internal("KMS returned no ciphertext"))?;
    let plaintext = generated.plaintext.ok_or_else(|| ApiError::internal("KMS returned no plaintext"))?;
    Ok((KeyringEntry { kid: kid.to_string(), wrapped: wrapped.into_inner() }, plaintext.into_inner()))
}

/// What `authctl init` found or made.
#[derive(Debug, PartialEq, Eq)]
pub struct Initialised {
    /// The kinds of key this run created (`data key k1`, ...); empty when all existed.
    pub created: Vec<String>,
}

/// Creates the first data key, the signing-key MAC key and the first signing
/// key, each only if none exists (conditional puts: racing runs agree on one
/// of each). Run once per deployment, with the deployer's credentials: no
/// function can write the keyring or generate keys.
pub async fn initialise(
    kms: &aws_sdk_kms::Client,
    repo: &Repo,
    kms_key_id: &str,
    clock: Arc<dyn Clock>,
) -> Result<Initialised, ApiError> {
    let mut created = Vec::new();
    let items = repo.keyring_items().await?;
    if items.data_keys.is_empty() {
        let (entry, _) = generate_wrapped(kms, kms_key_id, CONTEXT_PURPOSE, "k1").await?;
        if repo.add_data_key(&entry).await? {
            created.push("data key k1".to_string());
        }
    }
    if items.mac_keys.is_empty() {
        let (entry, _) = generate_wrapped(kms, kms_key_id, MAC_CONTEXT_PURPOSE, "m1").await?;
        if repo.add_mac_key(&entry).await? {
            created.push("signing-key MAC key m1".to_string());
        }
    }
    if items.signing_keys.is_empty() {
        let keyring = Keyring::new(kms.clone(), repo.clone(), kms_key_id.to_string(), clock.clone());
        let keys = keyring.keys().await?;
        let mac = keyring.signing_key_mac().await?;
        let now = clock.now().timestamp();
        let first = StoredSigningKey::generate(keys, mac, "s1", now, now)?;
        if repo.add_signing_key(&first).await? {
            created.push("signing key s1".to_string());
        }
    }
    Ok(Initialised { created })
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
    fn sealed_secrets_open_only_for_their_user() {
        let keys = keys();
        let sealed = keys.seal_totp_secret("user-a", b"0123456789abcdefghij");
        assert!(!sealed.windows(20).any(|w| w == b"0123456789abcdefghij"), "plaintext leaked");
        assert_eq!(keys.open_totp_secret("user-a", &sealed).unwrap().bytes(), b"0123456789abcdefghij");
        assert!(keys.open_totp_secret("user-b", &sealed).is_err());
    }

    #[test]
    fn sealing_names_its_key_and_old_keys_still_open() {
        let old = KeySet::new(vec![DataKey::derive("k1", &[7u8; 32])]).unwrap();
        let sealed = old.seal_totp_secret("u", b"secret-bytes-here!!!");
        assert_eq!(&sealed[2..4], b"k1");
        assert!(keys().open_totp_secret("u", &sealed).is_ok());
    }

    #[test]
    fn tampered_or_truncated_blobs_are_refused() {
        let keys = keys();
        let mut sealed = keys.seal_totp_secret("u", b"secret-bytes-here!!!");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(keys.open_totp_secret("u", &sealed).is_err());
        assert!(keys.open_totp_secret("u", &sealed[..10]).is_err());
        assert!(keys.open_totp_secret("u", &[]).is_err());
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
