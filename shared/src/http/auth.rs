//! Authenticating a request by its access token, against the user's current
//! token version and its session (an ended session's tokens are refused at
//! once), with the admin rule applied; and what some routes need besides:
//! the second factor, a recent proof, a verified email.

use lambda_http::Request;

use super::cookies::ACCESS_COOKIE;
use super::request::{bearer_token, cookie, json_body};
use crate::app::App;
use crate::crypto::SigningKeys;
use crate::domain::{Aal, RECENT_AUTH_SECS, Role};
use crate::error::ApiError;
use crate::store::{AccountOverview, SessionRecord, UserRecord, Write, writes};
use crate::tokens::{self, AccessClaims, TokenError};
use serde::de::DeserializeOwned;

/// Whether a route stays open to an admin who has not turned 2FA on yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminRule {
    /// `/auth/me`, status, setup, enable, logout-all, audit: how an admin gets to 2FA.
    OpenBeforeTwofa,
    /// Everything else answers `403 mfa_required` until the admin has 2FA.
    RequiresTwofa,
}

/// An authenticated caller: the verified claims, the profile and the session they matched.
pub struct Caller {
    pub claims: AccessClaims,
    pub user: UserRecord,
    pub session: SessionRecord,
}

impl Caller {
    /// `401 reauthentication_required` unless the caller proved a factor (or
    /// the password) in the last 10 minutes (RFC 9470 `max_age`).
    /// A remembered device proves nothing by itself: its session is recent
    /// only after a re-authentication.
    pub fn require_recent(&self, now: i64) -> Result<(), ApiError> {
        let remembered_device = self.claims.amr.iter().any(|method| method == "device");
        let unproven = remembered_device && self.session.reauthenticated_at.is_none();
        if unproven || self.claims.auth_time < now - RECENT_AUTH_SECS {
            return Err(ApiError::ReauthenticationRequired);
        }
        Ok(())
    }

    /// `403 mfa_required` unless the session proved the second factor.
    pub fn require_aal2(&self) -> Result<(), ApiError> {
        if self.claims.aal == Aal::Two { Ok(()) } else { Err(ApiError::MfaRequired) }
    }

    /// Whether the caller may add a second factor now, and whether it would
    /// be the first (which turns 2FA on): a recent proof either way; the
    /// first needs a verified email (nobody can lock an address they do not
    /// own behind a factor of theirs); at most five. (A further factor needs
    /// an aal-2 session: [`Caller::require_aal2`] comes before the body.)
    pub fn may_add_factor(&self, now: i64) -> Result<bool, ApiError> {
        self.require_recent(now)?;
        let first = !self.user.twofa_enabled();
        if first {
            self.require_verified_email()?;
        }
        if self.user.factors.len() >= crate::domain::MAX_FACTORS {
            return Err(ApiError::TooManyFactors);
        }
        Ok(first)
    }

    /// `403 email_unverified` unless the user proved the address.
    pub fn require_verified_email(&self) -> Result<(), ApiError> {
        if self.user.email_verified { Ok(()) } else { Err(ApiError::EmailUnverified) }
    }
}

/// `401 unauthorized` for a missing, malformed, forged, expired or wrong-kind
/// token, one whose version is no longer the user's, or one whose session has
/// ended (logout, revocation, reuse, its 30 days); then the admin rule. One
/// read: the profile and the session together.
pub async fn authenticate(app: &App, req: &Request, rule: AdminRule) -> Result<Caller, ApiError> {
    let claims = presented_claims(app, req).await?;
    let (user, session) = current_session(app, &claims).await?.ok_or(ApiError::Unauthorized)?;
    Caller::admitted(claims, user, session, rule)
}

