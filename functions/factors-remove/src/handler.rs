//! `POST /auth/factors/remove`: one factor goes (aal 2, a recent proof),
//! never the last: turning 2FA off asks for proof and is its own route. A
//! passkey's credential id becomes free; every other session ends, and the
//! caller gets fresh cookies at the same assurance.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::domain::{ClientInfo, EventKind};
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
    let session = NewSession::successor(app, &issuer, subject, &caller.session, &client)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::{Aal, SecondFactor};
    use testkit::passkey::Behaviour;
    use testkit::{Reply, TestEnv, call, event, one_notice, unique_email};

    async fn remove(env: &TestEnv, access: &str, factor_id: &str) -> Reply {
        let req = event("factors-remove").cookie("access_token", access).json(json!({ "factorId": factor_id }));
        call(env, handle, req.request()).await
    }

    #[tokio::test]
    async fn a_passkey_goes_its_credential_id_becomes_free_and_every_other_session_ends() {
        let env = TestEnv::new().await;
        let address = unique_email("remove");
        let kit = env.enroll(&env.register_verified(&address).await).await;
        let (user, _, passkey_id) = env.add_passkey(&kit.user, Behaviour::default()).await;
        let other = env.sign_in(&user, Some(SecondFactor::Totp)).await;
        let caller = env.sign_in(&user, Some(SecondFactor::Totp)).await;
        env.keys().await;
        env.calls.reset();
        let reply = remove(&env, &caller.access_token, &passkey_id).await;
        assert_eq!((reply.status(), reply.json()), (200, json!({ "message": "factor removed" })));
        let calls = env.calls.take();
        assert_eq!(&calls[..2], ["DynamoDB.BatchGetItem", "DynamoDB.TransactWriteItems"], "{calls:?}");
        let fresh = env.access_claims(&reply.cookie("access_token").unwrap()).await;
        assert_eq!((fresh.aal, fresh.auth_time), (Aal::Two, caller.record.auth_time), "same aal, same proof");
        let stored = env.user(&user.id).await;
        assert_eq!((stored.factors.len(), stored.version), (1, user.version + 1));
        assert!(!env.dump().await.iter().any(|item| item["pk"].as_s().unwrap().starts_with("CRED#")), "id not freed");
        let stale = event("factors-remove").cookie("access_token", &other.access_token).request();
        assert!(shared::http::authenticate(&env.app, &stale, shared::http::AdminRule::OpenBeforeTwofa).await.is_err());
        let client = ClientInfo::of(&event("factors-remove").request());
        one_notice(&address, "A second factor was removed", env.app.now(), &client, &[]).await;
    }

    #[tokio::test]
    async fn the_last_factor_an_unknown_one_an_aal1_or_an_old_session_are_refused() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register_verified(&unique_email("last")).await).await;
        let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
        let last = remove(&env, &session.access_token, &kit.factor_id).await;
        assert_eq!((last.status(), last.error()), (409, "last_factor".into()));
        let unknown = remove(&env, &session.access_token, "nope").await;
        assert_eq!((unknown.status(), unknown.error()), (404, "factor_not_found".into()));
        let aal1 = env.sign_in(&kit.user, None).await;
        assert_eq!(remove(&env, &aal1.access_token, &kit.factor_id).await.error(), "mfa_required");
        env.clock.advance(chrono::Duration::minutes(11));
        let old = remove(&env, &session.access_token, &kit.factor_id).await;
        assert_eq!((old.status(), old.error()), (401, "reauthentication_required".into()));
        assert_eq!(env.user(&kit.user.id).await.factors.len(), 1);
    }

    #[tokio::test]
    async fn a_remembered_browser_is_never_recent_until_a_reauthentication() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register_verified(&unique_email("device")).await).await;
        let (user, _, passkey_id) = env.add_passkey(&kit.user, Behaviour::default()).await;
        let session = env.sign_in(&user, shared::domain::SignIn::RememberedDevice).await;
        let reply = remove(&env, &session.access_token, &passkey_id).await;
        assert_eq!((reply.status(), reply.error()), (401, "reauthentication_required".into()), "signed in just now");
        let now = env.app.now().timestamp();
        env.app.repo.commit(vec![writes::reauthenticated(&session.record, now)]).await.unwrap();
        assert_eq!(remove(&env, &session.access_token, &passkey_id).await.status(), 200);
    }

    #[tokio::test]
    async fn another_users_factor_is_not_found() {
        let env = TestEnv::new().await;
        let mine = env.enroll(&env.register_verified(&unique_email("mine")).await).await;
        env.add_passkey(&mine.user, Behaviour::default()).await;
        let theirs = env.enroll(&env.register_verified(&unique_email("theirs")).await).await;
        let session = env.sign_in(&mine.user, Some(SecondFactor::Totp)).await;
        let reply = remove(&env, &session.access_token, &theirs.factor_id).await;
        assert_eq!((reply.status(), reply.error()), (404, "factor_not_found".into()));
    }

    #[tokio::test]
    async fn the_last_two_factors_removed_at_once_leave_one() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register_verified(&unique_email("two")).await).await;
        let (user, _, passkey_id) = env.add_passkey(&kit.user, Behaviour::default()).await;
        let a = env.sign_in(&user, Some(SecondFactor::Totp)).await;
        let b = env.sign_in(&user, Some(SecondFactor::Totp)).await;
        let (first, second) =
            futures::join!(remove(&env, &a.access_token, &kit.factor_id), remove(&env, &b.access_token, &passkey_id));
        let mut outcomes = [(first.status(), first.error()), (second.status(), second.error())];
        outcomes.sort();
        assert_eq!(outcomes[0], (200, String::new()), "{outcomes:?}");
        assert!(
            [(401, "unauthorized".to_string()), (409, "last_factor".to_string())].contains(&outcomes[1]),
            "{outcomes:?}"
        );
        assert_eq!(env.user(&user.id).await.factors.len(), 1, "one factor remains");
    }
}
