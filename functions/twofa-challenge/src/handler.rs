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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use shared::domain::SecondFactor;
    use testkit::passkey::Behaviour;
    use testkit::{Reply, TestEnv, call, event, unique_email};

    async fn challenge(env: &TestEnv, cookies: &[String], body: Option<Value>) -> Reply {
        let mut req = event("twofa-challenge").cookies(cookies);
        if let Some(body) = body {
            req = req.json(body);
        }
        call(env, handle, req.request()).await
    }

    #[tokio::test]
    async fn the_options_name_the_users_passkeys_for_each_way_of_being_identified() {
        let env = TestEnv::new().await;
        let (user, soft, _) = env.add_passkey(&env.register(&unique_email("ch")).await, Behaviour::default()).await;
        let pre2fa = env.pre2fa(&user).await;
        let session = env.sign_in(&user, Some(SecondFactor::Passkey { synced: false })).await;
        let token = shared::mail::MailToken::generate(&user.id);
        let pending = shared::store::PendingToken { hash: token.hash(), expires_at: env.app.now().timestamp() + 600 };
        env.app.repo.commit(vec![writes::start_reset(&user.id, &pending)]).await.unwrap();
        for (purpose, cookies, body) in [
            ("verify-login", vec![format!("twofa_token={pre2fa}")], None),
            ("account", vec![format!("access_token={}", session.access_token)], Some(json!({}))),
            ("reset", vec![], Some(json!({ "resetToken": token.for_link() }))),
        ] {
            let reply = challenge(&env, &cookies, body).await;
            assert_eq!(reply.status(), 200, "{purpose}: {}", reply.json());
            let options = &reply.json()["publicKey"];
            assert_eq!(options["userVerification"], "required");
            let allowed = options["allowCredentials"].as_array().unwrap();
            assert_eq!(allowed.len(), 1);
            assert_eq!(allowed[0]["id"].as_str().unwrap().len(), 43, "a 32-byte id, base64url");
            let id = reply.json()["ceremonyId"].as_str().unwrap().to_string();
            assert_eq!(env.user(&user.id).await.ceremonies[&id].purpose, purpose);
        }
        let _ = soft;
    }

    #[tokio::test]
    async fn no_passkey_is_409_and_a_bad_identification_does_not_fall_back() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register(&unique_email("codes-only")).await).await;
        let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
        let access = vec![format!("access_token={}", session.access_token)];
        let none = challenge(&env, &access, None).await;
        assert_eq!((none.status(), none.error()), (409, "no_passkey".into()));
        // A bad reset token with a good access token: the token decides, and fails.
        let bad = challenge(&env, &access, Some(json!({ "resetToken": "x.y" }))).await;
        assert_eq!((bad.status(), bad.error()), (400, "invalid_token".into()));
        let expired = challenge(&env, &["twofa_token=garbage".to_string(), access[0].clone()], None).await;
        assert_eq!((expired.status(), expired.error()), (401, "session_expired".into()));
        let nobody = challenge(&env, &[], None).await;
        assert_eq!((nobody.status(), nobody.error()), (401, "unauthorized".into()));
    }
}
