//! Passkeys (WebAuthn) with `webauthn-rs`: the options a browser gets, and the
//! checks of what it sends back (challenge, origin, rp id hash, user presence
//! and verification, signature, format). The library does not know whether a
//! ceremony was used before, nor the counter the table holds: the callers
//! make a ceremony single use and a counter grow by DynamoDB conditions.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid,
    Webauthn, WebauthnBuilder,
};

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
