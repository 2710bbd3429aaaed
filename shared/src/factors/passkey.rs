//! Passkeys (WebAuthn) with `webauthn-rs`: the options a browser gets, and the
//! checks of what it sends back (challenge, origin, rp id hash, user presence
//! and verification, signature, format). The library does not know whether a
//! ceremony was used before, nor the counter the table holds: the callers
//! make a ceremony single use and a counter grow by DynamoDB conditions. A
//! sign-in's ceremony names no account, and its state travels sealed in its id.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use crate::crypto::KeySet;
use crate::error::ApiError;

/// The relying party of this deployment: its id and the origins whose client data counts.
pub struct RelyingParty {
    webauthn: Webauthn,
}

/// The first half of a ceremony: what the browser gets, and the state the server keeps.
pub struct Started {
    /// `PublicKeyCredentialCreationOptionsJSON` or `PublicKeyCredentialRequestOptionsJSON`.
    pub public_key: Value,
    pub state: String,
}

/// A passkey as registration proved it.
#[derive(Debug, Clone)]
pub struct NewPasskey {
    /// The credential as stored (public key, counter, flags), in the library's JSON.
    pub credential: String,
    /// The credential id, base64url.
    pub credential_id: String,
    /// Backup eligible: a synced passkey (amr `swk`), else bound to one device (`hwk`).
    pub synced: bool,
    pub counter: u32,
}

/// An assertion that verified against one of the offered passkeys.
#[derive(Debug, Clone)]
pub struct Assertion {
    /// The credential id that signed, base64url.
    pub credential_id: String,
    /// The signature counter it reported (0 for most synced passkeys).
    pub counter: u32,
    pub synced: bool,
}

fn invalid(why: impl std::fmt::Debug) -> ApiError {
    tracing::info!(reason = ?why, "passkey refused");
    ApiError::InvalidCredential
}

impl RelyingParty {
    pub fn new(rp_id: &str, origins: &[String], name: &str) -> Result<Self, ApiError> {
        let urls = origins
            .iter()
            .map(|origin| Url::parse(origin).map_err(|_| ApiError::internal("a WebAuthn origin is no URL")))
            .collect::<Result<Vec<_>, _>>()?;
        let first = urls.first().ok_or_else(|| ApiError::internal("no WebAuthn origin"))?;
        let mut builder = WebauthnBuilder::new(rp_id, first)
            .map_err(|err| ApiError::internal(format!("WebAuthn relying party: {err:?}")))?
            .rp_name(name);
        for url in &urls[1..] {
            builder = builder.append_allowed_origin(url);
        }
        let webauthn = builder.build().map_err(|err| ApiError::internal(format!("WebAuthn relying party: {err:?}")))?;
        Ok(RelyingParty { webauthn })
    }

