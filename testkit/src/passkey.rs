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
