//! The three token kinds of the contract. Each has its own claims type, its own
//! `typ` header, its own audience and its own HMAC key, so one kind can never
//! pass for another.

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::domain::{Aal, Role};
use crate::error::ApiError;
use crate::keyring::KeySet;

pub const ACCESS_TTL_SECS: i64 = 15 * 60;
pub const REFRESH_TTL_SECS: i64 = 7 * 24 * 60 * 60;
pub const PRE2FA_TTL_SECS: i64 = 5 * 60;
/// A session lives at most this long from the sign-in that opened it, however often it is refreshed.
pub const SESSION_MAX_SECS: i64 = 30 * 24 * 60 * 60;
/// How far a token's `nbf` may be ahead of the verifier's clock. Tokens are
/// issued by one function and checked by another, on other hosts: a clock a
/// few milliseconds behind the issuer's must not refuse a token issued in the
/// same second. Only the issuer can sign, so this admits nothing forged.
pub const CLOCK_SKEW_SECS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    Access,
    Refresh,
    Pre2fa,
}

impl TokenKind {
    pub const ALL: [TokenKind; 3] = [TokenKind::Access, TokenKind::Refresh, TokenKind::Pre2fa];

    /// The JOSE `typ` header (RFC 8725 §3.11 explicit typing).
    pub fn typ(self) -> &'static str {
        match self {
            TokenKind::Access => "at+jwt",
            TokenKind::Refresh => "rt+jwt",
            TokenKind::Pre2fa => "pre2fa+jwt",
        }
    }

    fn audience(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
            TokenKind::Pre2fa => "pre2fa",
        }
    }
}

/// Claims of one token kind.
pub trait Claims: Serialize + DeserializeOwned {
    const KIND: TokenKind;
    fn window(&self) -> (i64, i64);
}

/// Registered claims every token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

