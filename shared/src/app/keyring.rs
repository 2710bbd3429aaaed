//! Where the keys come from: a 256-bit data key from KMS `GenerateDataKey`
//! is stored only KMS-encrypted in the table, unwrapped once per container and
//! cached (`authctl init` creates it). The RSA keys that sign access tokens
//! are stored sealed under it (`crypto::signing_keys`), read with the data
//! keys at a cold start and reloaded every five minutes after.

use std::sync::Arc;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use tokio::sync::{OnceCell, RwLock};

use crate::clock::Clock;
use crate::crypto::{DataKey, KEY_SET_MAX_AGE_SECS, KeySet, SigningKeyMac, SigningKeys, StoredSigningKey};
use crate::error::ApiError;
use crate::store::{KeyringEntry, Repo};

/// The KMS encryption context of every data key: it binds the wrapped key to
/// its purpose and id (and shows in CloudTrail, so it holds nothing secret).
const CONTEXT_PURPOSE: (&str, &str) = ("purpose", "twofa-keyring");

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
