//! The RSA keys that sign access tokens (RS256), so that any service can
//! verify them from the published key set (JWKS) with no shared secret.
//!
//! Each key is generated here (RSA-2048), stored in the table with its public
//! parts in the clear and its private key sealed (AES-256-GCM) under the
//! KMS-wrapped data key, and opened at most once per container, on first use.
//! Its public parts are authenticated: an HMAC under the keyring's MAC key
//! (a key of its own, so that functions that only verify never hold the data
//! key) covers the kid, `n`, `e` and both times, and a key whose tag does not
//! verify is ignored, so a key planted in the table is neither trusted nor
//! published.
//! A key is published as soon as it is stored and signs only from its
//! `active_from`: a rotation stores the next key with `active_from` later than
//! every cache of the key set can be old (the containers' five minutes plus a
//! gateway's two hours). The key it replaces stays published until every
//! token it signed has expired.

use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::DecodingKey;
use secrecy::{ExposeSecret, SecretBox};
use serde::Serialize;
use sha2::Sha256;

use super::data_keys::KeySet;
use crate::domain::{ACCESS_TTL_SECS, CLOCK_SKEW_SECS};
use crate::error::ApiError;

/// A container reloads the key set when its copy is older than this.
pub const KEY_SET_MAX_AGE_SECS: i64 = 5 * 60;
/// Gateways (API Gateway's JWT authorizer) cache a key set for up to two
/// hours: a new key is published at least this long before it signs.
pub const DEFAULT_LEAD_SECS: i64 = 2 * 60 * 60;

/// One signing key as stored: public parts in the clear, the private key sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSigningKey {
    pub kid: String,
    /// RSA modulus and exponent, big-endian, base64url (the JWK's `n` and `e`).
    pub n: String,
    pub e: String,
    /// The PKCS#8 private key, sealed under a data key (`KeySet::seal`).
    pub sealed_private_key: Vec<u8>,
    pub published_at: i64,
    pub active_from: i64,
    /// `<mac kid>:<hex>`: the HMAC of the public parts and times ([`SigningKeyMac`]).
    pub mac: String,
}

impl StoredSigningKey {
    /// A new RSA-2048 key, sealed under the current data key and tagged with
    /// the MAC key, that may sign from `active_from`.
    pub fn generate(
        keys: &KeySet,
        mac: &SigningKeyMac,
        kid: &str,
        published_at: i64,
        active_from: i64,
    ) -> Result<Self, ApiError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| ApiError::internal("RSA key generation failed"))?;
        let pkcs8 = pair.as_der().map_err(|_| ApiError::internal("RSA key encoding failed"))?;
        let public = pair.public_key();
        let mut key = StoredSigningKey {
            kid: kid.to_string(),
            n: URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            e: URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            sealed_private_key: keys.seal(&signing_aad(kid), pkcs8.as_ref()),
            published_at,
            active_from,
            mac: String::new(),
        };
        key.mac = mac.tag(&key);
        Ok(key)
    }
}

/// The key that authenticates signing keys' public parts: 256 bits from KMS,
/// stored wrapped in the keyring under its own encryption context.
pub struct SigningKeyMac {
    kid: String,
    key: SecretBox<[u8; 32]>,
}

impl SigningKeyMac {
    pub fn new(kid: &str, material: &[u8]) -> Result<Self, ApiError> {
        let key: [u8; 32] =
            material.try_into().map_err(|_| ApiError::internal("the signing-key MAC key is not 32 bytes"))?;
        Ok(SigningKeyMac { kid: kid.to_string(), key: SecretBox::new(Box::new(key)) })
    }

    fn compute(&self, key: &StoredSigningKey) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.expose_secret()).expect("any key length");
        for part in [key.kid.as_bytes(), key.n.as_bytes(), key.e.as_bytes()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.update(&key.published_at.to_be_bytes());
        mac.update(&key.active_from.to_be_bytes());
        mac
    }

    /// `<mac kid>:<hex HMAC-SHA256>` of the key's kid, `n`, `e` and times.
    fn tag(&self, key: &StoredSigningKey) -> String {
        format!("{}:{}", self.kid, data_encoding::HEXLOWER.encode(&self.compute(key).finalize().into_bytes()))
    }

    /// Whether `key`'s stored tag is this MAC key's, over what it stores (constant time).
    fn verifies(&self, key: &StoredSigningKey) -> bool {
        let Some((kid, hex)) = key.mac.split_once(':') else { return false };
        let Ok(tag) = data_encoding::HEXLOWER.decode(hex.as_bytes()) else { return false };
        kid == self.kid && self.compute(key).verify_slice(&tag).is_ok()
    }
}

fn signing_aad(kid: &str) -> Vec<u8> {
    format!("twofa:signing-key:{kid}").into_bytes()
}

