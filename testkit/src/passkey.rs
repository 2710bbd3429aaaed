//! A software passkey (WebAuthn authenticator) for tests and the README's
//! walk-through: an ES256 key pair made here (aws-lc-rs), "none" attestation,
//! and the authenticator data and client data a browser would hand the
//! relying party, in the JSON forms of WebAuthn Level 3
//! (`RegistrationResponseJSON`, `AuthenticationResponseJSON`). Its flags,
//! counter and signature can be set wrong on purpose.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;

/// How the authenticator behaves: a platform passkey by default (user
/// present and verified, device-bound, counting signatures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Behaviour {
    pub user_present: bool,
    pub user_verified: bool,
    /// Backup eligible and backed up, as synced passkeys are (they also count nothing: 0).
    pub synced: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour { user_present: true, user_verified: true, synced: false }
    }
}

/// One credential: its id, private key, the user handle it was made for, its counter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SoftPasskey {
    pub credential_id: Vec<u8>,
    pkcs8: Vec<u8>,
    pub rp_id: String,
    pub user_handle: Vec<u8>,
    pub counter: u32,
    pub behaviour: Behaviour,
}

/// What an assertion is made with, for tests that break one part of it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tamper {
    /// Sign other bytes than the authenticator data and client data hash.
    pub bad_signature: bool,
    /// Report this counter instead of the next one.
    pub counter: Option<u32>,
}

impl SoftPasskey {
    /// A new credential for the creation options (`publicKey` of the
    /// server's answer), as a browser at `origin` would create it; returns
    /// it and the `RegistrationResponseJSON` to send back.
    pub fn register(public_key: &Value, origin: &str, behaviour: Behaviour) -> (Self, Value) {
        let rp_id = public_key["rp"]["id"].as_str().expect("rp.id").to_string();
        let user_handle =
            B64.decode(public_key["user"]["id"].as_str().expect("user.id")).expect("user.id is base64url");
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new()).expect("keygen");
        let mut credential_id = vec![0u8; 32];
        aws_lc_rs::rand::fill(&mut credential_id).expect("random");
        let passkey =
            SoftPasskey { credential_id, pkcs8: pkcs8.as_ref().to_vec(), rp_id, user_handle, counter: 0, behaviour };
        let response = passkey.registration(public_key, origin);
        (passkey, response)
    }

    /// The `RegistrationResponseJSON` of this credential for creation options.
    fn registration(&self, public_key: &Value, origin: &str) -> Value {
        let passkey = self;
        let client_data = client_data("webauthn.create", &public_key["challenge"], origin);
        let mut auth_data = passkey.auth_data_head(AT);
        auth_data.extend([0u8; 16]); // AAGUID: none
        auth_data.extend((passkey.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&passkey.credential_id);
        let point = passkey.pair().public_key().as_ref().to_vec();
        let cose = Cbor::Map(vec![
            (Cbor::Uint(1), Cbor::Uint(2)), // kty: EC2
            (Cbor::Uint(3), Cbor::Neg(-7)), // alg: ES256
            (Cbor::Neg(-1), Cbor::Uint(1)), // crv: P-256
            (Cbor::Neg(-2), Cbor::Bytes(point[1..33].to_vec())),
            (Cbor::Neg(-3), Cbor::Bytes(point[33..65].to_vec())),
        ]);
        cose.encode(&mut auth_data);
        let mut attestation = Vec::new();
        Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(Vec::new())),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ])
        .encode(&mut attestation);
        let id = B64.encode(&passkey.credential_id);
        json!({
            "id": id, "rawId": id, "type": "public-key",
            "response": {
                "clientDataJSON": B64.encode(client_data.as_bytes()),
                "attestationObject": B64.encode(&attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        })
    }

    /// This credential (same id and key) registered again for other creation
    /// options, as a copied authenticator would: the `RegistrationResponseJSON`.
    pub fn register_again(&self, public_key: &Value, origin: &str) -> Value {
        let mut copy = self.clone();
        copy.rp_id = public_key["rp"]["id"].as_str().expect("rp.id").to_string();
        copy.registration(public_key, origin)
    }

    /// An assertion for the request options (`publicKey` of the server's
    /// answer), as a browser at `origin` would make it: the
    /// `AuthenticationResponseJSON` to send back. The counter grows by one
    /// (a synced passkey reports 0).
    pub fn assert(&mut self, public_key: &Value, origin: &str, tamper: Tamper) -> Value {
        if !self.behaviour.synced {
            self.counter += 1;
        }
        let counter = tamper.counter.unwrap_or(self.counter);
        let client_data = client_data("webauthn.get", &public_key["challenge"], origin);
        let mut auth_data = self.auth_data_head(0);
        auth_data.truncate(33);
        auth_data.extend(counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(client_data.as_bytes()));
        if tamper.bad_signature {
            signed.push(0);
        }
        let signature = self.pair().sign(&SystemRandom::new(), &signed).expect("sign");
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id, "rawId": id, "type": "public-key",
            "response": {
                "clientDataJSON": B64.encode(client_data.as_bytes()),
                "authenticatorData": B64.encode(&auth_data),
                "signature": B64.encode(signature.as_ref()),
                "userHandle": B64.encode(&self.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        })
    }

    fn pair(&self) -> EcdsaKeyPair {
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &self.pkcs8).expect("our own key")
    }

    /// rpIdHash, flags, counter.
    fn auth_data_head(&self, extra_flags: u8) -> Vec<u8> {
        let b = self.behaviour;
        let flags = extra_flags
            | if b.user_present { UP } else { 0 }
            | if b.user_verified { UV } else { 0 }
            | if b.synced { BE | BS } else { 0 };
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend(self.counter.to_be_bytes());
        data
    }
}

