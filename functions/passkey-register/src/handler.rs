//! `POST /auth/factors/passkey`: finish a passkey's registration. The
//! ceremony works once, whatever the outcome; the credential id belongs to
//! one account (claimed by a conditional put in the same transaction). The
//! first factor turns 2FA on as enable does: backup codes, fresh aal-2
//! cookies, every other session ends; a further one keeps them.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::domain::{ClientInfo, EventKind, FactorKind, FactorName, SecondFactor};
use shared::factors::backup_codes::BackupCodeSet;
use shared::factors::passkey::credential_key;
use shared::flows::factors::{name_of, new_passkey};
use shared::flows::second_factor::purpose;
use shared::flows::session::{NewSession, Subject};
use shared::http::{AdminRule, FactorView, authenticate, json_body, json_response, with_cookies};
use shared::store::writes;
use shared::{ApiError, App};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    #[serde(rename = "ceremonyId")]
    ceremony_id: String,
    /// `RegistrationResponseJSON`, checked by the WebAuthn library.
    credential: Value,
    name: Option<String>,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::OpenBeforeTwofa).await?;
    if caller.user.twofa_enabled() {
        caller.require_aal2()?;
    }
    let body: RegisterBody = json_body(&req)?;
    if let Some(name) = &body.name {
        FactorName::parse(name)?;
    }
    let now = app.now();
    let first = caller.may_add_factor(now.timestamp())?;
    let user = &caller.user;
    let ceremony = user
        .ceremonies
        .get(&body.ceremony_id)
        .filter(|c| c.purpose == purpose::REGISTRATION && c.expires_at > now.timestamp())
        .ok_or(ApiError::CeremonyExpired)?;

    let passkey = match app.passkeys.finish_registration(&body.credential, &ceremony.state) {
        Ok(passkey) => passkey,
        Err(ApiError::InvalidCredential) => {
            // The ceremony is used up all the same.
            let used = writes::drop_ceremony(user, &body.ceremony_id, purpose::REGISTRATION, now.timestamp());
            app.repo.commit(vec![used]).await?;
            return Err(ApiError::InvalidCredential);
        }
        Err(other) => return Err(other),
    };
    let name = name_of(body.name.as_deref(), ceremony.name.as_deref(), FactorKind::Passkey)?;
    let synced = passkey.synced;
    let key = credential_key(&passkey.credential_id);
    let factor = new_passkey(&name, passkey, now.timestamp());
    let view = FactorView::from(&factor);
    let client = ClientInfo::of(&req);

    if !first {
        let mut commit = writes::add_passkey(user, &factor, &key, &body.ceremony_id, None, now.timestamp());
        commit.extend(writes::audit(&user.id, &[EventKind::FactorAdded], now.timestamp_millis(), &client));
        app.repo.commit(commit).await?;
        app.mailer.notify(&user.email, &[EventKind::FactorAdded], now.timestamp_millis(), &client, None).await;
        tracing::info!(user_id = user.id, "passkey added");
        return Ok(json_response(StatusCode::CREATED, &json!({ "factor": view })));
    }

    let issuer = app.issuer(&req).await?;
    let backup_codes = BackupCodeSet::generate(issuer.keys, &user.id);
    // Every other session ends with the version bump; the caller's new one carries the new version.
    let subject = Subject { user_id: &user.id, role: user.role, version: user.version + 1 };
    let second = Some(SecondFactor::Passkey { synced });
    let session = NewSession::issue(app, &issuer, subject, second, now.timestamp(), now.timestamp())?;
    let hashes = backup_codes.hashes.as_slice();
    let mut commit = writes::add_passkey(user, &factor, &key, &body.ceremony_id, Some(hashes), now.timestamp());
    commit.push(session.write());
    commit.extend(writes::audit(&user.id, &[EventKind::TwofaEnabled], now.timestamp_millis(), &client));
    app.repo.commit(commit).await?;
    app.mailer.notify(&user.email, &[EventKind::TwofaEnabled], now.timestamp_millis(), &client, None).await;
    tracing::info!(user_id = user.id, "2FA enabled with a passkey");
    let body = json!({ "factor": view, "backupCodes": backup_codes.shown });
    Ok(with_cookies(json_response(StatusCode::CREATED, &body), session.cookies(app)))
}