    /// Creation options for `email`'s next passkey: user verification
    /// required, a discoverable credential preferred (for sign-in with the
    /// passkey alone), attestation `none`, and the user's passkeys excluded.
    pub fn start_registration(
        &self,
        user_handle: [u8; 16],
        email: &str,
        existing: &[&str],
    ) -> Result<Started, ApiError> {
        let exclude = existing
            .iter()
            .map(|stored| parse_stored(stored).map(|passkey| passkey.cred_id().clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let exclude = (!exclude.is_empty()).then_some(exclude);
        let (options, state) = self
            .webauthn
            .start_passkey_registration(Uuid::from_bytes(user_handle), email, email, exclude)
            .map_err(|err| ApiError::internal(format!("WebAuthn options: {err:?}")))?;
        let mut options = serde_json::to_value(options).map_err(ApiError::internal)?;
        // The library asks for no resident key; a passkey that can sign in alone needs one.
        let selection = &mut options["publicKey"]["authenticatorSelection"];
        selection["residentKey"] = "preferred".into();
        selection["requireResidentKey"] = false.into();
        Ok(Started { public_key: options["publicKey"].take(), state: to_json(&state)? })
    }

    /// Checks a `RegistrationResponseJSON` against the ceremony's state.
    pub fn finish_registration(&self, response: &Value, state: &str) -> Result<NewPasskey, ApiError> {
        well_formed(response)?;
        let response: RegisterPublicKeyCredential = serde_json::from_value(response.clone()).map_err(invalid)?;
        let state: PasskeyRegistration = from_json(state)?;
        let passkey = self.webauthn.finish_passkey_registration(&response, &state).map_err(invalid)?;
        let attested: &[u8] = passkey.cred_id().as_ref();
        if attested != response.raw_id.as_slice() || attested.len() > MAX_CREDENTIAL_ID_BYTES {
            return Err(invalid("the attested credential id is not rawId, or over 1023 bytes"));
        }
        let credential_id = URL_SAFE_NO_PAD.encode(attested);
        let stored = serde_json::to_value(&passkey).map_err(ApiError::internal)?;
        Ok(NewPasskey {
            credential_id,
            synced: stored["cred"]["backup_eligible"].as_bool().unwrap_or(false),
            counter: stored["cred"]["counter"].as_u64().unwrap_or(0) as u32,
            credential: stored.to_string(),
        })
    }

    /// Request options for proving one of `passkeys` (stored forms), user verification required.
    pub fn start_assertion(&self, passkeys: &[&str]) -> Result<Started, ApiError> {
        let passkeys = passkeys.iter().map(|stored| parse_stored(stored)).collect::<Result<Vec<_>, _>>()?;
        let (options, state) = self
            .webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(|err| ApiError::internal(format!("WebAuthn options: {err:?}")))?;
        let mut options = serde_json::to_value(options).map_err(ApiError::internal)?;
        Ok(Started { public_key: options["publicKey"].take(), state: to_json(&state)? })
    }

    /// Checks an `AuthenticationResponseJSON` against the ceremony's state
    /// (which names the passkeys it may come from).
    pub fn finish_assertion(&self, response: &Value, state: &str) -> Result<Assertion, ApiError> {
        well_formed(response)?;
        let response: PublicKeyCredential = serde_json::from_value(response.clone()).map_err(invalid)?;
        let state: PasskeyAuthentication = from_json(state)?;
        let result = self.webauthn.finish_passkey_authentication(&response, &state).map_err(invalid)?;
        Ok(Assertion {
            credential_id: URL_SAFE_NO_PAD.encode(result.cred_id()),
            counter: result.counter(),
            synced: result.backup_eligible(),
        })
    }
}

/// A passkey sign-in's assertion as the browser sent it, parsed (not yet
/// verified): the credential it names and the user handle it claims.
pub struct SignInAssertion {
    response: PublicKeyCredential,
    /// The credential id, base64url.
    pub credential_id: String,
    /// The `userHandle` (the account's `passkeyUser`, in bytes); the signature does not cover it.
    pub user_handle: Vec<u8>,
}

impl SignInAssertion {
    /// Reads an `AuthenticationResponseJSON` of a sign-in: it must be well
    /// formed and carry a user handle (a discoverable credential always does).
    pub fn parse(response: &Value) -> Result<Self, ApiError> {
        well_formed(response)?;
        let response: PublicKeyCredential = serde_json::from_value(response.clone()).map_err(invalid)?;
        let user_handle = response.get_user_unique_id().ok_or_else(|| invalid("no user handle"))?.to_vec();
        if response.get_credential_id().len() > MAX_CREDENTIAL_ID_BYTES {
            return Err(invalid("a credential id over 1023 bytes"));
        }
        let credential_id = URL_SAFE_NO_PAD.encode(response.get_credential_id());
        Ok(SignInAssertion { response, credential_id, user_handle })
    }
}

impl RelyingParty {
    /// Request options for a sign-in with any of the user's discoverable
    /// passkeys: no `allowCredentials` (the browser offers them, also through
    /// autofill), user verification required.
    pub fn start_sign_in(&self) -> Result<Started, ApiError> {
        let (options, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|err| ApiError::internal(format!("WebAuthn options: {err:?}")))?;
        let mut options = serde_json::to_value(options).map_err(ApiError::internal)?;
        let mut public_key = options["publicKey"].take();
        if let Some(fields) = public_key.as_object_mut() {
            fields.remove("allowCredentials");
        }
        Ok(Started { public_key, state: to_json(&state)? })
    }

    /// Checks a sign-in's assertion against the ceremony's state, the one
    /// passkey (stored form) its credential id names, and `passkey_user`, the
    /// user handle of that passkey's account (base64url): the signature does
    /// not cover the handle the browser sent, and the library compares none.
    pub fn finish_sign_in(
        &self,
        assertion: &SignInAssertion,
        state: &str,
        stored: &str,
        passkey_user: Option<&str>,
    ) -> Result<Assertion, ApiError> {
        let handle = passkey_user.and_then(|handle| URL_SAFE_NO_PAD.decode(handle).ok());
        if handle.as_deref() != Some(assertion.user_handle.as_slice()) {
            return Err(invalid("the user handle is not the passkey's account's"));
        }
        let state: DiscoverableAuthentication = from_json(state)?;
        let passkey = parse_stored(stored)?;
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(&assertion.response, state, &passkey)
            .map_err(invalid)?;
        Ok(Assertion {
            credential_id: URL_SAFE_NO_PAD.encode(result.cred_id()),
            counter: result.counter(),
            synced: result.backup_eligible(),
        })
    }
}

/// The counter rule: a passkey's signature counter must grow, unless it is 0
/// as stored and as presented (synced passkeys count nothing).
pub fn counter_grows(stored: u32, presented: u32) -> bool {
    (stored == 0 && presented == 0) || presented > stored
}

/// The purpose of a passkey sign-in's ceremony (from `passkey/options`, at `passkey/login`).
pub const SIGN_IN: &str = "sign-in";

/// A ceremony whose server-side state travels in its id, so that starting it
/// writes nothing: the library's state, the purpose and the expiry, sealed
/// under the data key with the purpose as associated data (an id sealed for
/// another purpose, or anything else sealed, does not open as this one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedCeremony {
    pub state: String,
    pub expires_at: i64,
    /// What makes it single use: the SHA-256 of the id's bytes, hex (the key of its used-marker).
    pub key: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CeremonyContent {
    purpose: String,
    #[serde(rename = "exp")]
    expires_at: i64,
    state: String,
}

fn ceremony_aad(purpose: &str) -> Vec<u8> {
    format!("twofa:passkey-ceremony:{purpose}").into_bytes()
}

impl KeySet {
    /// The id of a ceremony for `purpose` that carries its own `state` until `expires_at`: base64url.
    pub fn seal_ceremony(&self, purpose: &str, state: &str, expires_at: i64) -> String {
        let content = CeremonyContent { purpose: purpose.to_string(), expires_at, state: state.to_string() };
        let plain = serde_json::to_vec(&content).expect("a ceremony serialises");
        URL_SAFE_NO_PAD.encode(self.seal(&ceremony_aad(purpose), &plain))
    }

    /// Opens a ceremony id that [`KeySet::seal_ceremony`] made for `purpose`
    /// and that is live at `now`; anything else (forged, altered, of another
    /// purpose, expired) is `ceremony_expired`. Whether it was used is the
    /// table's to say.
    pub fn open_ceremony(&self, purpose: &str, ceremony_id: &str, now: i64) -> Result<SealedCeremony, ApiError> {
        let sealed = URL_SAFE_NO_PAD.decode(ceremony_id).map_err(|_| ApiError::CeremonyExpired)?;
        let plain = self.open(&ceremony_aad(purpose), &sealed).map_err(|_| ApiError::CeremonyExpired)?;
        let content: CeremonyContent = serde_json::from_slice(&plain).map_err(|_| ApiError::CeremonyExpired)?;
        if content.purpose != purpose || content.expires_at <= now {
            return Err(ApiError::CeremonyExpired);
        }
        Ok(SealedCeremony {
            state: content.state,
            expires_at: content.expires_at,
            key: data_encoding::HEXLOWER.encode(&Sha256::digest(&sealed)),
        })
    }
}

/// WebAuthn's limit on a credential id.
const MAX_CREDENTIAL_ID_BYTES: usize = 1023;

/// A `PublicKeyCredential`'s own rules, which the library does not check:
/// its `type` is `public-key`, and its `id` is `rawId` in base64url (the
/// library reads only `rawId`, so a response naming two ids is refused).
fn well_formed(response: &Value) -> Result<(), ApiError> {
    let one_id = matches!((response["id"].as_str(), response["rawId"].as_str()), (Some(id), Some(raw)) if id == raw);
    if one_id && response["type"] == "public-key" {
        Ok(())
    } else {
        Err(invalid("not a public-key credential with one id"))
    }
}

/// What keys a credential id's item: SHA-256 of its bytes (ids may be 1023 bytes long), hex.
pub fn credential_key(credential_id: &str) -> String {
    let bytes = URL_SAFE_NO_PAD.decode(credential_id).unwrap_or_else(|_| credential_id.as_bytes().to_vec());
    data_encoding::HEXLOWER.encode(&Sha256::digest(bytes))
}

fn parse_stored(stored: &str) -> Result<Passkey, ApiError> {
    serde_json::from_str(stored).map_err(|_| ApiError::internal("a stored passkey does not parse"))
}

fn to_json<T: serde::Serialize>(state: &T) -> Result<String, ApiError> {
    serde_json::to_string(state).map_err(ApiError::internal)
}

fn from_json<T: serde::de::DeserializeOwned>(state: &str) -> Result<T, ApiError> {
    serde_json::from_str(state).map_err(|_| ApiError::internal("a stored ceremony state does not parse"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DataKey;

    fn keys() -> KeySet {
        KeySet::new(vec![DataKey::derive("k1", &[7u8; 32])]).unwrap()
    }

    fn expired(opened: Result<SealedCeremony, ApiError>) -> bool {
        matches!(opened, Err(ApiError::CeremonyExpired))
    }

    fn relying_party() -> RelyingParty {
        RelyingParty::new("app.example.com", &["https://app.example.com".into()], "TwoFA").unwrap()
    }

    #[test]
    fn a_sealed_ceremony_opens_for_its_purpose_until_it_expires() {
        let keys = keys();
        let id = keys.seal_ceremony(SIGN_IN, "{\"state\":1}", 1_000);
        let opened = keys.open_ceremony(SIGN_IN, &id, 999).unwrap();
        assert_eq!((opened.state.as_str(), opened.expires_at), ("{\"state\":1}", 1_000));
        assert_eq!(opened.key.len(), 64);
        assert_ne!(opened.key, keys.open_ceremony(SIGN_IN, &keys.seal_ceremony(SIGN_IN, "{}", 1_000), 0).unwrap().key);
        assert!(expired(keys.open_ceremony(SIGN_IN, &id, 1_000)), "expired");
        assert!(expired(keys.open_ceremony("registration", &id, 0)), "another purpose");
        let other_purpose = keys.seal_ceremony("registration", "{}", 1_000);
        assert!(expired(keys.open_ceremony(SIGN_IN, &other_purpose, 0)));
    }

    #[test]
    fn a_forged_or_altered_ceremony_id_does_not_open() {
        let keys = keys();
        let id = keys.seal_ceremony(SIGN_IN, "{}", 1_000);
        let mut bytes = URL_SAFE_NO_PAD.decode(&id).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let other_keys = KeySet::new(vec![DataKey::derive("k1", &[8u8; 32])]).unwrap();
        let totp_secret = URL_SAFE_NO_PAD.encode(keys.seal_totp_secret("user", &[1u8; 20]));
        for forged in [
            URL_SAFE_NO_PAD.encode(&bytes),
            format!("{id}A"),
            id[..id.len() - 1].to_string(),
            "not base64url!".into(),
            String::new(),
            other_keys.seal_ceremony(SIGN_IN, "{}", 1_000),
            totp_secret,
        ] {
            assert!(expired(keys.open_ceremony(SIGN_IN, &forged, 0)), "{forged}");
        }
    }

    #[test]
    fn sign_in_options_name_no_credential_and_require_user_verification() {
        let started = relying_party().start_sign_in().unwrap();
        let options = &started.public_key;
        assert_eq!(options["userVerification"], "required");
        assert_eq!(options["rpId"], "app.example.com");
        assert!(options.get("allowCredentials").is_none(), "{options}");
        assert_eq!(URL_SAFE_NO_PAD.decode(options["challenge"].as_str().unwrap()).unwrap().len(), 32);
        let again = relying_party().start_sign_in().unwrap();
        assert_ne!(options["challenge"], again.public_key["challenge"]);
    }

    #[test]
    fn a_counter_must_grow_unless_both_are_zero() {
        assert!(counter_grows(0, 0) && counter_grows(0, 1) && counter_grows(4, 5));
        assert!(!counter_grows(5, 5) && !counter_grows(5, 4) && !counter_grows(5, 0) && !counter_grows(1, 0));
    }
}
