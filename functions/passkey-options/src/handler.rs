//! `POST /auth/factors/passkey/options`: the creation options for a new
//! passkey (the rules of a first or a further factor apply). The ceremony's
//! state is kept on the profile for five minutes, to be used once.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::crypto::random_id;
use shared::domain::{CEREMONY_TTL_SECS, FactorName};
use shared::flows::factors::{passkey_user_handle, stored_passkeys};
use shared::flows::second_factor::purpose;
use shared::http::{AdminRule, NameBody, authenticate, json_response, optional_json_body};
use shared::store::{CeremonyRecord, writes};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::OpenBeforeTwofa).await?;
    if caller.user.twofa_enabled() {
        caller.require_aal2()?;
    }
    let body: NameBody = optional_json_body(&req)?;
    let name = body.name.as_deref().map(FactorName::parse).transpose()?;
    let now = app.now().timestamp();
    caller.may_add_factor(now)?;

    let user = &caller.user;
    let (handle, new_handle) = passkey_user_handle(user)?;
    let existing = stored_passkeys(user);
    let started = app.passkeys.start_registration(handle, user.email.as_str(), &existing)?;
    let ceremony_id = random_id();
    let ceremony = CeremonyRecord {
        purpose: purpose::REGISTRATION.into(),
        state: started.state,
        expires_at: now + CEREMONY_TTL_SECS,
        name: name.map(|name| name.as_str().to_string()),
    };
    let write = writes::start_ceremony(user, &ceremony_id, &ceremony, new_handle.as_deref(), now);
    app.repo.commit(vec![write]).await?;
    Ok(json_response(StatusCode::OK, &json!({ "ceremonyId": ceremony_id, "publicKey": started.public_key })))
}