/// A published key, ready to verify, and to sign once opened.
pub struct SigningKey {
    pub stored: StoredSigningKey,
    decoding: DecodingKey,
    private: OnceLock<KeyPair>,
}

impl SigningKey {
    fn new(stored: StoredSigningKey) -> Result<Self, ApiError> {
        let decoding = DecodingKey::from_rsa_components(&stored.n, &stored.e)
            .map_err(|_| ApiError::internal("a stored signing key has a malformed public key"))?;
        Ok(SigningKey { stored, decoding, private: OnceLock::new() })
    }

    pub fn kid(&self) -> &str {
        &self.stored.kid
    }

    pub fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 of `message`. The private key is opened
    /// (unsealed and parsed) on the first signature of this container only.
    pub fn sign(&self, keys: &KeySet, message: &[u8]) -> Result<Vec<u8>, ApiError> {
        let pair = match self.private.get() {
            Some(pair) => pair,
            None => {
                let pkcs8 = keys.open(&signing_aad(&self.stored.kid), &self.stored.sealed_private_key)?;
                let pair =
                    KeyPair::from_pkcs8(&pkcs8).map_err(|_| ApiError::internal("a signing key does not parse"))?;
                self.private.get_or_init(|| pair)
            }
        };
        let mut signature = vec![0u8; pair.public_modulus_len()];
        pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature)
            .map_err(|_| ApiError::internal("RSA signing failed"))?;
        Ok(signature)
    }
}

/// A public key as the JWKS publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub kid: String,
    pub n: String,
    pub e: String,
}

/// Every stored signing key, oldest first.
pub struct SigningKeys {
    keys: Vec<SigningKey>,
}