impl Registered {
    pub fn new(kind: TokenKind, issuer: &str, user_id: &str, now: i64, ttl: i64) -> Self {
        Registered {
            iss: issuer.to_string(),
            aud: kind.audience().to_string(),
            sub: user_id.to_string(),
            iat: now,
            nbf: now,
            exp: now + ttl,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    #[serde(flatten)]
    pub reg: Registered,
    pub sid: String,
    pub role: Role,
    pub aal: Aal,
    pub amr: Vec<String>,
    pub auth_time: i64,
    pub ver: i64,
    /// Unique per token (RFC 9068): no two access tokens are equal.
    pub jti: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshClaims {
    #[serde(flatten)]
    pub reg: Registered,
    pub sid: String,
    /// The refresh id; the session item holds the current one.
    pub jti: String,
    pub ver: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pre2faClaims {
    #[serde(flatten)]
    pub reg: Registered,
    /// The nonce consumed by the one successful verification.
    pub jti: String,
    pub ver: i64,
}

impl Claims for AccessClaims {
    const KIND: TokenKind = TokenKind::Access;
    fn window(&self) -> (i64, i64) {
        (self.reg.nbf, self.reg.exp)
    }
}

impl Claims for RefreshClaims {
    const KIND: TokenKind = TokenKind::Refresh;
    fn window(&self) -> (i64, i64) {
        (self.reg.nbf, self.reg.exp)
    }
}

impl Claims for Pre2faClaims {
    const KIND: TokenKind = TokenKind::Pre2fa;
    fn window(&self) -> (i64, i64) {
        (self.reg.nbf, self.reg.exp)
    }
}

/// Why a token was refused. Never shown to a client (all become one 401).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("malformed or wrongly signed: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("unknown key id")]
    UnknownKey,
    #[error("wrong token type")]
    WrongType,
    #[error("expired or not yet valid")]
    OutsideLifetime,
}

/// Signs claims with the current key of their kind (HS256, `kid` and `typ` in the header).
pub fn sign<C: Claims>(keys: &KeySet, claims: &C) -> String {
    let key = keys.current();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid.clone());
    header.typ = Some(C::KIND.typ().to_string());
    jsonwebtoken::encode(&header, claims, &key.token_keys(C::KIND).0).expect("HS256 signing cannot fail")
}

/// Verifies a token of kind `C` at `now`: HS256 only, a known `kid`, the
/// kind's key, `typ`, audience and issuer, and `nbf - CLOCK_SKEW_SECS <= now < exp`.
pub fn verify<C: Claims>(keys: &KeySet, token: &str, issuer: &str, now: i64) -> Result<C, TokenError> {
    let header = jsonwebtoken::decode_header(token)?;
    let kid = header.kid.as_deref().ok_or(TokenError::UnknownKey)?;
    let key = keys.get(kid).ok_or(TokenError::UnknownKey)?;
    if header.typ.as_deref() != Some(C::KIND.typ()) {
        return Err(TokenError::WrongType);
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[C::KIND.audience()]);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    // Lifetimes are checked below against the injected clock.
    validation.validate_exp = false;
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<C>(token, &key.token_keys(C::KIND).1, &validation)?.claims;
    let (nbf, exp) = claims.window();
    if now < nbf - CLOCK_SKEW_SECS || now >= exp {
        return Err(TokenError::OutsideLifetime);
    }
    Ok(claims)
}

/// [`verify`] for a request: any refusal is `refused`, the same from outside
/// whatever the reason; the reason goes to a debug log.
pub fn verify_or<C: Claims>(
    keys: &KeySet,
    token: &str,
    issuer: &str,
    now: i64,
    refused: ApiError,
) -> Result<C, ApiError> {
    verify::<C>(keys, token, issuer, now).map_err(|reason| {
        tracing::debug!(%reason, kind = C::KIND.typ(), "token refused");
        refused
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyring::DataKey;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    const ISSUER: &str = "TwoFA";
    const NOW: i64 = 1_800_000_000;

    fn keys() -> KeySet {
        KeySet::new(vec![DataKey::derive("k1", &[3u8; 32])]).unwrap()
    }

    fn access() -> AccessClaims {
        AccessClaims {
            reg: Registered::new(TokenKind::Access, ISSUER, "user-1", NOW, ACCESS_TTL_SECS),
            sid: "s1".into(),
            role: Role::User,
            aal: Aal::Two,
            amr: vec!["pwd".into(), "otp".into()],
            auth_time: NOW,
            ver: 3,
            jti: "a1".into(),
        }
    }

    fn refresh() -> RefreshClaims {
        RefreshClaims {
            reg: Registered::new(TokenKind::Refresh, ISSUER, "user-1", NOW, REFRESH_TTL_SECS),
            sid: "s1".into(),
            jti: "r1".into(),
            ver: 3,
        }
    }

    fn pre2fa() -> Pre2faClaims {
        Pre2faClaims {
            reg: Registered::new(TokenKind::Pre2fa, ISSUER, "user-1", NOW, PRE2FA_TTL_SECS),
            jti: "n1".into(),
            ver: 3,
        }
    }

    #[test]
    fn each_kind_round_trips() {
        let keys = keys();
        assert_eq!(verify::<AccessClaims>(&keys, &sign(&keys, &access()), ISSUER, NOW).unwrap(), access());
        assert_eq!(verify::<RefreshClaims>(&keys, &sign(&keys, &refresh()), ISSUER, NOW).unwrap(), refresh());
        assert_eq!(verify::<Pre2faClaims>(&keys, &sign(&keys, &pre2fa()), ISSUER, NOW).unwrap(), pre2fa());
    }

    #[test]
    fn no_kind_passes_for_another() {
        let keys = keys();
        let (a, r, p) = (sign(&keys, &access()), sign(&keys, &refresh()), sign(&keys, &pre2fa()));
        assert!(verify::<AccessClaims>(&keys, &r, ISSUER, NOW).is_err());
        assert!(verify::<AccessClaims>(&keys, &p, ISSUER, NOW).is_err());
        assert!(verify::<RefreshClaims>(&keys, &a, ISSUER, NOW).is_err());
        assert!(verify::<RefreshClaims>(&keys, &p, ISSUER, NOW).is_err());
        assert!(verify::<Pre2faClaims>(&keys, &a, ISSUER, NOW).is_err());
        assert!(verify::<Pre2faClaims>(&keys, &r, ISSUER, NOW).is_err());
    }

    #[test]
    fn even_with_a_rewritten_typ_another_kind_fails_on_its_key() {
        let keys = keys();
        let token = sign(&keys, &refresh());
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        parts[0] = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","kid":"k1","typ":"at+jwt"}"#);
        assert!(matches!(verify::<AccessClaims>(&keys, &parts.join("."), ISSUER, NOW), Err(TokenError::Invalid(_))));
    }

    #[test]
    fn lifetime_is_checked_against_the_given_clock() {
        let keys = keys();
        let token = sign(&keys, &access());
        assert!(verify::<AccessClaims>(&keys, &token, ISSUER, NOW + ACCESS_TTL_SECS - 1).is_ok());
        assert!(matches!(
            verify::<AccessClaims>(&keys, &token, ISSUER, NOW + ACCESS_TTL_SECS),
            Err(TokenError::OutsideLifetime)
        ));
        assert!(matches!(
            verify::<AccessClaims>(&keys, &token, ISSUER, NOW - CLOCK_SKEW_SECS - 1),
            Err(TokenError::OutsideLifetime)
        ));
    }

    #[test]
    fn a_verifier_whose_clock_is_a_little_behind_the_issuer_accepts_a_fresh_token() {
        // Issued at the start of a second by one host, checked by another whose clock reads a second earlier.
        let keys = keys();
        let token = sign(&keys, &access());
        assert!(verify::<AccessClaims>(&keys, &token, ISSUER, NOW - 1).is_ok());
        assert!(verify::<AccessClaims>(&keys, &token, ISSUER, NOW - CLOCK_SKEW_SECS).is_ok());
    }

    #[test]
    fn alg_none_unknown_kid_other_issuer_and_other_key_are_refused() {
        let keys = keys();
        let token = sign(&keys, &access());
        let payload = token.split('.').nth(1).unwrap();
        let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"k1","typ":"at+jwt"}"#));
        assert!(verify::<AccessClaims>(&keys, &none, ISSUER, NOW).is_err());
        let bad_kid = format!(
            "{}.{payload}.{}",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","kid":"../../k1","typ":"at+jwt"}"#),
            token.split('.').nth(2).unwrap()
        );
        assert!(matches!(verify::<AccessClaims>(&keys, &bad_kid, ISSUER, NOW), Err(TokenError::UnknownKey)));
        assert!(verify::<AccessClaims>(&keys, &token, "SomeoneElse", NOW).is_err());
        let other = KeySet::new(vec![DataKey::derive("k1", &[4u8; 32])]).unwrap();
        assert!(verify::<AccessClaims>(&other, &token, ISSUER, NOW).is_err());
        assert!(verify::<AccessClaims>(&keys, "not-a-jwt", ISSUER, NOW).is_err());
    }

    #[test]
    fn signing_is_deterministic_so_a_rotation_can_be_replayed() {
        let keys = keys();
        assert_eq!(sign(&keys, &refresh()), sign(&keys, &refresh()));
    }
}
