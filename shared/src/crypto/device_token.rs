//! The `device_token` cookie of a remembered browser: 256 random bits. Only
//! its hash is stored, and the hash is the device's id.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::random::random_bytes;

pub struct DeviceToken(SecretString);

impl DeviceToken {
    pub fn generate() -> Self {
        DeviceToken(URL_SAFE_NO_PAD.encode(random_bytes::<32>()).into())
    }

    /// A cookie's value, if it has a token's shape (anything else is ignored).
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        (bytes.len() == 32).then(|| DeviceToken(text.to_string().into()))
    }

    /// The remembered device's id: SHA-256 of the token (256 random bits
    /// cannot be guessed from it), which is all the table keeps.
    pub fn id(&self) -> String {
        data_encoding::HEXLOWER.encode(&Sha256::digest(self.0.expose_secret().as_bytes()))
    }

    /// The value of the cookie, and nothing else.
    pub fn cookie_value(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_parses_back_to_the_same_id_and_nothing_else_parses() {
        let token = DeviceToken::generate();
        let parsed = DeviceToken::parse(token.cookie_value()).unwrap();
        assert_eq!(parsed.id(), token.id());
        assert_eq!(token.id().len(), 64);
        assert_ne!(DeviceToken::generate().id(), token.id());
        for bad in ["", "x", &"A".repeat(42), &format!("{}=", token.cookie_value()), "a.b.c"] {
            assert!(DeviceToken::parse(bad).is_none(), "{bad:?}");
        }
    }
}
