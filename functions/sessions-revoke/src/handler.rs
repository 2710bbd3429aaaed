//! `POST /auth/sessions/revoke`: ends one of the user's sessions at once (its
//! refresh and access tokens are refused from now on). One transaction,
//! which also checks that the caller is still signed in; revoking the
//! caller's own session is a logout.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::{ClientInfo, EventKind};
use shared::http::{AdminRule, body_of_signed_in, no_content, presented_claims, still_signed_in, with_cookies};
use shared::store::{Write, writes};
use shared::{ApiError, App};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    #[serde(rename = "sessionId")]
    session_id: String,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = presented_claims(app, &req).await?;
    let body: RevokeBody = body_of_signed_in(app, &req, AdminRule::OpenBeforeTwofa).await?;
    let now = app.now();
    let user_id = &claims.reg.sub;
    let own = body.session_id == claims.sid;
    let [account, caller_session] = still_signed_in(&claims, now.timestamp());
    let mut commit: Vec<Write> = vec![account, writes::revoke_session(user_id, &body.session_id, now.timestamp())];
    // One item is written once per transaction: the caller's own session is
    // checked by its revocation's condition.
    if !own {
        commit.push(caller_session);
    }
    commit.extend(writes::audit(user_id, &[EventKind::SessionRevoked], now.timestamp_millis(), &ClientInfo::of(&req)));
    match app.repo.commit(commit).await {
        Err(ApiError::SessionNotFound) if own => return Err(ApiError::Unauthorized),
        done => done?,
    }
    tracing::info!(user_id, "session revoked");
    let cookies = if own { app.config.cookies.clear_all() } else { Vec::new() };
    Ok(with_cookies(no_content(), cookies))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use testkit::{Reply, TestEnv, call, event, unique_email};

    async fn revoke(env: &TestEnv, access_token: &str, session_id: &str) -> Reply {
        let req =
            event("sessions-revoke").cookie("access_token", access_token).json(json!({ "sessionId": session_id }));
        call(env, handle, req.request()).await
    }

    #[tokio::test]
    async fn another_session_ends_at_once_in_one_call() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("revoke")).await;
        let mine = env.sign_in(&user, None).await;
        let other = env.sign_in(&user, None).await;
        env.keys().await;
        env.clock.advance(chrono::Duration::seconds(1));
        env.calls.reset();
        let reply = revoke(&env, &mine.access_token, &other.record.session_id).await;
        assert_eq!(reply.status(), 204);
        assert_eq!(env.calls.take(), ["DynamoDB.TransactWriteItems"]);
        assert!(reply.set_cookies().is_empty(), "the caller stays signed in");
        assert!(!env.accepted(&other.access_token).await, "its access token is refused at once");
        assert!(env.app.repo.session(&user.id, &other.record.session_id).await.unwrap().is_none());
        assert!(env.accepted(&mine.access_token).await);
        let kinds: Vec<_> = env.app.repo.recent_events(&user.id, env.app.now().timestamp(), 5).await.unwrap();
        assert_eq!(kinds[0].kind, EventKind::SessionRevoked);
    }

    #[tokio::test]
    async fn the_own_session_is_a_logout() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("own")).await;
        let mine = env.sign_in(&user, None).await;
        let reply = revoke(&env, &mine.access_token, &mine.record.session_id).await;
        assert_eq!(reply.status(), 204);
        for name in ["access_token", "refresh_token", "twofa_token"] {
            assert_eq!(reply.cookie(name).as_deref(), Some(""), "{name} cleared");
        }
        assert_eq!(reply.cookie("device_token"), None, "a remembered browser outlives a sign-out");
        assert!(!env.accepted(&mine.access_token).await);
    }

    #[tokio::test]
    async fn unknown_ended_and_other_users_sessions_are_404_and_change_nothing() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("a")).await;
        let stranger = env.register(&unique_email("b")).await;
        let mine = env.sign_in(&user, None).await;
        let theirs = env.sign_in(&stranger, None).await;
        let ended = env.sign_in(&user, None).await;
        assert_eq!(revoke(&env, &mine.access_token, &ended.record.session_id).await.status(), 204);
        let before = env.dump().await.len();
        for id in ["nope", ended.record.session_id.as_str(), theirs.record.session_id.as_str()] {
            let reply = revoke(&env, &mine.access_token, id).await;
            assert_eq!((reply.status(), reply.error().as_str()), (404, "session_not_found"), "{id}");
        }
        assert!(env.accepted(&theirs.access_token).await, "another user's session is untouched");
        assert_eq!(env.dump().await.len(), before, "nothing written, no event");
    }

    #[tokio::test]
    async fn an_ended_caller_revokes_nothing() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("ended")).await;
        let mine = env.sign_in(&user, None).await;
        let other = env.sign_in(&user, None).await;
        env.app.repo.commit(writes::bump_version(&env.user(&user.id).await).into()).await.unwrap();
        let reply = revoke(&env, &mine.access_token, &other.record.session_id).await;
        assert_eq!((reply.status(), reply.error().as_str()), (401, "unauthorized"));
        assert!(env.app.repo.session(&user.id, &other.record.session_id).await.unwrap().is_some());
        let bad = event("sessions-revoke").cookie("access_token", &other.access_token).json(json!({ "id": "x" }));
        assert_eq!(call(&env, handle, bad.request()).await.status(), 401, "authentication comes before the body");
    }

    #[tokio::test]
    async fn bad_bodies_are_400() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("body")).await;
        let mine = env.sign_in(&user, None).await;
        for body in [json!({}), json!({ "sessionId": 7 }), json!({ "sessionId": "x", "all": true })] {
            let req = event("sessions-revoke").cookie("access_token", &mine.access_token).json(body);
            assert_eq!(call(&env, handle, req.request()).await.error(), "invalid_request");
        }
    }
}
