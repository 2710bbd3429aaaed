//! `POST /auth/password/change`: a new password for a signed-in user who
//! knows the current one. The caller stays signed in (same assurance); every
//! other session ends.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
use shared::domain::{ClientInfo, EventKind, Password};
use shared::factors::password;
use shared::flows::accounts;
use shared::flows::session::{NewSession, Subject};
use shared::http::{AdminRule, authenticate, json_body, json_response, with_cookies};
use shared::store::{Write, writes};
use shared::{ApiError, App};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    #[serde(rename = "currentPassword")]
    current_password: SecretString,
    #[serde(rename = "newPassword")]
    new_password: SecretString,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let arrived = tokio::time::Instant::now();
    let caller = authenticate(app, &req, AdminRule::RequiresTwofa).await?;
    let body: ChangeBody = json_body(&req)?;
    let current = Password::parse(body.current_password)?;
    let new_password = Password::parse(body.new_password)?;
    let user = &caller.user;
    let client = ClientInfo::of(&req);

    // The current password counts toward the email's password limit, as at login.
    let login = app.repo.reserve_password_attempt(&user.email, app.now().timestamp()).await?;
    let stored_hash = login.account.as_ref().map(|account| account.password_hash.as_str());
    if !password::verify(&current, stored_hash).await? {
        return Err(accounts::refuse_password(app, &user.email, &login, &client, arrived).await);
    }

    let password_hash = password::hash(&new_password).await?;
    let now = app.now();
    let issuer = app.issuer(&req).await?;
    // Every other session ends with the version bump; the caller's new one
    // carries the new version, and the caller's `auth_time`: a password alone
    // proves no second factor, and must not move the 30-day end.
    let subject = Subject { user_id: &user.id, role: user.role, version: user.version + 1 };
    let session = NewSession::successor(app, &issuer, subject, &caller.session, &client)?;
    let events = [EventKind::PasswordChanged];
    let mut commit: Vec<Write> = writes::change_password(user, &password_hash).into();
    commit.push(session.write());
    commit.extend(writes::audit(&user.id, &events, now.timestamp_millis(), &client));
    app.repo.commit(commit).await?;
    app.mailer.notify(&user.email, &events, now.timestamp_millis(), &client, None).await;
    tracing::info!(user_id = user.id, "password changed");
    let response = json_response(StatusCode::OK, &json!({ "message": "password changed" }));
    Ok(with_cookies(response, session.cookies(app)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use shared::domain::{Aal, SecondFactor};
    use testkit::{PASSWORD, Reply, TestEnv, call, event, one_notice, unique_email};

    const NEW: &str = "a brand new passphrase";

    async fn change(env: &TestEnv, access: &str, body: Value) -> Reply {
        call(env, handle, event("password-change").cookie("access_token", access).json(body).request()).await
    }

    #[tokio::test]
    async fn the_caller_stays_signed_in_at_the_same_level_and_every_other_session_ends() {
        let env = TestEnv::new().await;
        let address = unique_email("changer");
        let enrolled = env.enroll(&env.register(&address).await).await;
        let caller = env.sign_in(&enrolled.user, Some(SecondFactor::Totp)).await;
        let other = env.sign_in(&enrolled.user, None).await;
        env.keys().await;
        env.calls.reset();
        let reply =
            change(&env, &caller.access_token, json!({ "currentPassword": PASSWORD, "newPassword": NEW })).await;
        assert_eq!((reply.status(), reply.json()), (200, json!({ "message": "password changed" })));
        assert_eq!(
            env.calls.take(),
            ["DynamoDB.BatchGetItem", "DynamoDB.UpdateItem", "DynamoDB.TransactWriteItems", "SESv2.SendEmail"]
        );
        let fresh = env.access_claims(&reply.cookie("access_token").unwrap()).await;
        assert_eq!((fresh.aal, fresh.amr.clone()), (Aal::Two, vec!["pwd".to_string(), "otp".to_string()]));
        let user = env.user(&enrolled.user.id).await;
        assert_eq!(fresh.ver, user.version, "the caller's new session is current");
        assert_eq!(user.version, enrolled.user.version + 1, "every older session ended");
        let stale = event("password-change").cookie("access_token", &other.access_token).request();
        let refused = shared::http::authenticate(&env.app, &stale, shared::http::AdminRule::OpenBeforeTwofa).await;
        assert!(matches!(refused, Err(ApiError::Unauthorized)), "the other session still works");
        let login = env.app.repo.reserve_password_attempt(&user.email, env.app.now().timestamp()).await.unwrap();
        let hash = login.account.unwrap().password_hash;
        let new = Password::parse(NEW.to_string().into()).unwrap();
        assert!(password::verify(&new, Some(&hash)).await.unwrap());
        assert!(!env.table_contains(NEW.as_bytes()).await);
        let client = ClientInfo::of(&event("password-change").request());
        one_notice(&address, "Your password was changed", env.app.now(), &client, &[PASSWORD, NEW]).await;
    }

    #[tokio::test]
    async fn a_change_on_day_29_keeps_the_sessions_sign_in_time_and_its_30_day_end() {
        let env = TestEnv::new().await;
        let enrolled = env.enroll(&env.register(&unique_email("day29")).await).await;
        let opened = env.sign_in(&enrolled.user, Some(SecondFactor::Totp)).await;
        let signed_in_at = opened.record.auth_time;
        // Refreshed every day since: on day 29 the access token still says when both factors were proven.
        let mut record = opened.record.clone();
        for _ in 0..29 {
            env.clock.advance(chrono::Duration::days(1));
            let now = env.app.now().timestamp();
            let next = shared::crypto::random_id();
            let rotated =
                env.app.repo.rotate_refresh(&record.user_id, &record.session_id, &record.refresh_id, &next, now, None);
            match rotated.await.unwrap() {
                shared::store::Rotation::Rotated(session) => record = session,
                other => panic!("the daily refresh failed: {other:?}"),
            }
        }
        let issuer = env.fixtures.issuer(&event("password-change").request()).await.unwrap();
        let now = env.app.now().timestamp();
        let user = &enrolled.user;
        let access =
            shared::flows::session::access_token(&env.fixtures, &issuer, &record, user.role, user.version, now)
                .unwrap();
        let reply = change(&env, &access, json!({ "currentPassword": PASSWORD, "newPassword": NEW })).await;
        assert_eq!(reply.status(), 200);
        let fresh = env.access_claims(&reply.cookie("access_token").unwrap()).await;
        assert_eq!(fresh.auth_time, signed_in_at, "the password alone re-stamped the second factor");
        assert_eq!(fresh.aal, Aal::Two);
        let refresh = reply.cookie("refresh_token").unwrap();
        let claims: shared::tokens::RefreshClaims =
            shared::tokens::verify(env.keys().await, &refresh, &env.app.config.issuer, now).unwrap();
        assert!(
            claims.reg.exp <= signed_in_at + shared::domain::SESSION_MAX_SECS,
            "the session outlives its 30 days: refresh token until {}, sign-in at {signed_in_at}",
            claims.reg.exp
        );
    }

    #[tokio::test]
    async fn a_wrong_current_password_is_401_and_counts_toward_the_password_limit() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("wrong")).await;
        let session = env.sign_in(&user, None).await;
        for _ in 0..10 {
            let reply = change(
                &env,
                &session.access_token,
                json!({ "currentPassword": "not my password", "newPassword": NEW }),
            )
            .await;
            assert_eq!((reply.status(), reply.error()), (401, "invalid_credentials".into()));
        }
        let locked =
            change(&env, &session.access_token, json!({ "currentPassword": PASSWORD, "newPassword": NEW })).await;
        assert_eq!((locked.status(), locked.error()), (429, "too_many_attempts".into()));
        assert_eq!(env.user(&user.id).await.version, user.version, "nothing changed");
    }

    #[tokio::test]
    async fn bad_bodies_are_400_and_no_session_is_401() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("body")).await;
        let session = env.sign_in(&user, None).await;
        for body in
            [json!({ "currentPassword": PASSWORD }), json!({ "currentPassword": PASSWORD, "newPassword": "short" })]
        {
            assert_eq!(change(&env, &session.access_token, body).await.status(), 400);
        }
        let anonymous = call(&env, handle, event("password-change").cookies::<&str>(&[]).request()).await;
        assert_eq!(anonymous.status(), 401);
    }
}
