//! Sessions and their tokens: the assurance level, the token kinds and how
//! long each lives.

use serde::{Deserialize, Serialize};

pub const ACCESS_TTL_SECS: i64 = 15 * 60;
pub const REFRESH_TTL_SECS: i64 = 7 * 24 * 60 * 60;
pub const PRE2FA_TTL_SECS: i64 = 5 * 60;
/// A session lives at most this long from the sign-in that opened it, however often it is refreshed.
pub const SESSION_MAX_SECS: i64 = 30 * 24 * 60 * 60;
/// A proof counts as recent this long: changes to factors, the email or the
/// account need one (RFC 9470 `max_age`).
pub const RECENT_AUTH_SECS: i64 = 10 * 60;
/// A remembered browser skips the second factor this long (its cookie's lifetime).
pub const DEVICE_TTL_SECS: i64 = 30 * 24 * 60 * 60;
/// A user has at most this many remembered browsers; the least recently used goes first.
pub const MAX_DEVICES: usize = 10;
/// `GET /auth/sessions` lists at most this many.
pub const MAX_SESSIONS_LISTED: usize = 50;
/// A WebAuthn ceremony (its challenge and state) works this long, once.
pub const CEREMONY_TTL_SECS: i64 = 5 * 60;
/// How far a token's `nbf` may be ahead of the verifier's clock. Tokens are
/// issued by one function and checked by another, on other hosts: a clock a
/// few milliseconds behind the issuer's must not refuse a token issued in the
/// same second. Only the issuer can sign, so this admits nothing forged.
pub const CLOCK_SKEW_SECS: i64 = 60;

/// The three kinds of token: each has its own claims, `typ` header and audience.
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

    /// The `aud` of the tokens only this service reads.
    pub(crate) fn audience(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
            TokenKind::Pre2fa => "pre2fa",
        }
    }
}

/// Authentication assurance level of a session: 1 = password, 2 = password and second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Aal {
    One,
    Two,
}

impl From<Aal> for u8 {
    fn from(aal: Aal) -> u8 {
        match aal {
            Aal::One => 1,
            Aal::Two => 2,
        }
    }
}

impl TryFrom<u8> for Aal {
    type Error = &'static str;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            1 => Ok(Aal::One),
            2 => Ok(Aal::Two),
            _ => Err("aal is 1 or 2"),
        }
    }
}
