//! `GET /auth/sessions`: the user's live sessions, most recently used first,
//! this one marked. One read: the profile and the sessions together.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::domain::MAX_SESSIONS_LISTED;
use shared::http::{AdminRule, SessionView, authenticate_with_overview, json_response};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let (caller, overview) = authenticate_with_overview(app, &req, AdminRule::OpenBeforeTwofa).await?;
    let now = app.now().timestamp();
    let version = caller.user.version;
    let mut live: Vec<_> = overview.sessions.iter().filter(|session| session.live_for(version, now)).collect();
    live.sort_by_key(|session| std::cmp::Reverse(session.last_used_at()));
    let sessions: Vec<SessionView> = live
        .into_iter()
        .take(MAX_SESSIONS_LISTED)
        .map(|session| SessionView::of(session, &caller.claims.sid))
        .collect();
    Ok(json_response(StatusCode::OK, &json!({ "sessions": sessions })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::SecondFactor;
    use testkit::{TestEnv, call, event, unique_email};

    #[tokio::test]
    async fn live_sessions_newest_use_first_this_one_marked_in_one_read() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register(&unique_email("sessions")).await).await;
        let older = env.sign_in(&kit.user, None).await;
        env.clock.advance(chrono::Duration::seconds(30));
        let mine = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
        let ended = env.sign_in(&kit.user, None).await;
        // A session from before a version bump has ended too (its tokens are refused).
        let stale = shared::store::UserRecord { version: kit.user.version - 1, ..kit.user.clone() };
        env.sign_in(&stale, None).await;
        env.app
            .repo
            .commit(vec![shared::store::writes::delete_session(&kit.user.id, &ended.record.session_id)])
            .await
            .unwrap();
        env.keys().await;
        env.calls.reset();
        let req = event("sessions-list").cookie("access_token", &mine.access_token).request();
        let reply = call(&env, handle, req).await;
        assert_eq!(reply.status(), 200);
        assert_eq!(env.calls.take(), ["DynamoDB.Query"]);
        let sessions = reply.json()["sessions"].as_array().unwrap().clone();
        let ids: Vec<&str> = sessions.iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [mine.record.session_id.as_str(), older.record.session_id.as_str()], "no ended session");
        assert_eq!(sessions[0]["current"], true);
        assert_eq!(sessions[1]["current"], false);
        assert_eq!(sessions[0]["aal"], 2);
        assert_eq!(sessions[0]["amr"], serde_json::json!(["pwd", "otp"]));
        assert_eq!(sessions[1]["amr"], serde_json::json!(["pwd"]));
        for key in ["createdAt", "lastUsedAt", "ip", "device"] {
            assert!(sessions[0].get(key).is_some(), "{key}");
        }
    }

    #[tokio::test]
    async fn an_ended_session_cannot_list() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("ended")).await;
        let session = env.sign_in(&user, None).await;
        env.app
            .repo
            .commit(vec![shared::store::writes::delete_session(&user.id, &session.record.session_id)])
            .await
            .unwrap();
        let req = event("sessions-list").cookie("access_token", &session.access_token).request();
        assert_eq!(call(&env, handle, req).await.status(), 401);
    }
}