fn client_data(kind: &str, challenge: &Value, origin: &str) -> String {
    json!({ "type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false }).to_string()
}

/// The few CBOR shapes an attestation object needs.
enum Cbor {
    Uint(u64),
    Neg(i64),
    Bytes(Vec<u8>),
    Text(String),
    Map(Vec<(Cbor, Cbor)>),
}

impl Cbor {
    fn encode(&self, out: &mut Vec<u8>) {
        fn head(out: &mut Vec<u8>, major: u8, n: u64) {
            let major = major << 5;
            match n {
                0..=23 => out.push(major | n as u8),
                24..=0xff => out.extend([major | 24, n as u8]),
                0x100..=0xffff => {
                    out.push(major | 25);
                    out.extend((n as u16).to_be_bytes());
                }
                _ => {
                    out.push(major | 26);
                    out.extend((n as u32).to_be_bytes());
                }
            }
        }
        match self {
            Cbor::Uint(n) => head(out, 0, *n),
            Cbor::Neg(n) => head(out, 1, (-1 - n) as u64),
            Cbor::Bytes(bytes) => {
                head(out, 2, bytes.len() as u64);
                out.extend(bytes);
            }
            Cbor::Text(text) => {
                head(out, 3, text.len() as u64);
                out.extend(text.as_bytes());
            }
            Cbor::Map(entries) => {
                head(out, 5, entries.len() as u64);
                for (key, value) in entries {
                    key.encode(out);
                    value.encode(out);
                }
            }
        }
    }
}

/// Registration responses a hostile client could send, each made from the
/// valid `response` of [`SoftPasskey::register`]: wrong JSON shapes, wrong
/// base64url, CBOR tricks in the attestation object, an unknown algorithm,
/// an oversized credential id. Named, for assertion messages.
pub fn hostile_registrations(response: &Value) -> Vec<(&'static str, Value)> {
    let attestation = B64
        .decode(response["response"]["attestationObject"].as_str().expect("attestationObject"))
        .expect("our own base64url");
    let with_attestation = |bytes: &[u8]| {
        let mut copy = response.clone();
        copy["response"]["attestationObject"] = B64.encode(bytes).into();
        copy
    };
    let with_auth_data = |auth_data: Vec<u8>| {
        let mut object = Vec::new();
        Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(Vec::new())),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ])
        .encode(&mut object);
        with_attestation(&object)
    };
    // The COSE key's `3: -7` (alg ES256) inside the authenticator data.
    let alg_at = attestation.windows(2).position(|w| w == [0x03, 0x26]).expect("the COSE alg");
    let mut eddsa = attestation.clone();
    eddsa[alg_at + 1] = 0x27; // -8: EdDSA, not offered
    let mut unknown_alg = attestation.clone();
    unknown_alg[alg_at + 1] = 0x38; // -25 (ECDH-ES), a next byte follows; the map breaks too
    let mut nested = vec![0x81; 4000];
    nested.push(0x00);
    let huge_bytes = [&[0xa1, 0x63, b'f', b'm', b't', 0x5b][..], &[0xff; 8]].concat();
    let open_map = [0xbf, 0x63, b'f', b'm', b't', 0x64, b'n', b'o', b'n', b'e'];
    let mut auth_data_lying_length = vec![0u8; 37];
    auth_data_lying_length[32] = 0x45; // UP, UV, AT
    auth_data_lying_length.extend([0u8; 16]);
    auth_data_lying_length.extend([0xff, 0xff, 1, 2, 3]);
    let long_id = B64.encode(vec![7u8; 1100]);
    let mut mismatched_ids = response.clone();
    mismatched_ids["rawId"] = B64.encode([1u8; 32]).into();
    let mut long_ids = response.clone();
    long_ids["id"] = long_id.clone().into();
    long_ids["rawId"] = long_id.into();
    let mut not_public_key = response.clone();
    not_public_key["type"] = "password".into();
    let mut bad_client_data = response.clone();
    bad_client_data["response"]["clientDataJSON"] = "not base64url!".into();
    let mut client_data_not_json = response.clone();
    client_data_not_json["response"]["clientDataJSON"] = B64.encode("{\"type\":").into();
    vec![
        ("a string", json!("credential")),
        ("null", Value::Null),
        ("an array", json!([response.clone()])),
        ("an empty object", json!({})),
        ("clientDataJSON not base64url", bad_client_data),
        ("clientDataJSON not JSON", client_data_not_json),
        ("attestationObject not base64url", {
            let mut copy = response.clone();
            copy["response"]["attestationObject"] = "%%%".into();
            copy
        }),
        ("attestationObject empty", with_attestation(&[])),
        ("attestationObject random bytes", with_attestation(&[0xff; 64])),
        ("CBOR nested 4000 deep", with_attestation(&nested)),
        ("CBOR byte string of 2^64 - 1 bytes", with_attestation(&huge_bytes)),
        ("CBOR indefinite map without its end", with_attestation(&open_map)),
        ("CBOR truncated", with_attestation(&attestation[..attestation.len() / 2])),
        ("authData of 10 bytes", with_auth_data(vec![0u8; 10])),
        ("authData claiming a 65535-byte credential id", with_auth_data(auth_data_lying_length)),
        ("algorithm EdDSA, not offered", with_attestation(&eddsa)),
        ("algorithm unknown", with_attestation(&unknown_alg)),
        ("id and rawId differ", mismatched_ids),
        ("a credential id of 1100 bytes", long_ids),
        ("type not public-key", not_public_key),
    ]
}

