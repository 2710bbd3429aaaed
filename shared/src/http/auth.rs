//! Authenticating a request by its access token, against the user's current
//! token version, with the admin rule applied.

use lambda_http::Request;

use super::cookies::ACCESS_COOKIE;
use super::request::{bearer_token, cookie};
use crate::app::App;
use crate::crypto::SigningKeys;
use crate::domain::Role;
use crate::error::ApiError;
use crate::store::UserRecord;
use crate::tokens::{self, AccessClaims, TokenError};

/// Whether a route stays open to an admin who has not turned 2FA on yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminRule {
    /// `/auth/me`, status, setup, enable, logout-all, audit: how an admin gets to 2FA.
    OpenBeforeTwofa,
    /// Everything else answers `403 mfa_required` until the admin has 2FA.
    RequiresTwofa,
}

/// An authenticated caller: the verified claims and the profile they matched.
pub struct Caller {
    pub claims: AccessClaims,
    pub user: UserRecord,
}

/// `401 unauthorized` for a missing, malformed, forged, expired or wrong-kind
/// token, or one whose version is no longer the user's; then the admin rule.
/// One read of the profile.
pub async fn authenticate(app: &App, req: &Request, rule: AdminRule) -> Result<Caller, ApiError> {
    let token = bearer_token(req).map(str::to_string).or_else(|| cookie(req, ACCESS_COOKIE));
    let Some(token) = token else {
        return Err(ApiError::Unauthorized);
    };
    let claims = access_claims(app, req, &token).await?;
    let user = match app.repo.user(&claims.reg.sub).await? {
        Some(user) if user.version == claims.ver => user,
        _ => return Err(ApiError::Unauthorized),
    };
    if rule == AdminRule::RequiresTwofa && user.role == Role::Admin && !user.twofa_enabled() {
        return Err(ApiError::MfaRequired);
    }
    Ok(Caller { claims, user })
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