/// As [`authenticate`], reading the user's remembered devices and sessions
/// in the same call (the lists of both).
pub async fn authenticate_with_overview(
    app: &App,
    req: &Request,
    rule: AdminRule,
) -> Result<(Caller, AccountOverview), ApiError> {
    let claims = presented_claims(app, req).await?;
    let mut overview = app.repo.overview(&claims.reg.sub).await?;
    let session = overview.sessions.iter().find(|session| session.session_id == claims.sid).cloned();
    let standing = in_standing(app, &claims, overview.user.take(), session);
    let (user, session) = standing.ok_or(ApiError::Unauthorized)?;
    Ok((Caller::admitted(claims, user, session, rule)?, overview))
}

/// The verified claims of the request's access token, for a route that
/// reads nothing before its one write: the write commits with
/// [`still_signed_in`], which checks in the same transaction what
/// [`authenticate`] reads (the routes that do this are open to an admin
/// before 2FA, so the profile is not needed for the admin rule).
pub async fn presented_claims(app: &App, req: &Request) -> Result<AccessClaims, ApiError> {
    let token = bearer_token(req).map(str::to_string).or_else(|| cookie(req, ACCESS_COOKIE));
    access_claims(app, req, &token.ok_or(ApiError::Unauthorized)?).await
}

/// The body of a request whose caller is checked only in its transaction
/// ([`still_signed_in`]). A bad body is answered only after the read
/// [`authenticate`] makes, so that a signed-out caller gets its `401` first,
/// as everywhere.
pub async fn body_of_signed_in<T: DeserializeOwned>(app: &App, req: &Request, rule: AdminRule) -> Result<T, ApiError> {
    match json_body(req) {
        Ok(body) => Ok(body),
        Err(bad_body) => {
            authenticate(app, req, rule).await?;
            Err(bad_body)
        }
    }
}

/// Conditions that the claims' account still has their token version and
/// their session is live; `401 unauthorized` otherwise.
pub fn still_signed_in(claims: &AccessClaims, now: i64) -> [Write; 2] {
    [writes::account_unchanged(&claims.reg.sub, claims.ver), writes::session_live(&claims.reg.sub, &claims.sid, now)]
}

/// The user and the session a verified access token names, while the token's
/// version is the user's and the session has not ended; one read.
pub async fn current_session(
    app: &App,
    claims: &AccessClaims,
) -> Result<Option<(UserRecord, SessionRecord)>, ApiError> {
    let (user, session) = app.repo.user_and_session(&claims.reg.sub, &claims.sid).await?;
    Ok(in_standing(app, claims, user, session))
}

fn in_standing(
    app: &App,
    claims: &AccessClaims,
    user: Option<UserRecord>,
    session: Option<SessionRecord>,
) -> Option<(UserRecord, SessionRecord)> {
    match (user, session) {
        (Some(user), Some(session)) if user.version == claims.ver && session.live_at(app.now().timestamp()) => {
            Some((user, session))
        }
        _ => None,
    }
}

impl Caller {
    fn admitted(
        claims: AccessClaims,
        user: UserRecord,
        session: SessionRecord,
        rule: AdminRule,
    ) -> Result<Self, ApiError> {
        if rule == AdminRule::RequiresTwofa && user.role == Role::Admin && !user.twofa_enabled() {
            return Err(ApiError::MfaRequired);
        }
        Ok(Caller { claims, user, session })
    }
}

/// The claims of a valid access token, or `401 unauthorized` whatever the
/// reason (the reason goes to a debug log). A `kid` this container has not
/// seen makes it reload the signing keys once (at most every 10 seconds).
pub async fn access_claims(app: &App, req: &Request, token: &str) -> Result<AccessClaims, ApiError> {
    let issuer_url = app.issuer_url(req)?;
    let now = app.now().timestamp();
    let verify = |signing: &SigningKeys| tokens::verify_access(signing, token, &issuer_url, &app.config.audience, now);
    let mut result = verify(&*app.keyring.signing_keys(None).await?);
    if matches!(result, Err(TokenError::UnknownKey)) {
        result = verify(&*app.keyring.signing_keys(Some(now - 10)).await?);
    }
    result.map_err(|reason| {
        tracing::debug!(%reason, "access token refused");
        ApiError::Unauthorized
    })
}
