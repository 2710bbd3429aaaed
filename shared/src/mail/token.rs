//! The token of a mailed link: `<user id>.<256 random bits>`. The user id
//! says whose profile holds its hash; only the hash is ever stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::crypto::random_bytes;
use crate::error::ApiError;

const SECRET_BYTES: usize = 32;

pub struct MailToken {
    user_id: String,
    secret: SecretString,
}

impl MailToken {
    pub fn generate(user_id: &str) -> Self {
        let bytes: [u8; SECRET_BYTES] = random_bytes();
        MailToken { user_id: user_id.to_string(), secret: URL_SAFE_NO_PAD.encode(bytes).into() }
    }

    /// `400 invalid_token` for anything that is not a token's shape.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let (user_id, secret) = text.trim().split_once('.').ok_or(ApiError::InvalidToken)?;
        let user_id_ok = !user_id.is_empty()
            && user_id.len() <= 64
            && user_id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let secret_ok = URL_SAFE_NO_PAD.decode(secret).is_ok_and(|bytes| bytes.len() == SECRET_BYTES);
        if !user_id_ok || !secret_ok {
            return Err(ApiError::InvalidToken);
        }
        Ok(MailToken { user_id: user_id.to_string(), secret: secret.to_string().into() })
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// What the profile stores: SHA-256 of the random part (it has 256 bits
    /// of entropy, so a plain hash cannot be reversed or guessed).
    pub fn hash(&self) -> String {
        data_encoding::HEXLOWER.encode(&Sha256::digest(self.secret.expose_secret().as_bytes()))
    }

    /// The token as it goes into the link of one mail, and nowhere else.
    pub fn for_link(&self) -> String {
        format!("{}.{}", self.user_id, self.secret.expose_secret())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_through_its_link_form_and_hashes_the_same() {
        let token = MailToken::generate("abc234");
        let parsed = MailToken::parse(&token.for_link()).unwrap();
        assert_eq!(parsed.user_id(), "abc234");
        assert_eq!(parsed.hash(), token.hash());
        assert_eq!(token.hash().len(), 64);
        assert_ne!(MailToken::generate("abc234").hash(), token.hash());
    }

    #[test]
    fn malformed_tokens_are_invalid() {
        let good = MailToken::generate("abc234").for_link();
        let secret = good.split_once('.').unwrap().1.to_string();
        for bad in [
            String::new(),
            "abc234".into(),
            format!("ABC.{secret}"),
            format!("abc234.{}", &secret[1..]),
            format!("abc234.{secret}x"),
            format!("../x.{secret}"),
            format!(".{secret}"),
        ] {
            assert!(matches!(MailToken::parse(&bad), Err(ApiError::InvalidToken)), "{bad}");
        }
    }
}
