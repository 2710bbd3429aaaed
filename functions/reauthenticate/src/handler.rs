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
        commit.push(writes::account_unchanged(&user.id, user.version));
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use shared::domain::Aal;
    use testkit::passkey::{Behaviour, Tamper};
    use testkit::{PASSWORD, Reply, TestEnv, call, event, passkey_proof, unique_email};

    async fn reauthenticate(env: &TestEnv, access: &str, body: Value) -> Reply {
        call(env, handle, event("reauthenticate").cookie("access_token", access).json(body).request()).await
    }

    #[tokio::test]
    async fn a_code_moves_auth_time_to_now_and_keeps_the_refresh_token_amr_and_30_day_end() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register(&unique_email("reauth")).await).await;
        let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
        env.clock.advance(chrono::Duration::minutes(20));
        // Refreshed since: the access token still carries the sign-in's auth_time.
        let issuer = env.fixtures.issuer(&event("reauthenticate").request()).await.unwrap();
        let now = env.app.now().timestamp();
        let access =
            access_token(&env.fixtures, &issuer, &session.record, kit.user.role, kit.user.version, now).unwrap();
        let reply = reauthenticate(&env, &access, json!({ "code": env.code(&kit.secret) })).await;
        assert_eq!((reply.status(), reply.json()), (200, json!({ "message": "reauthenticated" })));
        assert!(reply.cookie("refresh_token").is_none(), "the refresh token stays");
        let claims = env.access_claims(&reply.cookie("access_token").unwrap()).await;
        assert_eq!(claims.auth_time, env.app.now().timestamp());
        assert_eq!(
            (claims.aal, claims.amr.clone(), claims.sid.clone()),
            (Aal::Two, session.record.amr.clone(), session.record.session_id.clone())
        );
        let stored = env.app.repo.session(&kit.user.id, &session.record.session_id).await.unwrap().unwrap();
        assert_eq!((stored.auth_time, stored.started_at), (env.app.now().timestamp(), session.record.started_at));
        let events = env.app.repo.recent_events(&kit.user.id, env.app.now().timestamp(), 5).await.unwrap();
        assert_eq!(events[0].kind, EventKind::Reauthenticated);
    }

    #[tokio::test]
    async fn a_passkey_or_a_backup_code_proves_it_too_and_a_wrong_one_counts() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register(&unique_email("reauth-pk")).await).await;
        let (user, mut soft, _) = env.add_passkey(&kit.user, Behaviour::default()).await;
        let session = env.sign_in(&user, Some(SecondFactor::Totp)).await;
        let (ceremony, options) = env.passkey_challenge(&user, "account").await;
        let bad = passkey_proof(&mut soft, &ceremony, &options, Tamper { bad_signature: true, ..Default::default() });
        let refused = reauthenticate(&env, &session.access_token, json!({ "passkey": bad })).await;
        assert_eq!((refused.status(), refused.error()), (400, "invalid_credential".into()));
        assert_eq!(env.user(&user.id).await.code_attempts, 1);
        let (ceremony, options) = env.passkey_challenge(&user, "account").await;
        let good = passkey_proof(&mut soft, &ceremony, &options, Tamper::default());
        assert_eq!(reauthenticate(&env, &session.access_token, json!({ "passkey": good })).await.status(), 200);
        let backup = reauthenticate(&env, &session.access_token, json!({ "backupCode": kit.backup_codes[0] })).await;
        assert_eq!(backup.status(), 200);
        assert_eq!(env.user(&user.id).await.backup_hashes.len(), 9, "a backup code is used up");
        let password = reauthenticate(&env, &session.access_token, json!({ "password": PASSWORD })).await;
        assert_eq!((password.status(), password.error()), (400, "invalid_request".into()), "with 2FA on");
    }

    #[tokio::test]
    async fn without_2fa_the_password_does_and_a_wrong_one_counts_toward_the_email_limit() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("reauth-pw")).await;
        let session = env.sign_in(&user, None).await;
        let wrong = reauthenticate(&env, &session.access_token, json!({ "password": "not the password" })).await;
        assert_eq!((wrong.status(), wrong.error()), (401, "invalid_credentials".into()));
        let login = env.app.repo.reserve_password_attempt(&user.email, env.app.now().timestamp()).await.unwrap();
        assert_eq!(login.attempts, 2, "the wrong one, and this probe");
        let code = reauthenticate(&env, &session.access_token, json!({ "code": "123456" })).await;
        assert_eq!((code.status(), code.error()), (400, "invalid_request".into()), "with 2FA off");
        let right = reauthenticate(&env, &session.access_token, json!({ "password": PASSWORD })).await;
        assert_eq!(right.status(), 200);
    }
}
