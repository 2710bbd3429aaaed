//! The three token kinds of the contract. Each has its own claims type, its own
//! `typ` header and its own audience, so one kind can never pass for another.
//! Access tokens are RS256 under the published signing keys (any service can
//! verify them); refresh and pre-2FA tokens are HS256 under keys derived from
//! this service's data key, each kind its own.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::crypto::{KeySet, SigningKeys};
use crate::domain::{Aal, CLOCK_SKEW_SECS, Role, TokenKind};
use crate::error::ApiError;

/// Claims of a token kind that only this service reads (HS256).
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
    /// `aal1`, or `aal1 aal2` for a session with the second factor, so that a
    /// gateway route can require it by scope.
    pub scope: String,
}

impl AccessClaims {
    /// The `scope` of a session of assurance `aal`.
    pub fn scope_of(aal: Aal) -> String {
        match aal {
            Aal::One => "aal1".into(),
            Aal::Two => "aal1 aal2".into(),
        }
    }
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

/// Signs access claims with the signing key active at `now`: RS256, with the
/// key's `kid` and `typ: at+jwt` in the header.
pub fn sign_access(keys: &KeySet, signing: &SigningKeys, claims: &AccessClaims, now: i64) -> Result<String, ApiError> {
    let key = signing.signer(now).ok_or_else(|| ApiError::internal("no signing key is active"))?;
    let header = serde_json::json!({ "alg": "RS256", "typ": TokenKind::Access.typ(), "kid": key.kid() });
    let header = serde_json::to_vec(&header).expect("a JSON header");
    let payload = serde_json::to_vec(claims).expect("claims serialize");
    let message = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let signature = key.sign(keys, message.as_bytes())?;
    Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// Verifies an access token at `now`: RS256 only, a published `kid`, `typ:
/// at+jwt`, the issuer URL and audience, and `nbf - CLOCK_SKEW_SECS <= now < exp`.
pub fn verify_access(
    signing: &SigningKeys,
    token: &str,
    issuer_url: &str,
    audience: &str,
    now: i64,
) -> Result<AccessClaims, TokenError> {
    let header = jsonwebtoken::decode_header(token)?;
    let kid = header.kid.as_deref().ok_or(TokenError::UnknownKey)?;
    let key = signing.verifier(kid, now).ok_or(TokenError::UnknownKey)?;
    if header.typ.as_deref() != Some(TokenKind::Access.typ()) {
        return Err(TokenError::WrongType);
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer_url]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_exp = false;
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<AccessClaims>(token, key.decoding_key(), &validation)?.claims;
    if now < claims.reg.nbf - CLOCK_SKEW_SECS || now >= claims.reg.exp {
        return Err(TokenError::OutsideLifetime);
    }
    Ok(claims)
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
    use crate::crypto::{DataKey, SigningKeyMac, StoredSigningKey};
    use crate::domain::{ACCESS_TTL_SECS, PRE2FA_TTL_SECS, REFRESH_TTL_SECS};

    const ISSUER: &str = "TwoFA";
    const ISSUER_URL: &str = "https://auth.example.com";
    const AUDIENCE: &str = "twofa";
    const NOW: i64 = 1_800_000_000;

    fn keys() -> KeySet {
        KeySet::new(vec![DataKey::derive("k1", &[3u8; 32])]).unwrap()
    }

    fn mac() -> SigningKeyMac {
        SigningKeyMac::new("m1", &[6u8; 32]).unwrap()
    }

    fn signing(keys: &KeySet) -> SigningKeys {
        {
            let mac = mac();
            SigningKeys::new(vec![StoredSigningKey::generate(keys, &mac, "s1", NOW - 10, NOW - 10).unwrap()], &mac)
                .unwrap()
        }
    }

    fn access() -> AccessClaims {
        AccessClaims {
            reg: Registered {
                iss: ISSUER_URL.into(),
                aud: AUDIENCE.into(),
                sub: "user-1".into(),
                iat: NOW,
                nbf: NOW,
                exp: NOW + ACCESS_TTL_SECS,
            },
            sid: "s1".into(),
            role: Role::User,
            aal: Aal::Two,
            amr: vec!["pwd".into(), "otp".into()],
            auth_time: NOW,
            ver: 3,
            jti: "a1".into(),
            scope: AccessClaims::scope_of(Aal::Two),
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
        let signing = signing(&keys);
        let token = sign_access(&keys, &signing, &access(), NOW).unwrap();
        assert_eq!(verify_access(&signing, &token, ISSUER_URL, AUDIENCE, NOW).unwrap(), access());
        assert_eq!(verify::<RefreshClaims>(&keys, &sign(&keys, &refresh()), ISSUER, NOW).unwrap(), refresh());
        assert_eq!(verify::<Pre2faClaims>(&keys, &sign(&keys, &pre2fa()), ISSUER, NOW).unwrap(), pre2fa());
    }

    #[test]
    fn access_tokens_are_rs256_with_kid_and_typ() {
        let keys = keys();
        let token = sign_access(&keys, &signing(&keys), &access(), NOW).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(
            (header.alg, header.kid.as_deref(), header.typ.as_deref()),
            (Algorithm::RS256, Some("s1"), Some("at+jwt"))
        );
    }

    #[test]
    fn no_kind_passes_for_another() {
        let keys = keys();
        let signing = signing(&keys);
        let (a, r, p) =
            (sign_access(&keys, &signing, &access(), NOW).unwrap(), sign(&keys, &refresh()), sign(&keys, &pre2fa()));
        assert!(verify_access(&signing, &r, ISSUER_URL, AUDIENCE, NOW).is_err());
        assert!(verify_access(&signing, &p, ISSUER_URL, AUDIENCE, NOW).is_err());
        assert!(verify::<RefreshClaims>(&keys, &a, ISSUER, NOW).is_err());
        assert!(verify::<RefreshClaims>(&keys, &p, ISSUER, NOW).is_err());
        assert!(verify::<Pre2faClaims>(&keys, &a, ISSUER, NOW).is_err());
        assert!(verify::<Pre2faClaims>(&keys, &r, ISSUER, NOW).is_err());
    }

    #[test]
    fn even_with_a_rewritten_typ_another_kind_fails_on_its_key() {
        let keys = keys();
        let token = sign(&keys, &pre2fa());
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        parts[0] = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","kid":"k1","typ":"rt+jwt"}"#);
        assert!(matches!(verify::<RefreshClaims>(&keys, &parts.join("."), ISSUER, NOW), Err(TokenError::Invalid(_))));
    }

    #[test]
    fn lifetime_is_checked_against_the_given_clock() {
        let keys = keys();
        let signing = signing(&keys);
        let token = sign_access(&keys, &signing, &access(), NOW).unwrap();
        let at = |now| verify_access(&signing, &token, ISSUER_URL, AUDIENCE, now);
        assert!(at(NOW + ACCESS_TTL_SECS - 1).is_ok());
        assert!(matches!(at(NOW + ACCESS_TTL_SECS), Err(TokenError::OutsideLifetime)));
        assert!(matches!(at(NOW - CLOCK_SKEW_SECS - 1), Err(TokenError::OutsideLifetime)));
    }

    #[test]
    fn a_verifier_whose_clock_is_a_little_behind_the_issuer_accepts_a_fresh_token() {
        // Issued at the start of a second by one host, checked by another whose clock reads a second earlier.
        let keys = keys();
        let signing = signing(&keys);
        let token = sign_access(&keys, &signing, &access(), NOW).unwrap();
        assert!(verify_access(&signing, &token, ISSUER_URL, AUDIENCE, NOW - 1).is_ok());
        assert!(verify::<RefreshClaims>(&keys, &sign(&keys, &refresh()), ISSUER, NOW - 1).is_ok());
    }

    #[test]
    fn alg_none_hs256_unknown_kid_other_issuer_audience_and_key_are_refused() {
        let keys = keys();
        let signing = signing(&keys);
        let token = sign_access(&keys, &signing, &access(), NOW).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let forged =
            |header: &[u8], signature: &str| format!("{}.{payload}.{signature}", URL_SAFE_NO_PAD.encode(header));
        let check = |token: &str| verify_access(&signing, token, ISSUER_URL, AUDIENCE, NOW);
        assert!(check(&forged(br#"{"alg":"none","kid":"s1","typ":"at+jwt"}"#, "")).is_err());
        // The public key used as an HMAC secret: the classic confusion, refused by alg.
        assert!(
            check(&forged(br#"{"alg":"HS256","kid":"s1","typ":"at+jwt"}"#, token.split('.').nth(2).unwrap())).is_err()
        );
        assert!(matches!(
            check(&forged(br#"{"alg":"RS256","kid":"../s1","typ":"at+jwt"}"#, token.split('.').nth(2).unwrap())),
            Err(TokenError::UnknownKey)
        ));
        assert!(verify_access(&signing, &token, "https://other.example.com", AUDIENCE, NOW).is_err());
        assert!(verify_access(&signing, &token, ISSUER_URL, "another-api", NOW).is_err());
        let mac = mac();
        let other = SigningKeys::new(vec![StoredSigningKey::generate(&keys, &mac, "s1", 0, 0).unwrap()], &mac).unwrap();
        assert!(verify_access(&other, &token, ISSUER_URL, AUDIENCE, NOW).is_err());
        assert!(check("not-a-jwt").is_err());
    }

    #[test]
    fn refresh_signing_is_deterministic_so_a_rotation_can_be_replayed() {
        let keys = keys();
        assert_eq!(sign(&keys, &refresh()), sign(&keys, &refresh()));
    }
}
