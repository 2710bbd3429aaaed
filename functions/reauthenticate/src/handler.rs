//! `POST /auth/reauthenticate`: prove yourself again, for the routes that
//! need a recent proof. With 2FA on, a second factor (a backup code is used
//! up); with it off, the password (its limit is the email's, shared with
//! login). A fresh access token whose `auth_time` is now; the refresh token,
//! `amr` and the session's 30-day end stay as they were.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
use shared::domain::{ClientInfo, EventKind, Password, SecondFactor};
use shared::factors::password;
use shared::flows::accounts;
use shared::flows::second_factor::{prove, purpose};
use shared::flows::session::access_token;
use shared::http::{
    ACCESS_COOKIE, AdminRule, PasskeyProof, SecondFactorBody, authenticate, json_body, json_response, with_cookies,
};
use shared::store::{Write, writes};
use shared::{ApiError, App};

/// A second factor, as at verify-login, or the password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReauthBody {
    code: Option<String>,
    #[serde(rename = "factorId")]
    factor_id: Option<String>,
    #[serde(rename = "backupCode")]
    backup_code: Option<String>,
    passkey: Option<PasskeyProof>,
    password: Option<SecretString>,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let arrived = tokio::time::Instant::now();
    let caller = authenticate(app, &req, AdminRule::OpenBeforeTwofa).await?;
    let body: ReauthBody = json_body(&req)?;
    let user = &caller.user;
    let client = ClientInfo::of(&req);
    let now = app.now();
    let mut events = vec![EventKind::Reauthenticated];
    let mut commit: Vec<Write> = Vec::new();
    let mut backup_codes_left = None;

    if user.twofa_enabled() {
        if body.password.is_some() {
            return Err(ApiError::invalid_request("with 2FA on, prove the second factor, not the password"));
        }
        let presented = SecondFactorBody {
            code: body.code,
            factor_id: body.factor_id,
            backup_code: body.backup_code,
            passkey: body.passkey,
        }
        .into_code()?;
        let keys = app.keyring.keys().await?;
        let (counted, proven) = prove(app, keys, user, &presented, purpose::ACCOUNT, &client).await?;
        if proven.factor == SecondFactor::BackupCode {
            events.insert(0, EventKind::BackupCodeUsed);
            backup_codes_left = Some(counted.backup_hashes.len().saturating_sub(1));
        }
        commit.push(writes::accept_code(&counted, &proven.proof, now.timestamp(), None));
    } else {
        let (None, None, None, None, Some(given)) =
            (body.code, body.factor_id, body.backup_code, body.passkey, body.password)
        else {
            return Err(ApiError::invalid_request("with 2FA off, send the password (and nothing else)"));
        };
        let given = Password::parse(given)?;
        let login = app.repo.reserve_password_attempt(&user.email, now.timestamp()).await?;
        let stored_hash = login.account.as_ref().map(|account| account.password_hash.as_str());
        if !password::verify(&given, stored_hash).await? {
            return Err(accounts::refuse_password(app, &user.email, &login, &client, arrived).await);
        }
        commit.push(writes::reset_password_attempts(&user.email));
    }

    commit.push(writes::reauthenticated(&caller.session, now.timestamp()));
    commit.extend(writes::audit(&user.id, &events, now.timestamp_millis(), &client));
    app.repo.commit(commit).await?;
    app.mailer.notify(&user.email, &events, now.timestamp_millis(), &client, backup_codes_left).await;

    let issuer = app.issuer(&req).await?;
    let mut session = caller.session.clone();
    session.auth_time = now.timestamp();
    let token = access_token(app, &issuer, &session, user.role, user.version, now.timestamp())?;
    let response = json_response(StatusCode::OK, &json!({ "message": "reauthenticated" }));
    Ok(with_cookies(response, [app.config.cookies.set(ACCESS_COOKIE, &token)]))
}
