//! `POST /auth/2fa/challenge`: the options for proving a passkey, for a user
//! named by a reset token (body `{"resetToken"}`), else by the pre-2FA
//! cookie, else by an access token: the first present decides, with no
//! fall-back when it is invalid. The ceremony (its purpose the proof's route:
//! reset, verify-login or account) is kept on the profile for five minutes.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::crypto::random_id;
use shared::domain::CEREMONY_TTL_SECS;
use shared::flows::factors::stored_passkeys;
use shared::flows::second_factor::purpose;
use shared::http::{AdminRule, TWOFA_COOKIE, authenticate, cookie, json_response, optional_json_body};
use shared::mail::MailToken;
use shared::store::{CeremonyRecord, UserRecord, writes};
use shared::tokens::{self, Pre2faClaims};
use shared::{ApiError, App};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ChallengeBody {
    #[serde(rename = "resetToken")]
    reset_token: Option<String>,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let body: ChallengeBody = optional_json_body(&req)?;
    let now = app.now().timestamp();
    let (user, purpose) = match (body.reset_token, cookie(&req, TWOFA_COOKIE)) {
        (Some(token), _) => (reset_user(app, &token, now).await?, purpose::RESET),
        (None, Some(pre2fa)) => (signing_in_user(app, &pre2fa, now).await?, purpose::VERIFY_LOGIN),
        (None, None) => (authenticate(app, &req, AdminRule::RequiresTwofa).await?.user, purpose::ACCOUNT),
    };
    let passkeys = stored_passkeys(&user);
    if passkeys.is_empty() {
        return Err(ApiError::NoPasskey);
    }
    let started = app.passkeys.start_assertion(&passkeys)?;
    let ceremony_id = random_id();
    let ceremony = CeremonyRecord {
        purpose: purpose.into(),
        state: started.state,
        expires_at: now + CEREMONY_TTL_SECS,
        name: None,
    };
    app.repo.commit(vec![writes::start_ceremony(&user, &ceremony_id, &ceremony, None, now)]).await?;
    Ok(json_response(StatusCode::OK, &json!({ "ceremonyId": ceremony_id, "publicKey": started.public_key })))
}

/// The user of a live reset link (the token is not consumed): `400 invalid_token` otherwise.
async fn reset_user(app: &App, token: &str, now: i64) -> Result<UserRecord, ApiError> {
    let token = MailToken::parse(token)?;
    let user = app.repo.user(token.user_id()).await?.ok_or(ApiError::InvalidToken)?;
    match &user.reset_token {
        Some(stored) if stored.accepts(&token.hash(), now) => Ok(user),
        _ => Err(ApiError::InvalidToken),
    }
}

/// The user of a live pre-2FA token (not spent, same token version): `401 session_expired` otherwise.
async fn signing_in_user(app: &App, token: &str, now: i64) -> Result<UserRecord, ApiError> {
    let keys = app.keyring.keys().await?;
    let claims = tokens::verify_or::<Pre2faClaims>(keys, token, &app.config.issuer, now, ApiError::SessionExpired)?;
    match app.repo.user(&claims.reg.sub).await? {
        Some(user) if user.version == claims.ver && !user.spent_pre2fa.contains_key(&claims.jti) => Ok(user),
        _ => Err(ApiError::SessionExpired),
    }
}