impl SigningKeys {
    /// The stored keys whose tags `mac` verifies; any other is left out (and logged).
    pub fn new(mut stored: Vec<StoredSigningKey>, mac: &SigningKeyMac) -> Result<Self, ApiError> {
        stored.retain(|key| {
            let authentic = mac.verifies(key);
            if !authentic {
                tracing::error!(kid = key.kid, "a signing key in the table fails authentication: ignored");
            }
            authentic
        });
        stored.sort_by_key(|key| (key.active_from, key.published_at));
        Ok(SigningKeys { keys: stored.into_iter().map(SigningKey::new).collect::<Result<_, _>>()? })
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a key named `kid` is stored (published or not).
    pub fn contains(&self, kid: &str) -> bool {
        self.keys.iter().any(|key| key.kid() == kid)
    }

    /// The key that signs at `now`: the newest whose `active_from` has come.
    pub fn signer(&self, now: i64) -> Option<&SigningKey> {
        self.keys.iter().rev().find(|key| key.stored.active_from <= now)
    }

    /// The key named `kid`, if it is published at `now`.
    pub fn verifier(&self, kid: &str, now: i64) -> Option<&SigningKey> {
        self.published(now).find(|key| key.kid() == kid)
    }

    /// The keys a verifier needs at `now`: every key not yet retired, and a
    /// retired one until the last token it can have signed has expired (it
    /// stopped signing when its successor became active).
    pub fn published(&self, now: i64) -> impl Iterator<Item = &SigningKey> {
        let retired_at = move |i: usize| {
            self.keys[i + 1..].iter().map(|next| next.stored.active_from).filter(move |at| *at <= now).min()
        };
        self.keys.iter().enumerate().filter_map(move |(i, key)| match retired_at(i) {
            Some(at) if at + ACCESS_TTL_SECS + CLOCK_SKEW_SECS <= now => None,
            _ => Some(key),
        })
    }

    /// The JWKS at `now`: public parts only.
    pub fn jwks(&self, now: i64) -> Vec<Jwk> {
        self.published(now)
            .map(|key| Jwk {
                kty: "RSA",
                use_: "sig",
                alg: "RS256",
                kid: key.stored.kid.clone(),
                n: key.stored.n.clone(),
                e: key.stored.e.clone(),
            })
            .collect()
    }

    /// Stored keys no verifier needs any more at `now` (a rotation deletes them).
    pub fn unpublished(&self, now: i64) -> Vec<String> {
        let published: Vec<&str> = self.published(now).map(SigningKey::kid).collect();
        self.keys.iter().map(|key| key.kid().to_string()).filter(|kid| !published.contains(&kid.as_str())).collect()
    }

    /// A key stored but not signing yet at `now` (a rotation under way).
    pub fn pending(&self, now: i64) -> Option<&SigningKey> {
        self.keys.iter().find(|key| key.stored.active_from > now)
    }

    /// The kid after the newest: `s1`, `s2`, ...
    pub fn next_kid(&self) -> String {
        let newest = self.keys.iter().filter_map(|key| key.kid().strip_prefix('s')?.parse::<u64>().ok()).max();
        format!("s{}", newest.unwrap_or(0) + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::data_keys::DataKey;

    fn data_keys() -> KeySet {
        KeySet::new(vec![DataKey::derive("k1", &[5u8; 32])]).unwrap()
    }

    fn mac() -> SigningKeyMac {
        SigningKeyMac::new("m1", &[6u8; 32]).unwrap()
    }

    fn key(keys: &KeySet, kid: &str, active_from: i64) -> StoredSigningKey {
        StoredSigningKey::generate(keys, &mac(), kid, active_from - 100, active_from).unwrap()
    }

    #[test]
    fn the_private_key_is_stored_only_sealed_and_signs_what_the_public_key_verifies() {
        let keys = data_keys();
        let stored = key(&keys, "s1", 0);
        let pkcs8 = keys.open(&signing_aad("s1"), &stored.sealed_private_key).unwrap();
        assert!(!stored.sealed_private_key.windows(64).any(|w| pkcs8.windows(64).any(|p| p == w)));
        let signing = SigningKeys::new(vec![stored], &mac()).unwrap();
        let signature = signing.signer(0).unwrap().sign(&keys, b"message").unwrap();
        let public = aws_lc_rs::signature::RsaPublicKeyComponents {
            n: URL_SAFE_NO_PAD.decode(&signing.keys[0].stored.n).unwrap(),
            e: URL_SAFE_NO_PAD.decode(&signing.keys[0].stored.e).unwrap(),
        };
        assert!(public.verify(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256, b"message", &signature).is_ok());
        assert_eq!(signature.len(), 256, "RSA-2048");
    }

    #[test]
    fn a_key_signs_from_its_active_from_and_its_predecessor_stays_published_while_its_tokens_live() {
        let keys = data_keys();
        let signing = SigningKeys::new(vec![key(&keys, "s1", 0), key(&keys, "s2", 10_000)], &mac()).unwrap();
        assert_eq!(signing.signer(9_999).unwrap().kid(), "s1");
        assert_eq!(signing.signer(10_000).unwrap().kid(), "s2");
        let kids = |now| signing.jwks(now).into_iter().map(|jwk| jwk.kid).collect::<Vec<_>>();
        assert_eq!(kids(0), ["s1", "s2"], "the next key is published before it signs");
        let last_s1_token_expires = 10_000 + ACCESS_TTL_SECS + CLOCK_SKEW_SECS;
        assert_eq!(kids(last_s1_token_expires - 1), ["s1", "s2"]);
        assert_eq!(kids(last_s1_token_expires), ["s2"]);
        assert_eq!(signing.unpublished(last_s1_token_expires), ["s1"]);
        assert_eq!(signing.next_kid(), "s3");
    }

    #[test]
    fn the_jwks_has_no_private_part() {
        let keys = data_keys();
        let json = serde_json::to_value(SigningKeys::new(vec![key(&keys, "s1", 0)], &mac()).unwrap().jwks(0)).unwrap();
        let jwk = json[0].as_object().unwrap();
        let mut names: Vec<&str> = jwk.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, ["alg", "e", "kid", "kty", "n", "use"]);
        assert_eq!(json[0]["e"], "AQAB");
    }

    #[test]
    fn a_key_whose_public_parts_or_times_were_changed_or_that_another_mac_key_tagged_is_ignored() {
        let keys = data_keys();
        let genuine = key(&keys, "s1", 0);
        let attacker = aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048).unwrap();
        let attacker_n = URL_SAFE_NO_PAD.encode(attacker.public_key().modulus().big_endian_without_leading_zero());
        let planted = [
            StoredSigningKey { kid: "s900".into(), n: attacker_n.clone(), mac: String::new(), ..genuine.clone() },
            StoredSigningKey { n: attacker_n, ..genuine.clone() },
            StoredSigningKey { active_from: 9_999_999_999, ..genuine.clone() },
            StoredSigningKey { published_at: genuine.published_at + 1, ..genuine.clone() },
            StoredSigningKey { kid: "s2".into(), ..genuine.clone() },
            StoredSigningKey::generate(&keys, &SigningKeyMac::new("m1", &[7u8; 32]).unwrap(), "s3", 0, 0).unwrap(),
        ];
        for (i, forged) in planted.into_iter().enumerate() {
            let set = SigningKeys::new(vec![genuine.clone(), forged], &mac()).unwrap();
            let kids: Vec<String> = set.jwks(0).into_iter().map(|jwk| jwk.kid).collect();
            assert_eq!(kids, ["s1"], "planted key {i} was trusted");
            assert_eq!(set.jwks(0)[0].n, genuine.n);
        }
    }
}