/// Assertion responses a hostile client could send, each made from the
/// valid `response` of [`SoftPasskey::assert`], as [`hostile_registrations`].
pub fn hostile_assertions(response: &Value) -> Vec<(&'static str, Value)> {
    let with = |field: &str, value: Value| {
        let mut copy = response.clone();
        copy["response"][field] = value;
        copy
    };
    let mut nested_json = "[".repeat(5000);
    nested_json.push_str(&"]".repeat(5000));
    let unknown = B64.encode([9u8; 32]);
    let long_id = B64.encode(vec![7u8; 1100]);
    vec![
        ("a string", json!("credential")),
        ("null", Value::Null),
        ("an empty object", json!({})),
        ("authenticatorData not base64url", with("authenticatorData", "%%%".into())),
        ("authenticatorData of 10 bytes", with("authenticatorData", B64.encode([0u8; 10]).into())),
        ("authenticatorData of zeros", with("authenticatorData", B64.encode([0u8; 37]).into())),
        ("signature not DER", with("signature", B64.encode([0x30, 0xff, 0x02, 0x01]).into())),
        ("signature empty", with("signature", "".into())),
        ("clientDataJSON not JSON", with("clientDataJSON", B64.encode("{\"type\":").into())),
        ("clientDataJSON nested 5000 deep", with("clientDataJSON", B64.encode(&nested_json).into())),
        ("userHandle not base64url", with("userHandle", "%%%".into())),
        ("an unknown credential", {
            let mut copy = response.clone();
            copy["id"] = unknown.clone().into();
            copy["rawId"] = unknown.into();
            copy
        }),
        ("id and rawId differ", {
            let mut copy = response.clone();
            copy["id"] = B64.encode([1u8; 32]).into();
            copy
        }),
        ("a credential id of 1100 bytes", {
            let mut copy = response.clone();
            copy["id"] = long_id.clone().into();
            copy["rawId"] = long_id.into();
            copy
        }),
        ("type not public-key", {
            let mut copy = response.clone();
            copy["type"] = "password".into();
            copy
        }),
    ]
}
