//! `POST /auth/factors/remove`: one factor goes (aal 2, a recent proof),
//! never the last: turning 2FA off asks for proof and is its own route. A
//! passkey's credential id becomes free; every other session ends, and the
//! caller gets fresh cookies at the same assurance.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::domain::{ClientInfo, EventKind, second_factor_of};
use shared::factors::passkey::credential_key;
use shared::flows::session::{NewSession, Subject};
use shared::http::{AdminRule, authenticate, json_body, json_response, with_cookies};
use shared::store::{Write, writes};
use shared::{ApiError, App};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveBody {
    #[serde(rename = "factorId")]
    factor_id: String,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::RequiresTwofa).await?;
    caller.require_aal2()?;
    let body: RemoveBody = json_body(&req)?;
    let now = app.now();
    caller.require_recent(now.timestamp())?;
    let user = &caller.user;
    let factor = user.factor(&body.factor_id).ok_or(ApiError::FactorNotFound)?;
    if user.factors.len() <= 1 {
        return Err(ApiError::LastFactor);
    }

    let client = ClientInfo::of(&req);
    let issuer = app.issuer(&req).await?;
    // Every other session ends with the version bump; the caller's new one
    // carries the new version, and its session's proof and 30-day end.
    let subject = Subject { user_id: &user.id, role: user.role, version: user.version + 1 };
    let second = second_factor_of(&caller.claims.amr);
    let session = NewSession::issue(app, &issuer, subject, second, caller.claims.auth_time, caller.session.started_at)?;
    let credential = factor.credential_id().map(credential_key);
    let mut commit: Vec<Write> = writes::remove_factor(user, factor, credential.as_deref());
    commit.push(session.write());
    commit.extend(writes::audit(&user.id, &[EventKind::FactorRemoved], now.timestamp_millis(), &client));
    app.repo.commit(commit).await?;
    app.mailer.notify(&user.email, &[EventKind::FactorRemoved], now.timestamp_millis(), &client, None).await;
    tracing::info!(user_id = user.id, "factor removed");
    let response = json_response(StatusCode::OK, &json!({ "message": "factor removed" }));
    Ok(with_cookies(response, session.cookies(app)))
}
